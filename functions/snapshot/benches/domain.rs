//! Speed and memory of the pure pipeline (link resolution, diff, alert text, the Lambda's
//! result) on synthetic organizations of 1,000, 10,000 and 50,000 accounts in a 5-level OU
//! tree, without AWS; then one whole `run::run_once` per size with in-memory ports, each in a
//! fresh copy of this process so that its peak RSS is its own.
//!
//! Prints one line per measurement (median of a few timed iterations after a warm-up) and
//! peak RSS; it never asserts on time, so it cannot fail on a slow machine.
//! Run with `cargo bench -p apn-link-watch --bench domain` (`infra/bench.sh` does);
//! `BENCH_SIZES=5000,100000` picks other sizes.

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use apnwatch::alert::{build_messages, AlertContext, AlertMessage};
use apnwatch::config::{Config, LinkRules};
use apnwatch::domain::diff::{diff, RunContext};
use apnwatch::domain::link::resolve;
use apnwatch::domain::model::{
    Account, AccountChange, AccountRecord, AccountState, LinkDecision, LinkSource, LinkState,
    OrgTree, OrgUnit, PendingAlert, RunSummary,
};
use apnwatch::error::Error;
use apnwatch::fakes::{FakeOrg, FakePartnerCentral};
use apnwatch::lambda::RESULT_LIST_LIMIT;
use apnwatch::ports::{
    AccountTable, AlertOutbox, CommitOutcome, Notifier, PublishLease, RunRecords, StoredState,
};
use apnwatch::run::{run_once, Deps, RunOptions, RunReport};
use apnwatch::views::SnapshotView;
use chrono::{DateTime, Utc};

const SIZES: [usize; 3] = [1_000, 10_000, 50_000];
/// Overrides [`SIZES`], e.g. `BENCH_SIZES=50000,100000` to check how a step scales.
const ENV_SIZES: &str = "BENCH_SIZES";
/// Set by the bench on the copy of itself that measures one whole run: `<accounts>:<kind>`.
const ENV_CHILD: &str = "BENCH_WHOLE_RUN";
/// OUs per parent at each depth 1..=5: 6 + 12 + 24 + 48 + 96 = 186 units below the root.
const FAN_OUT: [usize; 5] = [6, 2, 2, 2, 2];
const TAG_KEY: &str = "apn-link";
/// Lambda's response payload limit: a bigger function result fails the invoke.
const LAMBDA_RESULT_LIMIT: usize = 6 * 1024 * 1024;

fn main() {
    if let Ok(spec) = std::env::var(ENV_CHILD) {
        whole_run_child(&spec);
        return;
    }
    let sizes: Vec<usize> = match std::env::var(ENV_SIZES) {
        Ok(v) => v
            .split(',')
            .map(|s| {
                s.trim()
                    .replace('_', "")
                    .parse()
                    .expect("BENCH_SIZES: comma-separated counts")
            })
            .collect(),
        Err(_) => SIZES.to_vec(),
    };
    println!("# pure pipeline (no AWS), median of N timed iterations after one warm-up");
    for n in sizes {
        let reset = reset_peak_rss();
        bench_size(n);
        for kind in ["first", "unchanged"] {
            whole_run(n, kind);
        }
        println!(
            "peak RSS while benchmarking {n} accounts: {}{}",
            peak_rss(),
            if reset {
                ""
            } else {
                " (cumulative: the peak could not be reset)"
            }
        );
    }
    println!(
        "(the bench holds every step's input and output at once: an upper bound on a run's working set)"
    );
    bench_ou_names(1_000);
}

