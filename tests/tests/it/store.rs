//! The DynamoDB adapter against a real wire protocol: a moto server started per test on a
//! free 127.0.0.1 port and stopped by its PID when the test ends, passing or panicking.

use std::collections::BTreeMap;

use apnwatch::aws::dynamodb::DynamoStore;
use apnwatch::contract::rewrite_queued;
use apnwatch::domain::model::{
    AccountChange, AccountRecord, AlertReason, ChangeEvent, ChangeKind, LinkDecision, LinkSource,
    LinkState, PendingAlert, RunSummary,
};
use apnwatch::error::Error;
use apnwatch::ports::{AccountTable, AlertOutbox, Queries, RunRecords};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TimeToLiveStatus, TransactWriteItem};
use chrono::{DateTime, Utc};

use integration_tests::{harness_sdk_config, Moto};

/// A client of `moto`'s DynamoDB for the harness: to look at or tamper with the items.
async fn harness_client(moto: &Moto) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&harness_sdk_config(&moto.url).await)
}

/// A moto server of the test's own (stopped when dropped), a store on a freshly created
/// table in it, and a harness client.
async fn fresh_store() -> (Moto, DynamoStore, aws_sdk_dynamodb::Client) {
    let moto = Moto::start();
    let client = harness_client(&moto).await;
    let store = DynamoStore::new(client.clone(), "apnwatch-test", 90);
    assert!(store.create_table().await.unwrap().created);
    (moto, store, client)
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// [`AccountRecord::sample`] linked or not by tag, with its optional fields filled in so
/// they make the trip through DynamoDB too.
fn record(id: &str, state: LinkState, rev: u64) -> AccountRecord {
    let mut r = AccountRecord::sample(id);
    r.account.joined_at = Some(at("2024-01-02T03:04:05.678Z"));
    r.account.tags = [("team".to_string(), "payments".to_string())].into();
    r.link = LinkDecision {
        state,
        source: LinkSource::Tag,
        detail: format!("tag apn-link={state}"),
    };
    r.rev = rev;
    r
}

/// Account id number `n`, twelve digits.
fn account_id(n: u64) -> String {
    format!("{n:012}")
}

fn event(id: &str, run: &str, when: &str, seq: u32, kind: ChangeKind) -> ChangeEvent {
    ChangeEvent {
        account_id: id.into(),
        at: at(when),
        run_id: run.into(),
        seq,
        kind,
        before: None,
        after: Some(kind.to_string()),
        detail: format!("{kind} in {run}"),
    }
}

fn alert(r: &AccountRecord, run: &str) -> PendingAlert {
    let queued_at = at("2026-11-27T12:00:00.000Z");
    PendingAlert::about(r, AlertReason::NewAccount, run, queued_at, None)
}

/// The ids of the alerts waiting in the outbox, in key order.
async fn queued_ids(store: &DynamoStore) -> Vec<String> {
    let queued = store.pending_alerts().await.unwrap();
    queued.into_iter().map(|a| a.id).collect()
}

/// A new account discovered by `run`, with one event and an alert unless it is linked.
fn discovered(id: &str, state: LinkState, run: &str) -> AccountChange {
    let record = record(id, state, 1);
    AccountChange {
        expected_rev: None,
        alert: (state != LinkState::Linked).then(|| alert(&record, run)),
        replaces_queued: false,
        events: vec![event(
            id,
            run,
            "2026-11-27T12:00:00.000Z",
            1,
            ChangeKind::Discovered,
        )],
        record,
    }
}

fn run_summary(run: &str, started: &str) -> RunSummary {
    RunSummary {
        run_id: run.into(),
        started_at: at(started),
        finished_at: at(started) + chrono::Duration::seconds(3),
        accounts: 3,
        linked: 1,
        unlinked: 2,
        changes: 3,
        alerts: 2,
        messages: 1,
        ..Default::default()
    }
}

/// `apnwatch init` twice: the second run finds the table and still makes sure TTL is on;
/// before it, every call says the table is missing and how to fix it.
#[tokio::test]
async fn init_is_idempotent_and_missing_table_says_run_init() {
    let moto = Moto::start();
    let client = harness_client(&moto).await;
    let store = DynamoStore::new(client.clone(), "apnwatch-test", 90);

    match store.load().await.unwrap_err() {
        Error::Store {
            table,
            operation,
            hint,
            ..
        } => {
            assert_eq!((table.as_str(), operation), ("apnwatch-test", "Query"));
            assert!(hint.contains("apnwatch init"), "{hint}");
        }
        other => panic!("unexpected {other:?}"),
    }

    assert!(store.create_table().await.unwrap().created);
    assert!(!store.create_table().await.unwrap().created);

    let ttl = client.describe_time_to_live().table_name("apnwatch-test");
    let table = client.describe_table().table_name("apnwatch-test");
    let (ttl, table) = tokio::join!(ttl.send(), table.send());
    let (ttl, table) = (ttl.unwrap(), table.unwrap());
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(ttl.attribute_name(), Some("expires_at"));
    let gsi = &table.table().unwrap().global_secondary_indexes()[0];
    assert_eq!(gsi.index_name(), Some("by-link-state"));

    let state = store.load().await.unwrap();
    assert!(state.first_run && state.records.is_empty());
}

/// A run's changes load back as written; a second writer with a stale revision gets a
/// conflict and leaves the item, its history and the outbox untouched, while the other
/// accounts of the same call are written.
#[tokio::test]
async fn commit_loads_back_and_stale_revision_conflicts() {
    let (_moto, store, _) = fresh_store().await;

    let first = vec![
        discovered("111111111111", LinkState::Linked, "run-1"),
        discovered("222222222222", LinkState::Unlinked, "run-1"),
        discovered("333333333333", LinkState::Pending, "run-1"),
    ];
    let outcome = store.commit(&first).await.unwrap();
    assert_eq!((outcome.written, outcome.conflicts.len()), (3, 0));

    let state = store.load().await.unwrap();
    assert!(!state.first_run);
    let expected: BTreeMap<String, AccountRecord> = first
        .iter()
        .map(|c| (c.record.account.id.clone(), c.record.clone()))
        .collect();
    assert_eq!(state.records, expected);
    assert_eq!(
        store.account("222222222222").await.unwrap(),
        Some(first[1].record.clone())
    );
    assert_eq!(store.account("999999999999").await.unwrap(), None);

    // Run 2 read rev 1 of all three; meanwhile someone else moved 222 to rev 2.
    let mut theirs = record("222222222222", LinkState::Linked, 2);
    theirs.last_changed = at("2026-11-27T12:30:00.000Z");
    let outcome = store
        .commit(&[AccountChange {
            expected_rev: Some(1),
            record: theirs.clone(),
            events: vec![event(
                "222222222222",
                "run-x",
                "2026-11-27T12:30:00.000Z",
                1,
                ChangeKind::Linked,
            )],
            alert: None,
            replaces_queued: false,
        }])
        .await
        .unwrap();
    assert_eq!(outcome.written, 1);

    let stale = |id: &str, state: LinkState| {
        let record = record(id, state, 2);
        AccountChange {
            expected_rev: Some(1),
            alert: Some(alert(&record, "run-2")),
            replaces_queued: false,
            events: vec![event(
                id,
                "run-2",
                "2026-11-27T13:00:00.000Z",
                1,
                ChangeKind::Unlinked,
            )],
            record,
        }
    };
    let second = vec![
        stale("111111111111", LinkState::Unlinked),
        stale("222222222222", LinkState::Unlinked),
        stale("333333333333", LinkState::Unlinked),
    ];
    let outcome = store.commit(&second).await.unwrap();
    assert_eq!(outcome.written, 2);
    assert_eq!(outcome.conflicts, vec!["222222222222".to_string()]);

    assert_eq!(store.account("222222222222").await.unwrap(), Some(theirs));
    let kinds: Vec<ChangeKind> = store
        .history("222222222222")
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, [ChangeKind::Discovered, ChangeKind::Linked]);
    let queued: Vec<String> = queued_ids(&store).await;
    assert_eq!(
        queued,
        [
            "run-1#222222222222",
            "run-1#333333333333",
            "run-2#111111111111",
            "run-2#333333333333"
        ]
    );
    assert_eq!(
        store.account("111111111111").await.unwrap(),
        Some(second[0].record.clone())
    );

    // A new item expected where one exists is a conflict too.
    let outcome = store
        .commit(&[discovered("111111111111", LinkState::Linked, "run-3")])
        .await
        .unwrap();
    assert_eq!(
        (outcome.written, outcome.conflicts),
        (0, vec!["111111111111".to_string()])
    );
}

