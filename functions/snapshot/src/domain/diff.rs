//! Previous table state vs. the current snapshot: which records change, which history events
//! they append and which alerts they queue. Pure, so every rule here is unit tested without
//! AWS.
//!
//! Alert rules: on the first run (an empty table) every account that is not linked is part of
//! a baseline report; later, every account that appeared since the last run (linked or not)
//! and every account that became UNLINKED or PENDING (`INVITATION_LAPSED` when it was
//! PENDING). EXEMPT accounts never alert, nor do SUSPENDED, PENDING_CLOSURE or CLOSED ones:
//! they earn no credit. On top of that (`remind`): an open alert that is old enough is
//! repeated as a `REMINDER`, and one whose account is now linked, exempt, closed or gone is
//! closed with a `RESOLVED` notice. The reminder's record write (the new `last_alerted_at`)
//! and its alert land in the same conditional transaction, like every other alert.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::domain::model::{
    Account, AccountChange, AccountRecord, AlertReason, ChangeEvent, ChangeKind, LinkDecision,
    LinkState, PendingAlert,
};
use crate::domain::remind::{is_open, reminder_due, AlertPolicy};

/// Identifies the run that produces the changes.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    pub run_id: String,
    pub now: DateTime<Utc>,
    /// The table held no account and no run: report every unlinked account as a baseline.
    pub first_run: bool,
    /// Reminders and resolved notices.
    pub policy: AlertPolicy,
    /// Each account's route (`APNWATCH_ROUTE_BY`), stamped on its alerts; absent: unrouted.
    pub routes: BTreeMap<String, String>,
}

fn needs_action(link: LinkState) -> bool {
    matches!(link, LinkState::Unlinked | LinkState::Pending)
}

/// Computes every account change between `previous` (keyed by account id) and `current`.
/// Accounts are visited in id order so that runs write and report deterministically.
pub fn diff(
    previous: &BTreeMap<String, AccountRecord>,
    current: &[(Account, LinkDecision)],
    ctx: &RunContext,
) -> Vec<AccountChange> {
    let mut changes = Vec::new();
    let mut seen = BTreeSet::new();
    let mut sorted: Vec<&(Account, LinkDecision)> = current.iter().collect();
    sorted.sort_by(|a, b| a.0.id.cmp(&b.0.id));

    for (account, link) in sorted {
        seen.insert(account.id.as_str());
        let change = match previous.get(&account.id) {
            Some(prev) if !prev.removed => changed(prev, account, link, ctx),
            Some(prev) => Some(appeared(Some(prev), account, link, ctx)),
            None => Some(appeared(None, account, link, ctx)),
        };
        changes.extend(change);
    }

    for prev in previous
        .values()
        .filter(|p| !p.removed && !seen.contains(p.account.id.as_str()))
    {
        let mut record = prev.clone();
        record.removed = true;
        record.last_changed = ctx.now;
        record.rev = prev.rev + 1;
        record.last_alerted_at = None;
        let alert = (is_open(prev) && ctx.policy.notify_resolved)
            .then(|| pending_alert(&record, AlertReason::Resolved, ctx));
        let event = event(
            ctx,
            &prev.account.id,
            0,
            ChangeKind::Removed,
            Some(prev.account.state.to_string()),
            None,
            "no longer in the organization".into(),
        );
        changes.push(AccountChange {
            expected_rev: Some(prev.rev),
            record,
            events: vec![event],
            alert,
            replaces_queued: false,
        });
    }
    changes
}

/// A first sighting, or a return after removal.
fn appeared(
    prev: Option<&AccountRecord>,
    account: &Account,
    link: &LinkDecision,
    ctx: &RunContext,
) -> AccountChange {
    let reason = match link.state {
        _ if !account.state.earns_credit() => None,
        LinkState::Exempt => None,
        LinkState::Linked if ctx.first_run => None,
        LinkState::Unlinked | LinkState::Pending if ctx.first_run => Some(AlertReason::Baseline),
        _ => Some(AlertReason::NewAccount),
    };
    let record = AccountRecord {
        account: account.clone(),
        link: link.clone(),
        first_seen: prev.map_or(ctx.now, |p| p.first_seen),
        last_changed: ctx.now,
        removed: false,
        rev: prev.map_or(1, |p| p.rev + 1),
        state_since: ctx.now,
        last_alerted_at: (reason.is_some() && needs_action(link.state)).then_some(ctx.now),
        refusal: None,
    };
    let before = prev.map(|_| "REMOVED".to_string());
    let events = vec![event(
        ctx,
        &account.id,
        0,
        ChangeKind::Discovered,
        before,
        Some(link.state.to_string()),
        format!("{} ({})", link.detail, link.source),
    )];
    let alert = reason.map(|r| pending_alert(&record, r, ctx));
    AccountChange {
        expected_rev: prev.map(|p| p.rev),
        record,
        events,
        alert,
        replaces_queued: false,
    }
}

