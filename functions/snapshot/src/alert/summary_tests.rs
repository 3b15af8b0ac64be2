//! The summary's formats, byte for byte against their golden files.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::*;
use crate::domain::model::{
    Account, AccountRecord, ChangeKind, LinkDecision, LinkRefusal, LinkSource, LinkState,
};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("valid timestamp")
}

fn record(
    id: &str,
    name: &str,
    ou_path: &str,
    state: LinkState,
    seen: &str,
    since: &str,
) -> AccountRecord {
    AccountRecord {
        account: Account {
            name: name.into(),
            ou_path: ou_path.into(),
            ..Account::sample(id)
        },
        link: LinkDecision {
            state,
            source: LinkSource::None,
            detail: String::new(),
        },
        first_seen: at(seen),
        last_changed: at(since),
        state_since: at(since),
        ..AccountRecord::sample(id)
    }
}

/// Seven eligible accounts: five linked (two linked in the window, after 24 h and 72 h),
/// one pending, one unlinked whose invitation was refused.
fn report() -> Report {
    use LinkState::*;
    let mut refused = record(
        "111111111111",
        "sandbox-ana",
        "Root/Sandbox",
        Unlinked,
        "2026-11-02T09:00:00Z",
        "2026-11-02T09:00:00Z",
    );
    refused.refusal = Some(LinkRefusal {
        kind: ChangeKind::InviteFailed,
        at: at("2026-11-03T09:00:00Z"),
        reason: "RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException)".into(),
        message: "no profile".into(),
        what_to_do: "register it".into(),
    });
    let records = vec![
        refused,
        record(
            "222222222222",
            "sandbox-bo",
            "Root/Sandbox",
            Linked,
            "2026-11-20T00:00:00Z",
            "2026-11-21T00:00:00Z",
        ),
        record(
            "333333333333",
            "payments-api",
            "Root/Workloads/Payments",
            Pending,
            "2026-11-30T12:00:00Z",
            "2026-11-30T12:00:00Z",
        ),
        record(
            "444444444444",
            "payments-db",
            "Root/Workloads/Payments",
            Linked,
            "2026-11-25T00:00:00Z",
            "2026-11-28T00:00:00Z",
        ),
        record(
            "555555555555",
            "shop-web",
            "Root/Workloads/Shop",
            Linked,
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00Z",
        ),
        record(
            "666666666666",
            "shop-db",
            "Root/Workloads/Shop",
            Linked,
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00Z",
        ),
        record(
            "777777777777",
            "log-archive",
            "Root",
            Linked,
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00Z",
        ),
    ];
    Report::compute(
        &records,
        &[],
        at("2026-12-07T06:00:00Z"),
        SUMMARY_WINDOW_DAYS,
    )
}

fn ctx() -> SummaryContext {
    SummaryContext {
        organization_id: "o-abc123def4".into(),
        run_id: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
        period: SummaryPeriod::Weekly,
        key: "2026-W50".into(),
        route: ROUTE_ALL.into(),
    }
}

fn body(s: &QueuedSummary) -> Value {
    serde_json::from_str(&s.body).expect("a MessageStructure=json document")
}

/// The weekly summary's email, Slack and JSON formats are the golden files; the outbox
/// entry is keyed by period and route and names the counted link states.
#[test]
fn weekly_summary_formats_match_their_golden_files() {
    let s = render_summary(&report(), Some(2.5), &ctx());
    assert_eq!(s.id, "SUMMARY#weekly#2026-W50#all");
    assert_eq!(
        s.subject,
        "APN coverage 71.4% (+2.5): 1 unlinked, 1 pending (weekly summary 2026-W50)"
    );
    assert_eq!(
        s.link_states.iter().map(String::as_str).collect::<Vec<_>>(),
        ["LINKED", "PENDING", "UNLINKED"]
    );
    let b = body(&s);
    assert_eq!(b["default"], b["email"]);
    assert_eq!(b["sqs"], b["lambda"]);
    crate::golden::check("summary-email.txt", b["email"].as_str().unwrap());
    let pretty = |v: &Value| {
        let parsed: Value = serde_json::from_str(v.as_str().unwrap()).unwrap();
        serde_json::to_string_pretty(&parsed).unwrap() + "\n"
    };
    crate::golden::check("summary-https.json", &pretty(&b["https"]));
    crate::golden::check("summary-sqs.json", &pretty(&b["sqs"]));
    let machine: Value = serde_json::from_str(b["sqs"].as_str().unwrap()).unwrap();
    assert_eq!(machine["schema"], SUMMARY_SCHEMA);
    assert_eq!(machine["coverage"]["percent"], 71.4);
    assert_eq!(machine["coverage"]["change"], 2.5);
    // 24 h and 72 h: the mean of the two.
    assert_eq!(machine["time_to_link"]["median_hours"], 48.0);
}

/// A route's summary says so in its subject and text; the first summary has no change.
#[test]
fn route_summary_names_its_route() {
    let s = render_summary(
        &report(),
        None,
        &SummaryContext {
            route: "Payments".into(),
            period: SummaryPeriod::Daily,
            key: "2026-12-07".into(),
            ..ctx()
        },
    );
    assert_eq!(s.id, "SUMMARY#daily#2026-12-07#Payments");
    assert!(
        s.subject.starts_with("[Payments] APN coverage 71.4%: "),
        "{}",
        s.subject
    );
    let text = body(&s)["email"].as_str().unwrap().to_string();
    assert!(text.contains(", route Payments."), "{text}");
    assert!(text.contains("first summary"), "{text}");
}
