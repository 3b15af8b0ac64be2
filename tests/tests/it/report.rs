//! `apnwatch report` against moto: the numbers of a table built with known `first_seen`,
//! `state_since` and run records (each worked out by hand in the comments), an empty table,
//! a real run's record, what the report reads (Queries only), and the HTML page parsed with a
//! real HTML5 parser.

use apnwatch::domain::model::{
    Account, AccountChange, AccountRecord, AccountState, ChangeKind, LinkDecision, LinkRefusal,
    LinkSource, LinkState, RunSummary,
};
use apnwatch::ports::{AccountTable, RunRecords};
use chrono::{DateTime, Duration, DurationRound, Utc};
use integration_tests::{app, cli_ok, TempDir, World};
use scraper::{Html, Selector};
use serde_json::{json, Value};

async fn report_json(args: &[&str]) -> Value {
    let mut all = vec!["report", "--json"];
    all.extend_from_slice(args);
    let out = cli_ok(&all).await;
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// The start of the current hour: offsets from it are whole hours, so the report's own
/// `now` (a few seconds later) gives the same whole days.
fn hour() -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::hours(1)).unwrap()
}

fn days(n: i64) -> Duration {
    Duration::days(n)
}

fn hours(n: i64) -> Duration {
    Duration::hours(n)
}

/// An ACTIVE account `id` in `ou_path`, `state` since `since`, first seen at `first_seen`.
fn record(
    id: &str,
    ou_path: &str,
    state: LinkState,
    first_seen: DateTime<Utc>,
    since: DateTime<Utc>,
) -> AccountRecord {
    let sample = AccountRecord::sample(id);
    AccountRecord {
        account: Account {
            parent_id: "ou-x".into(),
            ou_path: ou_path.into(),
            ou_ids: vec!["r-x".into()],
            ..sample.account
        },
        link: LinkDecision {
            state,
            source: LinkSource::Tag,
            detail: String::new(),
        },
        first_seen,
        last_changed: since,
        state_since: since,
        ..sample
    }
}

/// Twelve accounts (eight eligible) and five run records, written through the product's
/// store; returns the two trend days.
async fn seed() -> (String, String) {
    let now = hour();
    let refusal = LinkRefusal {
        kind: ChangeKind::InviteFailed,
        at: now - days(29),
        reason: "RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException)".into(),
        message: "no profile".into(),
        what_to_do: "register it".into(),
    };
    use LinkState::*;
    // (id, OU path, state, first seen and in that state since: how long ago).
    #[rustfmt::skip]
    let mut records: Vec<AccountRecord> = [
        // Linked 10 h, 30 h and 50 h after first seen, in the 90-day window.
        ("100000000001", "Root/Workloads/Prod", Linked, days(20), days(20) - hours(10)),
        ("100000000002", "Root/Workloads/Dev", Linked, days(15), days(15) - hours(30)),
        ("100000000003", "Root/Sandbox", Linked, days(40), days(40) - hours(50)),
        // Linked 120 days ago: coverage only.
        ("100000000004", "Root/Sandbox", Linked, days(200), days(120)),
        // Linked when first seen (a baseline): coverage only.
        ("100000000005", "Root/Security", Linked, days(5), days(5)),
        ("100000000006", "Root/Sandbox", Unlinked, days(30) + hours(1), days(30) + hours(1)),
        ("100000000007", "Root", Unlinked, days(60) + hours(1), days(60) + hours(1)),
        ("100000000008", "Root/Workloads/Prod", Pending, days(9), days(2) + hours(1)),
        // Not eligible: exempt, closed, suspended, removed.
        ("100000000009", "Root/Security", Exempt, days(50), days(50)),
        ("100000000010", "Root/Sandbox", Unlinked, days(50), days(50)),
        ("100000000011", "Root/Sandbox", Linked, days(10), days(9)),
        ("100000000012", "Root/Sandbox", Unlinked, days(70), days(70)),
    ]
    .into_iter()
    .map(|(id, path, state, seen, since)| record(id, path, state, now - seen, now - since))
    .collect();
    records[5].refusal = Some(refusal);
    records[9].account.state = AccountState::Closed;
    records[10].account.state = AccountState::Suspended;
    records[11].removed = true;
    let app = app().await;
    let store = app.store();
    let changes: Vec<AccountChange> = records
        .into_iter()
        .map(|record| AccountChange {
            expected_rev: None,
            record,
            events: vec![],
            alert: None,
            replaces_queued: false,
        })
        .collect();
    let outcome = store.commit(&changes).await.expect("seed the accounts");
    assert_eq!(outcome.written, 12);

    let day_a = (now - days(10)).date_naive();
    let day_b = (now - days(3)).date_naive();
    // r1 100 days ago: before even the default 90-day window.
    let runs = RunSummary::sample_history("o-report1234", now - days(100), day_a, day_b);
    for r in &runs {
        store.put_run(r).await.expect("seed a run record");
    }
    (day_a.to_string(), day_b.to_string())
}