/// An account present in both: `None` when nothing stored about it changed.
fn changed(
    prev: &AccountRecord,
    account: &Account,
    link: &LinkDecision,
    ctx: &RunContext,
) -> Option<AccountChange> {
    let unchanged = prev.account == *account && prev.link == *link;
    if unchanged && !reminder_due(prev, &ctx.policy, ctx.now) {
        return None;
    }
    // In history order: the account's name, its place, its state, then its link. Each entry:
    // whether it changed, the kind, before, after, and the detail.
    let old = &prev.account;
    let facts = [
        (
            old.name != account.name,
            ChangeKind::Renamed,
            old.name.clone(),
            account.name.clone(),
            String::new(),
        ),
        (
            old.ou_path != account.ou_path || old.parent_id != account.parent_id,
            ChangeKind::Moved,
            old.ou_path.clone(),
            account.ou_path.clone(),
            format!("now under {}", account.parent_id),
        ),
        (
            old.state != account.state,
            ChangeKind::StateChanged,
            old.state.to_string(),
            account.state.to_string(),
            String::new(),
        ),
        (
            prev.link.state != link.state,
            ChangeKind::for_link_state(link.state),
            prev.link.state.to_string(),
            link.state.to_string(),
            format!("{} ({})", link.detail, link.source),
        ),
    ];
    let events: Vec<ChangeEvent> = facts
        .into_iter()
        .filter(|fact| fact.0)
        .enumerate()
        .map(|(seq, (_, kind, before, after, detail))| {
            event(
                ctx,
                &account.id,
                seq as u32,
                kind,
                Some(before),
                Some(after),
                detail,
            )
        })
        .collect();

    let was_open = is_open(prev);
    let open_now = needs_action(link.state) && account.state.earns_credit();
    let reason = match (prev.link.state, link.state) {
        _ if !account.state.earns_credit() => None,
        (LinkState::Pending, LinkState::Unlinked) => Some(AlertReason::InvitationLapsed),
        (before, LinkState::Unlinked) if before != LinkState::Unlinked => {
            Some(AlertReason::LinkLost)
        }
        (before, LinkState::Pending) if before != LinkState::Pending => {
            Some(AlertReason::LinkPending)
        }
        // Only while the alert stays open: an account linked or exempted just as its
        // reminder fell due is resolved, not reminded (found by the simulator, seed 15).
        _ if was_open && open_now && reminder_due(prev, &ctx.policy, ctx.now) => {
            Some(AlertReason::Reminder)
        }
        _ => None,
    };
    let resolved = was_open && !open_now;
    let reason = match reason {
        None if resolved && ctx.policy.notify_resolved => Some(AlertReason::Resolved),
        r => r,
    };
    let last_alerted_at = match reason {
        Some(r) if r != AlertReason::Resolved && open_now => Some(ctx.now),
        _ if !open_now => None,
        _ => prev.last_alerted_at,
    };
    // Some attributes (email, tags, how the link was proven) change without an event
    // worth a history line; the record is still rewritten so it shows the truth.
    let record = AccountRecord {
        account: account.clone(),
        link: link.clone(),
        first_seen: prev.first_seen,
        last_changed: if events.is_empty() {
            prev.last_changed
        } else {
            ctx.now
        },
        removed: false,
        rev: prev.rev + 1,
        state_since: if prev.link.state == link.state {
            prev.state_since
        } else {
            ctx.now
        },
        last_alerted_at,
        // A refusal is about the link state it was given in: a new state makes it history.
        refusal: if prev.link.state == link.state {
            prev.refusal.clone()
        } else {
            None
        },
    };
    let alert = reason.map(|r| pending_alert(&record, r, ctx));
    Some(AccountChange {
        expected_rev: Some(prev.rev),
        record,
        events,
        alert,
        replaces_queued: false,
    })
}

fn event(
    ctx: &RunContext,
    account_id: &str,
    seq: u32,
    kind: ChangeKind,
    before: Option<String>,
    after: Option<String>,
    detail: String,
) -> ChangeEvent {
    ChangeEvent {
        account_id: account_id.to_string(),
        at: ctx.now,
        run_id: ctx.run_id.clone(),
        seq,
        kind,
        before,
        after,
        detail,
    }
}

fn pending_alert(record: &AccountRecord, reason: AlertReason, ctx: &RunContext) -> PendingAlert {
    let route = ctx.routes.get(&record.account.id).cloned();
    PendingAlert::about(record, reason, &ctx.run_id, ctx.now, route)
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