/// The OU-name plan of an unchanged hourly run and the names to store after it, at `n` OUs.
fn bench_ou_names(n: usize) {
    use apnwatch::domain::ou_names;
    let on_paths: BTreeMap<String, String> = (0..n)
        .map(|i| (format!("ou-ab12-{i:08}"), "r-ab12".to_string()))
        .collect();
    let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let names: BTreeMap<String, String> = on_paths
        .keys()
        .map(|id| (id.clone(), format!("team-{id}")))
        .collect();
    let stored = ou_names::OuNames::read_all("o-abc123def4", &names, &on_paths, t0);
    let now = t0 + chrono::Duration::hours(1);
    let none = BTreeSet::new();
    let (t, plan) = measure(21, || {
        ou_names::plan(&on_paths, &stored, &none, now, chrono::Duration::hours(24))
    });
    println!(
        "OU names, {n} OUs, hourly unchanged run: plan {t:?}, {} names to read",
        plan.read.len()
    );
    let reads: BTreeMap<String, String> = plan
        .read
        .iter()
        .map(|id| (id.clone(), names[id].clone()))
        .collect();
    let (t, _) = measure(21, || {
        ou_names::after_reads("o-abc123def4", &on_paths, &stored, &reads, now)
    });
    println!("OU names, {n} OUs: names to store {t:?}");
}

fn bench_size(n: usize) {
    let iters = match n {
        0..=1_000 => 21,
        1_001..=10_000 => 9,
        _ => 5,
    };
    let units = org_units();
    let rules = rules(n, &units);
    let accounts: Vec<Account> = (0..n).map(|i| account(i, &units)).collect();

    // run.rs clones every account next to its decision; measured the same way.
    let (t, resolved) = measure(iters, || {
        accounts
            .iter()
            .map(|a| (a.clone(), resolve(a, &rules, None)))
            .collect::<Vec<(Account, LinkDecision)>>()
    });
    report("link::resolve", n, iters, t, "");

    let first = ctx("run-1", "2026-11-27T12:00:00Z", true);
    let (t, baseline) = measure(iters, || diff(&BTreeMap::new(), &resolved, &first));
    let events: usize = baseline.iter().map(|c| c.events.len()).sum();
    let alerts: Vec<PendingAlert> = baseline.iter().filter_map(|c| c.alert.clone()).collect();
    report(
        "diff first run",
        n,
        iters,
        t,
        &format!(
            "{} writes, {events} events, {} alerts",
            baseline.len(),
            alerts.len()
        ),
    );

    // What the store's load returns after the first run.
    let previous: BTreeMap<String, AccountRecord> = baseline
        .iter()
        .map(|c| (c.record.account.id.clone(), c.record.clone()))
        .collect();
    let later = ctx("run-2", "2026-11-28T12:00:00Z", false);
    let (t, unchanged) = measure(iters, || diff(&previous, &resolved, &later));
    report(
        "diff unchanged",
        n,
        iters,
        t,
        &format!("{} writes", unchanged.len()),
    );

    let changed_input = change_one_percent(&resolved, &rules, &units);
    let (t, changed) = measure(iters, || diff(&previous, &changed_input, &later));
    let changed_events: usize = changed.iter().map(|c| c.events.len()).sum();
    let changed_alerts = changed.iter().filter(|c| c.alert.is_some()).count();
    report(
        "diff 1% changed",
        n,
        iters,
        t,
        &format!(
            "{} writes, {changed_events} events, {changed_alerts} alerts",
            changed.len()
        ),
    );

    let alert_ctx = AlertContext {
        organization_id: "o-abc123def4".into(),
        run_id: "run-1".into(),
        tag_key: TAG_KEY.into(),
        routing: false,
    };
    let (t, messages) = measure(iters, || build_messages(&alerts, &alert_ctx));
    let max_part = messages.iter().map(message_bytes).max().unwrap_or(0);
    let all_parts: usize = messages.iter().map(message_bytes).sum();
    report(
        "alert::build_messages baseline",
        n,
        iters,
        t,
        &format!(
            "{} alerts in {} SNS message(s), largest {} (limit {}), {} in all",
            alerts.len(),
            messages.len(),
            bytes(max_part),
            bytes(256 * 1024),
            bytes(all_parts)
        ),
    );

    // The Lambda returns the run's view, its lists capped, as its result.
    let report_first = run_report(&baseline, alerts, messages, n);
    let (t, size) = measure(iters, || {
        serde_json::to_string(&SnapshotView::capped(&report_first, RESULT_LIST_LIMIT))
            .expect("views serialize")
            .len()
    });
    let verdict = if size > LAMBDA_RESULT_LIMIT {
        "OVER Lambda's 6 MB result limit"
    } else {
        "under Lambda's 6 MB result limit"
    };
    report(
        "first-run result JSON (SnapshotView)",
        n,
        iters,
        t,
        &format!("{}, {verdict}", bytes(size)),
    );
}

