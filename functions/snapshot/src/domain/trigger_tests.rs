//! Which payloads start a run, which are skipped and why, read from the samples users replay
//! with `apnwatch snapshot --event` (`infra/events/`).

use super::*;
use serde_json::json;

fn sample(name: &str) -> Value {
    let path = format!("{}/../../infra/events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn sqs(bodies: &[String]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"messageId": format!("m{i}"), "eventSource": "aws:sqs", "body": b}))
        .collect();
    json!({ "Records": records })
}

fn run(started: &str) -> RunSummary {
    RunSummary {
        run_id: "run-1".into(),
        started_at: at(started),
        ..RunSummary::default()
    }
}

/// The schedule's event and `{}` are accepted, and never skip.
#[test]
fn schedule_and_manual_are_accepted_and_always_run() {
    let scheduled = parse(&sample("scheduled-event.json")).unwrap();
    assert_eq!(scheduled.kind(), Some(Kind::Schedule));
    assert_eq!(scheduled.event_name(), Some("Scheduled Event"));
    let manual = parse(&sample("manual.json")).unwrap();
    assert_eq!(manual.kind(), Some(Kind::Manual));
    assert_eq!(manual.event_name(), None);
    let latest = run("2030-01-01T00:00:00Z");
    for inv in [&scheduled, &manual] {
        assert!(inv.always_runs());
        assert_eq!(inv.nothing_to_do(), None);
        assert_eq!(covered_by(inv, Some(&latest), COVER_MARGIN), None);
    }
}

/// `CreateAccountResult` (a CloudTrail service event) and `MoveAccount` (an API call) are
/// Organizations triggers named by their `eventName`, with the envelope's time.
#[test]
fn organizations_events_of_both_detail_types_are_accepted() {
    let created = parse(&sample("organizations-create-account-result.json")).unwrap();
    assert_eq!(created.kind(), Some(Kind::Organizations));
    assert_eq!(created.event_name(), Some("CreateAccountResult"));
    assert_eq!(created.events[0].time, Some(at("2026-11-27T12:00:00Z")));
    assert_eq!(created.nothing_to_do(), None);
    let moved = parse(&sample("organizations-move-account.json")).unwrap();
    assert_eq!(moved.kind(), Some(Kind::Organizations));
    assert_eq!(moved.event_name(), Some("MoveAccount"));
    assert!(!moved.always_runs());
}

/// Every documented Partner Central connection event is a `partner-central` trigger.
#[test]
fn partner_central_events_are_accepted() {
    let accepted = parse(&sample("partner-central-invitation-accepted.json")).unwrap();
    assert_eq!(accepted.kind(), Some(Kind::PartnerCentral));
    assert_eq!(
        accepted.event_name(),
        Some("Partner Connection Invitation Accepted")
    );
    for detail_type in PARTNER_CENTRAL_DETAIL_TYPES {
        let ev =
            json!({"source": PARTNER_CENTRAL_SOURCE, "detail-type": detail_type, "detail": {}});
        assert_eq!(parse(&ev).unwrap().kind(), Some(Kind::PartnerCentral));
    }
}

/// An Organizations call that changes no account or OU (or failed) is accepted but needs no
/// run, and says why.
#[test]
fn organizations_events_that_change_nothing_are_skipped_with_a_reason() {
    let ignored = parse(&sample("organizations-ignored.json")).unwrap();
    assert_eq!(ignored.kind(), Some(Kind::Organizations));
    assert_eq!(
        ignored.nothing_to_do().as_deref(),
        Some("eventName CreatePolicy does not change accounts or OUs")
    );
    let failed = json!({"source": "aws.organizations", "detail-type": "AWS API Call via CloudTrail",
        "detail": {"eventName": "MoveAccount", "errorCode": "AccessDenied"}});
    assert_eq!(
        parse(&failed).unwrap().nothing_to_do().as_deref(),
        Some("MoveAccount failed (AccessDenied): nothing changed")
    );
}

/// Payloads that are none of the accepted kinds are refused as BadEvent.
#[test]
fn other_payloads_are_bad_events() {
    for bad in [
        json!(null),
        json!("run"),
        json!([1]),
        json!({"Records": []}),
        json!({"Records": [{"eventSource": "aws:s3", "s3": {}}]}),
        json!({"source": 1, "detail-type": "x"}),
        sample("malformed.json"),
        json!({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification"}),
        json!({"source": "aws.events", "detail-type": "API Destination Activated"}),
        json!({"source": "aws.organizations", "detail-type": "AWS API Call via CloudTrail", "detail": {}}),
        json!({"source": "aws.organizations", "detail-type": "AWS Console Signin via CloudTrail", "detail": {"eventName": "ConsoleLogin"}}),
        json!({"source": "aws.partnercentral-account", "detail-type": "Opportunity Created"}),
    ] {
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.kind(), "BadEvent", "{bad}");
        assert!(e.to_string().contains("EventBridge event"), "{e}");
    }
}

/// An SQS batch: its kind is that of its events (`mixed` when several), and each body that
/// is no accepted event is reported by `messageId` while the others still count.
#[test]
fn sqs_batches_report_bad_bodies_and_keep_the_rest() {
    let mixed = parse(&sample("sqs-batch.json")).unwrap();
    assert!(mixed.batch);
    assert_eq!(mixed.events.len(), 3);
    assert_eq!(mixed.kind(), Some(Kind::Mixed));
    assert_eq!(mixed.event_name(), None);
    assert!(mixed.failures.is_empty());

    let created = sample("organizations-create-account-result.json").to_string();
    let batch = parse(&sqs(&[
        created.clone(),
        "not json".into(),
        "[1]".into(),
        created,
        json!({"source": "aws.ec2", "detail-type": "x"}).to_string(),
    ]))
    .unwrap();
    assert_eq!(batch.kind(), Some(Kind::Organizations));
    assert_eq!(batch.event_name(), Some("CreateAccountResult"));
    assert_eq!(batch.events.len(), 2);
    let failed: Vec<&str> = batch.failures.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(failed, ["m1", "m2", "m4"]);
    assert_eq!(batch.nothing_to_do(), None);

    let all_bad = parse(&sqs(&["{}".into()])).unwrap();
    assert_eq!(all_bad.kind(), None);
    assert_eq!(
        all_bad.nothing_to_do().as_deref(),
        Some("no record of the batch holds an accepted event")
    );
}

/// Change events all older than the latest run's start minus the margin are covered by it;
/// one newer event, one without a time, or no run yet means a run.
#[test]
fn events_before_the_latest_run_are_covered() {
    let latest = run("2026-11-27T12:10:00Z");
    let at_time = |t: &str| {
        let mut e = sample("organizations-create-account-result.json");
        e["time"] = json!(t);
        e.to_string()
    };
    let old = parse(&sqs(&[
        at_time("2026-11-27T12:00:00Z"),
        at_time("2026-11-27T12:08:59Z"),
    ]))
    .unwrap();
    let reason = covered_by(&old, Some(&latest), COVER_MARGIN).expect("covered");
    assert!(reason.starts_with("covered by run run-1"), "{reason}");

    // Within the margin: the run may not have seen it (eventually consistent reads).
    let recent = parse(&sqs(&[
        at_time("2026-11-27T12:00:00Z"),
        at_time("2026-11-27T12:09:30Z"),
    ]))
    .unwrap();
    assert_eq!(covered_by(&recent, Some(&latest), COVER_MARGIN), None);
    assert_eq!(covered_by(&old, None, COVER_MARGIN), None);
    let mut untimed = sample("organizations-move-account.json");
    untimed.as_object_mut().unwrap().remove("time");
    assert_eq!(
        covered_by(&parse(&untimed).unwrap(), Some(&latest), COVER_MARGIN),
        None
    );
}

/// A tag event names the account whose tags the run must read; an OU's tag event names none.
#[test]
fn tag_events_name_the_tagged_account() {
    let tagged = parse(&sample("organizations-tag-resource.json")).unwrap();
    assert_eq!(tagged.event_name(), Some("TagResource"));
    assert_eq!(
        tagged.tagged_accounts(),
        BTreeSet::from(["210987654321".to_string()])
    );
    let mut ou = sample("organizations-tag-resource.json");
    ou["detail"]["eventName"] = json!("UntagResource");
    ou["detail"]["requestParameters"] =
        json!({"resourceId": "ou-ab12-cd34ef56", "tagKeys": ["team"]});
    assert!(parse(&ou).unwrap().tagged_accounts().is_empty());
    let moved = parse(&sample("organizations-move-account.json")).unwrap();
    assert!(
        moved.tagged_accounts().is_empty(),
        "only tag events force a tag read"
    );
}

/// OU events and account moves name the OUs whose names the run re-reads: the renamed or
/// deleted OU, a new OU and its parent, a move's source and destination (never the root).
#[test]
fn ou_events_name_their_units() {
    let moved = parse(&sample("organizations-move-account.json")).unwrap();
    assert_eq!(
        moved.named_units(),
        BTreeSet::from(["ou-ab12-cd34ef56".to_string()]),
        "the source is the root"
    );
    let mut renamed = sample("organizations-move-account.json");
    renamed["detail"]["eventName"] = json!("UpdateOrganizationalUnit");
    renamed["detail"]["requestParameters"] =
        json!({"organizationalUnitId": "ou-ab12-11111111", "name": "Prod"});
    assert_eq!(
        parse(&renamed).unwrap().named_units(),
        BTreeSet::from(["ou-ab12-11111111".to_string()])
    );
    let mut created = sample("organizations-move-account.json");
    created["detail"]["eventName"] = json!("CreateOrganizationalUnit");
    created["detail"]["requestParameters"] = json!({"parentId": "ou-ab12-11111111", "name": "New"});
    created["detail"]["responseElements"] =
        json!({"organizationalUnit": {"id": "ou-ab12-22222222", "name": "New"}});
    assert_eq!(
        parse(&created).unwrap().named_units(),
        BTreeSet::from([
            "ou-ab12-11111111".to_string(),
            "ou-ab12-22222222".to_string()
        ])
    );
    let mut failed = renamed.clone();
    failed["detail"]["errorCode"] = json!("AccessDenied");
    assert!(
        parse(&failed).unwrap().named_units().is_empty(),
        "a failed call changed nothing"
    );
    let tagged = parse(&sample("organizations-tag-resource.json")).unwrap();
    assert!(tagged.named_units().is_empty());
}

/// `CloseAccountResult` (the service event when a closure completes) starts a run like
/// `CloseAccount`.
#[test]
fn close_account_result_starts_a_run() {
    let closed = parse(&sample("organizations-close-account-result.json")).unwrap();
    assert_eq!(closed.kind(), Some(Kind::Organizations));
    assert_eq!(closed.event_name(), Some("CloseAccountResult"));
    assert_eq!(closed.nothing_to_do(), None);
    assert_eq!(closed.relevant().count(), 1);
}

/// A `CreateAccountResult` whose `createAccountStatus.state` is FAILED is skipped with
/// Organizations' `failureReason`: no account exists to walk to.
#[test]
fn failed_create_account_result_is_skipped_with_its_reason() {
    let failed = parse(&sample("organizations-create-account-result-failed.json")).unwrap();
    assert_eq!(failed.kind(), Some(Kind::Organizations));
    assert_eq!(failed.event_name(), Some("CreateAccountResult"));
    assert_eq!(
        failed.nothing_to_do().as_deref(),
        Some("CreateAccountResult FAILED (EMAIL_ALREADY_EXISTS): no account was created")
    );
    // In a batch with a successful creation, the batch still runs.
    let ok = sample("organizations-create-account-result.json").to_string();
    let batch = parse(&sqs(&[
        sample("organizations-create-account-result-failed.json").to_string(),
        ok,
    ]))
    .unwrap();
    assert_eq!(batch.nothing_to_do(), None);
    assert_eq!(batch.relevant().count(), 1);
}

/// Control Tower's `CreateManagedAccount` and `UpdateManagedAccount` lifecycle events are
/// `control-tower` triggers named by their `eventName`; its other lifecycle events are
/// skipped with a reason.
#[test]
fn control_tower_lifecycle_events_start_a_run() {
    for (file, name) in [
        (
            "control-tower-create-managed-account.json",
            "CreateManagedAccount",
        ),
        (
            "control-tower-update-managed-account.json",
            "UpdateManagedAccount",
        ),
    ] {
        let inv = parse(&sample(file)).unwrap();
        assert_eq!(inv.kind(), Some(Kind::ControlTower), "{file}");
        assert_eq!(inv.event_name(), Some(name));
        assert_eq!(inv.nothing_to_do(), None);
        assert_eq!(inv.events[0].time, Some(at("2026-11-27T12:20:00Z")));
    }
    assert_eq!(
        serde_json::to_value(Kind::ControlTower).unwrap(),
        json!("control-tower")
    );
    let mut other = sample("control-tower-create-managed-account.json");
    other["detail"]["eventName"] = json!("SetupLandingZone");
    assert_eq!(
        parse(&other).unwrap().nothing_to_do().as_deref(),
        Some("eventName SetupLandingZone does not create or move an account")
    );
    let drift =
        json!({"source": CONTROL_TOWER_SOURCE, "detail-type": "Drift Detected", "detail": {}});
    assert_eq!(parse(&drift).unwrap_err().kind(), "BadEvent");
}

/// A BadEvent names exactly the envelope keys that are missing: `source` alone, `detail-type`
/// alone, or both.
#[test]
fn bad_event_names_exactly_what_is_missing() {
    let message = |v: Value| parse(&v).unwrap_err().to_string();
    let no_type = message(json!({"source": "aws.organizations", "detail": {}}));
    assert!(
        no_type.contains("without string \"detail-type\"") && !no_type.contains("\"source\" and"),
        "{no_type}"
    );
    let no_source = message(json!({"detail-type": "Scheduled Event"}));
    assert!(
        no_source.contains("without string \"source\"") && !no_source.contains("detail-type\""),
        "{no_source}"
    );
    let neither = message(json!({"hello": "world"}));
    assert!(
        neither.contains("without string \"source\" and \"detail-type\""),
        "{neither}"
    );
}
