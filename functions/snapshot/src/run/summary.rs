//! The periodic coverage summary within a run (`APNWATCH_SUMMARY`): the first run of a period
//! queues it in the outbox, conditional on the period's marker (so a crashed run's retry or a
//! concurrent run queues nothing more), and the publisher sends it with the alerts under
//! the same lease, deleting it only once SNS accepted it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use tracing::info;

use crate::alert::summary::{render_summary, SummaryContext, SUMMARY_REASON, SUMMARY_WINDOW_DAYS};
use crate::alert::AlertMessage;
use crate::config::Config;
use crate::domain::model::{AccountChange, AccountRecord};
use crate::domain::report::{eligible, Report};
use crate::domain::route::{published_route, MessageAttributes, ROUTE_ALL};
use crate::domain::summary::{change, QueuedSummary, SummaryMark, SummaryPeriod};
use crate::error::Error;
use crate::ports::SummaryOutbox;

/// A period whose summary this run is the first to see.
pub(super) struct Due {
    period: SummaryPeriod,
    key: String,
    last: Option<SummaryMark>,
}

/// Whether this run's period still lacks its summary: one consistent Query of the newest
/// marker. `None` when off or already queued (the usual run: nothing more to compute).
pub(super) async fn due<S: SummaryOutbox>(
    config: &Config,
    store: &S,
    now: DateTime<Utc>,
) -> Result<Option<Due>, Error> {
    let Some(key) = config.summary.period_key(now) else {
        return Ok(None);
    };
    let last = store.last_summary(config.summary).await?;
    if last.as_ref().is_some_and(|m| m.key >= key) {
        return Ok(None);
    }
    Ok(Some(Due {
        period: config.summary,
        key,
        last,
    }))
}

/// The accounts as this run leaves them: the stored records with the changed ones replaced.
pub(super) fn records_after(
    previous: &BTreeMap<String, AccountRecord>,
    changes: &[AccountChange],
) -> Vec<AccountRecord> {
    let mut records = previous.clone();
    for c in changes {
        records.insert(c.record.account.id.clone(), c.record.clone());
    }
    records.into_values().collect()
}

/// Renders the summary of every account (`all`) and, with routing, one per route over its
/// accounts, and queues them with the period's marker. Returns how many were queued: none
/// when another run got there first.
#[allow(clippy::too_many_arguments)]
pub(super) async fn queue<S: SummaryOutbox>(
    store: &S,
    due: Due,
    records: &[AccountRecord],
    routes: &BTreeMap<String, String>,
    routing: bool,
    organization_id: &str,
    run_id: &str,
    now: DateTime<Utc>,
) -> Result<usize, Error> {
    let mut groups: BTreeMap<String, Vec<AccountRecord>> = BTreeMap::new();
    groups.insert(ROUTE_ALL.to_string(), records.to_vec());
    if routing {
        for r in records.iter().filter(|r| eligible(r)) {
            let route = published_route(true, routes.get(&r.account.id).map(String::as_str));
            groups.entry(route).or_default().push(r.clone());
        }
    }
    let mut percent = BTreeMap::new();
    let mut summaries: Vec<QueuedSummary> = Vec::new();
    for (route, records) in &groups {
        let report = Report::compute(records, &[], now, SUMMARY_WINDOW_DAYS);
        let before = due
            .last
            .as_ref()
            .and_then(|m| m.percent.get(route).copied().flatten());
        let ctx = SummaryContext {
            organization_id: organization_id.to_string(),
            run_id: run_id.to_string(),
            period: due.period,
            key: due.key.clone(),
            route: route.clone(),
        };
        summaries.push(render_summary(
            &report,
            change(before, report.coverage.percent),
            &ctx,
        ));
        percent.insert(route.clone(), report.coverage.percent);
    }
    // `all` first: past the transaction's size the rest follow it.
    summaries.sort_by_key(|s| (s.route != ROUTE_ALL, s.route.clone()));
    let mark = SummaryMark {
        period: due.period,
        key: due.key.clone(),
        run_id: run_id.to_string(),
        queued_at: now,
        percent,
    };
    let queued = store.queue_summaries(&mark, &summaries).await?;
    info!(
        run_id,
        period = due.period.as_str(),
        key = due.key,
        queued,
        routes = summaries.len(),
        "coverage summary"
    );
    Ok(if queued { summaries.len() } else { 0 })
}

/// The SNS message of a queued summary: published as rendered, with `reasons` =
/// `["SUMMARY"]` and its `route`, so filter policies can take or leave it.
pub(super) fn message(s: &QueuedSummary) -> AlertMessage {
    AlertMessage {
        subject: s.subject.clone(),
        body: s.body.clone(),
        alert_ids: Vec::new(),
        attributes: MessageAttributes {
            route: s.route.clone(),
            reasons: BTreeSet::from([SUMMARY_REASON.to_string()]),
            link_states: s.link_states.clone(),
            organization_id: s.organization_id.clone(),
        },
    }
}
