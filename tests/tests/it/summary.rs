//! The periodic coverage summary (`APNWATCH_SUMMARY`) on moto: queued in the outbox with its
//! period marker, sent once per period across a failed publish and two concurrent runs,
//! never when off, and with routing each team's summary reaches only the queue whose filter
//! policy takes its route.

use apnwatch::run::RunOptions;
use integration_tests::{app, set_env, topic_arn, Received, World};
use serde_json::Value;

fn summaries(received: &[Received]) -> Vec<&Received> {
    received
        .iter()
        .filter(|m| m.message["schema"] == "apn-link-watch/summary/v1")
        .collect()
}

/// The run's first message is the baseline, then the summary: its `sqs` body, subject and
/// attributes as a subscriber gets them.
#[tokio::test]
async fn weekly_summary_is_sent_once_per_period() {
    let world = World::start().await;
    let org = &world.org;
    org.account(&org.root_id, "team-a", &[]).await;
    org.tag(&org.management_account_id, "apn-link", "linked")
        .await;
    set_env(&[("APNWATCH_SUMMARY", Some("weekly"))]);

    let report = world.run().await;

    let received = world.alerts.received().await;
    assert_eq!(received.len(), 2, "the baseline and the summary");
    assert_eq!(report.summary.messages, 2);
    let summary = summaries(&received);
    assert_eq!(summary.len(), 1);
    let s = summary[0];
    assert_eq!(s.attribute("reasons"), r#"["SUMMARY"]"#);
    assert_eq!(s.attribute("route"), "all");
    assert_eq!(s.message["period"], "weekly");
    assert_eq!(s.message["coverage"]["eligible"], 2);
    assert_eq!(s.message["coverage"]["linked"], 1);
    assert_eq!(s.message["coverage"]["percent"], 50.0);
    assert_eq!(s.message["coverage"]["change"], Value::Null);
    assert!(
        s.subject
            .starts_with("APN coverage 50.0%: 1 unlinked, 0 pending (weekly summary "),
        "{}",
        s.subject
    );
    assert_eq!(world.table.count("OUTBOX").await, 0, "sent, so deleted");
    assert_eq!(world.table.count("SUMMARY").await, 1, "the period's marker");

    world.run().await;
    assert!(
        world.alerts.received().await.is_empty(),
        "no second summary this week"
    );
}

/// `APNWATCH_SUMMARY=off`: no summary, no marker.
#[tokio::test]
async fn summary_off_sends_none() {
    let world = World::start().await;
    let org = &world.org;
    org.account(&org.root_id, "team-a", &[]).await;
    set_env(&[("APNWATCH_SUMMARY", Some("off"))]);
    world.run().await;
    world.run().await;
    let received = world.alerts.received().await;
    assert!(summaries(&received).is_empty(), "{received:?}");
    assert_eq!(world.table.count("SUMMARY").await, 0);
}

/// A run whose publish fails leaves the summary queued; the next run of the day sends it
/// once (and queues no second one), the one after sends nothing.
#[tokio::test]
async fn failed_publish_sends_the_summary_once_with_the_next_run() {
    let world = World::start().await;
    let org = &world.org;
    org.account(&org.root_id, "team-a", &[]).await;
    set_env(&[
        ("APNWATCH_SUMMARY", Some("daily")),
        ("APNWATCH_TOPIC_ARN", Some(&topic_arn("does-not-exist"))),
    ]);
    let err = app().await.run(RunOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), "NotifyError", "{}", err.one_line());
    assert_eq!(
        world.table.count("OUTBOX").await,
        3,
        "two alerts and the summary queued"
    );

    set_env(&[("APNWATCH_TOPIC_ARN", Some(&world.alerts.topic_arn))]);
    world.run().await;
    world.run().await;
    let received = world.alerts.received().await;
    let summary = summaries(&received);
    assert_eq!(summary.len(), 1, "{received:?}");
    assert_eq!(summary[0].message["period"], "daily");
    assert_eq!(world.table.count("OUTBOX").await, 0);
    assert_eq!(world.table.count("SUMMARY").await, 1);
}

/// Two runs started at the same moment, both first of the period: one summary between them.
#[tokio::test]
async fn concurrent_runs_send_one_summary() {
    let world = World::start().await;
    let org = &world.org;
    for name in ["team-a", "team-b"] {
        org.account(&org.root_id, name, &[]).await;
    }
    set_env(&[("APNWATCH_SUMMARY", Some("weekly"))]);
    let (first, second) = (app().await, app().await);

    let (r1, r2) = tokio::join!(
        first.run(RunOptions::default()),
        second.run(RunOptions::default())
    );
    r1.unwrap_or_else(|e| panic!("first run: {}", e.one_line()));
    r2.unwrap_or_else(|e| panic!("second run: {}", e.one_line()));

    let received = world.alerts.received().await;
    assert_eq!(summaries(&received).len(), 1, "{received:?}");
    assert_eq!(world.table.count("OUTBOX").await, 0);
    assert_eq!(world.table.count("SUMMARY").await, 1);
}

/// `APNWATCH_ROUTE_BY=ou:1`: each team's queue, filtered on its `route`, gets its alerts and
/// the summary of its own accounts only; a queue filtered on `reasons` = `SUMMARY` and
/// `route` = `all` gets only the organization's summary.
#[tokio::test]
async fn routed_summaries_reach_only_their_filtered_subscriber() {
    let world = World::start().await;
    let org = &world.org;
    let payments_ou = org.ou(&org.root_id, "Payments").await;
    let search_ou = org.ou(&org.root_id, "Search").await;
    let payments = org.account(&payments_ou, "payments-prod", &[]).await;
    org.account(&payments_ou, "payments-dev", &[("apn-link", "linked")])
        .await;
    org.account(&search_ou, "search-dev", &[]).await;
    org.tag(&org.management_account_id, "apn-link", "linked")
        .await;
    let payments_q = world
        .alerts
        .subscribe_queue("team-payments", Some(r#"{"route": ["Payments"]}"#))
        .await;
    let overview_q = world
        .alerts
        .subscribe_queue(
            "coverage-overview",
            Some(r#"{"route": ["all"], "reasons": ["SUMMARY"]}"#),
        )
        .await;
    set_env(&[
        ("APNWATCH_ROUTE_BY", Some("ou:1")),
        ("APNWATCH_SUMMARY", Some("weekly")),
    ]);

    world.run().await;

    let p = payments_q.received().await;
    assert_eq!(p.len(), 2, "the team's baseline and its summary: {p:?}");
    let summary = summaries(&p);
    assert_eq!(summary.len(), 1);
    let s = summary[0];
    assert_eq!(s.attribute("route"), "Payments");
    assert_eq!(s.attribute("reasons"), r#"["SUMMARY"]"#);
    assert_eq!(s.message["route"], "Payments");
    assert_eq!(s.message["coverage"]["eligible"], 2);
    assert_eq!(s.message["coverage"]["percent"], 50.0);
    assert_eq!(
        s.message["oldest_unlinked"][0]["account_id"],
        payments.as_str()
    );
    assert!(
        s.subject.starts_with("[Payments] APN coverage 50.0%"),
        "{}",
        s.subject
    );

    let o = overview_q.received().await;
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!(o[0].attribute("route"), "all");
    assert_eq!(o[0].message["coverage"]["eligible"], 4);

    let everything = world.alerts.received().await;
    let mut routes: Vec<&str> = summaries(&everything)
        .iter()
        .map(|m| m.attribute("route"))
        .collect();
    routes.sort();
    assert_eq!(routes, ["Payments", "Search", "all", "unrouted"]);
}
