//! Issue 11 on a small generated organization: `infra/fake_organizations.py` answers for
//! Organizations (with or without `Paths`, throttled, slow), moto for the rest. The tag sweep
//! reads every account within the max age and no account is written when nothing changed; a
//! tag event forces its account's read; the `ListAccounts`-with-paths walk and the per-unit
//! walk give the same tree; a run that would miss its deadline writes and publishes
//! nothing; a throttled walk backs off and completes without a spurious change.

use std::collections::BTreeMap;
use std::time::Duration;

use apnwatch::aws::organizations::OrganizationsSource;
use apnwatch::domain::deadline::Deadline;
use apnwatch::domain::model::LinkState;
use apnwatch::ports::{AccountTable, OrgSource};
use apnwatch::run::{RunOptions, RunReport};
use integration_tests::*;
use serde_json::json;

/// The product's Organizations adapter pointed at `fake`.
async fn source(fake: &FakeOrganizations) -> OrganizationsSource {
    let mut env = deployed_env("http://127.0.0.1:9");
    env.insert("AWS_ENDPOINT_URL_ORGANIZATIONS".into(), fake.url.clone());
    let cfg = sdk_config(&env).await;
    OrganizationsSource::new(apnwatch::aws::organizations_client(&cfg), 4)
}

/// A world whose Organizations endpoint is `fake`, deciding links by tag, always spreading
/// the tag reads.
fn spread_tags(w: &World, fake: &FakeOrganizations) {
    w.set_env(&[
        ("AWS_ENDPOINT_URL_ORGANIZATIONS", Some(&fake.url)),
        ("APNWATCH_LINK_SOURCES", Some("tag")),
        ("APNWATCH_TAG_SWEEP_ABOVE", Some("0")),
    ]);
}

async fn run_with_max_age(w: &World, max_age: chrono::Duration) -> RunReport {
    w.app_with(|c| c.tag_max_age = max_age)
        .await
        .run(RunOptions::default())
        .await
        .unwrap_or_else(|e| panic!("run failed: {}", e.one_line()))
}

/// Untagged accounts, by id order.
fn unlinked(records: &BTreeMap<String, apnwatch::domain::model::AccountRecord>) -> Vec<String> {
    records
        .values()
        .filter(|r| r.link.state == LinkState::Unlinked)
        .map(|r| r.account.id.clone())
        .collect()
}

/// One paged `ListAccounts` with paths and the per-unit walk (no paths, as moto) read the
/// same tree; the paths walk makes no `ListAccountsForParent` call and fewer calls in all.
#[tokio::test]
async fn paths_and_per_unit_walks_give_identical_trees() {
    let with_paths = FakeOrganizations::start(120, 12, &["--paths"]);
    let per_unit = FakeOrganizations::start(120, 12, &[]);
    let a = source(&with_paths).await.snapshot(true).await.unwrap();
    let b = source(&per_unit).await.snapshot(true).await.unwrap();
    assert_eq!(a.tree.accounts.len(), 120);
    assert_eq!(a.tree.units.len(), 13, "root and 12 OUs");
    assert_eq!(a.tree, b.tree);
    assert_eq!(with_paths.requests("ListAccountsForParent"), 0);
    assert_eq!(
        with_paths.requests("ListAccounts"),
        6,
        "120 accounts, 20 a page"
    );
    assert!(per_unit.requests("ListAccountsForParent") >= 13);
    assert_eq!(
        per_unit.requests("ListAccounts"),
        1,
        "one page shows there are no paths"
    );
    assert!(a.calls < b.calls, "{} vs {}", a.calls, b.calls);
    assert_eq!(a.calls, with_paths.total_requests());
}

/// A `ListAccounts` path naming a unit the OU listing did not see (an OU deleted between the
/// two) is never guessed at: the walk lists every unit's accounts instead and reads the same
/// tree as the per-unit walk.
#[tokio::test]
async fn a_path_to_a_unit_the_walk_did_not_list_falls_back_to_the_per_unit_walk() {
    let with_paths = FakeOrganizations::start(120, 12, &["--paths"]);
    let per_unit = FakeOrganizations::start(120, 12, &[]);
    let expected = source(&per_unit).await.snapshot(false).await.unwrap().tree;
    let moved = expected.accounts[40].id.clone();
    with_paths.stale_path(&moved);

    let snapshot = source(&with_paths).await.snapshot(false).await.unwrap();

    assert_eq!(snapshot.tree, expected);
    assert!(
        with_paths.requests("ListAccountsForParent") >= 13,
        "every unit listed: the root and 12 OUs"
    );
    assert_eq!(
        with_paths.requests("ListAccounts"),
        6,
        "120 accounts, 20 a page"
    );
}

