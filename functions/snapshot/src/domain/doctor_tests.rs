//! The doctor's pure rules: the payload, the accept-role sample, the run age, the trails.

use super::*;
use serde_json::json;

/// Only `{"apnwatch": "doctor"}` asks for the doctor; a run payload or a near miss does not.
#[test]
fn only_the_doctor_payload_asks_for_the_doctor() {
    assert!(requested(&json!({"apnwatch": "doctor"})));
    assert!(!requested(&json!({})));
    assert!(!requested(&json!({"apnwatch": "run"})));
    assert!(!requested(
        &json!({"apnwatch": "doctor", "source": "aws.events"})
    ));
    assert!(!requested(&json!("doctor")));
}

/// The sample takes UNLINKED, then PENDING, then the rest, skips closed, removed, the
/// management account and the primary account, and stops at N.
#[test]
fn sample_prefers_accounts_auto_accept_would_act_on() {
    let mut closed = AccountRecord::sample_in_state("111111111111", LinkState::Unlinked);
    closed.account.state = AccountState::Closed;
    let mut removed = AccountRecord::sample_in_state("222222222222", LinkState::Unlinked);
    removed.removed = true;
    let mut management = AccountRecord::sample_in_state("333333333333", LinkState::Unlinked);
    management.account.is_management = true;
    let records = vec![
        AccountRecord::sample_in_state("900000000000", LinkState::Linked),
        AccountRecord::sample_in_state("800000000000", LinkState::Pending),
        AccountRecord::sample_in_state("700000000000", LinkState::Unlinked),
        AccountRecord::sample_in_state("600000000000", LinkState::Unlinked),
        AccountRecord::sample_in_state("500000000000", LinkState::Unlinked),
        closed,
        removed,
        management,
    ];
    let ids = |n| {
        sample_accounts(&records, Some("500000000000"), n)
            .iter()
            .map(|r| r.account.id.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(3), ["600000000000", "700000000000", "800000000000"]);
    assert_eq!(
        ids(10),
        [
            "600000000000",
            "700000000000",
            "800000000000",
            "900000000000"
        ]
    );
    assert!(ids(0).is_empty());
}

/// No run is a WARN; a recent run PASSes with its age; an old one WARNs naming the limit.
#[test]
fn last_run_warns_when_missing_or_old() {
    let now = Utc::now();
    let none = last_run(None, now, DEFAULT_MAX_RUN_AGE);
    assert_eq!(none.status, Status::Warn);
    assert!(none.what_to_do.unwrap().contains("schedule"));
    let fresh = last_run(
        Some(("r1", now - Duration::minutes(12))),
        now,
        DEFAULT_MAX_RUN_AGE,
    );
    assert_eq!(fresh.status, Status::Pass);
    assert!(
        fresh.found.starts_with("latest run r1 started 12m ago"),
        "{}",
        fresh.found
    );
    assert_eq!(fresh.what_to_do, None);
    let old = last_run(
        Some(("r0", now - Duration::hours(5))),
        now,
        DEFAULT_MAX_RUN_AGE,
    );
    assert_eq!(old.status, Status::Warn);
    assert!(old.found.ends_with("older than 2h"), "{}", old.found);
}

/// Durations read as a person says them.
#[test]
fn durations_are_human() {
    assert_eq!(human(Duration::seconds(45)), "45s");
    assert_eq!(human(Duration::minutes(90)), "1h 30m");
    assert_eq!(human(Duration::hours(2)), "2h");
    assert_eq!(human(Duration::hours(52)), "2d 4h");
}

/// A trail delivers only when logging, recording write management events and covering
/// us-east-1; each shortfall is named.
#[test]
fn a_trail_delivers_only_when_logging_management_writes_in_us_east_1() {
    let good = Trail {
        name: "org".into(),
        home_region: "eu-west-1".into(),
        multi_region: true,
        organization: true,
        logging: true,
        management_writes: Some(true),
    };
    assert!(good.delivers("us-east-1"));
    assert_eq!(good.shortfall("us-east-1"), None);
    let stopped = Trail {
        logging: false,
        ..good.clone()
    };
    assert!(!stopped.delivers("us-east-1"));
    assert_eq!(
        stopped.shortfall("us-east-1").unwrap(),
        "trail org is not logging"
    );
    let reads = Trail {
        management_writes: Some(false),
        ..good.clone()
    };
    assert!(reads
        .shortfall("us-east-1")
        .unwrap()
        .contains("write management"));
    let elsewhere = Trail {
        multi_region: false,
        ..good.clone()
    };
    assert!(!elsewhere.delivers("us-east-1"));
    let unknown = Trail {
        management_writes: None,
        ..good
    };
    assert!(unknown.delivers("us-east-1"));
}

/// The report is ok unless a check FAILed; WARN and SKIP do not fail it.
#[test]
fn only_a_fail_makes_the_report_not_ok() {
    let mut report = Report {
        checks: vec![
            Check::pass("identity", "x"),
            Check::flag(Status::Warn, "last-run", "y", "z", "d"),
            Check::skip("accept-role", "n/a"),
        ],
    };
    assert!(report.ok());
    report
        .checks
        .push(Check::flag(Status::Fail, "table", "no TTL", "fix", "d"));
    assert!(!report.ok());
}
