//! Closing the loop: `apnwatch invite` and, after a run has stored its changes, auto-invite
//! (`APNWATCH_AUTO_INVITE`) and auto-accept (`APNWATCH_ACCEPT_ROLE_NAME`). Each outcome is
//! written as the account's history event (`INVITED`, `INVITE_FAILED`, `ACCEPTED`,
//! `ACCEPT_FAILED`) through the same conditional commit as a run's changes.
//!
//! After a run has stored its changes and before it publishes: an outcome rewrites the
//! alert still queued about the account ([`invite::tell`]), so the one message a new account
//! gets says "invitation sent on …" or why Partner Central refused. Nothing here can fail
//! the run or hold back its alerts: refusals and even store errors are logged and counted in
//! [`AutoLinkReport`], and the caller bounds the time it takes.

use std::collections::{BTreeMap, BTreeSet};

use chrono::SubsecRound;
use tracing::{info, warn};

use crate::config::Config;
use crate::domain::invite::already::{pending_invitation, PendingInvitation};
use crate::domain::invite::{
    self, accept_candidates, auto_candidates, backed_off, eligible, invite_token, recent_refusal,
    AutoInvite, Ineligible, Notice, Refusal, Stamp,
};
use crate::domain::model::{AccountChange, AccountRecord, ChangeKind, LinkState, PendingAlert};
use crate::error::Error;
use crate::ports::{AccountTable, AlertOutbox, Invitations, Queries, Store};

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
    Sent {
        invitation_id: String,
    },
    WouldSend,
    Refused {
        reason: String,
        advice: String,
    },
    /// Our invitation to the account is still PENDING: the goal already holds, nothing sent.
    AlreadyInvited(PendingInvitation),
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
        run_id: format!("invite-{}", crate::clock::run_id()),
        now: crate::clock::now().trunc_subsecs(3),
    };
    let records = store.load().await?.records;
    let outbox = Outbox::read(store, None).await?;
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
            let already = match (&why, record) {
                (Ineligible::AlreadyPending, Some(r)) => {
                    pending_invitation(r, &store.history(id).await?)
                }
                _ => None,
            };
            let outcome = match already {
                Some(invitation) => InviteOutcome::AlreadyInvited(invitation),
                None => InviteOutcome::NotEligible(why),
            };
            out.push((id.clone(), outcome));
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
                let change = invite::invited(record, &sent, &stamp);
                outbox.commit(store, record, change, None, &stamp).await?;
                InviteOutcome::Sent {
                    invitation_id: sent.invitation_id,
                }
            }
            Err(refusal) => {
                let change = invite::invite_failed(record, &refusal, &stamp);
                outbox
                    .commit(store, record, change, Some(&refusal), &stamp)
                    .await?;
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

/// What a run tells auto-link: which run, which accounts it discovered (empty for a first
/// run's baseline) and each account's route for the refusal alerts it queues.
#[derive(Debug, Clone, Copy)]
pub struct RunFacts<'a> {
    pub run_id: &'a str,
    pub organization_id: &'a str,
    pub discovered: &'a BTreeSet<String>,
    pub routes: &'a BTreeMap<String, String>,
}

