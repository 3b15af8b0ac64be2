//! The store contract: what a run relies on from the table, as one sequence of cases that
//! [`crate::fakes::FakeStore`] (unit test) and the DynamoDB adapter (integration test on
//! moto) both run, so the simulator's in-memory table has DynamoDB's semantics: conditional
//! writes on revisions, each account's record, events and alert written all or nothing,
//! the outbox, the publish lease.

use chrono::{DateTime, Duration, Utc};

use crate::domain::model::{
    AccountChange, AccountRecord, AlertReason, ChangeEvent, ChangeKind, LinkDecision, LinkSource,
    LinkState, PendingAlert,
};
use crate::ports::{Queries, Store};

fn at(minute: i64) -> DateTime<Utc> {
    let t0: DateTime<Utc> = "2026-11-27T12:00:00Z".parse().expect("timestamp");
    t0 + Duration::minutes(minute)
}

/// [`AccountRecord::sample`] in link `state` at revision `rev`, changed at `minute`.
fn record(id: &str, state: LinkState, rev: u64, minute: i64) -> AccountRecord {
    let mut record = AccountRecord::sample(id);
    // Names as users write them: commas, quotes, a line break, non-ASCII.
    record.account.name = format!("Zürich \"prod\", team\n{id}");
    record.link = LinkDecision {
        state,
        source: LinkSource::None,
        detail: format!("{state}"),
    };
    record.first_seen = at(0);
    record.last_changed = at(minute);
    record.state_since = at(minute);
    record.rev = rev;
    record
}

/// A change of `id` from `from` (its revision; `None`: new) to `state`, by `run` at
/// `minute`, with its event and, unless linked, an alert.
fn change(id: &str, from: Option<u64>, state: LinkState, run: &str, minute: i64) -> AccountChange {
    let record = record(id, state, from.map_or(1, |r| r + 1), minute);
    let kind = match from {
        None => ChangeKind::Discovered,
        Some(_) => ChangeKind::for_link_state(state),
    };
    AccountChange {
        expected_rev: from,
        alert: (state != LinkState::Linked)
            .then(|| PendingAlert::about(&record, AlertReason::NewAccount, run, at(minute), None)),
        events: vec![ChangeEvent {
            account_id: id.into(),
            at: at(minute),
            run_id: run.into(),
            seq: 0,
            kind,
            before: None,
            after: Some(state.to_string()),
            detail: String::new(),
        }],
        record,
        replaces_queued: false,
    }
}

/// What auto-link writes over `queued` (a committed change with its alert still waiting)
/// when it tells what it did: the account at revision `rev + 1` (expecting `rev`), PENDING,
/// and its queued alert rewritten to say so, replacing the waiting one, with no event.
pub fn rewrite_queued(queued: &AccountChange, rev: u64) -> AccountChange {
    let mut record = queued.record.clone();
    record.rev = rev + 1;
    record.link.state = LinkState::Pending;
    let mut alert = queued.alert.clone().expect("a change with a queued alert");
    alert.subject.link_state = LinkState::Pending;
    AccountChange {
        expected_rev: Some(rev),
        record,
        events: vec![],
        alert: Some(alert),
        replaces_queued: true,
    }
}

async fn queued<S: Store>(store: &S) -> Vec<String> {
    let mut ids: Vec<String> = store
        .pending_alerts()
        .await
        .expect("pending alerts")
        .into_iter()
        .map(|a| a.id)
        .collect();
    ids.sort();
    // The cheap check a run makes before taking the lease agrees with the full read.
    let has_queued = store.has_queued().await.expect("has queued");
    assert_eq!(
        has_queued,
        !ids.is_empty(),
        "has_queued with {ids:?} queued"
    );
    ids
}

async fn kinds<S: Queries>(store: &S, id: &str) -> Vec<ChangeKind> {
    let history = store.history(id).await.expect("history");
    history.into_iter().map(|e| e.kind).collect()
}

