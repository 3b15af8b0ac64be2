//! The numbers of `apnwatch report` (and of the periodic summary): coverage, time to link,
//! coverage by top-level OU, the oldest unlinked accounts, what auto-link did and the trend,
//! computed from the account records and the run records alone (two Queries, no per-account
//! history read). Pure: the caller passes the records, the runs and `now`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::domain::model::{AccountRecord, AccountState, LinkState, RunSummary};

/// How many accounts `oldest_unlinked` lists.
pub const OLDEST_SHOWN: usize = 10;

/// Everything a report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub generated_at: DateTime<Utc>,
    /// From the newest run record that names it; `None` when no run in the window does.
    pub organization_id: Option<String>,
    pub window_days: u32,
    pub coverage: Coverage,
    pub time_to_link: TimeToLink,
    /// Worst first.
    pub by_ou: Vec<OuCoverage>,
    /// Longest in their state first, at most [`OLDEST_SHOWN`].
    pub oldest_unlinked: Vec<Unlinked>,
    pub auto_link: AutoLink,
    /// Oldest day first; days without a run are absent.
    pub trend: Vec<TrendDay>,
}

/// Linked share of the eligible accounts: ACTIVE, still in the organization, not EXEMPT.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coverage {
    pub eligible: usize,
    pub linked: usize,
    pub pending: usize,
    pub unlinked: usize,
    /// `linked / eligible` in percent, one decimal; `None` without an eligible account.
    pub percent: Option<f64>,
}

/// `first_seen` → `state_since` of eligible accounts now LINKED whose `state_since` is in the
/// window. An account that was already linked when first seen (`state_since == first_seen`,
/// e.g. at the baseline) was not linked by anyone watching and is not a sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeToLink {
    /// Hours, one decimal; the mean of the two middle samples when their number is even.
    pub median_hours: Option<f64>,
    /// Hours, one decimal; nearest rank (the `ceil(0.9 n)`-th smallest sample).
    pub p90_hours: Option<f64>,
    pub samples: usize,
}

/// Coverage of the accounts under one top-level OU (`Root/Workloads`), or directly under
/// the root (`Root`).
#[derive(Debug, Clone, PartialEq)]
pub struct OuCoverage {
    pub ou: String,
    pub coverage: Coverage,
}

/// One UNLINKED or PENDING eligible account.
#[derive(Debug, Clone, PartialEq)]
pub struct Unlinked {
    pub account_id: String,
    pub name: String,
    pub ou_path: String,
    pub link_state: LinkState,
    /// Since when it has had `link_state`.
    pub since: DateTime<Utc>,
    /// Whole days from `since` to the report.
    pub days: i64,
    /// The last refusal on record, `INVITE_FAILED: <reason>`.
    pub refusal: Option<String>,
}

/// Auto-link's outcome summed over the run records in the window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AutoLink {
    pub invitations_sent: usize,
    pub accepted: usize,
    /// `(INVITE_FAILED: <reason> | ACCEPT_FAILED: <reason>, count)`, most frequent first.
    pub refusals: Vec<(String, usize)>,
}

impl AutoLink {
    pub fn refused(&self) -> usize {
        self.refusals.iter().map(|(_, n)| n).sum()
    }
}

/// The counts of a day's last run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendDay {
    pub date: NaiveDate,
    pub linked: usize,
    pub pending: usize,
    pub unlinked: usize,
    pub exempt: usize,
    /// `linked / (linked + pending + unlinked)`, one decimal.
    pub percent: Option<f64>,
}

/// Whether `record` counts in coverage: still in the organization, ACTIVE, not EXEMPT.
pub fn eligible(record: &AccountRecord) -> bool {
    !record.removed
        && record.account.state == AccountState::Active
        && record.link.state != LinkState::Exempt
}

/// The top-level OU of an OU path: `Root/Workloads/Prod` → `Root/Workloads`; `Root` stays.
pub fn top_level_ou(ou_path: &str) -> String {
    let mut parts = ou_path.splitn(3, '/');
    match (parts.next(), parts.next()) {
        (Some(root), Some(top)) => format!("{root}/{top}"),
        _ => ou_path.to_string(),
    }
}

