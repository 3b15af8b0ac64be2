//! Closing the loop: `apnwatch invite` and, after a run has stored its changes, auto-invite
//! (`APNWATCH_AUTO_INVITE`) and auto-accept (`APNWATCH_ACCEPT_ROLE_NAME`). Each outcome is
//! written as the account's history event (`INVITED`, `INVITE_FAILED`, `ACCEPTED`,
//! `ACCEPT_FAILED`) through the same conditional commit as a run's changes.
//!
//! After a run nothing here can fail the run or hold back its alerts (they are already
//! published): refusals and even store errors are logged and counted in [`AutoLinkReport`].

use std::collections::BTreeSet;

use chrono::{SubsecRound, Utc};
use tracing::{info, warn};

use crate::config::Config;
use crate::error::Error;
use crate::invite::{
    self, accept_candidates, auto_candidates, backed_off, eligible, invite_token, AutoInvite,
    Ineligible, Stamp,
};
use crate::model::{AccountChange, ChangeKind};
use crate::ports::{Invitations, Queries, Store};

/// What auto-invite and auto-accept did after one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutoLinkReport {
    pub invited: Vec<String>,
    /// `(account id, reason)`.
    pub invite_failed: Vec<(String, String)>,
    pub accepted: Vec<String>,
    pub accept_failed: Vec<(String, String)>,
    /// Skipped: refused less than 24 h ago.
    pub backed_off: usize,
    /// Partner Central calls made (SDK retries not counted, accept listing pages counted as one).
    pub calls: usize,
}

/// One id's outcome in `apnwatch invite`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteOutcome {
    Sent { invitation_id: String },
    WouldSend,
    Refused { reason: String, advice: String },
    NotEligible(Ineligible),
}

/// `apnwatch invite IDS`: every id is checked against the table before any call; eligible
/// ones are invited (dry: reported only) and the outcome recorded. A manual invite ignores
/// the 24 h back-off: a person decided to try again.
pub async fn invite_accounts<S, I>(
    config: &Config,
    store: &S,
    invitations: &I,
    ids: &[String],
    dry_run: bool,
) -> Result<Vec<(String, InviteOutcome)>, Error>
where
    S: Store + Queries,
    I: Invitations,
{
    let stamp = Stamp {
        run_id: format!("invite-{}", uuid::Uuid::now_v7()),
        now: Utc::now().trunc_subsecs(3),
    };
    let records = store.load().await?.records;
    let org_label = records
        .values()
        .find(|r| r.account.is_management)
        .map(|r| format!("the organization of management account {}", r.account.id))
        .unwrap_or_else(|| "our organization".into());
    let message = invite::message_for(&config.invite, &org_label);
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for id in ids {
        if !seen.insert(id.clone()) {
            continue;
        }
        let record = records.get(id);
        if let Err(why) = eligible(id, record) {
            out.push((id.clone(), InviteOutcome::NotEligible(why)));
            continue;
        }
        let record = record.expect("eligible implies a record");
        if dry_run {
            out.push((id.clone(), InviteOutcome::WouldSend));
            continue;
        }
        let outcome = match invitations
            .invite(id, &invite_token(id, stamp.now), &message)
            .await
        {
            Ok(sent) => {
                commit(store, invite::invited(record, &sent, &stamp)).await?;
                InviteOutcome::Sent {
                    invitation_id: sent.invitation_id,
                }
            }
            Err(refusal) => {
                commit(store, invite::invite_failed(record, &refusal, &stamp)).await?;
                InviteOutcome::Refused {
                    reason: format!("{}: {}", refusal.label(), refusal.message),
                    advice: refusal.advice().to_string(),
                }
            }
        };
        out.push((id.clone(), outcome));
    }
    Ok(out)
}

