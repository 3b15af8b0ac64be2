//! The oracle: the promises the README makes, checked after every step and after the final
//! clean runs.
//! 1. every link-state change of an ACTIVE, non-exempt account is alerted exactly once with
//!    the right reason (a second publication is tolerated only for an alert SNS accepted and
//!    the outbox never dropped: the crash window, counted);
//! 2. nothing is lost: at the end the outbox is empty and every queued alert was published;
//! 3. the table equals the model computed from the final organization and Partner Central;
//! 4. each account's history is the sequence of its changes, no gap, no duplicate;
//! 5. no REMOVED for an account still in the organization; no alert but RESOLVED for an
//!    exempt or closed account; reminders never closer than `APNWATCH_REMIND_AFTER`.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::model::{AlertReason, ChangeKind, LinkState, PendingAlert};
use crate::fakes::FakeTable;
use crate::sim::faults::Record;
use crate::sim::world::{Settings, Truth, World};

#[derive(Default)]
pub struct Oracle {
    /// The truth at each step, by account.
    truths: Vec<BTreeMap<String, Truth>>,
    /// The step each run ran in.
    run_step: BTreeMap<String, usize>,
    events_seen: usize,
    pub violations: Vec<String>,
}

impl Oracle {
    /// Call before the step's runs: the truth they see.
    pub fn begin_step(&mut self, world: &World) {
        self.truths.push(world.truths());
    }

    fn fail(&mut self, v: String) {
        if !self.violations.contains(&v) {
            self.violations.push(v);
        }
    }

    /// The checks that hold after every step.
    pub fn after_step(&mut self, table: &FakeTable, record: &mut Record, settings: &Settings) {
        let step = self.truths.len() - 1;
        for e in &table.history[self.events_seen..] {
            self.run_step.entry(e.run_id.clone()).or_insert(step);
        }
        for a in record.queued.values() {
            self.run_step.entry(a.run_id.clone()).or_insert(step);
        }
        let new: Vec<_> = table.history[self.events_seen..].to_vec();
        self.events_seen = table.history.len();
        for e in new.iter().filter(|e| e.kind == ChangeKind::Removed) {
            if self.truths[step].contains_key(&e.account_id) {
                self.fail(format!(
                    "5: REMOVED recorded for {} by run {} while it is in the organization",
                    e.account_id, e.run_id
                ));
            }
        }
        for v in std::mem::take(&mut record.violations) {
            self.fail(format!("1: {v}"));
        }
        let found = [
            self.history_chains(table),
            self.published_alerts(record),
            self.reminders(record, settings),
        ];
        for v in found.concat() {
            self.fail(v);
        }
    }