/// Measures one whole run in a fresh copy of this process, so its peak RSS is its own.
fn whole_run(n: usize, kind: &str) {
    let exe = std::env::current_exe().expect("the bench knows its own path");
    let out = Command::new(exe)
        .env(ENV_CHILD, format!("{n}:{kind}"))
        .output()
        .expect("the bench can run itself");
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        println!(
            "whole run {kind} {n} accounts: failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return;
    }
    print!("{text}");
}

/// The child: builds the organization (and, for a rerun, the table a first run left), then
/// times `run::run_once` with in-memory ports that keep nothing but the outbox, plus the
/// Lambda result it returns. Prints the time and how far the run pushed the peak RSS above
/// what the inputs already held.
fn whole_run_child(spec: &str) {
    let (n, kind) = spec.split_once(':').expect("<accounts>:<kind>");
    let n: usize = n.parse().expect("a count");
    let units = org_units();
    let rules = rules(n, &units);
    let accounts: Vec<Account> = (0..n).map(|i| account(i, &units)).collect();
    let previous = if kind == "unchanged" {
        let resolved: Vec<(Account, LinkDecision)> = accounts
            .iter()
            .map(|a| (a.clone(), resolve(a, &rules, None)))
            .collect();
        let first = ctx("run-0", "2026-11-26T12:00:00Z", true);
        diff(&BTreeMap::new(), &resolved, &first)
            .into_iter()
            .map(|c| (c.record.account.id.clone(), c.record))
            .collect()
    } else {
        BTreeMap::new()
    };
    let org = FakeOrg::new(OrgTree {
        organization_id: "o-abc123def4".into(),
        management_account_id: accounts[0].id.clone(),
        root_id: units[0].ou.id.clone(),
        units: units.iter().map(|u| u.ou.clone()).collect(),
        accounts,
    });
    let store = LeanStore {
        first_run: previous.is_empty(),
        previous,
        outbox: Mutex::default(),
    };
    let mut config = Config::from_lookup(|k| match k {
        "APNWATCH_TABLE" => Some("apn-link-watch-bench".into()),
        "APNWATCH_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:123456789012:apn-link-watch".into()),
        "APNWATCH_SUMMARY" => Some("off".into()),
        _ => None,
    })
    .expect("bench configuration is valid");
    config.rules = rules;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");

    let base = rss_kib("VmRSS");
    let reset = reset_peak_rss();
    let start = Instant::now();
    let (report, result_bytes) = runtime.block_on(async {
        let deps = Deps::<_, FakePartnerCentral, _, _> {
            org: &org,
            partner_central: None,
            store: &store,
            notifier: Some(&DiscardNotifier),
        };
        let report = run_once(&config, deps, RunOptions::default())
            .await
            .expect("an in-memory run succeeds");
        // What the Lambda handler returns.
        let result = serde_json::to_value(SnapshotView::capped(&report, RESULT_LIST_LIMIT))
            .expect("views serialize");
        let bytes = result.to_string().len();
        (report, bytes)
    });
    let t = start.elapsed();
    let peak = rss_kib("VmHWM");
    let grew = if reset {
        format!(
            "peak RSS +{:.1} MiB above the inputs ({:.1} MiB)",
            peak.saturating_sub(base) as f64 / 1024.0,
            base as f64 / 1024.0
        )
    } else {
        format!("process peak RSS {:.1} MiB", peak as f64 / 1024.0)
    };
    println!(
        "whole run::run_once in memory, {kind} {n} accounts: {} ({} writes, {} messages, Lambda result {}; {grew})",
        duration(t),
        report.account_writes,
        report.messages.len(),
        bytes(result_bytes),
    );
}

