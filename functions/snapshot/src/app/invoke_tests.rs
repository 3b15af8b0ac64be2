//! Invokes against the in-memory table with a counting stand-in for the run: how many walks
//! a payload costs, and what its result says.

use std::cell::Cell;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::*;
use crate::domain::model::RunSummary;
use crate::fakes::FakeStore;

fn report(run_id: &str) -> RunReport {
    RunReport {
        organizations_calls: 7,
        ..RunReport::sample(run_id)
    }
}

fn created_at(time: DateTime<Utc>) -> Value {
    json!({"source": "aws.organizations", "detail-type": "AWS Service Event via CloudTrail",
        "time": time.to_rfc3339(), "detail": {"eventName": "CreateAccountResult"}})
}

fn batch(bodies: &[Value]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"messageId": format!("m{i}"), "eventSource": "aws:sqs", "body": b.to_string()}))
        .collect();
    json!({ "Records": records })
}

/// Runs `payload` against `store`, counting the walks.
async fn invoke(store: &FakeStore, payload: &Value, walks: &Cell<u32>) -> Result<Outcome, Error> {
    handle(store, payload, COVER_MARGIN, |_| async {
        walks.set(walks.get() + 1);
        Ok(report("new-run"))
    })
    .await
}

fn store_with_run(started_at: DateTime<Utc>) -> FakeStore {
    let store = FakeStore::default();
    store.table.lock().unwrap().runs.push(RunSummary {
        run_id: "earlier".into(),
        started_at,
        ..RunSummary::default()
    });
    store
}

/// A burst of 20 account creations delivered as one batch costs one walk, and the result
/// says so: kind, name and the number of events.
#[tokio::test]
async fn a_batch_of_twenty_events_is_one_walk() {
    let store = store_with_run(Utc::now() - chrono::Duration::hours(1));
    let walks = Cell::new(0);
    let events: Vec<Value> = (0..20).map(|_| created_at(Utc::now())).collect();

    let outcome = invoke(&store, &batch(&events), &walks).await.unwrap();

    assert_eq!(walks.get(), 1);
    let v = serde_json::to_value(InvocationView::from(&outcome)).unwrap();
    assert_eq!(
        v["trigger"],
        json!({"kind": "organizations", "event_name": "CreateAccountResult", "events": 20})
    );
    assert_eq!(v["skipped"], false);
    assert_eq!(v["skip_reason"], Value::Null);
    assert_eq!(v["batchItemFailures"], json!([]));
    assert_eq!(v["run_id"], "new-run");
    assert_eq!(v["organizations_calls"], 7);
}

/// Twenty replays of events older than the last run are each covered by it: no walk.
#[tokio::test]
async fn replays_of_covered_events_never_walk() {
    let started = Utc::now();
    let store = store_with_run(started);
    let walks = Cell::new(0);
    for _ in 0..20 {
        let old = created_at(started - chrono::Duration::minutes(5));
        let outcome = invoke(&store, &old, &walks).await.unwrap();
        let reason = outcome.skip_reason.as_deref().unwrap_or_default();
        assert!(reason.starts_with("covered by run earlier"), "{reason}");
        let v = serde_json::to_value(InvocationView::from(&outcome)).unwrap();
        assert_eq!(v["skipped"], true);
        assert!(
            v.get("run_id").is_none(),
            "a skipped invoke has no run: {v}"
        );
        assert!(v.get("batchItemFailures").is_none(), "{v}");
    }
    assert_eq!(walks.get(), 0);
    assert_eq!(
        store.snapshot().runs.len(),
        1,
        "a skipped invoke stores no run"
    );
}

/// The schedule runs even right after another run; so does a person.
#[tokio::test]
async fn schedule_and_manual_runs_never_skip() {
    let store = store_with_run(Utc::now());
    let walks = Cell::new(0);
    let scheduled = json!({"source": "aws.events", "detail-type": "Scheduled Event",
        "time": "2020-01-01T00:00:00Z", "detail": {}});
    invoke(&store, &scheduled, &walks).await.unwrap();
    invoke(&store, &json!({}), &walks).await.unwrap();
    assert_eq!(walks.get(), 2);
}

/// An ignored eventName skips without reading the table; a batch of only bad bodies too,
/// and names them for retry.
#[tokio::test]
async fn ignored_events_and_bad_bodies_do_not_walk() {
    let store = FakeStore::default();
    let walks = Cell::new(0);
    let ignored = json!({"source": "aws.organizations", "detail-type": "AWS API Call via CloudTrail",
        "detail": {"eventName": "DescribeOrganization"}});
    let out = invoke(&store, &ignored, &walks).await.unwrap();
    assert_eq!(
        out.skip_reason.as_deref(),
        Some("eventName DescribeOrganization does not change accounts or OUs")
    );

    let out = invoke(&store, &batch(&[json!("x"), json!({"a": 1})]), &walks)
        .await
        .unwrap();
    let v = serde_json::to_value(InvocationView::from(&out)).unwrap();
    assert_eq!(
        v["batchItemFailures"],
        json!([{"itemIdentifier": "m0"}, {"itemIdentifier": "m1"}])
    );
    assert_eq!(
        v["trigger"],
        json!({"kind": null, "event_name": null, "events": 0})
    );
    assert_eq!(v["skipped"], true);
    assert_eq!(walks.get(), 0);
}

/// A bad payload is an error before anything is read or run.
#[tokio::test]
async fn bad_events_are_refused() {
    let store = FakeStore::default();
    let walks = Cell::new(0);
    let err = invoke(
        &store,
        &json!({"source": "aws.ec2", "detail-type": "x"}),
        &walks,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "BadEvent");
    assert_eq!(walks.get(), 0);
}

/// The published shape of a skipped single event, field for field.
#[test]
fn skipped_view_is_stable() {
    let outcome = Outcome {
        invocation: trigger::parse(&created_at("2026-11-27T12:00:00Z".parse().unwrap())).unwrap(),
        skip_reason: Some("covered by run r".into()),
        report: None,
    };
    assert_eq!(
        serde_json::to_value(InvocationView::from(&outcome)).unwrap(),
        json!({
            "trigger": {"kind": "organizations", "event_name": "CreateAccountResult"},
            "skipped": true,
            "skip_reason": "covered by run r"
        })
    );
    #[cfg(feature = "cli")]
    assert_eq!(
        outcome_text(&outcome),
        "trigger: organizations CreateAccountResult\nskipped: covered by run r\n"
    );
}