    /// 4: per account, link-state events chain (each starts where the last ended, none
    /// repeats its state), no run records one kind twice, and the chain ends where the
    /// table's record is.
    fn history_chains(&self, table: &FakeTable) -> Vec<String> {
        #[derive(PartialEq)]
        enum Chain {
            None,
            Present(String),
            Removed,
        }
        let mut chains: BTreeMap<&str, Chain> = BTreeMap::new();
        let mut kinds: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
        let mut bad = Vec::new();
        for e in &table.history {
            let id = e.account_id.as_str();
            if !kinds.insert((id, e.run_id.as_str(), e.kind.as_str())) {
                bad.push(format!(
                    "4: {id}: run {} recorded {} twice",
                    e.run_id, e.kind
                ));
            }
            let chain = chains.entry(id).or_insert(Chain::None);
            let before = e.before.clone().unwrap_or_default();
            let after = e.after.clone().unwrap_or_default();
            let ok = match (e.kind, &*chain) {
                (ChangeKind::Discovered, Chain::None) => e.before.is_none(),
                (ChangeKind::Discovered, Chain::Removed) => before == "REMOVED",
                (ChangeKind::Discovered, Chain::Present(_)) => false,
                (
                    ChangeKind::Linked
                    | ChangeKind::Pending
                    | ChangeKind::Unlinked
                    | ChangeKind::Exempted
                    | ChangeKind::Invited,
                    Chain::Present(now),
                ) => *now == before && before != after,
                (ChangeKind::Removed, Chain::Present(_)) => true,
                (_, Chain::Present(_)) => true,
                _ => false,
            };
            if !ok {
                bad.push(format!(
                    "4: {id}: {} ({before} -> {after}) by run {} does not follow its history",
                    e.kind, e.run_id
                ));
            }
            *chain = match e.kind {
                ChangeKind::Discovered
                | ChangeKind::Linked
                | ChangeKind::Pending
                | ChangeKind::Unlinked
                | ChangeKind::Exempted
                | ChangeKind::Invited => Chain::Present(after),
                ChangeKind::Removed => Chain::Removed,
                _ => std::mem::replace(chain, Chain::None),
            };
        }
        for (id, r) in &table.accounts {
            let ends = match chains.get(id.as_str()) {
                Some(Chain::Present(s)) => !r.removed && r.link.state.as_str() == s,
                Some(Chain::Removed) => r.removed,
                _ => false,
            };
            if !ends {
                bad.push(format!(
                    "4: {id}: the history does not end in the stored state {} (removed: {})",
                    r.link.state, r.removed
                ));
            }
        }
        bad
    }

    /// 5: an alert about an account that was exempt, closed or gone when its run looked is
    /// only ever a RESOLVED notice; nothing is published that was never queued.
    fn published_alerts(&self, record: &Record) -> Vec<String> {
        let mut bad = Vec::new();
        for id in record.published.keys() {
            let Some(a) = record.queued.get(id) else {
                bad.push(format!("2: alert {id} published but never queued"));
                continue;
            };
            if a.reason == AlertReason::Resolved {
                continue;
            }
            let Some(step) = self.run_step.get(&a.run_id) else {
                continue;
            };
            let fine = self.truths[*step]
                .get(&a.subject.account_id)
                .is_some_and(|t| t.earns_credit && !t.exempt);
            if !fine {
                bad.push(format!(
                    "5: {} alert {id} about an account exempt, closed or gone",
                    a.reason.as_str()
                ));
            }
        }
        bad
    }

    /// 5: reminders never closer to the account's previous alert than `APNWATCH_REMIND_AFTER`.
    fn reminders(&self, record: &Record, settings: &Settings) -> Vec<String> {
        let mut by_account: BTreeMap<&str, Vec<&PendingAlert>> = BTreeMap::new();
        for a in record.queued.values().filter(|a| {
            matches!(
                a.subject.link_state,
                LinkState::Unlinked | LinkState::Pending
            ) && !matches!(
                a.reason,
                AlertReason::Resolved | AlertReason::InviteFailed | AlertReason::AcceptFailed
            )
        }) {
            by_account.entry(&a.subject.account_id).or_default().push(a);
        }
        let mut bad = Vec::new();
        for (id, mut alerts) in by_account {
            alerts.sort_by_key(|a| (a.created_at, a.id.clone()));
            for pair in alerts.windows(2) {
                let (prev, a) = (pair[0], pair[1]);
                if a.reason != AlertReason::Reminder {
                    continue;
                }
                let too_soon = match settings.remind_after {
                    None => true,
                    Some(after) => a.created_at - prev.created_at < after,
                };
                if too_soon {
                    bad.push(format!(
                        "5: {id}: reminder {} at {} only {} s after alert {}",
                        a.id,
                        a.created_at,
                        (a.created_at - prev.created_at).num_seconds(),
                        prev.id
                    ));
                }
            }
        }
        bad
    }

