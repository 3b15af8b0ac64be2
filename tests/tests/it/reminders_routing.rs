//! Until each account is dealt with, and to the team it belongs to: reminders
//! (`APNWATCH_REMIND_AFTER`), resolved notices (`APNWATCH_NOTIFY_RESOLVED`), closed accounts
//! that never alert, and routing (`APNWATCH_ROUTE_BY`) through SNS message attributes and
//! subscription filter policies, as subscribers on moto receive them.

use std::time::Duration;

use integration_tests::{pc_fixture, set_env, FakePartnerCentral, Queue, Received, World};
use serde_json::{json, Value};

/// Longer than the 1 s reminder interval these tests use, with room for the clock's
/// millisecond truncation.
const PAST_ONE_SECOND: Duration = Duration::from_millis(1300);

fn reasons(received: &[Received]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = received
        .iter()
        .flat_map(|m| m.alerts().to_vec())
        .map(|a| (text(&a["account_id"]), text(&a["reason"])))
        .collect();
    out.sort();
    out
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// An account still unlinked `APNWATCH_REMIND_AFTER` after its alert is alerted again as a
/// REMINDER saying how long, counted in the subject, with only its record rewritten; right
/// after that, nothing is due and the run writes no account.
#[tokio::test]
async fn reminder_is_sent_once_due_and_counted_in_the_subject() {
    let (world, team) = World::start_with_account("team-a").await;
    let org = &world.org;
    org.tag(&org.management_account_id, "apn-link", "exempt")
        .await;
    set_env(&[("APNWATCH_REMIND_AFTER", Some("1s"))]);
    world.run().await;
    assert_eq!(reasons(&world.alerts.received().await).len(), 1);

    tokio::time::sleep(PAST_ONE_SECOND).await;
    let report = world.run().await;

    let received = world.alerts.received().await;
    assert_eq!(reasons(&received), vec![(team.clone(), "REMINDER".into())]);
    received[0].assert_subject_contains("1 still unlinked account");
    let why = text(&received[0].alert(&team)["why"]);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(
        why.starts_with("unlinked for ") && why.ends_with(&format!("first seen {today}")),
        "{why}"
    );
    assert_eq!(
        report.account_writes, 1,
        "the reminder bumps last_alerted_at"
    );
    assert!(
        report.events.is_empty(),
        "a reminder is not a history event"
    );

    let again = world.run().await;
    assert_eq!(again.account_writes, 0);
    assert!(
        world.alerts.received().await.is_empty(),
        "not due again yet"
    );
}

/// With the default week, a rerun a moment later sends no reminder and writes no account.
#[tokio::test]
async fn reminder_not_due_sends_nothing_and_writes_nothing() {
    second_run_is_quiet(None).await;
}

/// `APNWATCH_REMIND_AFTER=off` never reminds, however long the account stays unlinked.
#[tokio::test]
async fn reminders_off_never_remind() {
    second_run_is_quiet(Some("off")).await;
}

/// An unlinked account alerted on a first run; a second run past one second (with
/// `APNWATCH_REMIND_AFTER` as given) writes no account and publishes nothing.
async fn second_run_is_quiet(remind_after: Option<&str>) {
    let world = World::start().await;
    let org = &world.org;
    org.account(&org.root_id, "team-a", &[]).await;
    if remind_after.is_some() {
        set_env(&[("APNWATCH_REMIND_AFTER", remind_after)]);
    }
    world.run_and_discard_alerts().await;

    tokio::time::sleep(PAST_ONE_SECOND).await;
    let report = world.run().await;

    assert_eq!(report.account_writes, 0);
    assert!(world.alerts.received().await.is_empty());
}

/// Alerted accounts that are then linked, exempted, closed or removed are each reported
/// once as RESOLVED, in a message whose subject reads as good news; the next run is quiet.
#[tokio::test]
async fn resolved_on_link_exempt_close_and_removal() {
    let world = World::start().await;
    let org = &world.org;
    let names = ["gets-linked", "gets-exempt", "gets-closed", "gets-removed"];
    let [linked, exempt, closed, removed] = org.accounts(&org.root_id, names).await;
    org.link_management().await;
    world.run().await;
    assert_eq!(reasons(&world.alerts.received().await).len(), 4, "baseline");

    org.tag(&linked, "apn-link", "linked").await;
    org.tag(&exempt, "apn-link", "exempt").await;
    org.close_account(&closed).await;
    org.remove_account(&removed).await;
    world.run().await;

    let received = world.alerts.received().await;
    assert_eq!(received.len(), 1);
    let mut expected: Vec<(String, String)> = [&linked, &exempt, &closed, &removed]
        .iter()
        .map(|id| (id.to_string(), "RESOLVED".to_string()))
        .collect();
    expected.sort();
    assert_eq!(reasons(&received), expected);
    let m = &received[0];
    assert!(
        m.subject
            .starts_with("APN Link Watch: resolved, nothing to do: 4 accounts"),
        "{}",
        m.subject
    );
    assert_eq!(
        text(&m.alert(&linked)["why"]),
        "resolved: now linked via tag"
    );
    assert_eq!(text(&m.alert(&exempt)["why"]), "resolved: now exempt (tag)");
    assert!(text(&m.alert(&closed)["why"]).contains("SUSPENDED"));
    assert_eq!(
        text(&m.alert(&removed)["why"]),
        "resolved: the account left the organization"
    );
    assert_eq!(m.attribute("reasons"), r#"["RESOLVED"]"#);

    world.assert_quiet_run("resolved once").await;
}

/// `APNWATCH_NOTIFY_RESOLVED=false` keeps resolutions quiet.
#[tokio::test]
async fn resolved_notices_can_be_turned_off() {
    let (world, team) = World::start_with_account("team-a").await;
    let org = &world.org;
    world.run_and_discard_alerts().await;
    set_env(&[("APNWATCH_NOTIFY_RESOLVED", Some("false"))]);

    org.tag(&team, "apn-link", "linked").await;
    world
        .assert_quiet_run("resolved notices are turned off")
        .await;
}

/// A closed (SUSPENDED) unlinked account is left out of the baseline and never reminded
/// about, while an active one next to it is.
#[tokio::test]
async fn closed_accounts_never_alert_nor_get_reminders() {
    let world = World::start().await;
    let org = &world.org;
    let [active, closed] = org.accounts(&org.root_id, ["active", "closed"]).await;
    org.link_management().await;
    org.close_account(&closed).await;
    set_env(&[("APNWATCH_REMIND_AFTER", Some("1s"))]);
    world.run().await;
    assert_eq!(
        reasons(&world.alerts.received().await),
        vec![(active.clone(), "BASELINE".into())]
    );

    tokio::time::sleep(PAST_ONE_SECOND).await;
    world.run().await;

    assert_eq!(
        reasons(&world.alerts.received().await),
        vec![(active, "REMINDER".into())]
    );
}

/// [`pc_fixture`] with `(account id, status)` connections and invitations, ten a page.
fn partner_central(connections: &[(&str, &str)], invitations: &[(&str, &str)]) -> Value {
    let mut fixture = pc_fixture(connections, invitations);
    fixture["page_size"] = json!(10);
    fixture
}

/// An invitation that lapses (PENDING, then no invitation any more) alerts as
/// INVITATION_LAPSED with its own words, not as a lost link; once the account accepts a
/// connection, it is RESOLVED "now linked via partner-central".
#[tokio::test]
async fn lapsed_invitation_then_connection_read_as_such() {
    let (world, team) = World::start_with_account("team-a").await;
    let org = &world.org;
    let pc = FakePartnerCentral::start(partner_central(&[], &[(&team, "PENDING")]));
    set_env(&[
        ("APNWATCH_LINK_SOURCES", Some("partner-central,tag")),
        ("AWS_ENDPOINT_URL_PARTNERCENTRAL_ACCOUNT", Some(&pc.url)),
    ]);
    org.link_management().await;
    world.run().await;
    assert_eq!(
        reasons(&world.alerts.received().await),
        vec![(team.clone(), "BASELINE".into())]
    );

    pc.set_fixture(&partner_central(&[], &[]));
    world.run().await;
    let received = world.alerts.received().await;
    assert_eq!(
        reasons(&received),
        vec![(team.clone(), "INVITATION_LAPSED".into())]
    );
    let why = text(&received[0].alert(&team)["why"]);
    assert!(
        why.contains("expired, was rejected or was withdrawn") && !why.contains("was linked"),
        "{why}"
    );

    pc.set_fixture(&partner_central(&[(&team, "ACTIVE")], &[]));
    world.run().await;
    let received = world.alerts.received().await;
    assert_eq!(reasons(&received), vec![(team.clone(), "RESOLVED".into())]);
    assert_eq!(
        text(&received[0].alert(&team)["why"]),
        "resolved: now linked via partner-central"
    );
}

/// Without routing every message carries `route=all`, the reasons and link states as
/// String.Array attributes and the organization id.
#[tokio::test]
async fn attributes_are_present_without_routing() {
    let world = World::start().await;
    let org = &world.org;
    org.account(&org.root_id, "team-a", &[]).await;
    world.run().await;

    let received = world.alerts.received().await;
    assert_eq!(received.len(), 1);
    let attrs = &received[0].attributes;
    assert_eq!(attrs["route"], ("String".into(), "all".into()));
    assert_eq!(
        attrs["reasons"],
        ("String.Array".into(), r#"["BASELINE"]"#.into())
    );
    assert_eq!(
        attrs["link_states"],
        ("String.Array".into(), r#"["UNLINKED"]"#.into())
    );
    assert_eq!(attrs["organization_id"], ("String".into(), org.id.clone()));
}

/// `APNWATCH_ROUTE_BY=<route_by>`, and the payments and search teams' queues subscribed to
/// the topic with these filter policies.
async fn route_to_teams(
    world: &World,
    route_by: &str,
    payments_policy: &str,
    search_policy: &str,
) -> (Queue, Queue) {
    set_env(&[("APNWATCH_ROUTE_BY", Some(route_by))]);
    let alerts = &world.alerts;
    let payments = alerts.subscribe_queue("team-payments", Some(payments_policy));
    let search = alerts.subscribe_queue("team-search", Some(search_policy));
    (payments.await, search.await)
}

/// `APNWATCH_ROUTE_BY=ou:1`: each top-level OU's accounts go out as their own message, and a
/// team queue subscribed with a `route` filter policy receives only its own.
#[tokio::test]
async fn routing_by_top_level_ou_reaches_only_each_teams_queue() {
    let (world, payments_ou) = World::start_with_ou("Payments").await;
    let org = &world.org;
    let deep = org.ou(&payments_ou, "Prod").await;
    let search_ou = org.ou(&org.root_id, "Search").await;
    let payments = org.account(&deep, "payments-prod", &[]).await;
    let search = org.account(&search_ou, "search-dev", &[]).await;
    let loose = org.account(&org.root_id, "loose", &[]).await;
    org.link_management().await;
    let (payments_q, search_q) = route_to_teams(
        &world,
        "ou:1",
        r#"{"route": ["Payments"]}"#,
        r#"{"route": ["Search"]}"#,
    )
    .await;

    let report = world.run().await;

    let p = payments_q.received().await;
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].account_ids(), vec![payments.clone()]);
    assert_eq!(p[0].attribute("route"), "Payments");
    assert!(
        p[0].subject.starts_with("APN Link Watch [Payments]:"),
        "{}",
        p[0].subject
    );
    let s = search_q.received().await;
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].account_ids(), vec![search]);
    let everything = world.alerts.received().await;
    let mut routes: Vec<&str> = everything.iter().map(|m| m.attribute("route")).collect();
    routes.sort();
    assert_eq!(routes, vec!["Payments", "Search", "unrouted"]);
    let unrouted = everything
        .iter()
        .find(|m| m.attribute("route") == "unrouted")
        .unwrap();
    assert_eq!(unrouted.account_ids(), vec![loose]);
    assert_eq!(report.summary.messages, 3);
}

