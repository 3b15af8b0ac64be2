//! The records, history events and alert rewrites an invite or accept outcome writes.

use chrono::{DateTime, Utc};

use super::{Accepted, Refusal, Sent};
use crate::domain::model::{
    AccountChange, AccountRecord, AlertReason, ChangeEvent, ChangeKind, LinkRefusal, LinkState,
    PendingAlert,
};

/// Who writes an outcome event: the run (`run_id`) or `apnwatch invite` (its own id).
#[derive(Debug, Clone)]
pub struct Stamp {
    pub run_id: String,
    pub now: DateTime<Utc>,
}

pub(super) fn event(
    stamp: &Stamp,
    record: &AccountRecord,
    kind: ChangeKind,
    after: Option<String>,
    detail: String,
) -> ChangeEvent {
    ChangeEvent {
        account_id: record.account.id.clone(),
        at: stamp.now,
        run_id: stamp.run_id.clone(),
        // An event's key is time#run#seq: the invite and the accept of one account in one
        // run share the stamp, and a run's own events count up from 0.
        seq: match kind {
            ChangeKind::Accepted | ChangeKind::AcceptFailed => 901,
            _ => 900,
        },
        kind,
        before: Some(record.link.state.to_string()),
        after,
        detail,
    }
}

/// `next` replaces `record` (conditional on the revision read) with one history event.
fn change(record: &AccountRecord, next: AccountRecord, event: ChangeEvent) -> AccountChange {
    AccountChange {
        expected_rev: Some(record.rev),
        record: next,
        events: vec![event],
        alert: None,
        replaces_queued: false,
    }
}

/// The record after an invitation was sent: PENDING with the very decision the resolver
/// makes for a pending invitation ([`crate::domain::link::pending_invitation`]), so the next run
/// sees no change; the alert state (`last_alerted_at`) is kept so a later link resolves it.
pub fn invited(record: &AccountRecord, sent: &Sent, stamp: &Stamp) -> AccountChange {
    let mut next = record.clone();
    next.link = crate::domain::link::pending_invitation();
    next.rev = record.rev + 1;
    next.refusal = None;
    next.last_changed = stamp.now;
    next.state_since = stamp.now;
    let e = event(
        stamp,
        record,
        ChangeKind::Invited,
        Some(LinkState::Pending.to_string()),
        super::already::invited_detail(&sent.invitation_id, stamp.now),
    );
    change(record, next, e)
}

/// The record is unchanged but for the revision; the event carries the reason and advice.
pub(super) fn refused(
    record: &AccountRecord,
    kind: ChangeKind,
    refusal: &Refusal,
    stamp: &Stamp,
) -> AccountChange {
    let mut next = record.clone();
    next.rev = record.rev + 1;
    next.refusal = Some(LinkRefusal {
        kind,
        at: stamp.now,
        reason: refusal.label(),
        message: refusal.message.clone(),
        what_to_do: refusal.advice().to_string(),
    });
    let e = event(
        stamp,
        record,
        kind,
        Some(record.link.state.to_string()),
        format!(
            "{}: {}; {}",
            refusal.label(),
            refusal.message,
            refusal.advice()
        ),
    );
    change(record, next, e)
}

pub fn invite_failed(record: &AccountRecord, refusal: &Refusal, stamp: &Stamp) -> AccountChange {
    refused(record, ChangeKind::InviteFailed, refusal, stamp)
}

pub fn accept_failed(record: &AccountRecord, refusal: &Refusal, stamp: &Stamp) -> AccountChange {
    refused(record, ChangeKind::AcceptFailed, refusal, stamp)
}

/// The link state is left to the next run, which reads the ACTIVE connection from Partner
/// Central and records LINKED (and the RESOLVED notice) the usual way.
pub fn accepted(record: &AccountRecord, accepted: &Accepted, stamp: &Stamp) -> AccountChange {
    let mut next = record.clone();
    next.rev = record.rev + 1;
    next.refusal = None;
    let detail = match &accepted.connection_id {
        Some(c) => format!(
            "invitation {} accepted: connection {c}",
            accepted.invitation_id
        ),
        None => format!("invitation {} accepted", accepted.invitation_id),
    };
    let e = event(
        stamp,
        record,
        ChangeKind::Accepted,
        Some(record.link.state.to_string()),
        detail,
    );
    change(record, next, e)
}

/// Who hears of an outcome beyond the account's history.
#[derive(Debug, Clone, Default)]
pub struct Notice<'a> {
    /// The alert about the account still waiting in the outbox (this run's, or one a failed
    /// run left), if any.
    pub queued: Option<&'a PendingAlert>,
    /// Queue an alert for a refusal nobody was told of: set by a run for a refusal about
    /// this account (not the daily quota or throttling, which later runs get past by
    /// themselves); never by `apnwatch invite`, whose user reads the outcome.
    pub alert_refusal: bool,
    /// The account's route (`APNWATCH_ROUTE_BY`) for such an alert.
    pub route: Option<String>,
}

/// Brings the outbox up to date with an outcome `change` computed from `prev`: a queued
/// alert about the account is rewritten from the new record (same id and reason), so the
/// message says "invitation sent on …" or shows the refusal instead of "send a connection
/// request"; otherwise a refusal gets its own `INVITE_FAILED`/`ACCEPT_FAILED` alert when
/// `notice` allows it and it differs from the refusal last recorded (the same refusal again
/// after the 24 h back-off is for reminders to repeat, not a new alert).
pub fn tell(
    mut change: AccountChange,
    prev: &AccountRecord,
    notice: Notice<'_>,
    stamp: &Stamp,
) -> AccountChange {
    if let Some(queued) = notice.queued {
        change.alert = Some(queued.updated(&change.record));
        change.replaces_queued = true;
        return change;
    }
    let Some(refusal) = &change.record.refusal else {
        return change;
    };
    let repeated = prev
        .refusal
        .as_ref()
        .is_some_and(|p| (p.kind, &p.reason) == (refusal.kind, &refusal.reason));
    if !notice.alert_refusal || repeated || !change.record.account.state.earns_credit() {
        return change;
    }
    let reason = match refusal.kind {
        ChangeKind::AcceptFailed => AlertReason::AcceptFailed,
        _ => AlertReason::InviteFailed,
    };
    change.record.last_alerted_at = Some(stamp.now);
    let mut alert = PendingAlert::about(
        &change.record,
        reason,
        &stamp.run_id,
        stamp.now,
        notice.route,
    );
    // Its own id: the run's alert about this account (`<run_id>#<account_id>`) may have
    // been published already (that is why none is queued), and a second alert under that
    // id would be dropped by a subscriber that drops repeated ids (found by the simulator;
    // its regression seed is in `sim/tests.rs`).
    alert.id = format!("{}#{}", alert.id, reason.as_str());
    change.alert = Some(alert);
    change
}
