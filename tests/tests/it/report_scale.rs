//! `apnwatch report` at 10,000 accounts and 90 days of hourly runs against moto: what it
//! reads (requests, pages, bytes) and how long it takes, printed for the README's measured
//! numbers; and the HTML page of that table, for the README's screenshot. Ignored by default
//! (seeding takes minutes on moto): run with
//! `cargo test -p integration-tests report_scale:: -- --ignored --nocapture`, with
//! `REPORT_HTML=docs/report.html` to keep the page.

use std::time::Instant;

use apnwatch::cli::{execute, Cli};
use apnwatch::domain::model::{
    Account, AccountChange, AccountRecord, AccountState, LinkDecision, LinkSource, LinkState,
    RunSummary,
};
use apnwatch::ports::{AccountTable, RunRecords};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use chrono::{DateTime, Duration, DurationRound, SecondsFormat, Utc};
use clap::Parser;
use integration_tests::{app, Item, World};

const ACCOUNTS: usize = 10_000;

/// Top-level OUs with the share of their accounts linked, so the chart has a spread.
const OUS: [(&str, u64); 6] = [
    ("Root/Workloads/Prod", 94),
    ("Root/Workloads/Dev", 88),
    ("Root/Data", 81),
    ("Root/Shared Services", 97),
    ("Root/Sandbox", 52),
    ("Root/Acquired-Contoso", 23),
];

/// A small deterministic generator (xorshift), so every run seeds the same table.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn ts(t: DateTime<Utc>) -> AttributeValue {
    AttributeValue::S(t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// One account item written through the product's store, read back raw, as the template
/// the others are cloned from (BatchWriteItem: moto's TransactWriteItems copies the whole
/// table per item, minutes at this size).
async fn template(world: &World, now: DateTime<Utc>) -> Item {
    let record = AccountRecord {
        account: Account {
            id: "900000000000".into(),
            name: "template".into(),
            email: "t@example.com".into(),
            state: AccountState::Active,
            joined_method: Some("CREATED".into()),
            joined_at: None,
            parent_id: "ou-x".into(),
            ou_path: "Root".into(),
            ou_ids: vec!["r-x".into()],
            tags: Default::default(),
            is_management: false,
        },
        link: LinkDecision {
            state: LinkState::Linked,
            source: LinkSource::PartnerCentral,
            detail: "SUBSIDIARY connection".into(),
        },
        first_seen: now,
        last_changed: now,
        removed: false,
        rev: 1,
        state_since: now,
        last_alerted_at: None,
        refusal: None,
    };
    let change = AccountChange {
        expected_rev: None,
        record,
        events: vec![],
        alert: None,
        replaces_queued: false,
    };
    app().await.store().commit(&[change]).await.unwrap();
    let items = world.table.items().await;
    let (_, item) = items
        .into_iter()
        .find(|((pk, _), _)| pk == "ACCOUNTS")
        .expect("the template item");
    world
        .table
        .client
        .delete_item()
        .table_name(&world.table.name)
        .key("pk", item["pk"].clone())
        .key("sk", item["sk"].clone())
        .send()
        .await
        .unwrap();
    item
}

async fn seed_accounts(world: &World, now: DateTime<Utc>) {
    let template = template(world, now).await;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut batch = Vec::new();
    for i in 0..ACCOUNTS {
        let id = format!("{:012}", 200_000_000_000u64 + i as u64);
        let (ou, linked_pct) = OUS[i % OUS.len()];
        let first_seen = now - Duration::hours(rng.below(24 * 200) as i64 + 1);
        let roll = rng.below(100);
        let (state, since) = if roll < linked_pct {
            // Linked some hours after first seen: mostly within two days, a long tail.
            let delay = match rng.below(10) {
                0..=5 => rng.below(36),
                6..=8 => 36 + rng.below(96),
                _ => 132 + rng.below(600),
            };
            let since = (first_seen + Duration::hours(delay as i64)).min(now);
            (LinkState::Linked, since)
        } else if roll < linked_pct + 3 {
            (
                LinkState::Pending,
                now - Duration::hours(rng.below(72) as i64),
            )
        } else {
            (LinkState::Unlinked, first_seen)
        };
        let mut item = template.clone();
        item.insert("sk".into(), AttributeValue::S(format!("ACCOUNT#{id}")));
        item.insert("gsi1sk".into(), AttributeValue::S(format!("ACCOUNT#{id}")));
        item.insert(
            "gsi1pk".into(),
            AttributeValue::S(format!("LINK#{}", state.as_str())),
        );
        item.insert("account_id".into(), AttributeValue::S(id.clone()));
        item.insert(
            "name".into(),
            AttributeValue::S(format!(
                "{}-{i:05}",
                ou.rsplit('/').next().unwrap().to_lowercase()
            )),
        );
        item.insert(
            "email".into(),
            AttributeValue::S(format!("aws+{id}@example.com")),
        );
        item.insert("ou_path".into(), AttributeValue::S(ou.into()));
        item.insert(
            "link_state".into(),
            AttributeValue::S(state.as_str().into()),
        );
        item.insert("first_seen".into(), ts(first_seen));
        item.insert("last_changed".into(), ts(since));
        item.insert("state_since".into(), ts(since));
        if state != LinkState::Linked {
            item.insert("link_source".into(), AttributeValue::S("none".into()));
        }
        batch.push(
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                .build(),
        );
        if batch.len() == 25 || i + 1 == ACCOUNTS {
            world
                .table
                .client
                .batch_write_item()
                .request_items(&world.table.name, std::mem::take(&mut batch))
                .send()
                .await
                .unwrap();
        }
    }
}

/// 90 days of hourly runs, coverage rising from about 62 % to the table's.
async fn seed_runs(now: DateTime<Utc>) -> usize {
    let app = app().await;
    let store = app.store();
    let hours = 90 * 24;
    let mut rng = Rng(42);
    for h in 0..hours {
        let started = now - Duration::hours((hours - h) as i64);
        let progress = h as f64 / hours as f64;
        let linked = (5_800.0 + 1_450.0 * progress) as usize + rng.below(20) as usize;
        let pending = 150 + rng.below(120) as usize;
        let mut refusals = std::collections::BTreeMap::new();
        if rng.below(30) == 0 {
            refusals.insert(
                "INVITE_FAILED: RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException)".to_string(),
                1,
            );
        }
        if rng.below(90) == 0 {
            refusals.insert("ACCEPT_FAILED: AccessDenied".to_string(), 1);
        }
        let summary = RunSummary {
            run_id: format!("run-{h:05}"),
            started_at: started,
            finished_at: started + Duration::seconds(40),
            accounts: ACCOUNTS,
            linked,
            pending,
            unlinked: ACCOUNTS - 300 - linked - pending,
            exempt: 300,
            organization_id: "o-exampleorg1".into(),
            invited: rng.below(4) as usize,
            accepted: rng.below(3) as usize,
            refusals,
            ..RunSummary::default()
        };
        store.put_run(&summary).await.unwrap();
    }
    hours
}

/// User + system CPU of this process (the report, the SDK, the test proxy; not moto), from
/// `/proc/self/stat` in clock ticks of 1/100 s.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the `)`.
    (ticks(11) + ticks(12)) / 100.0
}