/// `part / whole` in percent with one decimal.
pub fn percent(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

/// A percent as people read it: one decimal (`84.0%`), or `n/a` when there is nothing to
/// divide. Here rather than in a view because alerts (below the views) print it too.
pub fn percent_text(p: Option<f64>) -> String {
    p.map_or_else(|| "n/a".to_string(), |p| format!("{p:.1}%"))
}

/// Hours as `36.5 h`, or `n/a`.
pub fn hours_text(h: Option<f64>) -> String {
    h.map_or_else(|| "n/a".to_string(), |h| format!("{h:.1} h"))
}

fn hours(seconds: f64) -> f64 {
    (seconds / 360.0).round() / 10.0
}

impl Coverage {
    /// Coverage of the eligible ones among `records`.
    pub fn of<'a>(records: impl IntoIterator<Item = &'a AccountRecord>) -> Self {
        let mut c = Coverage::default();
        for r in records.into_iter().filter(|r| eligible(r)) {
            c.eligible += 1;
            match r.link.state {
                LinkState::Linked => c.linked += 1,
                LinkState::Pending => c.pending += 1,
                LinkState::Unlinked => c.unlinked += 1,
                LinkState::Exempt => {}
            }
        }
        c.percent = percent(c.linked, c.eligible);
        c
    }
}

impl TimeToLink {
    /// Over `records` whose `state_since` is at or after `since`.
    pub fn of<'a>(
        records: impl IntoIterator<Item = &'a AccountRecord>,
        since: DateTime<Utc>,
    ) -> Self {
        let mut secs: Vec<i64> = records
            .into_iter()
            .filter(|r| eligible(r) && r.link.state == LinkState::Linked)
            .filter(|r| r.state_since >= since && r.state_since > r.first_seen)
            .map(|r| (r.state_since - r.first_seen).num_seconds())
            .collect();
        secs.sort_unstable();
        let n = secs.len();
        if n == 0 {
            return Self::default();
        }
        let median = if n % 2 == 1 {
            secs[n / 2] as f64
        } else {
            (secs[n / 2 - 1] + secs[n / 2]) as f64 / 2.0
        };
        let rank = (n * 9).div_ceil(10).max(1);
        Self {
            median_hours: Some(hours(median)),
            p90_hours: Some(hours(secs[rank - 1] as f64)),
            samples: n,
        }
    }
}

/// Coverage per top-level OU, worst first: lowest percent, then most not linked, then name.
pub fn by_ou<'a>(records: impl IntoIterator<Item = &'a AccountRecord>) -> Vec<OuCoverage> {
    let mut groups: BTreeMap<String, Vec<&AccountRecord>> = BTreeMap::new();
    for r in records.into_iter().filter(|r| eligible(r)) {
        groups
            .entry(top_level_ou(&r.account.ou_path))
            .or_default()
            .push(r);
    }
    let mut out: Vec<OuCoverage> = groups
        .into_iter()
        .map(|(ou, rs)| OuCoverage {
            ou,
            coverage: Coverage::of(rs),
        })
        .collect();
    out.sort_by(|a, b| {
        let p = |o: &OuCoverage| o.coverage.percent.unwrap_or(0.0);
        let gap = |o: &OuCoverage| o.coverage.pending + o.coverage.unlinked;
        p(a).total_cmp(&p(b))
            .then(gap(b).cmp(&gap(a)))
            .then(a.ou.cmp(&b.ou))
    });
    out
}

/// The eligible UNLINKED and PENDING accounts longest in that state, at most `limit`.
pub fn oldest_unlinked<'a>(
    records: impl IntoIterator<Item = &'a AccountRecord>,
    now: DateTime<Utc>,
    limit: usize,
) -> Vec<Unlinked> {
    let mut open: Vec<&AccountRecord> = records
        .into_iter()
        .filter(|r| eligible(r) && matches!(r.link.state, LinkState::Unlinked | LinkState::Pending))
        .collect();
    open.sort_by(|a, b| (a.state_since, &a.account.id).cmp(&(b.state_since, &b.account.id)));
    open.into_iter()
        .take(limit)
        .map(|r| Unlinked {
            account_id: r.account.id.clone(),
            name: r.account.name.clone(),
            ou_path: r.account.ou_path.clone(),
            link_state: r.link.state,
            since: r.state_since,
            days: (now - r.state_since).num_days(),
            refusal: r.refusal.as_ref().map(|f| f.label()),
        })
        .collect()
}

