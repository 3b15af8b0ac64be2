//! Alert messages: what a run says about its pending alerts, in the formats each SNS
//! subscriber reads. Pure text building; `notify` only publishes what this module returns.
//!
//! One publish carries every format through SNS `MessageStructure=json`:
//! - `default` and `email`: plain text, one block per account with what to do;
//! - `https`: the Amazon Q Developer in chat applications custom notification (Slack);
//! - `sqs` and `lambda`: machine-readable JSON of the alerts.
//!
//! SNS caps a message at 256 KB for all keys together, message attributes included, so
//! alerts are split into parts that each stay under [`MAX_MESSAGE_BYTES`].
//!
//! With routing (`APNWATCH_ROUTE_BY`), each route's alerts are built into their own
//! messages; every message carries the SNS message attributes of `route`.
//!
//! This file builds and splits the messages; `wording` holds the words every format
//! shares, and `email`, `chat` and `machine` render one format each.

use serde_json::json;

mod chat;
mod email;
mod machine;
pub mod summary;
mod wording;

use chat::slack_notification;
use email::{email_block, email_text};
use machine::{machine_alert, machine_json};

pub use wording::{subject, what_to_do, why};

use crate::domain::model::{AlertReason, PendingAlert};
use crate::domain::route::{published_route, MessageAttributes};

/// SNS's limit is 262,144 bytes; the margin covers the subject and JSON escaping overhead.
pub const MAX_MESSAGE_BYTES: usize = 240 * 1024;
/// SNS rejects longer subjects.
pub const MAX_SUBJECT_CHARS: usize = 100;
/// Chat notifications are read on a phone: list this many accounts, then point to the rest.
pub(super) const SLACK_MAX_ACCOUNTS: usize = 15;
/// Amazon Q Developer truncates descriptions past this many characters.
pub(super) const SLACK_MAX_DESCRIPTION: usize = 3500;
/// Bound on everything but the per-account blocks: headers, the Slack notification (its
/// description is capped) and the JSON keys.
const BASE_BYTES: usize = 16 * 1024;
/// Identifies the machine-readable format for subscribers.
pub const SCHEMA: &str = "apn-link-watch/alert/v1";

/// Facts every message names.
#[derive(Debug, Clone)]
pub struct AlertContext {
    pub organization_id: String,
    pub run_id: String,
    pub tag_key: String,
    /// `APNWATCH_ROUTE_BY` is set: messages are split by route and name it.
    pub routing: bool,
}

/// One SNS publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertMessage {
    pub subject: String,
    /// The `MessageStructure=json` document.
    pub body: String,
    /// Outbox ids of the alerts in this message: deleted once SNS accepted it.
    pub alert_ids: Vec<String>,
    /// The SNS message attributes subscribers filter on.
    pub attributes: MessageAttributes,
}

impl AlertMessage {
    /// What SNS counts against its size limit: the document and every attribute part.
    pub fn size(&self) -> usize {
        self.body.len() + self.attributes.size()
    }
}

/// Builds the messages for `alerts`, one set per route, split so each fits SNS's limit.
/// Empty in, empty out: a run with nothing to say publishes nothing.
pub fn build_messages(alerts: &[PendingAlert], ctx: &AlertContext) -> Vec<AlertMessage> {
    messages(alerts, ctx).collect()
}

/// [`build_messages`] one message at a time: each is rendered when the caller asks for it, so
/// a publisher holds one message body (≤ 256 KB) instead of every body of a large baseline
/// (tens of MiB at 10,000 accounts). The split is decided first (rendering and dropping each
/// part to check its size), then each part is rendered again when its turn comes.
pub fn messages<'a>(
    alerts: &'a [PendingAlert],
    ctx: &'a AlertContext,
) -> impl Iterator<Item = AlertMessage> + 'a {
    let mut routes: std::collections::BTreeMap<String, Vec<&PendingAlert>> = Default::default();
    for alert in alerts {
        let route = published_route(ctx.routing, alert.route.as_deref());
        routes.entry(route).or_default().push(alert);
    }
    routes.into_iter().flat_map(move |(route, alerts)| {
        let parts = route_parts(alerts, ctx, &route);
        let total = parts.len();
        parts
            .into_iter()
            .enumerate()
            .map(move |(i, p)| render(&p, ctx, &route, i + 1, total))
    })
}