/// The server says which action failed a transaction, which the conflict handling reads.
#[tokio::test]
async fn canceled_transaction_names_the_failed_action() {
    let (_moto, _store, client) = fresh_store().await;
    let put = |sk: &str, condition: &str| {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name("apnwatch-test")
                    .item("pk", AttributeValue::S("PROBE".into()))
                    .item("sk", AttributeValue::S(sk.into()))
                    .condition_expression(condition)
                    .build()
                    .unwrap(),
            )
            .build()
    };
    client
        .transact_write_items()
        .transact_items(put("a", "attribute_not_exists(pk)"))
        .send()
        .await
        .unwrap();
    let err = client
        .transact_write_items()
        .transact_items(put("b", "attribute_not_exists(pk)"))
        .transact_items(put("a", "attribute_not_exists(pk)"))
        .send()
        .await
        .unwrap_err();
    let Some(TransactWriteItemsError::TransactionCanceledException(canceled)) =
        err.as_service_error()
    else {
        panic!("unexpected {err:?}");
    };
    let codes: Vec<Option<&str>> = canceled
        .cancellation_reasons()
        .iter()
        .map(|r| r.code())
        .collect();
    assert_eq!(codes, [Some("None"), Some("ConditionalCheckFailed")]);
}

/// Sixty new accounts with three events and an alert each take three transactions; all of
/// them are stored, the index lists the current unlinked ones only and history is in order.
#[tokio::test]
async fn many_accounts_index_and_history() {
    let (_moto, store, _) = fresh_store().await;

    let changes: Vec<AccountChange> = (0..60)
        .map(|i| {
            let id = account_id(100_000_000_000 + i);
            let state = if i % 3 == 0 {
                LinkState::Linked
            } else {
                LinkState::Unlinked
            };
            let mut record = record(&id, state, 1);
            record.removed = i == 1;
            AccountChange {
                expected_rev: None,
                alert: Some(alert(&record, "run-1")),
                replaces_queued: false,
                // Written out of order on purpose; seq 10 must sort after seq 2.
                events: vec![
                    event(
                        &id,
                        "run-1",
                        "2026-11-27T12:00:00.000Z",
                        10,
                        ChangeKind::Moved,
                    ),
                    event(
                        &id,
                        "run-1",
                        "2026-11-27T12:00:00.000Z",
                        2,
                        ChangeKind::Discovered,
                    ),
                    event(
                        &id,
                        "run-0",
                        "2026-11-26T12:00:00.000Z",
                        1,
                        ChangeKind::Renamed,
                    ),
                ],
                record,
            }
        })
        .collect();
    let outcome = store.commit(&changes).await.unwrap();
    assert_eq!((outcome.written, outcome.conflicts.len()), (60, 0));

    assert_eq!(store.load().await.unwrap().records.len(), 60);
    assert_eq!(store.accounts(None).await.unwrap().len(), 60);
    let unlinked = store.accounts(Some(LinkState::Unlinked)).await.unwrap();
    assert_eq!(unlinked.len(), 39, "40 unlinked, one of them removed");
    assert!(unlinked
        .iter()
        .all(|r| r.link.state == LinkState::Unlinked && !r.removed));
    assert_eq!(
        store.accounts(Some(LinkState::Linked)).await.unwrap().len(),
        20
    );
    assert!(store
        .accounts(Some(LinkState::Exempt))
        .await
        .unwrap()
        .is_empty());

    let history = store.history("100000000005").await.unwrap();
    let order: Vec<(String, u32)> = history.iter().map(|e| (e.run_id.clone(), e.seq)).collect();
    assert_eq!(
        order,
        [
            ("run-0".into(), 1),
            ("run-1".into(), 2),
            ("run-1".into(), 10)
        ]
    );
    assert_eq!(history[2], changes[5].events[0]);
    assert!(store.history("999999999999").await.unwrap().is_empty());

    assert_eq!(store.pending_alerts().await.unwrap().len(), 60);
}