/// Auto-link summed over `runs` (dry runs left out).
pub fn auto_link(runs: &[&RunSummary]) -> AutoLink {
    let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = AutoLink::default();
    for run in runs.iter().filter(|r| !r.dry_run) {
        out.invitations_sent += run.invited;
        out.accepted += run.accepted;
        for (reason, n) in &run.refusals {
            *refusals.entry(reason.clone()).or_default() += n;
        }
    }
    out.refusals = refusals.into_iter().collect();
    out.refusals
        .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// Per UTC day, the counts of that day's last (not dry) run, oldest day first.
pub fn trend(runs: &[&RunSummary]) -> Vec<TrendDay> {
    let mut last: BTreeMap<NaiveDate, &RunSummary> = BTreeMap::new();
    for run in runs.iter().filter(|r| !r.dry_run) {
        let day = run.started_at.date_naive();
        match last.get(&day) {
            Some(seen) if seen.started_at >= run.started_at => {}
            _ => {
                last.insert(day, run);
            }
        }
    }
    last.into_iter()
        .map(|(date, r)| TrendDay {
            date,
            linked: r.linked,
            pending: r.pending,
            unlinked: r.unlinked,
            exempt: r.exempt,
            percent: percent(r.linked, r.linked + r.pending + r.unlinked),
        })
        .collect()
}

/// How far back the time to link a run publishes as a metric looks.
pub const METRIC_WINDOW_DAYS: u32 = 30;

/// What a run publishes as CloudWatch metrics (`CoveragePercent`, `Unlinked`, `Pending`,
/// `TimeToLinkMedianHours`): coverage of the accounts as the run left them, time to link over
/// the last [`METRIC_WINDOW_DAYS`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunCoverage {
    pub coverage: Coverage,
    pub time_to_link: TimeToLink,
}

impl RunCoverage {
    /// Over `records`, the accounts as a run leaves them ([`records_after`]).
    pub fn of(records: &[&AccountRecord], now: DateTime<Utc>) -> Self {
        Self {
            coverage: Coverage::of(records.iter().copied()),
            time_to_link: TimeToLink::of(
                records.iter().copied(),
                window_start(now, METRIC_WINDOW_DAYS),
            ),
        }
    }
}

/// The accounts as a run leaves them, by id: `before` (the stored records) with `written`
/// (the records the run writes) in place of the stored ones of the same account. Borrowed:
/// at 10,000 accounts a copy is megabytes the run holds while it commits.
pub fn records_after<'a>(
    before: impl IntoIterator<Item = &'a AccountRecord>,
    written: impl IntoIterator<Item = &'a AccountRecord>,
) -> Vec<&'a AccountRecord> {
    let mut by_id: BTreeMap<&str, &AccountRecord> = before
        .into_iter()
        .map(|r| (r.account.id.as_str(), r))
        .collect();
    by_id.extend(written.into_iter().map(|r| (r.account.id.as_str(), r)));
    by_id.into_values().collect()
}

/// The window's first instant: `window_days` before `now`.
pub fn window_start(now: DateTime<Utc>, window_days: u32) -> DateTime<Utc> {
    now - Duration::days(i64::from(window_days))
}

impl Report {
    /// The report at `now` over the last `window_days`: `records` are every account item
    /// (removed ones too), `runs` the run records (those before the window are ignored).
    pub fn compute<'a>(
        records: impl IntoIterator<Item = &'a AccountRecord> + Clone,
        runs: &[RunSummary],
        now: DateTime<Utc>,
        window_days: u32,
    ) -> Self {
        let since = window_start(now, window_days);
        let runs: Vec<&RunSummary> = runs
            .iter()
            .filter(|r| r.started_at >= since && r.started_at <= now)
            .collect();
        let organization_id = runs
            .iter()
            .filter(|r| !r.organization_id.is_empty())
            .max_by_key(|r| r.started_at)
            .map(|r| r.organization_id.clone());
        Self {
            generated_at: now,
            organization_id,
            window_days,
            coverage: Coverage::of(records.clone()),
            time_to_link: TimeToLink::of(records.clone(), since),
            by_ou: by_ou(records.clone()),
            oldest_unlinked: oldest_unlinked(records, now, OLDEST_SHOWN),
            auto_link: auto_link(&runs),
            trend: trend(&runs),
        }
    }
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
