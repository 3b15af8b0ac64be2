//! The machine format (`sqs`, `lambda`, schema [`SCHEMA`]): a published JSON view of the alerts
//! with its own field names.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::wording::{open_refusal, what_to_do, why};
use super::{AlertContext, SCHEMA};
use crate::domain::model::{
    AccountState, AlertReason, ChangeKind, LinkSource, LinkState, PendingAlert,
};

/// One alert as the machine format (`sqs`, `lambda`, schema [`SCHEMA`]) publishes it: a
/// view with its own field names, so renaming a field of the domain [`PendingAlert`] cannot
/// change the published schema (the golden file `golden/alert-sqs.json` pins it).
#[derive(Serialize)]
struct MachineAlert<'a> {
    account_id: &'a str,
    name: &'a str,
    email: &'a str,
    ou_path: &'a str,
    state: &'a AccountState,
    link_state: LinkState,
    link_source: LinkSource,
    link_detail: &'a str,
    reason: AlertReason,
    why: String,
    what_to_do: String,
    id: &'a str,
    run_id: &'a str,
    created_at: DateTime<Utc>,
    state_since: Option<DateTime<Utc>>,
    first_seen: Option<DateTime<Utc>>,
    removed: bool,
    route: Option<&'a str>,
    /// Only when the account has an invite or accept refusal on record.
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<MachineRefusal<'a>>,
}

/// [`LinkRefusal`] as the machine format publishes it.
#[derive(Serialize)]
struct MachineRefusal<'a> {
    kind: ChangeKind,
    at: DateTime<Utc>,
    reason: &'a str,
    message: &'a str,
    what_to_do: &'a str,
}

impl<'a> MachineAlert<'a> {
    fn new(alert: &'a PendingAlert, tag_key: &str) -> Self {
        Self {
            account_id: &alert.subject.account_id,
            name: &alert.subject.name,
            email: &alert.subject.email,
            ou_path: &alert.subject.ou_path,
            state: &alert.subject.state,
            link_state: alert.subject.link_state,
            link_source: alert.subject.link_source,
            link_detail: &alert.subject.link_detail,
            reason: alert.reason,
            why: why(alert),
            what_to_do: what_to_do(alert, tag_key),
            id: &alert.id,
            run_id: &alert.run_id,
            created_at: alert.created_at,
            state_since: alert.subject.state_since,
            first_seen: alert.subject.first_seen,
            removed: alert.subject.removed,
            route: alert.route.as_deref(),
            refusal: open_refusal(alert).map(|r| MachineRefusal {
                kind: r.kind,
                at: r.at,
                reason: &r.reason,
                message: &r.message,
                what_to_do: &r.what_to_do,
            }),
        }
    }
}

pub(super) fn machine_alert(a: &PendingAlert, tag_key: &str) -> String {
    serde_json::to_string(&MachineAlert::new(a, tag_key)).expect("plain data serializes")
}

pub(super) fn machine_json(
    alerts: &[&PendingAlert],
    ctx: &AlertContext,
    part: usize,
    parts: usize,
) -> String {
    let list: Vec<MachineAlert> = alerts
        .iter()
        .map(|a| MachineAlert::new(a, &ctx.tag_key))
        .collect();
    json!({
        "schema": SCHEMA,
        "organization_id": ctx.organization_id,
        "run_id": ctx.run_id,
        "part": part,
        "parts": parts,
        "alerts": list,
    })
    .to_string()
}