/// The table as one run sees it: the previous records to load, an outbox; writes are
/// counted and dropped, as they leave the process for DynamoDB.
struct LeanStore {
    previous: BTreeMap<String, AccountRecord>,
    first_run: bool,
    outbox: Mutex<BTreeMap<String, PendingAlert>>,
}

impl AccountTable for LeanStore {
    async fn load(&self) -> Result<StoredState, Error> {
        Ok(StoredState {
            records: self.previous.clone(),
            first_run: self.first_run,
            sweep: Default::default(),
            ou_names: Default::default(),
        })
    }

    async fn commit(&self, changes: &[AccountChange]) -> Result<CommitOutcome, Error> {
        let mut outbox = self.outbox.lock().expect("not poisoned");
        for alert in changes.iter().filter_map(|c| c.alert.as_ref()) {
            outbox.insert(alert.id.clone(), alert.clone());
        }
        Ok(CommitOutcome {
            written: changes.len(),
            conflicts: Vec::new(),
        })
    }

    async fn account(&self, _account_id: &str) -> Result<Option<AccountRecord>, Error> {
        Ok(None)
    }
}

impl AlertOutbox for LeanStore {
    async fn pending_alerts(&self) -> Result<Vec<PendingAlert>, Error> {
        let outbox = self.outbox.lock().expect("not poisoned");
        Ok(outbox.values().cloned().collect())
    }

    /// The bench runs without summaries: only alerts wait.
    async fn has_queued(&self) -> Result<bool, Error> {
        Ok(!self.outbox.lock().expect("not poisoned").is_empty())
    }

    async fn ack_alerts(&self, ids: &[String]) -> Result<(), Error> {
        let mut outbox = self.outbox.lock().expect("not poisoned");
        for id in ids {
            outbox.remove(id);
        }
        Ok(())
    }
}

/// The bench measures runs with `APNWATCH_SUMMARY=off`: no marker, no summary.
impl apnwatch::ports::SummaryOutbox for LeanStore {
    async fn last_summary(
        &self,
        _period: apnwatch::domain::summary::SummaryPeriod,
    ) -> Result<Option<apnwatch::domain::summary::SummaryMark>, Error> {
        Ok(None)
    }

    async fn queue_summaries(
        &self,
        _mark: &apnwatch::domain::summary::SummaryMark,
        _summaries: &[apnwatch::domain::summary::QueuedSummary],
    ) -> Result<bool, Error> {
        Ok(false)
    }

    async fn pending_summaries(
        &self,
    ) -> Result<Vec<apnwatch::domain::summary::QueuedSummary>, Error> {
        Ok(Vec::new())
    }

    async fn ack_summary(&self, _id: &str) -> Result<(), Error> {
        Ok(())
    }
}

impl PublishLease for LeanStore {
    async fn acquire_publish_lease(
        &self,
        _owner: &str,
        _now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        Ok(true)
    }

    async fn release_publish_lease(&self, _owner: &str) -> Result<(), Error> {
        Ok(())
    }
}

impl RunRecords for LeanStore {
    async fn put_run(&self, _summary: &RunSummary) -> Result<(), Error> {
        Ok(())
    }

    async fn put_sweep(&self, _sweep: &apnwatch::domain::sweep::SweepState) -> Result<(), Error> {
        Ok(())
    }

    async fn put_ou_names(
        &self,
        _names: &apnwatch::domain::ou_names::OuNames,
    ) -> Result<(), Error> {
        Ok(())
    }
}

/// SNS accepts every message; nothing is kept.
struct DiscardNotifier;

impl Notifier for DiscardNotifier {
    async fn publish(&self, message: &AlertMessage) -> Result<String, Error> {
        Ok(format!("msg-{}", message.alert_ids.len()))
    }
}

