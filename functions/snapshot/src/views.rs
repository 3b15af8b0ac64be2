//! What users read: the stable JSON shapes of `apnwatch --json` and the Lambda result, and
//! the same data as terminal tables. Field names here are a public contract (documented in
//! the README): add fields, never rename them.

pub mod doctor;
pub mod report;

#[cfg(feature = "cli")]
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use serde::Serialize;

use crate::domain::model::{AccountRecord, ChangeEvent, PendingAlert, RunSummary};
use crate::domain::timestamp::format_secs;
use crate::run::RunReport;

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
    /// The last invite or accept refusal while the account keeps its link state:
    /// `INVITE_FAILED` or `ACCEPT_FAILED`, and the other `refusal_*` fields (flat, so that
    /// `--csv` has one column each).
    pub refusal_kind: Option<String>,
    pub refusal_at: Option<String>,
    pub refusal_reason: Option<String>,
    pub refusal_message: Option<String>,
    pub refusal_what_to_do: Option<String>,
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
            first_seen: format_secs(&r.first_seen),
            last_changed: format_secs(&r.last_changed),
            removed: r.removed,
            is_management: a.is_management,
            joined_method: a.joined_method.clone(),
            joined_at: a.joined_at.as_ref().map(format_secs),
            refusal_kind: r.refusal.as_ref().map(|x| x.kind.to_string()),
            refusal_at: r.refusal.as_ref().map(|x| format_secs(&x.at)),
            refusal_reason: r.refusal.as_ref().map(|x| x.reason.clone()),
            refusal_message: r.refusal.as_ref().map(|x| x.message.clone()),
            refusal_what_to_do: r.refusal.as_ref().map(|x| x.what_to_do.clone()),
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
            at: format_secs(&e.at),
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
            started_at: format_secs(&s.started_at),
            finished_at: format_secs(&s.finished_at),
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
            account_id: a.subject.account_id.clone(),
            name: a.subject.name.clone(),
            ou_path: a.subject.ou_path.clone(),
            link_state: a.subject.link_state.to_string(),
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
    /// Events and alerted accounts left out of the lists above (see [`SnapshotView::capped`]).
    pub events_omitted: usize,
    pub alerted_omitted: usize,
}

impl SnapshotView {
    /// At most `max` events and alerted accounts: a Lambda result is capped at 6 MB, which a
    /// first run of ~20,000 accounts would pass, failing an invoke whose work all succeeded.
    /// The table and the alert hold the full lists.
    pub fn capped(r: &RunReport, max: usize) -> Self {
        let mut v = Self::from(r);
        v.events_omitted = v.events.len().saturating_sub(max);
        v.alerted_omitted = v.alerted.len().saturating_sub(max);
        v.events.truncate(max);
        v.alerted.truncate(max);
        v
    }
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
            events_omitted: 0,
            alerted_omitted: 0,
        }
    }
}

#[cfg(feature = "cli")]
fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY).set_header(header.to_vec());
    t
}

#[cfg(feature = "cli")]
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
        let link = match &v.refusal_kind {
            Some(kind) => format!("{} ({kind})", v.link_state),
            None => v.link_state,
        };
        t.add_row(vec![
            v.account_id,
            v.name,
            v.ou_path,
            state,
            link,
            v.link_source,
            v.first_seen,
        ]);
    }
    format!("{t}\n{} account(s)", records.len())
}

#[cfg(feature = "cli")]
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

#[cfg(feature = "cli")]
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

#[cfg(feature = "cli")]
/// One line of auto-link counts after the run line, then who was invited or accepted.
fn auto_link_text(a: &crate::run::autolink::AutoLinkReport) -> String {
    let pairs = |v: &[(String, String)]| {
        v.iter()
            .map(|(id, why)| format!("{id} ({why})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = format!(
        "auto-link: {} invited, {} invite(s) refused, {} accepted, {} accept(s) failed, {} backed off, {} Partner Central call(s)\n",
        a.invited.len(),
        a.invite_failed.len(),
        a.accepted.len(),
        a.accept_failed.len(),
        a.backed_off,
        a.calls
    );
    for (label, ids) in [
        ("invited", a.invited.join(", ")),
        ("accepted", a.accepted.join(", ")),
    ] {
        if !ids.is_empty() {
            out.push_str(&format!("  {label}: {ids}\n"));
        }
    }
    for (label, v) in [
        ("invite refused", &a.invite_failed),
        ("accept failed", &a.accept_failed),
    ] {
        if !v.is_empty() {
            out.push_str(&format!("  {label}: {}\n", pairs(v)));
        }
    }
    out
}

#[cfg(feature = "cli")]
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
    if let Some(a) = &r.auto_link {
        out.push_str(&auto_link_text(a));
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::ChangeKind;

    /// A capped view keeps the counts whole and says how many list entries it left out.
    #[test]
    fn capped_view_counts_what_it_leaves_out() {
        let event = |i: u32| ChangeEvent {
            account_id: format!("{i:012}"),
            at: "2026-11-27T12:00:00Z".parse().unwrap(),
            run_id: "r".into(),
            seq: 0,
            kind: ChangeKind::Discovered,
            before: None,
            after: Some("UNLINKED".into()),
            detail: String::new(),
        };
        let mut report = RunReport {
            events: (0..250).map(event).collect(),
            account_writes: 250,
            ..RunReport::sample("r")
        };
        report.summary.accounts = 250;
        report.summary.changes = 250;
        let v = SnapshotView::capped(&report, 100);
        assert_eq!(
            (v.events.len(), v.events_omitted, v.run.changes),
            (100, 150, 250)
        );
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(
            json["accounts"], 250,
            "run counts are flattened into the top level"
        );
        assert_eq!(SnapshotView::from(&report).events_omitted, 0);
    }
}