/// Auto-invite, then auto-accept, after a run stored its changes and before it publishes.
pub async fn after_run<S, I>(
    config: &Config,
    store: &S,
    invitations: &I,
    run: RunFacts<'_>,
) -> AutoLinkReport
where
    S: Store + Queries,
    I: Invitations,
{
    let mut report = AutoLinkReport::default();
    let stamp = Stamp {
        run_id: run.run_id.to_string(),
        now: crate::clock::now().trunc_subsecs(3),
    };
    let outbox = match Outbox::read(store, Some(run.routes)).await {
        Ok(o) => o,
        Err(e) => {
            warn!(error = %e.one_line(), "auto-link skipped: the outbox could not be read; the next run continues");
            return report;
        }
    };
    let steps = Steps {
        config,
        store,
        invitations,
        stamp: &stamp,
        outbox: &outbox,
    };
    if config.invite.auto != AutoInvite::Off {
        if let Err(e) = steps.auto_invite(run, &mut report).await {
            warn!(error = %e.one_line(), "auto-invite stopped; the next run continues");
        }
    }
    if config.invite.accepts() {
        if let Err(e) = steps.auto_accept(&mut report).await {
            warn!(error = %e.one_line(), "auto-accept stopped; the next run continues");
        }
    }
    info!(
        run_id = run.run_id,
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

/// The alerts waiting in the outbox, by account, and whether outcomes may queue their own.
struct Outbox<'a> {
    queued: BTreeMap<String, PendingAlert>,
    /// `Some` for a run (refusal alerts on, with each account's route); `None` for
    /// `apnwatch invite`.
    routes: Option<&'a BTreeMap<String, String>>,
}

impl<'a> Outbox<'a> {
    async fn read<S: AlertOutbox>(
        store: &S,
        routes: Option<&'a BTreeMap<String, String>>,
    ) -> Result<Self, Error> {
        let mut queued = BTreeMap::new();
        // Oldest first, so an account's newest queued alert is the one kept (and rewritten).
        let mut pending = store.pending_alerts().await?;
        pending.sort_by_key(|a| a.created_at);
        for alert in pending {
            queued.insert(alert.subject.account_id.clone(), alert);
        }
        Ok(Self { queued, routes })
    }

    /// Writes one outcome with what the outbox should say about it ([`invite::tell`]). A
    /// conflict (a run changed the account meanwhile) loses only the event and the alert
    /// rewrite: the invitation itself is in Partner Central and the next run reads it.
    async fn commit<S: AccountTable>(
        &self,
        store: &S,
        prev: &AccountRecord,
        change: AccountChange,
        refusal: Option<&Refusal>,
        stamp: &Stamp,
    ) -> Result<(), Error> {
        let id = prev.account.id.clone();
        let notice = |queued| Notice {
            queued,
            alert_refusal: self.routes.is_some() && refusal.is_some_and(|r| !r.stops_batch()),
            route: self.routes.and_then(|r| r.get(&id).cloned()),
        };
        let queued = self.queued.get(&id);
        let told = invite::tell(change.clone(), prev, notice(queued), stamp);
        let mut outcome = store.commit(std::slice::from_ref(&told)).await?;
        if !outcome.conflicts.is_empty() && queued.is_some() {
            // Another run may have published the queued alert since we read the outbox: its
            // text went out as it was, so record the outcome as if nothing were queued.
            let told = invite::tell(change, prev, notice(None), stamp);
            outcome = store.commit(std::slice::from_ref(&told)).await?;
        }
        if !outcome.conflicts.is_empty() {
            warn!(account_id = %id, "the account changed meanwhile; its invite event was not recorded");
        }
        Ok(())
    }
}

/// What auto-invite and auto-accept share within one run.
struct Steps<'a, S, I> {
    config: &'a Config,
    store: &'a S,
    invitations: &'a I,
    stamp: &'a Stamp,
    outbox: &'a Outbox<'a>,
}