/// `APNWATCH_ROUTE_BY=tag:team`: routes by the account's `team` tag, and a filter policy
/// can also pick reasons (here: only reminders and new accounts of team payments).
#[tokio::test]
async fn routing_by_team_tag_reaches_only_each_teams_queue() {
    let world = World::start().await;
    let org = &world.org;
    let payments = org
        .account(&org.root_id, "pay", &[("team", "payments")])
        .await;
    let search = org
        .account(&org.root_id, "find", &[("team", "search")])
        .await;
    org.link_management().await;
    let (payments_q, search_q) = route_to_teams(
        &world,
        "tag:team",
        r#"{"route": ["payments"]}"#,
        r#"{"route": ["search"], "reasons": ["NEW_ACCOUNT", "REMINDER"]}"#,
    )
    .await;

    world.run().await;
    let p = payments_q.received().await;
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].account_ids(), vec![payments.clone()]);
    assert!(
        search_q.received().await.is_empty(),
        "a BASELINE does not pass the search team's reasons filter"
    );

    let later = org
        .account(&org.root_id, "find-2", &[("team", "search")])
        .await;
    world.run().await;
    let s = search_q.received().await;
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].account_ids(), vec![later]);
    assert_eq!(s[0].attribute("reasons"), r#"["NEW_ACCOUNT"]"#);
    assert!(payments_q.received().await.is_empty());
    let _ = search;
}

