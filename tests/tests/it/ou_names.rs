//! Issue 18 on a small generated organization with `Paths` (`infra/fake_organizations.py`),
//! moto for the table and topic: OU names are kept in the table, an unchanged run lists no
//! OU and reads only its slice of names; a rename with an event shows in the run it
//! triggers, one without an event within the max age; a new OU, an account moved into it and
//! a deleted OU come out as the full listing would give them; the per-unit walk (no paths)
//! lists every OU as before and stores no names.

use std::collections::BTreeMap;

use apnwatch::domain::model::{AccountRecord, ChangeKind};
use apnwatch::ports::{AccountTable, RunRecords};
use apnwatch::run::{RunOptions, RunReport};
use integration_tests::*;
use serde_json::{json, Value};

/// 90 accounts under 30 OUs (3 at the top), with paths.
const ACCOUNTS: usize = 90;
const OUS: usize = 30;

fn world_env(w: &World, fake: &FakeOrganizations) {
    w.set_env(&[("AWS_ENDPOINT_URL_ORGANIZATIONS", Some(&fake.url))]);
}

/// An Organizations CloudTrail event named `name` with `params`, happening now.
fn ou_event(name: &str, params: Value) -> Value {
    let path = workspace_dir().join("infra/events/organizations-move-account.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["time"] = json!(chrono::Utc::now().to_rfc3339());
    event["detail"]["eventName"] = json!(name);
    event["detail"]["requestParameters"] = params;
    event
}

async fn invoke(w: &World, event: &Value) -> RunReport {
    let outcome = w
        .app()
        .await
        .invoke(event, RunOptions::default())
        .await
        .unwrap_or_else(|e| panic!("invoke failed: {}", e.one_line()));
    outcome
        .report
        .unwrap_or_else(|| panic!("skipped: {:?}", outcome.skip_reason))
}

/// The accounts at or below OU `ou_id`.
fn below(records: &BTreeMap<String, AccountRecord>, ou_id: &str) -> Vec<String> {
    records
        .values()
        .filter(|r| !r.removed && r.account.ou_ids.iter().any(|id| id == ou_id))
        .map(|r| r.account.id.clone())
        .collect()
}

/// A top-level OU with accounts below it that is not the first OU (in id order) on the
/// paths, so that a one-name slice does not happen to read it.
fn top_ou_not_first(records: &BTreeMap<String, AccountRecord>) -> String {
    let all: Vec<&String> = records
        .values()
        .flat_map(|r| r.account.ou_ids.iter().skip(1))
        .collect();
    let first = all.iter().min().unwrap().to_string();
    let top = records
        .values()
        .filter_map(|r| r.account.ou_ids.get(1))
        .max()
        .expect("an account below a top-level OU")
        .clone();
    assert_ne!(
        top, first,
        "the generated tree has more than one top-level OU on paths"
    );
    top
}

/// After the baseline (which lists every OU once), an unchanged run lists no OU, reads one
/// OU name (the slice of a run a minute after the last one) and writes no account.
#[tokio::test]
async fn an_unchanged_run_lists_no_ou() {
    let w = World::start().await;
    let fake = FakeOrganizations::start(ACCOUNTS, OUS, &["--paths"]);
    world_env(&w, &fake);
    w.run().await;
    assert!(
        fake.requests("ListOrganizationalUnitsForParent") > 0,
        "the baseline lists"
    );
    let stored = w.app().await.store().load().await.unwrap().ou_names;
    let on_paths = below_any(&records().await);
    assert_eq!(
        stored.units.len(),
        on_paths,
        "the names of every OU on a path"
    );

    fake.reset();
    let report = w.run().await;
    assert_eq!(fake.requests("ListOrganizationalUnitsForParent"), 0);
    assert_eq!(fake.requests("DescribeOrganizationalUnit"), 1);
    assert_eq!(report.account_writes, 0);
    assert_eq!(report.summary.changes, 0);
    assert_eq!(report.organizations_calls, fake.total_requests());
    assert_eq!(
        fake.total_requests() - fake.requests("ListTagsForResource"),
        8,
        "DescribeOrganization, ListRoots, 5 ListAccounts pages, 1 name"
    );
}

/// The number of distinct OUs on the accounts' paths.
fn below_any(records: &BTreeMap<String, AccountRecord>) -> usize {
    records
        .values()
        .flat_map(|r| r.account.ou_ids.iter().skip(1))
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// An OU renamed with an `UpdateOrganizationalUnit` event: the run it triggers reads that
/// name and records the new path of every account below it.
#[tokio::test]
async fn a_rename_with_an_event_moves_every_account_below() {
    let w = World::start().await;
    let fake = FakeOrganizations::start(ACCOUNTS, OUS, &["--paths"]);
    world_env(&w, &fake);
    w.run().await;
    let before = records().await;
    let ou = top_ou_not_first(&before);
    let moved = below(&before, &ou);
    fake.rename_ou(&ou, "Renamed");

    fake.reset();
    let plain = w.run().await;
    assert_eq!(plain.account_writes, 0, "the stored name stands until read");

    let report = invoke(
        &w,
        &ou_event(
            "UpdateOrganizationalUnit",
            json!({"organizationalUnitId": ou, "name": "Renamed"}),
        ),
    )
    .await;
    assert_eq!(fake.requests("ListOrganizationalUnitsForParent"), 0);
    let after = records().await;
    for id in &moved {
        let path = &after[id].account.ou_path;
        assert!(path.starts_with("Root/Renamed"), "{id}: {path}");
    }
    let moves = report
        .events
        .iter()
        .filter(|e| e.kind == ChangeKind::Moved)
        .count();
    assert_eq!(moves, moved.len(), "one MOVED per account below");
    assert_eq!(report.account_writes, moved.len());
}

/// An OU renamed without an event: once its stored name is older than the max age (the
/// clock moved past it: the stored read times are set back 25 h), the next run reads it
/// and records the new path of every account below.
#[tokio::test]
async fn a_rename_without_an_event_shows_within_the_max_age() {
    let w = World::start().await;
    let fake = FakeOrganizations::start(ACCOUNTS, OUS, &["--paths"]);
    world_env(&w, &fake);
    w.run().await;
    let before = records().await;
    let ou = top_ou_not_first(&before);
    let moved = below(&before, &ou);
    fake.rename_ou(&ou, "Renamed");

    let store = w.app().await.store().clone();
    let mut names = store.load().await.unwrap().ou_names;
    let day_ago = chrono::Duration::hours(25);
    names.planned_at = names.planned_at.map(|t| t - day_ago);
    for unit in names.units.values_mut() {
        unit.read_at -= day_ago;
    }
    store.put_ou_names(&names).await.unwrap();

    fake.reset();
    let report = w.run().await;
    assert_eq!(
        fake.requests("DescribeOrganizationalUnit") as usize,
        names.units.len(),
        "every name is past the max age"
    );
    assert_eq!(report.account_writes, moved.len());
    let after = records().await;
    for id in &moved {
        assert!(after[id].account.ou_path.starts_with("Root/Renamed"));
    }
    let stored = store.load().await.unwrap().ou_names;
    assert!(stored
        .units
        .values()
        .all(|u| u.read_at >= report.summary.started_at));
}

/// A new OU (no event) with an account moved into it: the unseen id on the path is read,
/// the account is recorded as moved to the new path; then the account moves back, the OU is
/// deleted (with its event) and the stored names drop it.
#[tokio::test]
async fn a_new_ou_then_deleted() {
    let w = World::start().await;
    let fake = FakeOrganizations::start(ACCOUNTS, OUS, &["--paths"]);
    world_env(&w, &fake);
    w.run().await;
    let before = records().await;
    let ou = top_ou_not_first(&before);
    let account = below(&before, &ou)[0].clone();
    let old_path = before[&account].account.ou_path.clone();
    let new_ou = fake.add_ou(&ou, "Fresh");
    fake.move_account(&account, &new_ou);

    fake.reset();
    let report = w.run().await;
    assert_eq!(fake.requests("ListOrganizationalUnitsForParent"), 0);
    assert_eq!(
        fake.requests("DescribeOrganizationalUnit"),
        2,
        "the new OU and the slice"
    );
    assert_eq!(report.account_writes, 1);
    let moved = &records().await[&account];
    assert!(
        moved.account.ou_path.ends_with("/Fresh"),
        "{}",
        moved.account.ou_path
    );
    assert_eq!(moved.account.parent_id, new_ou);
    let store = w.app().await.store().clone();
    assert_eq!(
        store.load().await.unwrap().ou_names.units[&new_ou].name,
        "Fresh"
    );

    let root = fake.root_id();
    fake.move_account(&account, &root);
    fake.delete_ou(&new_ou);
    invoke(
        &w,
        &ou_event(
            "DeleteOrganizationalUnit",
            json!({"organizationalUnitId": new_ou}),
        ),
    )
    .await;
    assert_eq!(records().await[&account].account.ou_path, "Root");
    assert_ne!(old_path, "Root");
    let stored = store.load().await.unwrap().ou_names;
    assert!(
        !stored.units.contains_key(&new_ou),
        "a deleted OU is dropped"
    );
}

/// Without paths (moto, older endpoints) the walk lists every unit each run, as before,
/// and stores no OU names.
#[tokio::test]
async fn the_per_unit_walk_lists_every_unit_as_before() {
    let w = World::start().await;
    let fake = FakeOrganizations::start(ACCOUNTS, OUS, &[]);
    world_env(&w, &fake);
    w.run().await;
    fake.reset();
    let report = w.run().await;
    assert_eq!(report.account_writes, 0);
    assert_eq!(
        fake.requests("ListOrganizationalUnitsForParent") as usize,
        OUS + 1,
        "every unit listed"
    );
    assert!(fake.requests("ListAccountsForParent") as usize > OUS);
    assert_eq!(fake.requests("DescribeOrganizationalUnit"), 0);
    let stored = w.app().await.store().load().await.unwrap().ou_names;
    assert_eq!(stored, Default::default(), "nothing stored");
}