/// Runs `f` once to warm up, then `iters` times; returns the median time and the last result.
fn measure<T>(iters: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut last = black_box(f());
    let mut times = Vec::with_capacity(iters);
    for _ in 0..iters {
        drop(last);
        let start = Instant::now();
        last = black_box(f());
        times.push(start.elapsed());
    }
    times.sort();
    (times[times.len() / 2], last)
}

fn report(what: &str, n: usize, iters: usize, t: Duration, extra: &str) {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(" ({extra})")
    };
    println!(
        "{what} {n} accounts: {} median of {iters}{extra}",
        duration(t)
    );
}

fn duration(t: Duration) -> String {
    let us = t.as_secs_f64() * 1e6;
    if us < 1_000.0 {
        format!("{us:.0} µs")
    } else if us < 1_000_000.0 {
        format!("{:.1} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

fn bytes(b: usize) -> String {
    if b < 1024 * 1024 {
        format!("{:.1} KiB", b as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
    }
}

/// What SNS counts against its limit: the body plus the subject.
fn message_bytes(m: &AlertMessage) -> usize {
    m.body.len() + m.subject.len()
}

/// Resets `VmHWM` to the current RSS (Linux 4.0+), so each size reports its own peak.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// `VmHWM` from /proc/self/status: the most resident memory this process ever had.
fn peak_rss() -> String {
    match rss_kib("VmHWM") {
        0 => "unknown (no /proc/self/status)".into(),
        kib => format!("{:.1} MiB", kib as f64 / 1024.0),
    }
}

/// A `kB` field of /proc/self/status (`VmRSS`, `VmHWM`); 0 when there is none.
fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn ctx(run_id: &str, now: &str, first_run: bool) -> RunContext {
    RunContext {
        run_id: run_id.into(),
        now: now.parse().expect("valid timestamp"),
        first_run,
        ..RunContext::default()
    }
}

/// A unit with the ids from the root down to it, as the walk builds them.
struct Unit {
    ou: OrgUnit,
    ids: Vec<String>,
}

/// The root and a 5-level tree below it, named like a landing zone.
fn org_units() -> Vec<Unit> {
    let root = Unit {
        ou: OrgUnit {
            id: "r-ab12".into(),
            name: "Root".into(),
            parent_id: None,
            depth: 0,
            path: "Root".into(),
        },
        ids: vec!["r-ab12".into()],
    };
    let mut units = vec![root];
    let mut level = vec![0usize];
    for (d, &fan) in FAN_OUT.iter().enumerate() {
        let depth = d + 1;
        let mut next = Vec::new();
        for &parent in &level {
            for k in 0..fan {
                let seq = units.len();
                let id = format!("ou-ab12-{seq:08x}");
                let name = format!("L{depth}-{k}-team{seq}");
                let p = &units[parent];
                let mut ids = p.ids.clone();
                ids.push(id.clone());
                let unit = Unit {
                    ou: OrgUnit {
                        id,
                        path: format!("{}/{name}", p.ou.path),
                        name,
                        parent_id: Some(p.ou.id.clone()),
                        depth,
                    },
                    ids,
                };
                units.push(unit);
                next.push(seq);
            }
        }
        level = next;
    }
    units
}

/// Distinct 12-digit ids in no particular order (an odd multiplier not divisible by 5 is a
/// bijection modulo 10^12), so the diff's sort has real work to do.
fn account_id(i: usize) -> String {
    format!(
        "{:012}",
        (i as u128 * 2_654_435_761 + 100_000_000_007) % 1_000_000_000_000
    )
}

fn account(i: usize, units: &[Unit]) -> Account {
    let unit = &units[(i * 7) % units.len()];
    let mut tags = BTreeMap::from([
        ("team".to_string(), format!("team-{}", i % 40)),
        ("cost-center".to_string(), format!("cc-{:04}", i % 250)),
        (
            "environment".to_string(),
            ["prod", "staging", "dev"][i % 3].to_string(),
        ),
    ]);
    // 30 % tagged linked, 2 % tagged exempt, about 1 % with a value the resolver ignores.
    let link_tag = match (i % 10, i % 50, i % 97) {
        (0..=2, _, _) => Some("linked"),
        (_, 3, _) => Some("Exempt"),
        (_, _, 5) => Some("yes"),
        _ => None,
    };
    if let Some(v) = link_tag {
        tags.insert(TAG_KEY.to_string(), v.to_string());
    }
    let joined: DateTime<Utc> = "2024-03-01T09:30:00Z".parse().expect("valid timestamp");
    Account {
        id: account_id(i),
        name: format!("workload-{i}-{}", unit.ou.name.to_ascii_lowercase()),
        email: format!("aws+workload-{i}@example.com"),
        state: if i % 100 == 42 {
            AccountState::Suspended
        } else {
            AccountState::Active
        },
        joined_method: Some(if i % 4 == 0 { "INVITED" } else { "CREATED" }.into()),
        joined_at: Some(joined + chrono::Duration::hours(i as i64)),
        parent_id: unit.ou.id.clone(),
        ou_path: unit.ou.path.clone(),
        ou_ids: unit.ids.clone(),
        tags,
        is_management: i == 0,
    }
}

/// Tag and list sources (the default), 1 % of accounts listed linked, a few listed exempt,
/// and one depth-2 OU exempt (its whole subtree, as a sandbox OU would be).
fn rules(n: usize, units: &[Unit]) -> LinkRules {
    let exempt_ou = units
        .iter()
        .find(|u| u.ou.depth == 2)
        .expect("the tree has depth 2")
        .ou
        .id
        .clone();
    LinkRules {
        sources: vec![LinkSource::Tag, LinkSource::List],
        tag_key: TAG_KEY.into(),
        linked_accounts: (0..n).step_by(100).map(|i| account_id(i + 1)).collect(),
        exempt_accounts: (0..n).step_by(1000).map(|i| account_id(i + 9)).collect(),
        exempt_ous: BTreeSet::from([exempt_ou]),
    }
}

/// Every 100th account changes: renamed, moved to another OU, loses its link tag, or is
/// suspended, in turn.
fn change_one_percent(
    resolved: &[(Account, LinkDecision)],
    rules: &LinkRules,
    units: &[Unit],
) -> Vec<(Account, LinkDecision)> {
    resolved
        .iter()
        .enumerate()
        .map(|(i, (a, d))| {
            // Offset 10 picks accounts tagged linked, so losing the tag alerts LINK_LOST.
            if i % 100 != 10 {
                return (a.clone(), d.clone());
            }
            let mut a = a.clone();
            match (i / 100) % 4 {
                0 => a.name.push_str("-renamed"),
                1 => {
                    let to = &units[(i * 13 + 5) % units.len()];
                    a.parent_id = to.ou.id.clone();
                    a.ou_path = to.ou.path.clone();
                    a.ou_ids = to.ids.clone();
                }
                2 => {
                    a.tags.remove(TAG_KEY);
                }
                _ => a.state = AccountState::Suspended,
            }
            let decision = resolve(&a, rules, None);
            (a, decision)
        })
        .collect()
}

fn run_report(
    changes: &[AccountChange],
    alerts: Vec<PendingAlert>,
    messages: Vec<AlertMessage>,
    n: usize,
) -> RunReport {
    let at: DateTime<Utc> = "2026-11-27T12:00:00Z".parse().expect("valid timestamp");
    let count = |s: LinkState| changes.iter().filter(|c| c.record.link.state == s).count();
    let summary = RunSummary {
        run_id: "run-1".into(),
        started_at: at,
        finished_at: at,
        accounts: n,
        linked: count(LinkState::Linked),
        pending: count(LinkState::Pending),
        unlinked: count(LinkState::Unlinked),
        exempt: count(LinkState::Exempt),
        changes: changes.iter().map(|c| c.events.len()).sum(),
        alerts: alerts.len(),
        messages: messages.len(),
        dry_run: false,
        ..RunSummary::default()
    };
    RunReport {
        summary,
        events: changes.iter().flat_map(|c| c.events.clone()).collect(),
        alerts,
        messages,
        account_writes: changes.len(),
        ..RunReport::sample("run-1")
    }
}