/// The template's optional `AlertEmailRoute` puts a `route` filter policy on the stack's
/// email subscription, and only when set; the three variables reach the function.
#[test]
fn alert_email_route_filters_the_email_subscription() {
    let path = integration_tests::workspace_dir().join("template.yaml");
    let text = std::fs::read_to_string(&path).expect("read template.yaml");
    let doc: serde_norway::Value = serde_norway::from_str(&text).expect("parse template.yaml");
    assert_eq!(
        doc["Parameters"]["AlertEmailRoute"]["Default"].as_str(),
        Some("")
    );
    assert_eq!(
        doc["Conditions"]["HasAlertEmailRoute"],
        serde_norway::from_str::<serde_norway::Value>(
            r#"!Not [!Equals [!Ref AlertEmailRoute, ""]]"#
        )
        .unwrap()
    );
    let props = &doc["Resources"]["AlertEmailSubscription"]["Properties"];
    let policy = serde_norway::to_string(&props["FilterPolicy"]).unwrap();
    assert!(
        policy.contains("HasAlertEmailRoute")
            && policy.contains("route:")
            && policy.contains("AlertEmailRoute")
            && policy.contains("AWS::NoValue"),
        "{policy}"
    );
    let env = integration_tests::function_environment(&doc, "SnapshotFunction");
    for var in [
        "APNWATCH_REMIND_AFTER",
        "APNWATCH_NOTIFY_RESOLVED",
        "APNWATCH_ROUTE_BY",
    ] {
        assert!(env.contains_key(var), "{var} is not set on the function");
    }
}

