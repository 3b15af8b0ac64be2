//! End-to-end runs of the product against moto: the organization walk, link resolution,
//! what lands in the table and which alerts reach a subscriber, including failures midway,
//! retries and concurrent runs. Each test seeds its own small organization.

use std::collections::{BTreeMap, BTreeSet};

use apnwatch::domain::model::{
    AccountRecord, AccountState, ChangeEvent, ChangeKind, LinkSource, LinkState,
};
use apnwatch::ports::Queries;
use apnwatch::run::RunOptions;
use integration_tests::{apnwatch_binary, app, records, scrub_aws_env, set_env, topic_arn, World};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;

async fn history(account_id: &str) -> Vec<ChangeEvent> {
    app()
        .await
        .store()
        .history(account_id)
        .await
        .expect("read history")
}

fn link(r: &AccountRecord) -> (LinkState, LinkSource) {
    (r.link.state, r.link.source)
}

fn set<I: IntoIterator<Item = S>, S: AsRef<str>>(ids: I) -> BTreeSet<String> {
    ids.into_iter().map(|s| s.as_ref().to_string()).collect()
}

/// OUs nested five deep and 23 accounts in one OU (more than one ListAccountsForParent page)
/// are all stored, each account with the OU path and OU ids it sits under.
#[tokio::test]
async fn five_level_tree_and_crowded_ou_are_stored_whole() {
    let world = World::start().await;
    let org = &world.org;
    let mut chain = vec![org.root_id.clone()];
    for name in ["Workloads", "Prod", "Team", "Service", "Deep"] {
        let parent = chain.last().unwrap().clone();
        chain.push(org.ou(&parent, name).await);
    }
    let mut crowded = Vec::new();
    for i in 0..23 {
        crowded.push(org.account(&chain[2], &format!("prod-{i:02}"), &[]).await);
    }
    let deep = org.account(&chain[5], "deep", &[]).await;

    let report = world.run().await;

    assert_eq!(report.summary.accounts, 25);
    let records = records().await;
    assert_eq!(records.len(), 25, "management + 23 + deep");
    assert_eq!(world.table.count("ACCOUNTS").await, 25);
    for id in &crowded {
        assert_eq!(records[id].account.ou_path, "Root/Workloads/Prod");
        assert_eq!(records[id].account.parent_id, chain[2]);
    }
    let deep = &records[&deep].account;
    assert_eq!(deep.ou_path, "Root/Workloads/Prod/Team/Service/Deep");
    assert_eq!(deep.ou_ids, chain);
    let management = &records[&org.management_account_id];
    assert_eq!(management.account.ou_path, "Root");
    assert!(management.account.is_management);
}

/// Tag, lists and exemptions decide in the documented order, and each record shows the
/// state and the source that decided it.
#[tokio::test]
async fn link_precedence_is_visible_in_account_records() {
    let world = World::start().await;
    let org = &world.org;
    let root = org.root_id.clone();
    let tagged = org.linked_account(&root, "tagged").await;
    let listed = org.account(&root, "listed", &[]).await;
    let both = org.linked_account(&root, "both").await;
    let exempt_listed = org.linked_account(&root, "exempt-listed").await;
    let exempt_tagged = org
        .account(&root, "exempt-tagged", &[("apn-link", "exempt")])
        .await;
    let unknown = org
        .account(&root, "unknown", &[("apn-link", "maybe")])
        .await;
    let plain = org.account(&root, "plain", &[]).await;
    set_env(&[
        (
            "APNWATCH_LINKED_ACCOUNTS",
            Some(&format!("{listed},{both}")),
        ),
        ("APNWATCH_EXEMPT_ACCOUNTS", Some(&exempt_listed)),
    ]);

    world.run().await;

    let r = records().await;
    assert_eq!(link(&r[&tagged]), (LinkState::Linked, LinkSource::Tag));
    assert_eq!(link(&r[&listed]), (LinkState::Linked, LinkSource::List));
    // Default source order is tag, then list: the tag decides.
    assert_eq!(link(&r[&both]), (LinkState::Linked, LinkSource::Tag));
    // The exempt list beats a linked tag.
    assert_eq!(
        link(&r[&exempt_listed]),
        (LinkState::Exempt, LinkSource::List)
    );
    assert_eq!(
        link(&r[&exempt_tagged]),
        (LinkState::Exempt, LinkSource::Tag)
    );
    // An unknown tag value is not a link.
    assert_eq!(link(&r[&unknown]), (LinkState::Unlinked, LinkSource::None));
    assert_eq!(link(&r[&plain]), (LinkState::Unlinked, LinkSource::None));
}