/// Runs every case against `store`, which must start on an empty table.
pub async fn check_store_contract<S: Store + Queries>(store: &S) {
    let (a, b, c) = ("111111111111", "222222222222", "333333333333");

    let empty = store.load().await.expect("load");
    assert!(empty.first_run, "an empty table is a first run");
    assert!(empty.records.is_empty());
    assert!(queued(store).await.is_empty());

    // New items: written with their events and alerts, read back as written.
    let first = vec![
        change(a, None, LinkState::Linked, "run-1", 0),
        change(b, None, LinkState::Unlinked, "run-1", 0),
        change(c, None, LinkState::Pending, "run-1", 0),
    ];
    let outcome = store.commit(&first).await.expect("commit");
    assert_eq!((outcome.written, outcome.conflicts.len()), (3, 0));
    let loaded = store.load().await.expect("load");
    assert!(!loaded.first_run);
    for ch in &first {
        let id = &ch.record.account.id;
        assert_eq!(loaded.records.get(id), Some(&ch.record), "{id} reads back");
        assert_eq!(
            store.account(id).await.expect("get"),
            Some(ch.record.clone())
        );
    }
    assert_eq!(store.account("999999999999").await.expect("get"), None);
    assert_eq!(
        queued(store).await,
        ["run-1#222222222222", "run-1#333333333333"]
    );

    // A new item where one exists, and a stale revision, conflict and write nothing of
    // theirs (no record, no event, no alert); the other accounts of the batch are written.
    let second = vec![
        change(a, None, LinkState::Unlinked, "run-2", 5),
        change(b, Some(1), LinkState::Linked, "run-2", 5),
        change(c, Some(7), LinkState::Unlinked, "run-2", 5),
    ];
    let outcome = store.commit(&second).await.expect("commit");
    let mut conflicts = outcome.conflicts.clone();
    conflicts.sort();
    assert_eq!(
        (outcome.written, conflicts),
        (1, vec![a.to_string(), c.to_string()])
    );
    assert_eq!(
        store.account(a).await.expect("get"),
        Some(first[0].record.clone())
    );
    assert_eq!(
        store.account(b).await.expect("get"),
        Some(second[1].record.clone())
    );
    assert_eq!(
        store.account(c).await.expect("get"),
        Some(first[2].record.clone())
    );
    assert_eq!(kinds(store, a).await, [ChangeKind::Discovered]);
    assert_eq!(
        kinds(store, b).await,
        [ChangeKind::Discovered, ChangeKind::Linked]
    );
    assert_eq!(kinds(store, c).await, [ChangeKind::Discovered]);
    assert_eq!(
        queued(store).await,
        ["run-1#222222222222", "run-1#333333333333"]
    );

    // The outbox: an ack drops exactly the alerts named (unknown ids and none are fine),
    // and hands back what was queued.
    let pending = store.pending_alerts().await.expect("pending");
    let alert_c = pending
        .iter()
        .find(|p| p.subject.account_id == c)
        .expect("c queued");
    assert_eq!(Some(alert_c), first[2].alert.as_ref());
    store
        .ack_alerts(&["run-1#222222222222".into(), "run-0#000000000000".into()])
        .await
        .expect("ack");
    store.ack_alerts(&[]).await.expect("ack nothing");
    assert_eq!(queued(store).await, ["run-1#333333333333"]);

    // A rewrite of a queued alert replaces it while it waits, and conflicts, writing
    // nothing, once it was sent: a sent alert never comes back.
    let rewrite = |rev: u64, minute: i64| {
        let mut change = rewrite_queued(&first[2], rev);
        let alert = change.alert.as_mut().expect("rewritten alert");
        alert.subject.link_detail = format!("rewritten at {minute}");
        change
    };
    let outcome = store.commit(&[rewrite(1, 6)]).await.expect("commit");
    assert_eq!(outcome.written, 1);
    let pending = store.pending_alerts().await.expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].subject.link_detail, "rewritten at 6");
    store
        .ack_alerts(&["run-1#333333333333".into()])
        .await
        .expect("ack");
    let outcome = store.commit(&[rewrite(2, 7)]).await.expect("commit");
    assert_eq!(outcome.conflicts, vec![c.to_string()]);
    assert!(queued(store).await.is_empty());
    assert_eq!(store.account(c).await.expect("get").expect("c").rev, 2);

    // The publish lease.
    crate::fakes::check_publish_lease_contract(store).await;
}