impl<S: Store + Queries, I: Invitations> Steps<'_, S, I> {
    async fn auto_invite(
        &self,
        run: RunFacts<'_>,
        report: &mut AutoLinkReport,
    ) -> Result<(), Error> {
        let (config, stamp) = (self.config, self.stamp);
        let (pool, consistent) = self.invite_pool(run).await?;
        let org = format!("organization {}", run.organization_id);
        let message = invite::message_for(&config.invite, &org);
        let mut sent = 0;
        for listed in auto_candidates(config.invite.auto, &pool, run.discovered) {
            // The cap counts attempts: a first run on a big org never burns the daily quota.
            if sent >= config.invite.max_per_run {
                break;
            }
            let record = if consistent {
                listed.clone()
            } else {
                let still = |r: &AccountRecord| eligible(&r.account.id, Some(r)).is_ok();
                match self.current(&listed.account.id, still).await? {
                    Some(r) => r,
                    None => continue,
                }
            };
            if !self.due(&record, Step::Invite, report).await? {
                continue;
            }
            let id = &record.account.id;
            sent += 1;
            report.calls += 1;
            let outcome = self
                .invitations
                .invite(id, &invite_token(id, stamp.now), &message)
                .await
                .map(|s| invite::invited(&record, &s, stamp));
            if self.settle(&record, outcome, Step::Invite, report).await? {
                break;
            }
        }
        Ok(())
    }

    /// The accounts auto-invite chooses from, without reading the whole accounts partition
    /// again (the run just did): for `unlinked`, the UNLINKED ones from the link-state index
    /// (eventually consistent, so each one is read again before it is invited); for `new`,
    /// the accounts this run discovered, each read consistently. `true`: the pool is
    /// consistent already.
    async fn invite_pool(
        &self,
        run: RunFacts<'_>,
    ) -> Result<(BTreeMap<String, AccountRecord>, bool), Error> {
        Ok(match self.config.invite.auto {
            AutoInvite::Unlinked => (
                by_id(self.store.accounts(Some(LinkState::Unlinked)).await?),
                false,
            ),
            AutoInvite::New => (self.read_each(run.discovered.iter()).await?, true),
            AutoInvite::Off => (BTreeMap::new(), true),
        })
    }

    async fn auto_accept(&self, report: &mut AutoLinkReport) -> Result<(), Error> {
        let config = self.config;
        // PENDING accounts from the index, plus the ones auto-invite just made PENDING, which
        // the eventually consistent index may not list yet; each is read again below.
        let pending = by_id(self.store.accounts(Some(LinkState::Pending)).await?);
        let mut ids: BTreeSet<&String> = accept_candidates(&pending)
            .into_iter()
            .map(|r| &r.account.id)
            .collect();
        ids.extend(report.invited.iter());
        let ids: Vec<String> = ids.into_iter().cloned().collect();
        let mut tried = 0;
        for id in &ids {
            if tried >= config.invite.max_per_run {
                break;
            }
            let Some(record) = self.current(id, invite::may_accept).await? else {
                continue;
            };
            if !self.due(&record, Step::Accept, report).await? {
                continue;
            }
            tried += 1;
            // ListConnectionInvitations (one page usually) and AcceptConnectionInvitation.
            report.calls += 2;
            let outcome = self
                .invitations
                .accept(id)
                .await
                .map(|a| invite::accepted(&record, &a, self.stamp));
            if self.settle(&record, outcome, Step::Accept, report).await? {
                break;
            }
        }
        Ok(())
    }

    /// The accounts `ids`, each read consistently (absent ones left out).
    async fn read_each<'i>(
        &self,
        ids: impl Iterator<Item = &'i String>,
    ) -> Result<BTreeMap<String, AccountRecord>, Error> {
        let mut out = BTreeMap::new();
        for id in ids {
            if let Some(r) = self.store.account(id).await? {
                out.insert(id.clone(), r);
            }
        }
        Ok(out)
    }

    /// Account `id` as the table holds it now, if it still qualifies: an outcome is decided
    /// and written against a consistent read (its revision is the write's condition), never
    /// against a possibly stale index entry.
    async fn current(
        &self,
        id: &str,
        qualifies: impl Fn(&AccountRecord) -> bool,
    ) -> Result<Option<AccountRecord>, Error> {
        Ok(self.store.account(id).await?.filter(|r| qualifies(r)))
    }

    /// Whether `record` may be tried for `step` now: not refused for it within the last 24 h
    /// (counted as backed off otherwise).
    async fn due(
        &self,
        record: &AccountRecord,
        step: Step,
        report: &mut AutoLinkReport,
    ) -> Result<bool, Error> {
        let kind = match step {
            Step::Invite => ChangeKind::InviteFailed,
            Step::Accept => ChangeKind::AcceptFailed,
        };
        let now = self.stamp.now;
        // The record's own refusal decides most backed-off accounts; the history is read only
        // when it cannot.
        let refused = recent_refusal(record, kind, now).is_some() || {
            let history = self.store.history(&record.account.id).await?;
            backed_off(&history, kind, now).is_some()
        };
        if refused {
            report.backed_off += 1;
        }
        Ok(!refused)
    }

    /// Records one outcome (the change a success makes, or the refusal) and counts it;
    /// `true` when the refusal stops this run's batch (the daily quota, throttling).
    async fn settle(
        &self,
        record: &AccountRecord,
        outcome: Result<AccountChange, Refusal>,
        step: Step,
        report: &mut AutoLinkReport,
    ) -> Result<bool, Error> {
        let id = record.account.id.clone();
        let (change, refusal) = match outcome {
            Ok(change) => (change, None),
            Err(refusal) => {
                warn!(account_id = %id, step = ?step, reason = %refusal.label(), message = %refusal.message, "Partner Central refused");
                let change = match step {
                    Step::Invite => invite::invite_failed(record, &refusal, self.stamp),
                    Step::Accept => invite::accept_failed(record, &refusal, self.stamp),
                };
                (change, Some(refusal))
            }
        };
        self.outbox
            .commit(self.store, record, change, refusal.as_ref(), self.stamp)
            .await?;
        let stops = refusal.as_ref().is_some_and(Refusal::stops_batch);
        match (step, refusal) {
            (Step::Invite, None) => report.invited.push(id),
            (Step::Accept, None) => report.accepted.push(id),
            (Step::Invite, Some(r)) => report.invite_failed.push((id, r.label())),
            (Step::Accept, Some(r)) => report.accept_failed.push((id, r.label())),
        }
        Ok(stops)
    }
}

fn by_id(records: Vec<AccountRecord>) -> BTreeMap<String, AccountRecord> {
    records
        .into_iter()
        .map(|r| (r.account.id.clone(), r))
        .collect()
}

/// Which half of the loop an outcome belongs to.
#[derive(Debug, Clone, Copy)]
enum Step {
    Invite,
    Accept,
}

#[cfg(test)]
#[path = "autolink_tests.rs"]
mod tests;