/// The first run sends one baseline message listing exactly the unlinked accounts, with the
/// counts in a subject of at most 100 characters.
#[tokio::test]
async fn first_run_sends_one_baseline_of_exactly_the_unlinked_accounts() {
    let (world, workloads) = World::start_with_ou("Workloads").await;
    let org = &world.org;
    let a = org.account(&workloads, "team-a", &[]).await;
    let b = org.account(&workloads, "team-b", &[]).await;
    org.linked_account(&workloads, "linked").await;
    org.account(&workloads, "lab", &[("apn-link", "exempt")])
        .await;

    let report = world.run().await;

    let received = world.alerts.received().await;
    assert_eq!(received.len(), 1, "{received:?}");
    let message = &received[0];
    let unlinked = set([&org.management_account_id, &a, &b]);
    assert_eq!(set(message.account_ids()), unlinked);
    assert_eq!(message.account_ids().len(), 3, "each account once");
    for alert in message.alerts() {
        assert_eq!(alert["reason"], "BASELINE");
        assert_eq!(alert["link_state"], "UNLINKED");
    }
    assert_eq!(message.alert(&a)["ou_path"], "Root/Workloads");
    assert_eq!(message.message["schema"], "apn-link-watch/alert/v1");
    assert_eq!(message.message["organization_id"], org.id.as_str());
    message.assert_subject_contains("baseline: 3 unlinked");
    message.assert_subject_contains(&org.id);
    assert!(
        message.subject.chars().count() <= 100,
        "{}",
        message.subject
    );
    assert_eq!((report.summary.alerts, report.summary.messages), (3, 1));
    assert_eq!(
        world.table.count("OUTBOX").await,
        0,
        "sent alerts leave the outbox"
    );
}

/// An account that appears after the first run is recorded as discovered and alerted once,
/// as a new account.
#[tokio::test]
async fn new_account_on_a_later_run_is_alerted_as_new() {
    let (world, workloads) = World::start_with_ou("Workloads").await;
    let org = &world.org;
    org.account(&workloads, "team-a", &[]).await;
    world.run_and_discard_alerts().await;

    let new = org.account(&workloads, "team-new", &[]).await;
    world.run().await;

    let received = world.alerts.received().await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].account_ids(), vec![new.clone()]);
    let alert = received[0].alert(&new);
    assert_eq!(alert["reason"], "NEW_ACCOUNT");
    assert_eq!(alert["link_state"], "UNLINKED");
    assert_eq!(alert["name"], "team-new");
    received[0].assert_subject_contains("1 new");
    let events = history(&new).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, ChangeKind::Discovered);
    assert_eq!(events[0].after.as_deref(), Some("UNLINKED"));
}

/// Removing the link tag records an UNLINKED event (LINKED -> UNLINKED) and alerts the
/// account as LINK_LOST.
#[tokio::test]
async fn removed_link_tag_records_unlinked_and_alerts_link_lost() {
    let world = World::start().await;
    let org = &world.org;
    let a = org.linked_account(&org.root_id, "team-a").await;
    world.run_and_discard_alerts().await;

    org.untag(&a, "apn-link").await;
    world.run().await;

    let record = &records().await[&a];
    assert_eq!(link(record), (LinkState::Unlinked, LinkSource::None));
    let events = history(&a).await;
    let last = events.last().expect("events");
    assert_eq!(last.kind, ChangeKind::Unlinked);
    assert_eq!(
        (last.before.as_deref(), last.after.as_deref()),
        (Some("LINKED"), Some("UNLINKED"))
    );
    let received = world.alerts.received().await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].account_ids(), vec![a.clone()]);
    assert_eq!(received[0].alert(&a)["reason"], "LINK_LOST");
}

