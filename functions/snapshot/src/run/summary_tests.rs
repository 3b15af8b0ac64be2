//! The periodic summary over whole runs against the in-memory fakes: queued once per
//! period whatever crashes or races, published with the alerts, none when off.

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::Value;

use super::*;
use crate::domain::model::OrgTree;
use crate::domain::summary::{QueuedSummary, SummaryMark, SummaryPeriod};
use crate::fakes::{FakeNotifier, FakeOrg, FakePartnerCentral, FakeStore};

fn config(summary: &str, route_by: Option<&str>) -> Config {
    let summary = summary.to_string();
    let route_by = route_by.map(str::to_string);
    Config::from_lookup(move |k| match k {
        "APNWATCH_TABLE" => Some("t".into()),
        "APNWATCH_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:123456789012:t".into()),
        "APNWATCH_SUMMARY" => Some(summary.clone()),
        "APNWATCH_ROUTE_BY" => route_by.clone(),
        _ => None,
    })
    .unwrap()
}

/// An ACTIVE account of team `team`, linked by tag or not.
fn account(id: &str, team: &str, linked: bool) -> Account {
    let mut tags: BTreeMap<String, String> = [("team".to_string(), team.to_string())].into();
    if linked {
        tags.insert("apn-link".into(), "linked".into());
    }
    Account {
        name: format!("{team}-{id}"),
        parent_id: "r-ab12".into(),
        ou_path: "Root".into(),
        ou_ids: vec!["r-ab12".into()],
        tags,
        ..Account::sample(id)
    }
}

/// Payments: one linked, one unlinked; shop: one linked.
fn world() -> (FakeOrg, FakeStore, FakeNotifier) {
    let tree = OrgTree {
        organization_id: "o-abc123def4".into(),
        management_account_id: "999999999999".into(),
        root_id: "r-ab12".into(),
        units: Vec::new(),
        accounts: vec![
            account("111111111111", "payments", true),
            account("222222222222", "payments", false),
            account("333333333333", "shop", true),
        ],
    };
    (
        FakeOrg::new(tree),
        FakeStore::default(),
        FakeNotifier::default(),
    )
}

async fn run(
    config: &Config,
    org: &FakeOrg,
    store: &FakeStore,
    sns: &FakeNotifier,
) -> Result<RunReport, Error> {
    let deps = Deps {
        org,
        partner_central: None::<&FakePartnerCentral>,
        store,
        notifier: Some(sns),
    };
    run_once(config, deps, RunOptions::default()).await
}

fn summaries(sns: &FakeNotifier) -> Vec<AlertMessage> {
    sns.published
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.attributes.reasons.contains("SUMMARY"))
        .cloned()
        .collect()
}

fn machine(m: &AlertMessage) -> Value {
    let body: Value = serde_json::from_str(&m.body).unwrap();
    serde_json::from_str(body["sqs"].as_str().unwrap()).unwrap()
}

/// The first run of the week sends the summary (after the baseline); a second run that week
/// sends none; the first run of the next week sends one, with the change since the last.
#[tokio::test]
async fn weekly_summary_once_per_period_then_again_next_period() {
    let config = config("weekly", None);
    let (org, store, sns) = world();
    let report = run(&config, &org, &store, &sns).await.unwrap();
    let sent = summaries(&sns);
    assert_eq!(sent.len(), 1, "one summary");
    assert_eq!(report.summary.messages, 2, "the baseline and the summary");
    assert_eq!(sent[0].attributes.route, "all");
    let m = machine(&sent[0]);
    assert_eq!(m["schema"], "apn-link-watch/summary/v1");
    assert_eq!(m["period"], "weekly");
    assert_eq!(m["coverage"]["linked"], 2);
    assert_eq!(m["coverage"]["unlinked"], 1);
    assert_eq!(m["coverage"]["percent"], 66.7);
    assert_eq!(m["coverage"]["change"], Value::Null, "the first summary");
    assert!(
        store.snapshot().summaries.is_empty(),
        "sent summaries leave the outbox"
    );

    run(&config, &org, &store, &sns).await.unwrap();
    assert_eq!(summaries(&sns).len(), 1, "none more this week");

    // Move the marker a week back: the next run is the first of a new week.
    {
        let mut t = store.table.lock().unwrap();
        let (_, mark) = t.summary_marks.pop_last().unwrap();
        let mut last_week = mark.clone();
        last_week.key = SummaryPeriod::Weekly
            .period_key(Utc::now() - chrono::Duration::days(7))
            .unwrap();
        last_week.percent.insert("all".into(), Some(50.0));
        t.summary_marks
            .insert(("weekly".into(), last_week.key.clone()), last_week);
    }
    run(&config, &org, &store, &sns).await.unwrap();
    let sent = summaries(&sns);
    assert_eq!(sent.len(), 2, "the new week's summary");
    assert_eq!(machine(&sent[1])["coverage"]["change"], 16.7);
    assert!(sent[1].subject.contains("(+16.7)"), "{}", sent[1].subject);
}