/// Seeds 10,000 accounts and 2,160 run records, then measures one `report --json --html`.
#[tokio::test]
#[ignore = "minutes of seeding; run by hand for the README's numbers and screenshot"]
async fn report_at_10000_accounts() {
    let world = World::start().await;
    let now = Utc::now().duration_trunc(Duration::hours(1)).unwrap();
    let seeding = Instant::now();
    seed_accounts(&world, now).await;
    let runs = seed_runs(now).await;
    println!(
        "seeded {ACCOUNTS} accounts and {runs} runs in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let html = std::env::var("REPORT_HTML")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join("apnwatch-report-10000.html"));
    let html = if html.is_relative() {
        integration_tests::workspace_dir().join(html)
    } else {
        html
    };

    let app = app().await;
    let cli = Cli::try_parse_from([
        "apnwatch",
        "report",
        "--json",
        "--html",
        html.to_str().unwrap(),
    ])
    .unwrap();
    world.proxy.reset_traffic();
    let started = Instant::now();
    let cpu = cpu_seconds();
    let out = execute(&app, &cli).await.unwrap();
    let cpu = cpu_seconds() - cpu;
    let elapsed = started.elapsed();
    let traffic = world.proxy.traffic();

    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    println!(
        "report: {:.2} s wall (debug build, moto behind the test proxy), {cpu:.2} s CPU in this process",
        elapsed.as_secs_f64()
    );
    for (target, t) in &traffic {
        println!(
            "{target}: {} requests, {} response bytes (~{} KiB)",
            t.requests,
            t.response_bytes,
            t.response_bytes / 1024
        );
    }
    println!("coverage: {}", report["coverage"]);
    println!("time_to_link: {}", report["time_to_link"]);
    println!("auto_link: {}", report["auto_link"]);
    println!("trend days: {}", report["trend"].as_array().unwrap().len());
    println!("html: {}", html.display());
    assert_eq!(report["coverage"]["eligible"], ACCOUNTS);
    assert!(traffic.keys().all(|t| !t.ends_with(".Scan")), "{traffic:?}");
}