/// A rerun over an unchanged organization publishes nothing and writes no account item and
/// no history: only its run record is added.
#[tokio::test]
async fn rerun_without_changes_publishes_nothing_and_writes_no_account() {
    let (world, workloads) = World::start_with_ou("Workloads").await;
    let org = &world.org;
    org.account(&workloads, "team-a", &[]).await;
    org.linked_account(&workloads, "linked").await;
    world.run_and_discard_alerts().await;
    let without_runs = |items: BTreeMap<(String, String), _>| {
        items
            .into_iter()
            .filter(|((pk, _), _)| pk != "RUNS")
            .collect::<BTreeMap<_, _>>()
    };
    let revs = world.table.account_revs().await;
    let runs = world.table.count("RUNS").await;
    let before = without_runs(world.table.items().await);

    world.proxy.reset_traffic();
    let report = world.run().await;
    let traffic = world.proxy.traffic();

    // DynamoDB: a Query of the accounts and one of the outbox that finds nothing (so no
    // lease is taken and released), one of the SWEEP partition (the tag sweep and OU names),
    // the run record (PutItem): nothing read twice.
    let dynamo: BTreeMap<&str, usize> = traffic
        .iter()
        .filter_map(|(t, n)| Some((t.strip_prefix("DynamoDB_20120810.")?, n.requests)))
        .collect();
    assert_eq!(
        dynamo,
        BTreeMap::from([("PutItem", 1), ("Query", 3)]),
        "{traffic:?}"
    );
    assert_eq!(
        report.account_writes, 0,
        "an unchanged organization must not rewrite account items"
    );
    assert_eq!(report.summary.changes, 0);
    assert_eq!((report.summary.alerts, report.summary.messages), (0, 0));
    assert!(world.alerts.received().await.is_empty(), "no message");
    assert_eq!(
        world.table.account_revs().await,
        revs,
        "no account rewritten"
    );
    assert_eq!(without_runs(world.table.items().await), before);
    assert_eq!(world.table.count("RUNS").await, runs + 1);
}

/// Every account below an exempt OU, nested OUs included, is EXEMPT by that OU and is left
/// out of the alert.
#[tokio::test]
async fn exempt_ou_covers_its_whole_subtree() {
    let (world, sandbox) = World::start_with_ou("Sandbox").await;
    let org = &world.org;
    let experiments = org.ou(&sandbox, "Experiments").await;
    let workloads = org.ou(&org.root_id, "Workloads").await;
    let s1 = org.account(&sandbox, "sandbox-1", &[]).await;
    let s2 = org.account(&experiments, "experiment-1", &[]).await;
    let w = org.account(&workloads, "team-a", &[]).await;
    set_env(&[("APNWATCH_EXEMPT_OUS", Some(&sandbox))]);

    let report = world.run().await;

    let r = records().await;
    for id in [&s1, &s2] {
        assert_eq!(link(&r[id]), (LinkState::Exempt, LinkSource::ExemptOu));
        assert!(
            r[id].link.detail.contains(&sandbox),
            "{}",
            r[id].link.detail
        );
    }
    assert_eq!(link(&r[&w]), (LinkState::Unlinked, LinkSource::None));
    assert_eq!(report.summary.exempt, 2);
    let received = world.alerts.received().await;
    assert_eq!(received.len(), 1);
    assert_eq!(
        set(received[0].account_ids()),
        set([&org.management_account_id, &w])
    );
}

