//! One invoke, for the Lambda and `apnwatch snapshot --event` alike: parse the payload
//! ([`trigger`]), decide whether a run is needed (an ignored event, or a run that already
//! covered every event: one DynamoDB read, no Organizations call, no run record), run, and
//! shape the result ([`InvocationView`]), including the SQS partial batch response.
//!
//! [`trigger`]: crate::domain::trigger

use std::future::Future;

use serde::Serialize;
use serde_json::Value;
use tracing::{info, warn};

use crate::app::App;
use crate::domain::trigger::{self, Invocation, Kind, COVER_MARGIN};
use crate::error::Error;
use crate::ports::Queries;
use crate::run::{RunOptions, RunReport};
use crate::views::SnapshotView;

/// What one invoke did: the run's report, or why there was none.
#[derive(Debug)]
pub struct Outcome {
    pub invocation: Invocation,
    pub skip_reason: Option<String>,
    pub report: Option<RunReport>,
}

/// Parses `payload`, skips when nothing needs a run, otherwise calls `run` once with the
/// parsed invocation, whatever the number of events: a burst delivered as one SQS batch costs
/// one walk.
pub async fn handle<S, F, Fut>(
    store: &S,
    payload: &Value,
    margin: chrono::Duration,
    run: F,
) -> Result<Outcome, Error>
where
    S: Queries,
    F: FnOnce(&Invocation) -> Fut,
    Fut: Future<Output = Result<RunReport, Error>>,
{
    let invocation = trigger::parse(payload)?;
    for (message_id, reason) in &invocation.failures {
        warn!(
            message_id,
            reason, "SQS message is no accepted event; reported as a batch item failure"
        );
    }
    let mut skip_reason = invocation.nothing_to_do();
    if skip_reason.is_none() && !invocation.always_runs() {
        // Most recent first; a run record is written only when a run completes. The Query is
        // eventually consistent: it can only miss the newest run, which means running, never
        // skipping a change no run saw.
        let latest = store.runs(1).await?;
        skip_reason = trigger::covered_by(&invocation, latest.first(), margin);
    }
    info!(
        kind = ?invocation.kind(),
        event_name = invocation.event_name(),
        events = invocation.events.len(),
        failures = invocation.failures.len(),
        skip_reason,
        "invoked"
    );
    let report = match skip_reason {
        Some(_) => None,
        None => Some(run(&invocation).await?),
    };
    Ok(Outcome {
        invocation,
        skip_reason,
        report,
    })
}

impl App {
    /// [`handle`] with this app's table and run.
    pub async fn invoke(&self, payload: &Value, mut options: RunOptions) -> Result<Outcome, Error> {
        handle(&self.store, payload, COVER_MARGIN, |invocation| {
            options.tagged_accounts.extend(invocation.tagged_accounts());
            options.named_units.extend(invocation.named_units());
            self.run(options)
        })
        .await
    }
}

/// `trigger` in the invoke result and `snapshot --event --json`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct TriggerView {
    /// `null` only for a batch without one accepted event.
    pub kind: Option<Kind>,
    pub event_name: Option<String>,
    /// Accepted events in an SQS batch; absent for a single event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<usize>,
}

/// One entry of the partial batch response Lambda reads with `ReportBatchItemFailures`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct BatchItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// The invoke result: the run's summary (absent when skipped) plus what triggered it.
#[derive(Debug, Serialize)]
pub struct InvocationView {
    #[serde(flatten)]
    pub run: Option<SnapshotView>,
    pub trigger: TriggerView,
    pub skipped: bool,
    pub skip_reason: Option<String>,
    /// SQS batches only: the messages to retry (and, past `maxReceiveCount`, dead-letter).
    #[serde(rename = "batchItemFailures", skip_serializing_if = "Option::is_none")]
    pub batch_item_failures: Option<Vec<BatchItemFailure>>,
}

impl InvocationView {
    pub fn new(outcome: &Outcome, run: Option<SnapshotView>) -> Self {
        let inv = &outcome.invocation;
        Self {
            run,
            trigger: TriggerView {
                kind: inv.kind(),
                event_name: inv.event_name().map(str::to_string),
                events: inv.batch.then_some(inv.events.len()),
            },
            skipped: outcome.report.is_none(),
            skip_reason: outcome.skip_reason.clone(),
            batch_item_failures: inv.batch.then(|| {
                inv.failures
                    .iter()
                    .map(|(id, _)| BatchItemFailure {
                        item_identifier: id.clone(),
                    })
                    .collect()
            }),
        }
    }

    /// With the run's lists capped at `max` (see [`SnapshotView::capped`]).
    pub fn capped(outcome: &Outcome, max: usize) -> Self {
        let run = outcome
            .report
            .as_ref()
            .map(|r| SnapshotView::capped(r, max));
        Self::new(outcome, run)
    }
}

impl From<&Outcome> for InvocationView {
    fn from(outcome: &Outcome) -> Self {
        Self::new(outcome, outcome.report.as_ref().map(SnapshotView::from))
    }
}

/// The terminal text: the trigger, then the run or why it was skipped.
#[cfg(feature = "cli")]
pub fn outcome_text(outcome: &Outcome) -> String {
    let v = InvocationView::new(outcome, None);
    let kind = serde_json::to_value(v.trigger.kind)
        .ok()
        .and_then(|k| k.as_str().map(str::to_string))
        .unwrap_or_else(|| "none".into());
    let mut head = format!("trigger: {kind}");
    if let Some(name) = &v.trigger.event_name {
        head.push_str(&format!(" {name}"));
    }
    if let Some(n) = v.trigger.events {
        head.push_str(&format!(" ({n} event(s) in the batch)"));
    }
    if let Some(failures) = v.batch_item_failures.as_ref().filter(|f| !f.is_empty()) {
        let ids: Vec<&str> = failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        head.push_str(&format!("; not events, to retry: {}", ids.join(", ")));
    }
    match (&outcome.report, &outcome.skip_reason) {
        (Some(report), _) => format!("{head}\n{}", crate::views::snapshot_text(report)),
        (None, reason) => format!(
            "{head}\nskipped: {}\n",
            reason.as_deref().unwrap_or("no run needed")
        ),
    }
}

#[cfg(test)]
#[path = "invoke_tests.rs"]
mod tests;
