//! Change-event triggers against moto: what an Organizations or Partner Central event, an SQS
//! batch of them, a replay and a bad payload cost in Organizations calls, run records and
//! table writes, through the Lambda handler and `apnwatch snapshot --event`.

use apnwatch::lambda::handler;
use apnwatch::run::RunOptions;
use chrono::{DateTime, Utc};
use integration_tests::{app, cli_ok, workspace_dir, World};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

/// A `CreateAccountResult` event as CloudTrail delivers it, at `time`.
fn created(time: DateTime<Utc>) -> Value {
    let path = workspace_dir().join("infra/events/organizations-create-account-result.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["time"] = json!(time.to_rfc3339());
    event
}

/// An SQS batch as the event source mapping delivers it.
fn batch(bodies: &[Value]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            json!({"messageId": format!("msg-{i}"), "receiptHandle": "r", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:changes", "awsRegion": "us-east-1",
                "attributes": {}, "messageAttributes": {}, "body": b.to_string()})
        })
        .collect();
    json!({ "Records": records })
}

async fn invoke(payload: Value) -> Result<Value, apnwatch::Error> {
    handler(&app().await, LambdaEvent::new(payload, Context::default())).await
}

async fn cli(args: &[&str]) -> Value {
    let out = cli_ok(args).await;
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?} printed non-JSON ({e}): {out}"))
}

/// `apnwatch snapshot --json --event infra/events/<sample>`.
async fn replay(sample: &str) -> Value {
    let path = workspace_dir().join("infra/events").join(sample);
    cli(&["snapshot", "--json", "--event", path.to_str().unwrap()]).await
}

/// Asserts that `out` is the whole answer to the Organizations event `event_name` skipped
/// with `reason`.
fn assert_skipped(out: &Value, event_name: &str, reason: &str) {
    let trigger = json!({"kind": "organizations", "event_name": event_name});
    let expected = json!({"trigger": trigger, "skipped": true, "skip_reason": reason});
    assert_eq!(*out, expected);
}

/// An account factory creating 20 accounts: the 20 events arrive as one SQS batch, cost one
/// walk (the same Organizations calls as a manual run of the same organization) and one run
/// record, and alert every new account in one message.
#[tokio::test]
async fn sqs_batch_of_twenty_account_creations_is_one_walk() {
    let (world, factory) = World::start_with_ou("Factory").await;
    let org = &world.org;
    world.run_and_discard_alerts().await;
    for i in 0..20 {
        org.account(&factory, &format!("factory-{i:02}"), &[]).await;
    }
    let events: Vec<Value> = (0..20).map(|_| created(Utc::now())).collect();

    let out = invoke(batch(&events))
        .await
        .unwrap_or_else(|e| panic!("{}", e.one_line()));

    assert_eq!(
        out["trigger"],
        json!({"kind": "organizations", "event_name": "CreateAccountResult", "events": 20}),
        "{out}"
    );
    assert_eq!(out["skipped"], false, "{out}");
    assert_eq!(out["batchItemFailures"], json!([]), "{out}");
    assert_eq!(out["alerts"], 20, "{out}");
    assert_eq!(
        world.table.count("RUNS").await,
        2,
        "one run record for the batch"
    );
    let received = world.alerts.received().await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].account_ids().len(), 20);

    let manual = invoke(json!({})).await.unwrap();
    let walk = manual["organizations_calls"].as_u64().unwrap();
    assert!(walk > 0);
    assert_eq!(
        out["organizations_calls"].as_u64(),
        Some(walk),
        "the batch of 20 cost exactly one walk ({walk} calls): {out}"
    );
}

