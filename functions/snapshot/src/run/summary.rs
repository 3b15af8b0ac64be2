//! The periodic coverage summary within a run (`APNWATCH_SUMMARY`): the first run of a period
//! queues it in the outbox, conditional on the period's marker (so a crashed run's retry or a
//! concurrent run queues nothing more), and the publisher sends it with the alerts under
//! the same lease, deleting it only once SNS accepted it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use tracing::info;

use crate::alert::summary::{render_summary, SummaryContext, SUMMARY_REASON, SUMMARY_WINDOW_DAYS};
use crate::alert::{AlertContext, AlertMessage};
use crate::config::Config;
use crate::domain::model::AccountRecord;
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

/// A period's summaries, rendered while the run still holds the accounts, queued once its
/// changes are stored.
pub(super) struct Rendered {
    mark: SummaryMark,
    summaries: Vec<QueuedSummary>,
}

/// Renders the summary of every account (`all`) and, with routing, one per route over its
/// accounts: `records` are the accounts as this run leaves them.
pub(super) fn render(
    due: Due,
    records: &[&AccountRecord],
    routes: &BTreeMap<String, String>,
    alert_ctx: &AlertContext,
    now: DateTime<Utc>,
) -> Rendered {
    let mut groups: BTreeMap<String, Vec<&AccountRecord>> = BTreeMap::new();
    groups.insert(ROUTE_ALL.to_string(), records.to_vec());
    if alert_ctx.routing {
        for r in records.iter().copied().filter(|r| eligible(r)) {
            let route = published_route(true, routes.get(&r.account.id).map(String::as_str));
            groups.entry(route).or_default().push(r);
        }
    }
    let mut percent = BTreeMap::new();
    let mut summaries: Vec<QueuedSummary> = Vec::new();
    for (route, records) in &groups {
        let report = Report::compute(records.iter().copied(), &[], now, SUMMARY_WINDOW_DAYS);
        let before = due
            .last
            .as_ref()
            .and_then(|m| m.percent.get(route).copied().flatten());
        let ctx = SummaryContext {
            organization_id: alert_ctx.organization_id.clone(),
            run_id: alert_ctx.run_id.clone(),
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
        key: due.key,
        run_id: alert_ctx.run_id.clone(),
        queued_at: now,
        percent,
    };
    Rendered { mark, summaries }
}

/// Queues the rendered summaries with the period's marker. Returns how many were queued:
/// none when another run got there first.
pub(super) async fn queue<S: SummaryOutbox>(store: &S, rendered: Rendered) -> Result<usize, Error> {
    let Rendered { mark, summaries } = rendered;
    let queued = store.queue_summaries(&mark, &summaries).await?;
    info!(
        run_id = mark.run_id,
        period = mark.period.as_str(),
        key = mark.key,
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