/// Auto-invite, then auto-accept, after a run that stored its changes. `discovered`: the
/// accounts this run discovered (empty for a first run's baseline).
pub async fn after_run<S, I>(
    config: &Config,
    store: &S,
    invitations: &I,
    organization_id: &str,
    discovered: &BTreeSet<String>,
    run_id: &str,
) -> AutoLinkReport
where
    S: Store + Queries,
    I: Invitations,
{
    let mut report = AutoLinkReport::default();
    let stamp = Stamp {
        run_id: run_id.to_string(),
        now: Utc::now().trunc_subsecs(3),
    };
    if config.invite.auto != AutoInvite::Off {
        if let Err(e) = auto_invite(
            config,
            store,
            invitations,
            organization_id,
            discovered,
            &stamp,
            &mut report,
        )
        .await
        {
            warn!(error = %e.one_line(), "auto-invite stopped; the next run continues");
        }
    }
    if config.invite.accepts() {
        if let Err(e) = auto_accept(config, store, invitations, &stamp, &mut report).await {
            warn!(error = %e.one_line(), "auto-accept stopped; the next run continues");
        }
    }
    info!(
        run_id,
        invited = report.invited.len(),
        invite_failed = report.invite_failed.len(),
        accepted = report.accepted.len(),
        accept_failed = report.accept_failed.len(),
        backed_off = report.backed_off,
        partner_central_calls = report.calls,
        "auto-link finished"
    );
    report
}

async fn auto_invite<S: Store + Queries, I: Invitations>(
    config: &Config,
    store: &S,
    invitations: &I,
    organization_id: &str,
    discovered: &BTreeSet<String>,
    stamp: &Stamp,
    report: &mut AutoLinkReport,
) -> Result<(), Error> {
    let records = store.load().await?.records;
    let message = invite::message_for(&config.invite, organization_id);
    let mut sent = 0;
    for record in auto_candidates(config.invite.auto, &records, discovered) {
        // The cap counts attempts: a first run on a big org never burns the daily quota.
        if sent >= config.invite.max_per_run {
            break;
        }
        let id = &record.account.id;
        let history = store.history(id).await?;
        if backed_off(&history, ChangeKind::InviteFailed, stamp.now).is_some() {
            report.backed_off += 1;
            continue;
        }
        sent += 1;
        report.calls += 1;
        match invitations
            .invite(id, &invite_token(id, stamp.now), &message)
            .await
        {
            Ok(s) => {
                commit(store, invite::invited(record, &s, stamp)).await?;
                report.invited.push(id.clone());
            }
            Err(refusal) => {
                warn!(account_id = %id, reason = %refusal.label(), message = %refusal.message, "invitation refused");
                commit(store, invite::invite_failed(record, &refusal, stamp)).await?;
                report.invite_failed.push((id.clone(), refusal.label()));
                if refusal.stops_batch() {
                    break;
                }
            }
        }
    }
    Ok(())
}

async fn auto_accept<S: Store + Queries, I: Invitations>(
    config: &Config,
    store: &S,
    invitations: &I,
    stamp: &Stamp,
    report: &mut AutoLinkReport,
) -> Result<(), Error> {
    // Read again: auto-invite just made accounts PENDING.
    let records = store.load().await?.records;
    let mut tried = 0;
    for record in accept_candidates(&records) {
        if tried >= config.invite.max_per_run {
            break;
        }
        let id = &record.account.id;
        let history = store.history(id).await?;
        if backed_off(&history, ChangeKind::AcceptFailed, stamp.now).is_some() {
            report.backed_off += 1;
            continue;
        }
        tried += 1;
        // ListConnectionInvitations (one page usually) and AcceptConnectionInvitation.
        report.calls += 2;
        let outcome = invitations.accept(id).await;
        // `load` may be a moment behind the invite just committed: write against the
        // consistent record.
        let fresh = store.account(id).await?;
        let record = fresh.as_ref().unwrap_or(record);
        match outcome {
            Ok(a) => {
                commit(store, invite::accepted(record, &a, stamp)).await?;
                report.accepted.push(id.clone());
            }
            Err(refusal) => {
                warn!(account_id = %id, reason = %refusal.label(), message = %refusal.message, "accepting failed");
                commit(store, invite::accept_failed(record, &refusal, stamp)).await?;
                report.accept_failed.push((id.clone(), refusal.label()));
                if refusal.stops_batch() {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Writes one outcome. A conflict (a run changed the account meanwhile) loses only the
/// event: the invitation itself is in Partner Central and the next run reads it.
async fn commit<S: Store>(store: &S, change: AccountChange) -> Result<(), Error> {
    let id = change.record.account.id.clone();
    let outcome = store.commit(std::slice::from_ref(&change)).await?;
    if !outcome.conflicts.is_empty() {
        warn!(account_id = %id, "the account changed meanwhile; its invite event was not recorded");
    }
    Ok(())
}
