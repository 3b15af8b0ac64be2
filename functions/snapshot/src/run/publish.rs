//! The second half of a run: publish every queued alert from the outbox under the lease, then
//! record the run. An alert leaves the outbox only after SNS accepted it, so a failed publish
//! is retried by the next run.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::SubsecRound;
use tracing::info;

use super::{Deps, RunReport, Stored};
use crate::alert::{messages, AlertContext, AlertMessage};
use crate::config::{ConfigError, ENV_TOPIC_ARN};
use crate::domain::model::PendingAlert;
use crate::error::Error;
use crate::ports::{AlertOutbox, Notifier, PublishLease, Store, SummaryOutbox};

/// Tries to take the publish lease while another run holds it, with doubling waits.
const LEASE_TRIES: u32 = 4;

const LEASE_FIRST_WAIT: Duration = Duration::from_millis(250);

/// Message bodies a report keeps (see [`RunReport::messages`]): a 10,000-account baseline
/// publishes ~30 MiB of them, which the run would otherwise hold until it returns.
const REPORTED_MESSAGE_BYTES: usize = 1024 * 1024;

/// The second half of a run: publish every queued alert, then record the run.
pub async fn publish<O, P, S, N>(
    stored: Stored,
    deps: &Deps<'_, O, P, S, N>,
) -> Result<RunReport, Error>
where
    S: Store,
    N: Notifier,
{
    let mut summary = stored.summary;
    let notifier = deps
        .notifier
        .expect("checked by store_changes: a real run has a notifier");
    // Taken apart by value: at a large baseline the message bodies run to tens of MiB.
    let (published, publish_error) =
        match publish_pending(deps.store, notifier, &stored.alert_ctx, &stored.run_id).await {
            Ok(sent) => (sent, None),
            Err(e) => ((Vec::new(), Reported::default()), Some(e)),
        };
    let (alerts, reported) = published;
    summary.alerts = alerts.len();
    summary.messages = reported.count;
    let messages = reported.messages;
    summary.finished_at = crate::clock::now().trunc_subsecs(3);
    // After the commit: a failed run leaves the sweep where it was, so the next run's slice
    // covers its time too.
    if let Some(sweep) = &stored.sweep_state {
        deps.store.put_sweep(sweep).await?;
    }
    // Likewise the OU names: a failed run leaves them, so the next one reads its slice too.
    if let Some(names) = &stored.ou_names {
        deps.store.put_ou_names(names).await?;
    }
    // The run record is written even when publishing failed: `apnwatch runs` should show it.
    deps.store.put_run(&summary).await?;
    if let Some(e) = publish_error {
        return Err(e);
    }
    info!(
        run_id = stored.run_id,
        alerts = summary.alerts,
        messages = summary.messages,
        "run finished"
    );

    Ok(RunReport {
        organization_id: stored.organization_id,
        summary,
        events: stored.events,
        alerts,
        messages,
        account_writes: stored.account_writes,
        unsettled: stored.unsettled,
        organizations_calls: stored.organizations_calls,
        first_run: stored.first_run,
        auto_link: None,
        coverage: stored.coverage,
    })
}

pub(super) fn missing_topic() -> ConfigError {
    ConfigError::Missing {
        var: ENV_TOPIC_ARN,
        hint: "set it to the SNS topic ARN that receives alerts, or use a dry run",
    }
}

/// Publishes everything in the outbox: this run's alerts and any a failed run left behind.
/// Only one run publishes at a time (the lease), and an alert leaves the outbox only after
/// SNS accepted the message that carries it.
pub(super) async fn publish_pending<S: AlertOutbox + SummaryOutbox + PublishLease, N: Notifier>(
    store: &S,
    notifier: &N,
    ctx: &AlertContext,
    run_id: &str,
) -> Result<(Vec<PendingAlert>, Reported), Error> {
    // Nothing queued (the usual unchanged run): no lease, so such a run writes only its record.
    if !store.has_queued().await? {
        return Ok((Vec::new(), Reported::default()));
    }
    let mut wait = LEASE_FIRST_WAIT;
    let mut leased = false;
    for _ in 0..LEASE_TRIES {
        if store
            .acquire_publish_lease(run_id, crate::clock::now())
            .await?
        {
            leased = true;
            break;
        }
        tokio::time::sleep(wait).await;
        wait *= 2;
    }
    if !leased {
        info!(
            run_id,
            "another run is publishing; queued alerts go out with it or with the next run"
        );
        return Ok((Vec::new(), Reported::default()));
    }

    let result = publish_outbox(store, notifier, ctx).await;
    // Released on failure too: the next run must not wait out the lease to retry.
    let released = store.release_publish_lease(run_id).await;
    let sent = result?;
    released?;
    Ok(sent)
}

pub(super) async fn publish_outbox<S: AlertOutbox + SummaryOutbox, N: Notifier>(
    store: &S,
    notifier: &N,
    ctx: &AlertContext,
) -> Result<(Vec<PendingAlert>, Reported), Error> {
    let pending = store.pending_alerts().await?;
    let mut sent_ids = BTreeSet::new();
    let mut reported = Reported::default();
    // Rendered one at a time: each body is published and dropped before the next is built.
    for message in messages(&pending, ctx) {
        let message_id = notifier.publish(&message).await?;
        store.ack_alerts(&message.alert_ids).await?;
        info!(message_id, alerts = message.alert_ids.len(), subject = %message.subject, "alert published");
        sent_ids.extend(message.alert_ids.iter().cloned());
        reported.push(message);
    }
    // The period's summaries after the alerts, each deleted once SNS accepted it.
    for queued in store.pending_summaries().await? {
        let message = super::summary::message(&queued);
        let message_id = notifier.publish(&message).await?;
        store.ack_summary(&queued.id).await?;
        info!(message_id, route = %queued.route, subject = %message.subject, "summary published");
        reported.push(message);
    }
    let alerts = pending
        .into_iter()
        .filter(|a| sent_ids.contains(&a.id))
        .collect();
    Ok((alerts, reported))
}

/// The messages a report keeps (bounded by [`REPORTED_MESSAGE_BYTES`]) and how many there were.
#[derive(Default)]
pub(super) struct Reported {
    pub(super) messages: Vec<AlertMessage>,
    pub(super) bytes: usize,
    pub(super) count: usize,
}

impl Reported {
    pub(super) fn push(&mut self, message: AlertMessage) {
        // Kept while none was dropped yet, so the kept ones are the first messages.
        let none_dropped = self.messages.len() == self.count;
        self.count += 1;
        if none_dropped && self.bytes + message.body.len() <= REPORTED_MESSAGE_BYTES {
            self.bytes += message.body.len();
            self.messages.push(message);
        }
    }
}
