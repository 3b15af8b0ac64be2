//! `apnwatch report`'s numbers over a small table whose every number is worked out by hand
//! in the comments.

use super::*;
use crate::domain::model::{ChangeKind, LinkRefusal, LinkState, RunSummary};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("valid timestamp")
}

fn now() -> DateTime<Utc> {
    at("2026-12-01T00:00:00Z")
}

fn table() -> Vec<AccountRecord> {
    use LinkState::*;
    let mut refused = AccountRecord::sample_at(
        "121",
        "Root/Sandbox",
        Unlinked,
        "2026-11-05T00:00:00Z",
        "2026-11-05T00:00:00Z",
    );
    refused.refusal = Some(LinkRefusal {
        kind: ChangeKind::InviteFailed,
        at: at("2026-11-06T00:00:00Z"),
        reason: "RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException)".into(),
        message: "no profile".into(),
        what_to_do: "register it".into(),
    });
    // Not eligible, all in Root/Sandbox: closed, suspended, removed (unlinked and linked).
    #[rustfmt::skip]
    let [mut closed, mut suspended, mut removed, mut removed_linked] = [
        ("151", Unlinked, "2026-10-01T00:00:00Z", "2026-10-01T00:00:00Z"),
        ("152", Linked, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
        ("161", Unlinked, "2026-09-01T00:00:00Z", "2026-09-01T00:00:00Z"),
        ("162", Linked, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
    ]
    .map(|(id, state, seen, since)| {
        AccountRecord::sample_at(id, "Root/Sandbox", state, seen, since)
    });
    closed.account.state = AccountState::Closed;
    suspended.account.state = AccountState::Suspended;
    removed.removed = true;
    removed_linked.removed = true;
    vec![
        // Linked 10 h after first seen.
        AccountRecord::sample_at(
            "111",
            "Root/Workloads/Prod",
            Linked,
            "2026-11-10T00:00:00Z",
            "2026-11-10T10:00:00Z",
        ),
        // Linked 24 h after first seen.
        AccountRecord::sample_at(
            "112",
            "Root/Workloads/Dev",
            Linked,
            "2026-11-12T00:00:00Z",
            "2026-11-13T00:00:00Z",
        ),
        // Linked 48 h after first seen.
        AccountRecord::sample_at(
            "113",
            "Root/Sandbox",
            Linked,
            "2026-11-01T12:00:00Z",
            "2026-11-03T12:00:00Z",
        ),
        // Linked before the window: counts in coverage, not in time to link.
        AccountRecord::sample_at(
            "114",
            "Root/Sandbox",
            Linked,
            "2026-10-01T00:00:00Z",
            "2026-10-05T00:00:00Z",
        ),
        // Linked when first seen: nothing to measure.
        AccountRecord::sample_at(
            "115",
            "Root/Security",
            Linked,
            "2026-11-20T00:00:00Z",
            "2026-11-20T00:00:00Z",
        ),
        refused,
        // Directly under the root, unlinked the longest.
        AccountRecord::sample_at(
            "122",
            "Root",
            Unlinked,
            "2026-10-20T00:00:00Z",
            "2026-10-20T00:00:00Z",
        ),
        AccountRecord::sample_at(
            "131",
            "Root/Workloads/Prod",
            Pending,
            "2026-11-25T00:00:00Z",
            "2026-11-25T00:00:00Z",
        ),
        // Not eligible: exempt, closed, suspended, removed.
        AccountRecord::sample_at(
            "141",
            "Root/Security",
            Exempt,
            "2026-10-01T00:00:00Z",
            "2026-10-01T00:00:00Z",
        ),
        closed,
        suspended,
        removed,
        removed_linked,
    ]
}

/// The five run records of [`RunSummary::sample_history`]: r1 before the 30-day window,
/// r2 and r3 on 2026-11-10, r4 (dry) and r5 on 2026-11-20.
fn runs() -> Vec<RunSummary> {
    let day = |s: &str| s.parse().expect("valid date");
    RunSummary::sample_history(
        "o-abc123def4",
        at("2026-10-15T06:00:00Z"),
        day("2026-11-10"),
        day("2026-11-20"),
    )
}

/// Every number of a report over a mixed table, each worked out by hand.
#[test]
fn numbers_of_a_mixed_table() {
    let r = Report::compute(&table(), &runs(), now(), 30);
    assert_eq!(r.generated_at, now());
    assert_eq!(r.organization_id.as_deref(), Some("o-abc123def4"));
    assert_eq!(r.window_days, 30);
    // Eligible: 111 112 113 114 115 (linked), 121 122 (unlinked), 131 (pending) = 8;
    // 5 / 8 = 62.5 %.
    assert_eq!(
        r.coverage,
        Coverage {
            eligible: 8,
            linked: 5,
            pending: 1,
            unlinked: 2,
            percent: Some(62.5)
        }
    );
    // Samples 10 h, 24 h, 48 h: median 24, p90 = ceil(2.7) = 3rd = 48.
    assert_eq!(
        r.time_to_link,
        TimeToLink {
            median_hours: Some(24.0),
            p90_hours: Some(48.0),
            samples: 3
        }
    );
    // Root 0/1; Sandbox 2/3 (113 114 | 121) and Workloads 2/3 (111 112 | 131), both 66.7 %
    // with one not linked, by name; Security 1/1.
    let ous: Vec<(&str, usize, usize, Option<f64>)> = r
        .by_ou
        .iter()
        .map(|o| {
            (
                o.ou.as_str(),
                o.coverage.eligible,
                o.coverage.linked,
                o.coverage.percent,
            )
        })
        .collect();
    assert_eq!(
        ous,
        vec![
            ("Root", 1, 0, Some(0.0)),
            ("Root/Sandbox", 3, 2, Some(66.7)),
            ("Root/Workloads", 3, 2, Some(66.7)),
            ("Root/Security", 1, 1, Some(100.0)),
        ]
    );
    // 122 since 10-20 (42 days), 121 since 11-05 (26 days, refused), 131 since 11-25 (6).
    let oldest: Vec<(&str, i64, Option<&str>)> = r
        .oldest_unlinked
        .iter()
        .map(|u| (u.account_id.as_str(), u.days, u.refusal.as_deref()))
        .collect();
    assert_eq!(
        oldest,
        vec![
            ("122", 42, None),
            (
                "121",
                26,
                Some("INVITE_FAILED: RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException)")
            ),
            ("131", 6, None),
        ]
    );
    assert_eq!(r.oldest_unlinked[2].link_state, LinkState::Pending);
    // r2 + r3 + r5: sent 2 + 1, accepted 1, refusals X 1 + 1, AccessDenied 2.
    assert_eq!(
        r.auto_link,
        AutoLink {
            invitations_sent: 3,
            accepted: 1,
            refusals: vec![
                ("ACCEPT_FAILED: AccessDenied".into(), 2),
                ("INVITE_FAILED: X".into(), 2)
            ],
        }
    );
    assert_eq!(r.auto_link.refused(), 4);
    // 11-10: r3 (the later run) 4/8 = 50 %; 11-20: r5 (r4 is dry) 5/8 = 62.5 %.
    assert_eq!(
        r.trend,
        vec![
            TrendDay {
                date: NaiveDate::from_ymd_opt(2026, 11, 10).unwrap(),
                linked: 4,
                pending: 1,
                unlinked: 3,
                exempt: 1,
                percent: Some(50.0)
            },
            TrendDay {
                date: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
                linked: 5,
                pending: 1,
                unlinked: 2,
                exempt: 1,
                percent: Some(62.5)
            },
        ]
    );
}

/// An empty table and no run: zero counts, no percent, no samples, empty lists.
#[test]
fn an_empty_table_reports_nothing_to_divide() {
    let r = Report::compute(&[], &[], now(), 90);
    assert_eq!(r.coverage, Coverage::default());
    assert_eq!(r.coverage.percent, None);
    assert_eq!(r.time_to_link, TimeToLink::default());
    assert!(r.by_ou.is_empty() && r.oldest_unlinked.is_empty() && r.trend.is_empty());
    assert_eq!(r.auto_link, AutoLink::default());
    assert_eq!(r.organization_id, None);
}

/// No linked account: coverage is 0 %, time to link has no sample.
#[test]
fn no_linked_account_is_zero_percent_and_no_time_to_link() {
    let records = vec![
        AccountRecord::sample_at(
            "1",
            "Root/A",
            LinkState::Unlinked,
            "2026-11-01T00:00:00Z",
            "2026-11-01T00:00:00Z",
        ),
        AccountRecord::sample_at(
            "2",
            "Root/B/C",
            LinkState::Pending,
            "2026-11-02T00:00:00Z",
            "2026-11-03T00:00:00Z",
        ),
    ];
    let r = Report::compute(&records, &[], now(), 90);
    assert_eq!((r.coverage.eligible, r.coverage.linked), (2, 0));
    assert_eq!(r.coverage.percent, Some(0.0));
    assert_eq!(r.time_to_link.samples, 0);
    assert_eq!(r.time_to_link.median_hours, None);
    assert_eq!(r.oldest_unlinked.len(), 2);
}

/// Only the 10 longest-unlinked accounts are listed, longest first.
#[test]
fn oldest_unlinked_lists_ten() {
    let records: Vec<AccountRecord> = (10..30)
        .map(|d| {
            let since = format!("2026-11-{d:02}T00:00:00Z");
            AccountRecord::sample_at(
                &format!("{d}"),
                "Root/A",
                LinkState::Unlinked,
                &since,
                &since,
            )
        })
        .collect();
    let r = Report::compute(&records, &[], now(), 90);
    let ids: Vec<&str> = r
        .oldest_unlinked
        .iter()
        .map(|u| u.account_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["10", "11", "12", "13", "14", "15", "16", "17", "18", "19"]
    );
}

/// Two samples: the median is their mean; p90 is the larger.
#[test]
fn even_sample_median_is_the_mean_of_the_middle_two() {
    let records = vec![
        AccountRecord::sample_at(
            "1",
            "Root/A",
            LinkState::Linked,
            "2026-11-01T00:00:00Z",
            "2026-11-01T01:00:00Z",
        ),
        AccountRecord::sample_at(
            "2",
            "Root/A",
            LinkState::Linked,
            "2026-11-01T00:00:00Z",
            "2026-11-01T04:00:00Z",
        ),
    ];
    let t = Report::compute(&records, &[], now(), 90).time_to_link;
    assert_eq!(
        (t.median_hours, t.p90_hours, t.samples),
        (Some(2.5), Some(4.0), 2)
    );
}

/// A run's metrics count the records it writes in place of the stored ones.
#[test]
fn run_coverage_takes_the_written_records_over_the_stored_ones() {
    let stored = vec![
        AccountRecord::sample_at(
            "1",
            "Root/A",
            LinkState::Unlinked,
            "2026-11-20T00:00:00Z",
            "2026-11-20T00:00:00Z",
        ),
        AccountRecord::sample_at(
            "2",
            "Root/A",
            LinkState::Unlinked,
            "2026-11-20T00:00:00Z",
            "2026-11-20T00:00:00Z",
        ),
    ];
    // Account 1 linked 12 h after first seen; account 3 new and unlinked.
    let written = vec![
        AccountRecord::sample_at(
            "1",
            "Root/A",
            LinkState::Linked,
            "2026-11-20T00:00:00Z",
            "2026-11-20T12:00:00Z",
        ),
        AccountRecord::sample_at(
            "3",
            "Root/A",
            LinkState::Pending,
            "2026-11-30T00:00:00Z",
            "2026-11-30T00:00:00Z",
        ),
    ];
    let m = RunCoverage::of(&records_after(&stored, &written), now());
    assert_eq!(
        (
            m.coverage.eligible,
            m.coverage.linked,
            m.coverage.pending,
            m.coverage.unlinked
        ),
        (3, 1, 1, 1)
    );
    assert_eq!(m.coverage.percent, Some(33.3));
    assert_eq!(m.time_to_link.median_hours, Some(12.0));
}

/// A top-level OU is the first level under the root; accounts at the root stay at the root.
#[test]
fn top_level_ou_of_a_path() {
    assert_eq!(top_level_ou("Root/Workloads/Prod/Web"), "Root/Workloads");
    assert_eq!(top_level_ou("Root/Sandbox"), "Root/Sandbox");
    assert_eq!(top_level_ou("Root"), "Root");
}