/// Acknowledged alerts leave the outbox (in batches, duplicates and unknown ids ignored);
/// the others stay queued.
#[tokio::test]
async fn ack_removes_only_sent_alerts() {
    let (_moto, store, _) = fresh_store().await;
    let changes: Vec<AccountChange> = (0..40)
        .map(|i| {
            discovered(
                &account_id(200_000_000_000 + i),
                LinkState::Unlinked,
                "run-1",
            )
        })
        .collect();
    store.commit(&changes).await.unwrap();
    let queued = store.pending_alerts().await.unwrap();
    assert_eq!(queued.len(), 40);
    assert_eq!(queued[0], changes[0].alert.clone().unwrap());

    let mut sent: Vec<String> = queued[..30].iter().map(|a| a.id.clone()).collect();
    sent.push(queued[0].id.clone());
    sent.push("run-0#000000000000".into());
    store.ack_alerts(&sent).await.unwrap();
    let left: Vec<String> = queued_ids(&store).await;
    let expected: Vec<String> = queued[30..].iter().map(|a| a.id.clone()).collect();
    assert_eq!(left, expected);
    store.ack_alerts(&[]).await.unwrap();
}

/// A rewrite of a queued alert (auto-link telling what it did) replaces it while it waits,
/// and conflicts, writing nothing, once another run published it: a sent alert never comes
/// back to the outbox.
#[tokio::test]
async fn alert_rewrite_needs_the_alert_still_queued() {
    let (_moto, store, _) = fresh_store().await;
    let first = discovered("300000000000", LinkState::Unlinked, "run-1");
    store.commit(std::slice::from_ref(&first)).await.unwrap();

    let outcome = store.commit(&[rewrite_queued(&first, 1)]).await.unwrap();
    assert_eq!(outcome.written, 1);
    let queued = store.pending_alerts().await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].subject.link_state, LinkState::Pending);

    store.ack_alerts(&[queued[0].id.clone()]).await.unwrap();
    let outcome = store.commit(&[rewrite_queued(&first, 2)]).await.unwrap();
    assert_eq!(outcome.conflicts, vec!["300000000000".to_string()]);
    assert!(store.pending_alerts().await.unwrap().is_empty());
    assert_eq!(store.account("300000000000").await.unwrap().unwrap().rev, 2);
}