/// With the tag reads spread, each run reads a slice; over one max age every account is
/// read again (the sweep item says when), a tag changed without an event is seen within it,
/// and runs that find nothing new write no account.
#[tokio::test]
async fn sweep_reads_every_account_within_the_max_age() {
    let w = World::start().await;
    let fake = FakeOrganizations::start(40, 4, &["--paths"]);
    spread_tags(&w, &fake);
    // Four minutes: runs seconds apart count as a minute each (the sweep's minimum), so
    // every run reads a quarter of the 40 accounts.
    let max_age = chrono::Duration::minutes(4);
    let baseline = run_with_max_age(&w, max_age).await;
    assert_eq!(baseline.summary.accounts, 40);
    assert_eq!(
        fake.requests("ListTagsForResource"),
        40,
        "no sweep yet: all read"
    );
    let changed = unlinked(&records().await)[20].clone();
    fake.set_tags(&changed, json!({"apn-link": "linked"}));

    let mut writes = 0;
    for round in 1..=4 {
        fake.reset();
        let report = run_with_max_age(&w, max_age).await;
        assert_eq!(fake.requests("ListTagsForResource"), 10, "round {round}");
        writes += report.account_writes;
    }
    assert_eq!(writes, 1, "only the retagged account was written");
    assert_eq!(records().await[&changed].link.state, LinkState::Linked);
    let sweep = w.app().await.store().load().await.unwrap().sweep;
    for id in records().await.keys() {
        let read = sweep.tags_read_at(id).expect("every account read");
        assert!(read > baseline.summary.started_at, "{id} last read {read}");
    }
}

/// A `TagResource` event makes the run read that account's tags although the sweep's slice
/// does not hold it; a plain run before it does not see the change.
#[tokio::test]
async fn tag_event_forces_a_read() {
    let w = World::start().await;
    let fake = FakeOrganizations::start(40, 4, &["--paths"]);
    spread_tags(&w, &fake);
    w.run().await;
    let target = unlinked(&records().await)[10].clone();
    fake.set_tags(&target, json!({"apn-link": "linked"}));

    fake.reset();
    let plain = w.run().await;
    assert_eq!(
        fake.requests("ListTagsForResource"),
        1,
        "24 h max age: a slice of one"
    );
    assert_eq!(plain.account_writes, 0);
    assert_eq!(records().await[&target].link.state, LinkState::Unlinked);

    let path = workspace_dir().join("infra/events/organizations-tag-resource.json");
    let mut event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["time"] = json!(chrono::Utc::now().to_rfc3339());
    event["detail"]["requestParameters"]["resourceId"] = json!(target);
    fake.reset();
    let outcome = w
        .app()
        .await
        .invoke(&event, RunOptions::default())
        .await
        .unwrap();
    assert!(outcome.report.is_some(), "{:?}", outcome.skip_reason);
    assert_eq!(
        fake.requests("ListTagsForResource"),
        2,
        "the slice and the tagged account"
    );
    assert_eq!(records().await[&target].link.state, LinkState::Linked);
}

/// A walk that cannot finish before the deadline's margin stops: the run fails with
/// `DeadlineError` saying how far it got and what to change, the table is as before and
/// nothing is published.
#[tokio::test]
async fn deadline_guard_writes_nothing() {
    let w = World::start().await;
    let fake = FakeOrganizations::start(40, 4, &["--latency-ms", "300"]);
    w.set_env(&[
        ("AWS_ENDPOINT_URL_ORGANIZATIONS", Some(&fake.url)),
        ("APNWATCH_LINK_SOURCES", Some("tag")),
    ]);
    let before = w.table.items().await;
    let options = RunOptions {
        deadline: Some(Deadline::after(Duration::from_secs(2))),
        ..RunOptions::default()
    };
    let err = w.app().await.run(options).await.unwrap_err();
    assert_eq!(err.kind(), "DeadlineError");
    let text = err.one_line();
    assert!(text.contains("nothing was written or published"), "{text}");
    assert!(text.contains("Organizations call(s)"), "{text}");
    assert!(text.contains("MemorySize"), "{text}");
    assert_eq!(w.table.items().await, before, "the table is unchanged");
    assert!(w.alerts.received().await.is_empty(), "nothing published");
}

/// Organizations throttling at 8 requests/s: the walk backs off (the SDK's adaptive
/// retries) and completes, and the run finds the organization unchanged.
#[tokio::test]
async fn throttled_walk_backs_off_without_a_spurious_change() {
    let w = World::start().await;
    let calm = FakeOrganizations::start(20, 3, &[]);
    w.set_env(&[
        ("AWS_ENDPOINT_URL_ORGANIZATIONS", Some(&calm.url)),
        ("APNWATCH_LINK_SOURCES", Some("tag")),
    ]);
    let baseline = w.run().await;
    assert_eq!(baseline.summary.accounts, 20);

    // The same seed: the same organization, behind a rate limit.
    let throttled = FakeOrganizations::start(20, 3, &["--rate", "8"]);
    w.set_env(&[("AWS_ENDPOINT_URL_ORGANIZATIONS", Some(&throttled.url))]);
    let report = w.run().await;
    assert!(
        throttled.stats()["throttled"].as_u64().unwrap() > 0,
        "the fake throttled"
    );
    assert_eq!(report.summary.accounts, 20);
    assert_eq!(report.summary.changes, 0);
    assert_eq!(report.account_writes, 0);
    assert!(report.alerts.is_empty());
}