/// Twenty replays of events older than the last run are covered by it: no Organizations
/// call, no run record, no write, no alert; each says which run covered it.
#[tokio::test]
async fn replays_of_events_older_than_the_last_run_never_walk() {
    let (world, _) = World::start_with_account("team-a").await;
    let last = world.run_and_discard_alerts().await;
    let app = app().await;
    let before = world.table.items().await;
    let calls = world.proxy.organizations_calls();

    for _ in 0..20 {
        let old = created(last.summary.started_at - chrono::Duration::minutes(5));
        let out = app.invoke(&old, RunOptions::default()).await.unwrap();
        let reason = out.skip_reason.unwrap_or_default();
        assert!(
            reason.starts_with(&format!("covered by run {}", last.summary.run_id)),
            "{reason}"
        );
        assert!(out.report.is_none());
    }

    assert_eq!(
        world.proxy.organizations_calls(),
        calls,
        "a covered replay called Organizations"
    );
    world.assert_untouched(&before, "a covered replay").await;
}

/// Each kind of change event runs when nothing covers it: a Partner Central connection event
/// and an Organizations `MoveAccount` at the current time.
#[tokio::test]
async fn partner_central_and_move_events_run_when_not_covered() {
    let (world, team) = World::start_with_account("team-a").await;
    let org = &world.org;
    let apps = org.ou(&org.root_id, "Apps").await;
    world.run_and_discard_alerts().await;
    org.move_account(&team, &org.root_id, &apps).await;

    let out = runs_on("organizations-move-account.json", "organizations").await;
    assert_eq!(
        out["trigger"],
        json!({"kind": "organizations", "event_name": "MoveAccount"})
    );
    assert_eq!(out["changes"], 1, "the move is recorded: {out}");

    runs_on(
        "partner-central-invitation-accepted.json",
        "partner-central",
    )
    .await;
    assert_eq!(world.table.count("RUNS").await, 3);
}

/// An Organizations event that changes no account is skipped with its reason, and payloads
/// the function does not handle are refused: neither reads Organizations nor writes.
#[tokio::test]
async fn ignored_and_bad_events_change_nothing() {
    let (world, _) = World::start_with_account("team-a").await;
    let before = world.table.items().await;

    let ignored = replay("organizations-ignored.json").await;
    assert_skipped(
        &ignored,
        "CreatePolicy",
        "eventName CreatePolicy does not change accounts or OUs",
    );

    for bad in [
        json!({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "detail": {}}),
        json!({"Records": [{"eventSource": "aws:sns", "Sns": {}}]}),
        json!({"Records": []}),
    ] {
        let err = invoke(bad.clone()).await.unwrap_err();
        assert_eq!(err.kind(), "BadEvent", "{bad}: {}", err.one_line());
    }
    world.assert_untouched(&before, "these events").await;
}

/// `snapshot --event` replays the sample batch like the Lambda: a mixed batch runs once with
/// `trigger.events`, a body that is no event is named in `batchItemFailures`, and replaying
/// the same (old) events again is covered by that run.
#[tokio::test]
async fn snapshot_event_replays_batches_like_the_lambda() {
    let (world, _) = World::start_with_account("team-a").await;
    let dir = workspace_dir().join("infra/events");
    let mut sample: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sqs-batch.json")).unwrap())
            .unwrap();
    sample["Records"]
        .as_array_mut()
        .unwrap()
        .push(json!({"messageId": "garbage", "eventSource": "aws:sqs", "body": "not an event"}));
    let file = integration_tests::TempDir::new("event");
    let path = file.path().join("batch.json");
    std::fs::write(&path, sample.to_string()).unwrap();
    let path = path.to_str().unwrap();

    let first = cli(&["snapshot", "--json", "--event", path]).await;
    assert_eq!(
        first["trigger"],
        json!({"kind": "mixed", "event_name": null, "events": 3}),
        "{first}"
    );
    assert_eq!(
        first["skipped"], false,
        "no run yet, nothing covers it: {first}"
    );
    assert_eq!(
        first["batchItemFailures"],
        json!([{"itemIdentifier": "garbage"}])
    );
    assert_eq!(first["accounts"], 2);

    let again = cli(&["snapshot", "--json", "--event", path]).await;
    assert_eq!(again["skipped"], true, "{again}");
    let reason = again["skip_reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!(
            "covered by run {}",
            first["run_id"].as_str().unwrap()
        )),
        "{reason}"
    );
    assert!(again.get("run_id").is_none());
    assert_eq!(world.table.count("RUNS").await, 1);
}