/// Every number of `report --json` over the seeded table, worked out by hand; `--since 30d`
/// narrows time to link, auto-link and the trend but not coverage.
#[tokio::test]
async fn report_numbers_match_a_table_worked_out_by_hand() {
    let world = World::start().await;
    let (day_a, day_b) = seed().await;

    world.proxy.reset_traffic();
    let r = report_json(&[]).await;

    let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = [
        "generated_at",
        "organization_id",
        "window_days",
        "coverage",
        "time_to_link",
        "by_ou",
        "oldest_unlinked",
        "auto_link",
        "trend",
    ];
    expected.sort_unstable();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, expected);
    assert_eq!(r["organization_id"], "o-report1234");
    assert_eq!(r["window_days"], 90);
    // Eligible: 001..008; linked 001..005 = 5 / 8 = 62.5 %.
    assert_eq!(
        r["coverage"],
        json!({"eligible": 8, "linked": 5, "pending": 1, "unlinked": 2, "percent": 62.5})
    );
    // Samples 10, 30, 50 h: median 30, p90 = the ceil(2.7) = 3rd = 50.
    assert_eq!(
        r["time_to_link"],
        json!({"median_hours": 30.0, "p90_hours": 50.0, "samples": 3})
    );
    // Root 0/1; Sandbox (003 004 | 006) and Workloads (001 002 | 008) 2/3, by name; Security 1/1.
    let ous: Vec<(String, u64, u64, f64)> = r["by_ou"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["ou"].as_str().unwrap().to_string(),
                o["eligible"].as_u64().unwrap(),
                o["linked"].as_u64().unwrap(),
                o["percent"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ous,
        vec![
            ("Root".into(), 1, 0, 0.0),
            ("Root/Sandbox".into(), 3, 2, 66.7),
            ("Root/Workloads".into(), 3, 2, 66.7),
            ("Root/Security".into(), 1, 1, 100.0),
        ]
    );
    // 007 unlinked 60 days, 006 30 days (refused), 008 pending 2 days.
    let oldest = r["oldest_unlinked"].as_array().unwrap();
    let ids: Vec<(&str, i64)> = oldest
        .iter()
        .map(|u| {
            (
                u["account_id"].as_str().unwrap(),
                u["days"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            ("100000000007", 60),
            ("100000000006", 30),
            ("100000000008", 2)
        ]
    );
    assert_eq!(
        oldest[1]["refusal"],
        "INVITE_FAILED: RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException)"
    );
    assert_eq!(oldest[2]["link_state"], "PENDING");
    assert_eq!(oldest[0]["ou_path"], "Root");
    assert_eq!(oldest[0]["name"], "acct-100000000007");
    // r2 + r3 + r5 (r1 is before the window, r4 dry): sent 2 + 1, accepted 1, refused 4.
    assert_eq!(
        r["auto_link"],
        json!({"invitations_sent": 3, "accepted": 1, "refused": 4, "refusals": [
            {"reason": "ACCEPT_FAILED: AccessDenied", "count": 2},
            {"reason": "INVITE_FAILED: X", "count": 2}]})
    );
    // Day A: r3 (18:00, later than r2) 4 / 8 = 50 %; day B: r5 (r4 is dry) 5 / 8 = 62.5 %.
    assert_eq!(
        r["trend"],
        json!([
            {"date": day_a, "linked": 4, "pending": 1, "unlinked": 3, "exempt": 1, "percent": 50.0},
            {"date": day_b, "linked": 5, "pending": 1, "unlinked": 2, "exempt": 1, "percent": 62.5}
        ])
    );

    // Two Queries (the accounts partition, the window's run records), nothing else.
    let traffic = world.proxy.traffic();
    let dynamo: Vec<(&String, usize)> = traffic
        .iter()
        .filter(|(t, _)| t.starts_with("DynamoDB"))
        .map(|(t, n)| (t, n.requests))
        .collect();
    assert_eq!(
        dynamo,
        [(&"DynamoDB_20120810.Query".to_string(), 2)],
        "{traffic:?}"
    );

    // 30 days: samples 10 h and 30 h (003 was linked 38 days ago): median 20, p90 30.
    let r = report_json(&["--since", "30d"]).await;
    assert_eq!(r["window_days"], 30);
    assert_eq!(r["coverage"]["percent"], 62.5);
    assert_eq!(
        r["time_to_link"],
        json!({"median_hours": 20.0, "p90_hours": 30.0, "samples": 2})
    );
    assert_eq!(r["trend"].as_array().unwrap().len(), 2);
    // 7 days: day A and its runs drop out.
    let r = report_json(&["--since", "7d"]).await;
    assert_eq!(r["trend"].as_array().unwrap().len(), 1);
    assert_eq!(r["auto_link"]["invitations_sent"], 1);
    assert_eq!(r["time_to_link"]["samples"], 0);
}

fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    let selector = Selector::parse(css).unwrap_or_else(|e| panic!("{css}: {e:?}"));
    doc.select(&selector).collect()
}

fn text(e: &scraper::ElementRef) -> String {
    e.text().collect::<String>().trim().to_string()
}

/// Checks what any report page must be: one document, no script, nothing fetched from
/// elsewhere, every chart an image with a title and a description.
fn assert_self_contained(doc: &Html) {
    assert!(select(doc, "script").is_empty(), "no script");
    for tag in ["link", "img", "iframe", "object", "embed", "base"] {
        assert!(select(doc, tag).is_empty(), "no <{tag}>");
    }
    for e in select(doc, "*") {
        for (name, value) in e.value().attrs() {
            let v = value.trim().to_ascii_lowercase();
            assert!(
                !(v.contains("http:") || v.contains("https:") || v.starts_with("//")),
                "external URL in {name}={value}"
            );
            assert!(!name.starts_with("on"), "event handler {name}");
        }
    }
    for style in select(doc, "style") {
        let css = text(&style).to_ascii_lowercase();
        assert!(!css.contains("@import") && !css.contains("http"), "{css}");
    }
    for id in [
        "coverage-chart",
        "trend-chart",
        "ou-chart",
        "auto-link-chart",
    ] {
        let svg = select(doc, &format!("svg#{id}"));
        assert_eq!(svg.len(), 1, "one {id}");
        let svg = svg[0];
        assert_eq!(svg.value().attr("role"), Some("img"), "{id}");
        let labels = svg
            .value()
            .attr("aria-labelledby")
            .expect("aria-labelledby");
        for label in labels.split_whitespace() {
            let target = select(doc, &format!("#{label}"));
            assert_eq!(target.len(), 1, "{id} labelled by #{label}");
            assert!(!text(&target[0]).is_empty(), "#{label} has text");
        }
        assert!(
            !select(doc, &format!("svg#{id} > title")).is_empty(),
            "{id} title"
        );
        assert!(
            !select(doc, &format!("svg#{id} > desc")).is_empty(),
            "{id} desc"
        );
    }
    let viewport = select(doc, "meta[name=viewport]");
    assert_eq!(viewport.len(), 1, "narrow windows: a viewport");
    let css = select(doc, "style").iter().map(text).collect::<String>();
    assert!(css.contains("@media print") && css.contains("@media (max-width"));
}

/// `report --html FILE`: one page with the coverage figure, the trend chart, the OU bars, the
/// auto-link funnel and the oldest-unlinked table, each with the table's numbers; no script
/// and no external URL.
#[tokio::test]
async fn html_report_is_one_self_contained_page_with_every_chart() {
    let world = World::start().await;
    let (day_a, day_b) = seed().await;
    let dir = TempDir::new("report");
    let path = dir.path().join("report.html");
    let out = cli_ok(&["report", "--html", path.to_str().unwrap()]).await;
    assert!(
        out.starts_with("APN link coverage of o-report1234"),
        "{out}"
    );
    assert!(
        out.contains("coverage: 62.5% (5 of 8 eligible linked"),
        "{out}"
    );
    assert!(out.ends_with(&format!("wrote {}", path.display())), "{out}");
    drop(world);

    let html = std::fs::read_to_string(&path).unwrap();
    let doc = Html::parse_document(&html);
    assert!(
        doc.errors.is_empty(),
        "HTML5 parse errors: {:?}",
        doc.errors
    );
    assert_self_contained(&doc);
    assert_eq!(text(&select(&doc, "#coverage .big")[0]), "62.5%");
    assert!(text(&select(&doc, "#coverage-desc")[0])
        .starts_with("5 of 8 eligible accounts linked (62.5%), 1 pending, 2 unlinked"));
    // The trend: two points and the same two days as a table.
    assert_eq!(select(&doc, "#trend-chart circle").len(), 2);
    let days: Vec<String> = select(&doc, "#trend-table tbody tr td:first-child")
        .iter()
        .map(text)
        .collect();
    assert_eq!(days, [day_a, day_b]);
    // The OU bars: worst first, labelled with their percent.
    let ou_rows: Vec<String> = select(&doc, "#ou-table tbody tr td:first-child")
        .iter()
        .map(text)
        .collect();
    assert_eq!(
        ou_rows,
        ["Root", "Root/Sandbox", "Root/Workloads", "Root/Security"]
    );
    let ou_labels: Vec<String> = select(&doc, "#ou-chart text").iter().map(text).collect();
    assert!(
        ou_labels.contains(&"0.0% (0/1)".to_string()),
        "{ou_labels:?}"
    );
    assert!(
        ou_labels.contains(&"100.0% (1/1)".to_string()),
        "{ou_labels:?}"
    );
    // Linked, pending, unlinked differ by pattern as well as colour.
    assert!(!select(&doc, "#ou-chart pattern#ou-pending").is_empty());
    assert!(!select(&doc, "#ou-chart pattern#ou-unlinked").is_empty());
    // The funnel: sent 3, accepted 1, refused 4, and the refusals by reason.
    let funnel: Vec<String> = select(&doc, "#auto-link-chart text")
        .iter()
        .map(text)
        .collect();
    assert_eq!(
        funnel,
        ["Invitations sent", "3", "Accepted", "1", "Refused", "4"]
    );
    assert_eq!(select(&doc, "#refusals-table tbody tr").len(), 2);
    // The oldest unlinked, longest first.
    let oldest: Vec<String> = select(&doc, "#oldest-table tbody tr td:first-child")
        .iter()
        .map(text)
        .collect();
    assert_eq!(oldest, ["100000000007", "100000000006", "100000000008"]);
    let refused_row = select(&doc, "#oldest-table tbody tr")[1];
    assert!(text(&refused_row).contains("RECEIVER_PROFILE_NOT_FOUND"));
}

/// An empty table: zero counts, `null` percent and times, empty lists; the page says so
/// instead of drawing empty charts.
#[tokio::test]
async fn empty_table_reports_zero_and_says_so() {
    let _world = World::start().await;
    let r = report_json(&[]).await;
    assert_eq!(r["organization_id"], Value::Null);
    assert_eq!(
        r["coverage"],
        json!({"eligible": 0, "linked": 0, "pending": 0, "unlinked": 0, "percent": null})
    );
    assert_eq!(
        r["time_to_link"],
        json!({"median_hours": null, "p90_hours": null, "samples": 0})
    );
    for list in ["by_ou", "oldest_unlinked", "trend"] {
        assert_eq!(r[list], json!([]), "{list}");
    }
    assert_eq!(
        r["auto_link"],
        json!({"invitations_sent": 0, "accepted": 0, "refused": 0, "refusals": []})
    );

    let dir = TempDir::new("report-empty");
    let path = dir.path().join("empty.html");
    cli_ok(&["report", "--json", "--html", path.to_str().unwrap()]).await;
    let doc = Html::parse_document(&std::fs::read_to_string(&path).unwrap());
    assert_self_contained(&doc);
    assert_eq!(text(&select(&doc, "#coverage .big")[0]), "n/a");
    let page = text(&select(&doc, "main")[0]);
    assert!(page.contains("no run recorded in the window"), "{page}");
    assert!(
        page.contains("No eligible account is unlinked or pending."),
        "{page}"
    );
}

/// A real run's record names the organization and counts the day's states: the report
/// needs no Organizations call to say which organization it covers.
#[tokio::test]
async fn a_real_run_feeds_the_trend_and_names_the_organization() {
    let world = World::start().await;
    let org = &world.org;
    let workloads = org.ou(&org.root_id, "Workloads").await;
    org.account(&workloads, "linked", &[("apn-link", "linked")])
        .await;
    org.account(&workloads, "unlinked", &[]).await;
    cli_ok(&["snapshot", "--json"]).await;
    let calls_before = world.proxy.organizations_calls();

    let r = report_json(&["--since", "1d"]).await;

    assert_eq!(world.proxy.organizations_calls(), calls_before);
    assert_eq!(r["organization_id"], org.id.as_str());
    let trend = r["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 1, "{trend:?}");
    assert_eq!(trend[0]["date"], Utc::now().date_naive().to_string());
    assert_eq!(trend[0]["linked"], 1);
    // The management account and "unlinked" are unlinked: 1 of 3.
    assert_eq!(r["coverage"]["linked"], 1);
    assert_eq!(r["coverage"]["eligible"], 3);
    assert_eq!(r["coverage"]["percent"], 33.3);
    assert_eq!(r["by_ou"][0]["ou"], "Root");
}
