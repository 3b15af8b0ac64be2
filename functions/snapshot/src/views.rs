//! What users read: the stable JSON shapes of `apnwatch --json` and the Lambda result, and
//! the same data as terminal tables. Field names here are a public contract (documented in
//! the README): add fields, never rename them.

use chrono::{DateTime, SecondsFormat, Utc};
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use serde::Serialize;

use crate::model::{AccountRecord, ChangeEvent, PendingAlert, RunSummary};
use crate::run::RunReport;

fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Debug, Serialize)]
pub struct AccountView {
    pub account_id: String,
    pub name: String,
    pub email: String,
    pub state: String,
    pub ou_path: String,
    pub link_state: String,
    pub link_source: String,
    pub link_detail: String,
    pub first_seen: String,
    pub last_changed: String,
    pub removed: bool,
    pub is_management: bool,
    pub joined_method: Option<String>,
    pub joined_at: Option<String>,
}

impl From<&AccountRecord> for AccountView {
    fn from(r: &AccountRecord) -> Self {
        let a = &r.account;
        Self {
            account_id: a.id.clone(),
            name: a.name.clone(),
            email: a.email.clone(),
            state: a.state.to_string(),
            ou_path: a.ou_path.clone(),
            link_state: r.link.state.to_string(),
            link_source: r.link.source.to_string(),
            link_detail: r.link.detail.clone(),
            first_seen: ts(&r.first_seen),
            last_changed: ts(&r.last_changed),
            removed: r.removed,
            is_management: a.is_management,
            joined_method: a.joined_method.clone(),
            joined_at: a.joined_at.as_ref().map(ts),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct EventView {
    pub account_id: String,
    pub at: String,
    pub kind: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub detail: String,
    pub run_id: String,
}

impl From<&ChangeEvent> for EventView {
    fn from(e: &ChangeEvent) -> Self {
        Self {
            account_id: e.account_id.clone(),
            at: ts(&e.at),
            kind: e.kind.to_string(),
            before: e.before.clone(),
            after: e.after.clone(),
            detail: e.detail.clone(),
            run_id: e.run_id.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct RunView {
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub accounts: usize,
    pub linked: usize,
    pub pending: usize,
    pub unlinked: usize,
    pub exempt: usize,
    pub changes: usize,
    pub alerts: usize,
    pub messages: usize,
}

impl From<&RunSummary> for RunView {
    fn from(s: &RunSummary) -> Self {
        Self {
            run_id: s.run_id.clone(),
            started_at: ts(&s.started_at),
            finished_at: ts(&s.finished_at),
            accounts: s.accounts,
            linked: s.linked,
            pending: s.pending,
            unlinked: s.unlinked,
            exempt: s.exempt,
            changes: s.changes,
            alerts: s.alerts,
            messages: s.messages,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AlertView {
    pub account_id: String,
    pub name: String,
    pub ou_path: String,
    pub link_state: String,
    pub reason: String,
}

impl From<&PendingAlert> for AlertView {
    fn from(a: &PendingAlert) -> Self {
        Self {
            account_id: a.account_id.clone(),
            name: a.name.clone(),
            ou_path: a.ou_path.clone(),
            link_state: a.link_state.to_string(),
            reason: a.reason.as_str().to_string(),
        }
    }
}

/// `apnwatch snapshot --json` and the Lambda's result: the run's counts (as in `runs`) plus
/// what it did.
#[derive(Debug, Serialize)]
pub struct SnapshotView {
    #[serde(flatten)]
    pub run: RunView,
    pub organization_id: String,
    pub dry_run: bool,
    pub account_writes: usize,
    pub organizations_calls: u64,
    pub events: Vec<EventView>,
    pub alerted: Vec<AlertView>,
}

impl From<&RunReport> for SnapshotView {
    fn from(r: &RunReport) -> Self {
        Self {
            run: RunView::from(&r.summary),
            organization_id: r.organization_id.clone(),
            dry_run: r.summary.dry_run,
            account_writes: r.account_writes,
            organizations_calls: r.organizations_calls,
            events: r.events.iter().map(EventView::from).collect(),
            alerted: r.alerts.iter().map(AlertView::from).collect(),
        }
    }
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY).set_header(header.to_vec());
    t
}

pub fn accounts_table(records: &[AccountRecord]) -> String {
    let mut t = table(&[
        "ACCOUNT",
        "NAME",
        "OU PATH",
        "STATE",
        "LINK",
        "SOURCE",
        "FIRST SEEN",
    ]);
    for r in records {
        let v = AccountView::from(r);
        let state = if v.removed {
            format!("{} (removed)", v.state)
        } else {
            v.state
        };
        t.add_row(vec![
            v.account_id,
            v.name,
            v.ou_path,
            state,
            v.link_state,
            v.link_source,
            v.first_seen,
        ]);
    }
    format!("{t}\n{} account(s)", records.len())
}

pub fn history_table(events: &[ChangeEvent]) -> String {
    let mut t = table(&["AT", "KIND", "BEFORE", "AFTER", "DETAIL"]);
    for e in events.iter().map(EventView::from) {
        t.add_row(vec![
            e.at,
            e.kind,
            e.before.unwrap_or_default(),
            e.after.unwrap_or_default(),
            e.detail,
        ]);
    }
    t.to_string()
}

pub fn runs_table(runs: &[RunSummary]) -> String {
    let mut t = table(&[
        "STARTED", "RUN", "ACCOUNTS", "LINKED", "PENDING", "UNLINKED", "EXEMPT", "CHANGES",
        "ALERTS",
    ]);
    for r in runs.iter().map(RunView::from) {
        t.add_row(vec![
            r.started_at,
            r.run_id,
            r.accounts.to_string(),
            r.linked.to_string(),
            r.pending.to_string(),
            r.unlinked.to_string(),
            r.exempt.to_string(),
            r.changes.to_string(),
            r.alerts.to_string(),
        ]);
    }
    t.to_string()
}

pub fn snapshot_text(r: &RunReport) -> String {
    let v = SnapshotView::from(r);
    let mut out = format!(
        "{}run {} of {}: {} accounts ({} linked, {} pending, {} unlinked, {} exempt), {} change(s), {} account write(s), {} alert(s) in {} message(s), {} Organizations call(s)\n",
        if v.dry_run { "DRY " } else { "" },
        v.run.run_id,
        v.organization_id,
        v.run.accounts,
        v.run.linked,
        v.run.pending,
        v.run.unlinked,
        v.run.exempt,
        v.run.changes,
        v.account_writes,
        v.run.alerts,
        v.run.messages,
        v.organizations_calls
    );
    if !r.events.is_empty() {
        let mut t = table(&["ACCOUNT", "KIND", "BEFORE", "AFTER", "DETAIL"]);
        for e in &v.events {
            t.add_row(vec![
                e.account_id.clone(),
                e.kind.clone(),
                e.before.clone().unwrap_or_default(),
                e.after.clone().unwrap_or_default(),
                e.detail.clone(),
            ]);
        }
        out.push_str(&format!(
            "{}\n{t}\n",
            if v.dry_run {
                "Would record:"
            } else {
                "Recorded:"
            }
        ));
    }
    if !v.alerted.is_empty() {
        let mut t = table(&["ACCOUNT", "NAME", "OU PATH", "LINK", "WHY"]);
        for a in &v.alerted {
            t.add_row(vec![
                a.account_id.clone(),
                a.name.clone(),
                a.ou_path.clone(),
                a.link_state.clone(),
                a.reason.clone(),
            ]);
        }
        out.push_str(&format!(
            "{}\n{t}\n",
            if v.dry_run {
                "Would alert:"
            } else {
                "Alerted:"
            }
        ));
    }
    out
}