/// A sample from `infra/events/`, stamped with the current time so no run covers it.
fn sample_now(name: &str) -> Value {
    let path = workspace_dir().join("infra/events").join(name);
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["time"] = json!(Utc::now().to_rfc3339());
    event
}

/// The handler's answer to [`sample_now`]`(name)`: a run (nothing covers the event) started
/// by a trigger of `kind`.
async fn runs_on(name: &str, kind: &str) -> Value {
    let out = invoke(sample_now(name))
        .await
        .unwrap_or_else(|e| panic!("{name}: {}", e.one_line()));
    assert_eq!(out["trigger"]["kind"], kind, "{out}");
    assert_eq!(out["skipped"], false, "{out}");
    out
}

/// A closure completing (`CloseAccountResult`) and an account created through Control Tower
/// (`CreateManagedAccount`) each start a run that records the change, the latter as
/// `trigger.kind` `control-tower`.
#[tokio::test]
async fn close_account_result_and_control_tower_events_run() {
    let (world, gone) = World::start_with_account("to-close").await;
    let org = &world.org;
    world.run_and_discard_alerts().await;

    org.close_account(&gone).await;
    let out = runs_on("organizations-close-account-result.json", "organizations").await;
    assert_eq!(
        out["trigger"],
        json!({"kind": "organizations", "event_name": "CloseAccountResult"})
    );
    assert_eq!(out["changes"], 1, "the closure is recorded: {out}");

    org.account(&org.root_id, "factory-01", &[]).await;
    let out = runs_on("control-tower-create-managed-account.json", "control-tower").await;
    assert_eq!(
        out["trigger"],
        json!({"kind": "control-tower", "event_name": "CreateManagedAccount"})
    );
    assert_eq!(out["alerts"], 1, "the new account is alerted: {out}");
    assert_eq!(world.table.count("RUNS").await, 3);
}

/// A failed account creation is skipped with Organizations' reason through `snapshot
/// --event`: no Organizations call, no run record, no write.
#[tokio::test]
async fn failed_create_account_result_is_skipped_with_its_reason() {
    let (world, _) = World::start_with_account("team-a").await;
    let before = world.table.items().await;
    let calls = world.proxy.organizations_calls();

    let out = replay("organizations-create-account-result-failed.json").await;

    assert_skipped(
        &out,
        "CreateAccountResult",
        "CreateAccountResult FAILED (EMAIL_ALREADY_EXISTS): no account was created",
    );
    assert_eq!(world.proxy.organizations_calls(), calls);
    assert_eq!(world.table.items().await, before);
}

/// An event with `source` but no `detail-type` is a BadEvent that names only `detail-type`.
#[tokio::test]
async fn bad_event_names_only_the_missing_key() {
    let _world = World::start().await;
    let err = invoke(json!({"source": "aws.organizations", "detail": {}}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "BadEvent");
    let line = err.one_line();
    assert!(line.contains("without string \"detail-type\""), "{line}");
    assert!(!line.contains("\"source\" and"), "{line}");
}

/// `apnwatch snapshot --event` with stderr on a pipe (a script, a log file): its warnings are
/// plain text, without ANSI colour codes, with or without `NO_COLOR`.
#[tokio::test]
async fn warnings_on_a_piped_stderr_carry_no_colour_codes() {
    let world = World::start().await;
    world
        .org
        .account(&world.org.root_id, "odd-tag", &[("apn-link", "maybe")])
        .await;
    let event = workspace_dir().join("infra/events/scheduled-event.json");
    for no_color in [None, Some("1")] {
        let mut command = world.command(integration_tests::apnwatch_binary());
        command.args(["snapshot", "--json", "--event", event.to_str().unwrap()]);
        command.env_remove("RUST_LOG");
        match no_color {
            Some(v) => command.env("NO_COLOR", v),
            None => command.env_remove("NO_COLOR"),
        };
        let out = command.output().expect("run apnwatch");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("ignoring link tag"), "{stderr}");
        assert!(
            !stderr.contains('\u{1b}'),
            "NO_COLOR={no_color:?}: colour codes in {stderr:?}"
        );
    }
}