/// The filter policy the template gives the email subscription for `AlertEmailRoute=route`,
/// as JSON: the `!If` taken on its HasAlertEmailRoute branch, `!Ref AlertEmailRoute` resolved.
fn alert_email_filter_policy(route: &str) -> String {
    fn resolve(v: &serde_norway::Value, route: &str) -> serde_json::Value {
        use serde_norway::Value as Y;
        match v {
            Y::Tagged(t) if t.tag == "If" => resolve(&t.value[1], route),
            Y::Tagged(t) if t.tag == "Ref" && t.value.as_str() == Some("AlertEmailRoute") => {
                serde_json::json!(route)
            }
            Y::Tagged(t) => panic!("unexpected intrinsic !{} in the filter policy", t.tag),
            Y::Sequence(items) => items.iter().map(|i| resolve(i, route)).collect(),
            Y::Mapping(m) => m
                .iter()
                .map(|(k, v)| (k.as_str().unwrap().to_string(), resolve(v, route)))
                .collect::<serde_json::Map<_, _>>()
                .into(),
            other => serde_json::to_value(other).unwrap(),
        }
    }
    let doc = integration_tests::parse_yaml("template.yaml");
    let policy = &doc["Resources"]["AlertEmailSubscription"]["Properties"]["FilterPolicy"];
    resolve(policy, route).to_string()
}

/// `AlertEmailRoute=Payments`: the email subscription, with the template's own filter policy
/// on moto, receives the Payments message and the CloudWatch alarm notifications (which carry
/// no `route` attribute), and not the other teams' or the unrouted message.
#[tokio::test]
async fn alert_email_route_still_receives_the_alarms() {
    let (world, payments_ou) = World::start_with_ou("Payments").await;
    let org = &world.org;
    let search_ou = org.ou(&org.root_id, "Search").await;
    let payments = org.account(&payments_ou, "payments-prod", &[]).await;
    org.account(&search_ou, "search-dev", &[]).await;
    org.account(&org.root_id, "loose", &[]).await;
    org.link_management().await;
    let policy = alert_email_filter_policy("Payments");
    let email = world
        .alerts
        .subscribe_queue("alert-email", Some(&policy))
        .await;
    set_env(&[("APNWATCH_ROUTE_BY", Some("ou:1"))]);

    world.run().await;
    world
        .alerts
        .publish_alarm("apn-link-watch-FunctionErrorsAlarm")
        .await;

    let got = email.received().await;
    let subjects: Vec<&str> = got.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(got.len(), 2, "{policy}: {subjects:?}");
    let routed = got
        .iter()
        .find(|m| m.attributes.contains_key("route"))
        .expect("the Payments message");
    assert_eq!(routed.attribute("route"), "Payments");
    assert_eq!(routed.account_ids(), vec![payments]);
    let alarm = got
        .iter()
        .find(|m| !m.attributes.contains_key("route"))
        .expect("the alarm notification");
    assert!(alarm.subject.starts_with("ALARM: "), "{}", alarm.subject);
    assert_eq!(alarm.message["NewStateValue"], "ALARM");
    // The topic's catch-all subscriber got all three routes and the alarm.
    assert_eq!(world.alerts.received().await.len(), 4);
}