/// How the alerts of one route are split into messages.
fn route_parts<'a>(
    mut sorted: Vec<&'a PendingAlert>,
    ctx: &AlertContext,
    route: &str,
) -> Vec<Vec<&'a PendingAlert>> {
    sorted.sort_by(|a, b| {
        (reason_rank(a.reason), &a.subject.account_id)
            .cmp(&(reason_rank(b.reason), &b.subject.account_id))
    });

    // Greedy split on an estimate of each alert's share of the body (it appears in the text
    // twice and the JSON twice, escaped once more inside the outer document), so the split is
    // linear instead of re-rendering every growing part.
    let mut parts: Vec<Vec<&PendingAlert>> = Vec::new();
    let mut current: Vec<&PendingAlert> = Vec::new();
    let mut size = BASE_BYTES;
    for alert in sorted {
        let cost = (email_block(alert, &ctx.tag_key).len()
            + machine_alert(alert, &ctx.tag_key).len())
            * 2
            * 5
            / 4;
        if !current.is_empty() && size + cost > MAX_MESSAGE_BYTES {
            parts.push(std::mem::take(&mut current));
            size = BASE_BYTES;
        }
        current.push(alert);
        size += cost;
    }
    if !current.is_empty() {
        parts.push(current);
    }
    // The estimate is close, not a bound: halve the first part that still renders too large,
    // then check again from the start (the part count each message names has changed).
    'check: loop {
        let total = parts.len();
        for i in 0..total {
            let too_big = render(&parts[i], ctx, route, i + 1, total).size() > MAX_MESSAGE_BYTES;
            if too_big && parts[i].len() > 1 {
                let half = parts[i].len() / 2;
                let second = parts[i].split_off(half);
                parts.insert(i + 1, second);
                continue 'check;
            }
        }
        return parts;
    }
}

/// Worst news first; good news last.
fn reason_rank(r: AlertReason) -> u8 {
    match r {
        AlertReason::LinkLost => 0,
        AlertReason::InvitationLapsed => 1,
        AlertReason::InviteFailed => 2,
        AlertReason::AcceptFailed => 3,
        AlertReason::NewAccount => 4,
        AlertReason::LinkPending => 5,
        AlertReason::Baseline => 6,
        AlertReason::Reminder => 7,
        AlertReason::Resolved => 8,
    }
}

fn attributes(alerts: &[&PendingAlert], ctx: &AlertContext, route: &str) -> MessageAttributes {
    MessageAttributes {
        route: route.to_string(),
        reasons: alerts
            .iter()
            .map(|a| a.reason.as_str().to_string())
            .collect(),
        link_states: alerts
            .iter()
            .map(|a| a.subject.link_state.to_string())
            .collect(),
        organization_id: ctx.organization_id.clone(),
    }
}

pub(super) fn all_resolved(alerts: &[&PendingAlert]) -> bool {
    alerts.iter().all(|a| a.reason == AlertReason::Resolved)
}

fn render(
    alerts: &[&PendingAlert],
    ctx: &AlertContext,
    route: &str,
    part: usize,
    parts: usize,
) -> AlertMessage {
    let subject = subject(alerts, ctx, route, part, parts);
    let text = email_text(alerts, ctx, part, parts);
    let slack = slack_notification(alerts, ctx, &subject);
    let machine = machine_json(alerts, ctx, part, parts);
    let body = json!({
        "default": text,
        "email": text,
        "https": slack,
        "sqs": machine,
        "lambda": machine,
    })
    .to_string();
    AlertMessage {
        subject,
        body,
        alert_ids: alerts.iter().map(|a| a.id.clone()).collect(),
        attributes: attributes(alerts, ctx, route),
    }
}

#[cfg(test)]
mod tests;