/// One run at a time holds the publish lease; it frees up when released or after five
/// minutes, and a run cannot release another run's lease (the contract the fake keeps too).
#[tokio::test]
async fn publish_lease_is_exclusive() {
    let (_moto, store, _) = fresh_store().await;

    apnwatch::fakes::check_publish_lease_contract(&store).await;
}

/// The adapter keeps the whole store contract the simulator's in-memory table keeps
/// (conditional writes, all-or-nothing per account, outbox, lease): the same cases.
#[tokio::test]
async fn dynamo_store_keeps_the_contract() {
    let (_moto, store, _) = fresh_store().await;
    apnwatch::contract::check_store_contract(&store).await;
}

/// Runs list most recent first, as many as asked; a table with a run but no account is no
/// longer a first run.
#[tokio::test]
async fn runs_most_recent_first() {
    let (_moto, store, client) = fresh_store().await;
    for (run, started) in [
        ("run-2", "2026-11-27T10:00:00.000Z"),
        ("run-1", "2026-11-27T09:00:00.000Z"),
        ("run-4", "2026-11-27T12:00:00.000Z"),
        ("run-3", "2026-11-27T11:00:00.000Z"),
    ] {
        store.put_run(&run_summary(run, started)).await.unwrap();
    }
    let ids = |runs: Vec<RunSummary>| runs.into_iter().map(|r| r.run_id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.runs(3).await.unwrap()),
        ["run-4", "run-3", "run-2"]
    );
    assert_eq!(ids(store.runs(10).await.unwrap()).len(), 4);
    assert!(store.runs(0).await.unwrap().is_empty());
    assert_eq!(
        store.runs(1).await.unwrap(),
        [run_summary("run-4", "2026-11-27T12:00:00.000Z")]
    );
    assert!(!store.load().await.unwrap().first_run);

    let item = client
        .get_item()
        .table_name("apnwatch-test")
        .key("pk", AttributeValue::S("RUNS".into()))
        .key(
            "sk",
            AttributeValue::S("2026-11-27T12:00:00.000Z#run-4".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let expires: i64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    let in_days = (expires - Utc::now().timestamp()) as f64 / 86_400.0;
    assert!((89.9..=90.1).contains(&in_days), "{in_days}");
}

/// An item someone edited into an unknown shape is reported with its key, not skipped.
#[tokio::test]
async fn corrupt_item_is_named() {
    let (_moto, store, client) = fresh_store().await;
    store
        .commit(&[discovered("111111111111", LinkState::Linked, "run-1")])
        .await
        .unwrap();
    client
        .update_item()
        .table_name("apnwatch-test")
        .key("pk", AttributeValue::S("ACCOUNTS".into()))
        .key("sk", AttributeValue::S("ACCOUNT#111111111111".into()))
        .update_expression("SET link_state = :s")
        .expression_attribute_values(":s", AttributeValue::S("MAYBE".into()))
        .send()
        .await
        .unwrap();
    match store.load().await.unwrap_err() {
        Error::CorruptItem { key, reason, .. } => {
            assert_eq!(key, "pk=ACCOUNTS, sk=ACCOUNT#111111111111");
            assert!(reason.contains("MAYBE"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// A corrupt tag-sweep or OU-names item, read with its partition in one Query, is reported
/// with its key, not skipped.
#[tokio::test]
async fn corrupt_sweep_partition_item_is_named() {
    let (_moto, store, client) = fresh_store().await;
    for (sk, attribute) in [("TAGS", "swept_at"), ("OUS", "planned_at")] {
        client
            .put_item()
            .table_name("apnwatch-test")
            .item("pk", AttributeValue::S("SWEEP".into()))
            .item("sk", AttributeValue::S(sk.into()))
            .item("entity", AttributeValue::S("sweep".into()))
            .item(attribute, AttributeValue::S("yesterday".into()))
            .send()
            .await
            .unwrap();
        match store.load().await.unwrap_err() {
            Error::CorruptItem { key, reason, .. } => {
                assert_eq!(key, format!("pk=SWEEP, sk={sk}"));
                assert!(!reason.is_empty());
            }
            other => panic!("unexpected {other:?}"),
        }
        client
            .delete_item()
            .table_name("apnwatch-test")
            .key("pk", AttributeValue::S("SWEEP".into()))
            .key("sk", AttributeValue::S(sk.into()))
            .send()
            .await
            .unwrap();
    }
    assert!(
        store.load().await.is_ok(),
        "an empty partition reads as defaults"
    );
}