/// A closed account gets a STATE_CHANGED event; a removed account gets a REMOVED event and
/// keeps its item, marked removed and gone from the link-state index.
#[tokio::test]
async fn closed_and_removed_accounts_are_recorded_not_deleted() {
    let (world, closing) = World::start_with_account("closing").await;
    let org = &world.org;
    let leaving = org.account(&org.root_id, "leaving", &[]).await;
    world.run_and_discard_alerts().await;

    org.close_account(&closing).await;
    org.remove_account(&leaving).await;
    world.run().await;

    let r = records().await;
    // moto reports a closed account as SUSPENDED right away (AWS: PENDING_CLOSURE, then
    // SUSPENDED); the product records whatever State says.
    assert_eq!(r[&closing].account.state, AccountState::Suspended);
    let changed = history(&closing).await;
    let last = changed.last().unwrap();
    assert_eq!(last.kind, ChangeKind::StateChanged);
    assert_eq!(
        (last.before.as_deref(), last.after.as_deref()),
        (Some("ACTIVE"), Some("SUSPENDED"))
    );

    assert!(r[&leaving].removed, "the item is kept, marked removed");
    assert_eq!(
        history(&leaving).await.last().unwrap().kind,
        ChangeKind::Removed
    );
    let unlinked = app()
        .await
        .store()
        .accounts(Some(LinkState::Unlinked))
        .await
        .unwrap();
    let unlinked = set(unlinked.iter().map(|r| &r.account.id));
    assert!(
        !unlinked.contains(&leaving),
        "removed accounts leave the index"
    );
    assert!(unlinked.contains(&closing));
    // Closing or leaving is not a link problem: both alerted accounts are only resolved.
    let received = world.alerts.received().await;
    let reasons: BTreeSet<&str> = received
        .iter()
        .flat_map(|m| m.alerts())
        .map(|a| a["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        set(["RESOLVED"]).iter().map(String::as_str).collect()
    );
    assert_eq!(received.iter().map(|m| m.alerts().len()).sum::<usize>(), 2);
}

/// A walk that fails midway (Organizations denies a call) fails the run with an
/// OrganizationsError and leaves the table and the topic untouched; the next good run
/// records the changes.
#[tokio::test]
async fn walk_failing_midway_leaves_table_and_topic_untouched() {
    let (world, workloads) = World::start_with_ou("Workloads").await;
    let org = &world.org;
    let linked = org.linked_account(&workloads, "linked").await;
    world.run_and_discard_alerts().await;

    let new = org.account(&workloads, "team-new", &[]).await;
    org.untag(&linked, "apn-link").await;
    let before = world.table.items().await;
    // The root's accounts are listed, then listing the Workloads OU is denied.
    world.proxy.fail("ListAccountsForParent", 1);

    let err = app().await.run(RunOptions::default()).await.unwrap_err();

    assert_eq!(err.kind(), "OrganizationsError", "{}", err.one_line());
    assert!(
        err.one_line().contains("ListAccountsForParent"),
        "{}",
        err.one_line()
    );
    assert_eq!(world.table.items().await, before, "nothing written");
    assert!(
        world.alerts.received().await.is_empty(),
        "nothing published"
    );

    world.proxy.heal();
    world.run().await;
    let received = world.alerts.received().await;
    assert_eq!(received.len(), 1);
    assert_eq!(set(received[0].account_ids()), set([&new, &linked]));
}

/// A run whose publish fails keeps its alerts queued; the next run sends them exactly once
/// and the one after sends nothing.
#[tokio::test]
async fn failed_publish_is_sent_once_by_the_next_run() {
    let (world, a) = World::start_with_account("team-a").await;
    let org = &world.org;
    set_env(&[("APNWATCH_TOPIC_ARN", Some(&topic_arn("does-not-exist")))]);

    let err = app().await.run(RunOptions::default()).await.unwrap_err();

    assert_eq!(err.kind(), "NotifyError", "{}", err.one_line());
    assert_eq!(
        world.table.count("ACCOUNTS").await,
        2,
        "the state is stored"
    );
    assert_eq!(
        world.table.count("OUTBOX").await,
        2,
        "the alerts are queued"
    );
    assert!(world.alerts.received().await.is_empty());
    let failed_run = app().await.store().runs(1).await.unwrap();
    assert_eq!(failed_run.len(), 1, "the failed run is recorded");

    set_env(&[("APNWATCH_TOPIC_ARN", Some(&world.alerts.topic_arn))]);
    let retry = world.run().await;

    let received = world.alerts.received().await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(
        set(received[0].account_ids()),
        set([&org.management_account_id, &a])
    );
    for alert in received[0].alerts() {
        assert_eq!(alert["reason"], "BASELINE");
        assert_eq!(alert["run_id"], failed_run[0].run_id.as_str());
    }
    assert_eq!(
        retry.account_writes, 0,
        "nothing changed in the organization"
    );
    assert_eq!(world.table.count("OUTBOX").await, 0);

    world.assert_quiet_run("sent once only").await;
}

/// Two runs started at the same moment record each account once and publish each alert
/// exactly once between them.
#[tokio::test]
async fn concurrent_runs_publish_each_alert_exactly_once() {
    let world = World::start().await;
    let org = &world.org;
    let mut ids = vec![org.management_account_id.clone()];
    for name in ["team-a", "team-b", "team-c"] {
        ids.push(org.account(&org.root_id, name, &[]).await);
    }
    let (first, second) = (app().await, app().await);

    let (r1, r2) = tokio::join!(
        first.run(RunOptions::default()),
        second.run(RunOptions::default())
    );

    let r1 = r1.unwrap_or_else(|e| panic!("first run: {}", e.one_line()));
    let r2 = r2.unwrap_or_else(|e| panic!("second run: {}", e.one_line()));
    let mut alerted: Vec<String> = world
        .alerts
        .received()
        .await
        .iter()
        .flat_map(|m| m.account_ids())
        .collect();
    alerted.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(alerted, expected, "each account alerted exactly once");
    assert_eq!(r1.summary.alerts + r2.summary.alerts, 4);
    for id in &ids {
        assert_eq!(history(id).await.len(), 1, "one DISCOVERED event for {id}");
    }
    assert_eq!(world.table.count("OUTBOX").await, 0);
    assert_eq!(world.table.count("RUNS").await, 2);
}

/// A Lambda payload that is not an EventBridge event nor `{}` is refused with BadEvent
/// before anything is read, written or published.
#[tokio::test]
async fn malformed_lambda_payload_leaves_everything_untouched() {
    let (world, _) = World::start_with_account("team-a").await;
    let app = app().await;
    let before = world.table.items().await;

    for payload in [json!({"Records": []}), json!("run"), json!(null)] {
        let event = LambdaEvent::new(payload, Context::default());
        let err = apnwatch::lambda::handler(&app, event).await.unwrap_err();
        assert_eq!(err.kind(), "BadEvent", "{}", err.one_line());
    }

    world.assert_untouched(&before, "a refused payload").await;
}

/// The schedule's EventBridge event runs a snapshot and returns its summary.
#[tokio::test]
async fn scheduled_event_runs_and_returns_the_summary() {
    let (world, _) = World::start_with_account("team-a").await;
    let event = json!({"version": "0", "id": "1", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-11-27T12:00:00Z",
        "region": "us-east-1", "resources": [], "detail": {}});

    let out = apnwatch::lambda::handler(&app().await, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap_or_else(|e| panic!("{}", e.one_line()));

    assert_eq!(out["accounts"], 2);
    assert_eq!(out["unlinked"], 2);
    assert_eq!(out["alerts"], 2);
    assert_eq!(world.alerts.received().await.len(), 1);
    assert_eq!(world.table.count("ACCOUNTS").await, 2);
}

/// A malformed APNWATCH_LINKED_ACCOUNTS stops start-up with an error naming the variable
/// and the bad value. Start-up reads the real process environment (`App::from_env`), so
/// this runs the CLI binary, which starts exactly like the Lambda, with that environment.
#[tokio::test]
async fn malformed_linked_accounts_names_the_variable() {
    let mut cmd = std::process::Command::new(apnwatch_binary());
    scrub_aws_env(&mut cmd);
    cmd.args(["accounts", "--json"]).envs([
        ("APNWATCH_TABLE", "apn-link-watch"),
        ("APNWATCH_LINKED_ACCOUNTS", "111122223333,12345"),
    ]);

    let out = cmd.output().expect("run apnwatch");

    assert!(!out.status.success(), "a malformed list must not start");
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.starts_with("apnwatch: ConfigError: "), "{message}");
    assert!(message.contains("APNWATCH_LINKED_ACCOUNTS"), "{message}");
    assert!(message.contains("12345"), "{message}");
}