/// `APNWATCH_SUMMARY=off` never queues nor sends one.
#[tokio::test]
async fn summary_off_sends_none() {
    let config = config("off", None);
    let (org, store, sns) = world();
    run(&config, &org, &store, &sns).await.unwrap();
    run(&config, &org, &store, &sns).await.unwrap();
    assert!(summaries(&sns).is_empty());
    assert!(store.snapshot().summary_marks.is_empty());
}

/// A run that crashes publishing (SNS down) leaves the summary queued; the next run of the
/// period sends it once and queues no second one.
#[tokio::test]
async fn summary_after_a_failed_publish_is_sent_once() {
    let config = config("daily", None);
    let (org, store, sns) = world();
    *sns.fail.lock().unwrap() = true;
    run(&config, &org, &store, &sns).await.unwrap_err();
    assert_eq!(
        store.snapshot().summaries.len(),
        1,
        "queued before publishing"
    );
    *sns.fail.lock().unwrap() = false;
    run(&config, &org, &store, &sns).await.unwrap();
    run(&config, &org, &store, &sns).await.unwrap();
    assert_eq!(summaries(&sns).len(), 1);
    assert!(store.snapshot().summaries.is_empty());
}

/// Another run queued this period's summary between our check and our write: ours queues
/// nothing, and the one queued goes out once.
#[tokio::test]
async fn concurrent_run_does_not_duplicate_the_summary() {
    let config = config("weekly", None);
    let (org, store, sns) = world();
    let key = SummaryPeriod::Weekly.period_key(Utc::now()).unwrap();
    let theirs = QueuedSummary {
        id: format!("SUMMARY#weekly#{key}#all"),
        run_id: "other-run".into(),
        created_at: Utc::now(),
        route: "all".into(),
        subject: "their summary".into(),
        body: r#"{"default":"theirs"}"#.into(),
        link_states: Default::default(),
        organization_id: "o-abc123def4".into(),
    };
    let mark = SummaryMark {
        period: SummaryPeriod::Weekly,
        key: key.clone(),
        run_id: "other-run".into(),
        queued_at: Utc::now(),
        percent: Default::default(),
    };
    *store.before_commit.lock().unwrap() = Some(Box::new(move |t| {
        t.summary_marks
            .insert(("weekly".into(), key.clone()), mark.clone());
        t.summaries.insert(theirs.id.clone(), theirs.clone());
    }));
    run(&config, &org, &store, &sns).await.unwrap();
    let sent = summaries(&sns);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].subject, "their summary");
    run(&config, &org, &store, &sns).await.unwrap();
    assert_eq!(summaries(&sns).len(), 1);
}

/// With routing each route gets a summary of its own accounts (`route` = its name) besides
/// the one of every account (`route` = `all`).
#[tokio::test]
async fn routed_summaries_cover_their_accounts() {
    let config = config("weekly", Some("tag:team"));
    let (org, store, sns) = world();
    run(&config, &org, &store, &sns).await.unwrap();
    let sent = summaries(&sns);
    let by_route: BTreeMap<String, Value> = sent
        .iter()
        .map(|m| (m.attributes.route.clone(), machine(m)))
        .collect();
    assert_eq!(
        by_route.keys().map(String::as_str).collect::<Vec<_>>(),
        ["all", "payments", "shop"]
    );
    assert_eq!(by_route["all"]["coverage"]["eligible"], 3);
    assert_eq!(by_route["payments"]["coverage"]["eligible"], 2);
    assert_eq!(by_route["payments"]["coverage"]["percent"], 50.0);
    assert_eq!(
        by_route["payments"]["oldest_unlinked"][0]["account_id"],
        "222222222222"
    );
    assert_eq!(by_route["shop"]["coverage"]["percent"], 100.0);
    assert!(sent.iter().all(|m| m.attributes.reasons.len() == 1));
}