    /// After the final clean runs: 1, 2 and 3.
    pub fn at_end(&mut self, world: &World, table: &FakeTable, record: &Record) {
        let mut bad = Vec::new();
        if !table.outbox.is_empty() {
            bad.push(format!(
                "2: {} alert(s) still queued after the final clean run: {:?}",
                table.outbox.len(),
                table.outbox.keys().collect::<Vec<_>>()
            ));
        }
        for id in record.queued.keys() {
            if !record.published.contains_key(id) {
                bad.push(format!("2: alert {id} was queued and never published"));
            }
        }
        // 3: the table is the model.
        for a in &world.tree.accounts {
            match table.accounts.get(&a.id) {
                None => bad.push(format!(
                    "3: {} is in the organization, not in the table",
                    a.id
                )),
                Some(r) => {
                    let want = world.expected_link(a);
                    if r.removed
                        || r.link.state != want
                        || r.account.name != a.name
                        || r.account.ou_path != a.ou_path
                        || r.account.parent_id != a.parent_id
                        || r.account.state != a.state
                    {
                        bad.push(format!(
                            "3: {}: table says {} {} {:?} (removed: {}), the model {} {} {:?}",
                            a.id,
                            r.link.state,
                            r.account.state,
                            r.account.ou_path,
                            r.removed,
                            want,
                            a.state,
                            a.ou_path
                        ));
                    }
                }
            }
        }
        for (id, r) in &table.accounts {
            if !r.removed && !world.tree.accounts.iter().any(|a| &a.id == id) {
                bad.push(format!(
                    "3: {id} left the organization, the table has it present"
                ));
            }
        }
        // 1: each change alerted once with the right reason, and each alert is a change.
        for e in &table.history {
            let Some(step) = self.run_step.get(&e.run_id) else {
                continue;
            };
            let alertable = self.truths[*step]
                .get(&e.account_id)
                .is_some_and(|t| t.earns_credit && !t.exempt);
            let after = e.after.as_deref().unwrap_or_default();
            let want: &[AlertReason] = match e.kind {
                ChangeKind::Discovered if after == "UNLINKED" || after == "PENDING" => {
                    &[AlertReason::Baseline, AlertReason::NewAccount]
                }
                ChangeKind::Unlinked if e.before.as_deref() == Some("PENDING") => {
                    &[AlertReason::InvitationLapsed]
                }
                ChangeKind::Unlinked => &[AlertReason::LinkLost],
                ChangeKind::Pending => &[AlertReason::LinkPending],
                _ => &[],
            };
            if !alertable || want.is_empty() {
                continue;
            }
            let id = format!("{}#{}", e.run_id, e.account_id);
            match (record.queued.get(&id), record.published.get(&id)) {
                (Some(a), Some(_)) if want.contains(&a.reason) => {}
                (Some(a), Some(_)) => bad.push(format!(
                    "1: {} {} by run {} alerted as {}, expected {:?}",
                    e.account_id,
                    e.kind,
                    e.run_id,
                    a.reason.as_str(),
                    want
                )),
                _ => bad.push(format!(
                    "1: {} {} by run {} was never alerted",
                    e.account_id, e.kind, e.run_id
                )),
            }
        }
        for (id, a) in &record.queued {
            let kinds: &[ChangeKind] = match a.reason {
                AlertReason::Baseline | AlertReason::NewAccount => &[ChangeKind::Discovered],
                AlertReason::LinkLost | AlertReason::InvitationLapsed => &[ChangeKind::Unlinked],
                AlertReason::LinkPending => &[ChangeKind::Pending],
                AlertReason::InviteFailed => &[ChangeKind::InviteFailed],
                AlertReason::AcceptFailed => &[ChangeKind::AcceptFailed],
                AlertReason::Reminder | AlertReason::Resolved => continue,
            };
            let found = table.history.iter().any(|e| {
                e.run_id == a.run_id
                    && e.account_id == a.subject.account_id
                    && kinds.contains(&e.kind)
            });
            if !found {
                bad.push(format!(
                    "1: alert {id} ({}) has no matching change in the history",
                    a.reason.as_str()
                ));
            }
        }
        for v in bad {
            self.fail(v);
        }
    }
}
