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

use serde::Serialize;
use serde_json::json;

use chrono::{DateTime, Utc};

use crate::domain::model::{
    AccountState, AlertReason, ChangeKind, LinkRefusal, LinkSource, LinkState, PendingAlert,
};
use crate::domain::remind::age;
use crate::domain::route::{published_route, MessageAttributes};

/// SNS's limit is 262,144 bytes; the margin covers the subject and JSON escaping overhead.
pub const MAX_MESSAGE_BYTES: usize = 240 * 1024;
/// SNS rejects longer subjects.
pub const MAX_SUBJECT_CHARS: usize = 100;
/// Chat notifications are read on a phone: list this many accounts, then point to the rest.
const SLACK_MAX_ACCOUNTS: usize = 15;
/// Amazon Q Developer truncates descriptions past this many characters.
const SLACK_MAX_DESCRIPTION: usize = 3500;
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

fn all_resolved(alerts: &[&PendingAlert]) -> bool {
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

/// Counts first, so the subject line alone tells the reader how bad it is; a message of
/// resolved notices only says so, so good news never reads like an alarm.
pub fn subject(
    alerts: &[&PendingAlert],
    ctx: &AlertContext,
    route: &str,
    part: usize,
    parts: usize,
) -> String {
    let count = |pred: &dyn Fn(&PendingAlert) -> bool| alerts.iter().filter(|a| pred(a)).count();
    // News about the link state; refusals and reminders are counted on their own.
    let fresh = |a: &PendingAlert| {
        !matches!(
            a.reason,
            AlertReason::Reminder
                | AlertReason::Resolved
                | AlertReason::InviteFailed
                | AlertReason::AcceptFailed
        )
    };
    let unlinked = count(&|a| fresh(a) && a.subject.link_state == LinkState::Unlinked);
    let pending = count(&|a| fresh(a) && a.subject.link_state == LinkState::Pending);
    let new = count(&|a| a.reason == AlertReason::NewAccount);
    let reminded =
        |state| count(&|a| a.reason == AlertReason::Reminder && a.subject.link_state == state);
    let still_unlinked = reminded(LinkState::Unlinked);
    let still_pending = reminded(LinkState::Pending);
    let resolved = count(&|a| a.reason == AlertReason::Resolved);
    let refused = |kind| count(&|a| open_refusal(a).is_some_and(|r| r.kind == kind));
    let invites_refused = refused(ChangeKind::InviteFailed);
    let accepts_failed = refused(ChangeKind::AcceptFailed);
    let mut words = Vec::new();
    if all_resolved(alerts) {
        words.push(format!("resolved, nothing to do: {resolved}"));
    } else if alerts.iter().all(|a| a.reason == AlertReason::Baseline) {
        words.push(format!("baseline: {unlinked} unlinked"));
        if pending > 0 {
            words.push(format!("{pending} pending"));
        }
    } else {
        if unlinked > 0 {
            words.push(format!("{unlinked} unlinked"));
        }
        if pending > 0 {
            words.push(format!("{pending} pending"));
        }
        if new > 0 {
            words.push(format!("{new} new"));
        }
        if still_unlinked > 0 {
            words.push(format!("{still_unlinked} still unlinked"));
        }
        if still_pending > 0 {
            words.push(format!("{still_pending} still pending"));
        }
        if invites_refused > 0 {
            words.push(format!("{invites_refused} refused"));
        }
        if accepts_failed > 0 {
            words.push(format!("{accepts_failed} not accepted"));
        }
        if resolved > 0 {
            words.push(format!("{resolved} resolved"));
        }
    }
    let label = if ctx.routing {
        format!("APN Link Watch [{route}]")
    } else {
        "APN Link Watch".to_string()
    };
    let mut s = format!(
        "{label}: {} account{} in {}",
        words.join(", "),
        if alerts.len() == 1 { "" } else { "s" },
        ctx.organization_id
    );
    if parts > 1 {
        s.push_str(&format!(" ({part}/{parts})"));
    }
    let s: String = s.chars().filter(|c| !c.is_control()).collect();
    truncate_chars(&s, MAX_SUBJECT_CHARS)
}

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// The refusal an alert shows: none on a resolved notice, which asks nothing of anyone.
fn open_refusal(alert: &PendingAlert) -> Option<&LinkRefusal> {
    alert
        .subject
        .refusal
        .as_ref()
        .filter(|_| alert.reason != AlertReason::Resolved)
}

/// `RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException) on 2026-11-28: <message>`.
fn refusal_words(r: &LinkRefusal) -> String {
    let mut s = format!("{} on {}", r.reason, r.at.format("%Y-%m-%d"));
    if !r.message.is_empty() {
        s.push_str(": ");
        s.push_str(&r.message);
    }
    s
}

pub fn why(alert: &PendingAlert) -> String {
    match alert.reason {
        AlertReason::InviteFailed => match &alert.subject.refusal {
            Some(r) => format!(
                "Partner Central refused the connection invitation: {}",
                refusal_words(r)
            ),
            None => "Partner Central refused the connection invitation".into(),
        },
        AlertReason::AcceptFailed => match &alert.subject.refusal {
            Some(r) => format!(
                "the connection invitation could not be accepted in the account: {}",
                refusal_words(r)
            ),
            None => "the connection invitation could not be accepted in the account".into(),
        },
        AlertReason::Baseline if alert.subject.link_state == LinkState::Pending => {
            "first run of APN Link Watch: the account has not accepted its link invitation yet"
                .into()
        }
        AlertReason::Baseline => "first run of APN Link Watch: this account is not linked".into(),
        AlertReason::NewAccount => {
            "the account appeared in the organization since the last run".into()
        }
        AlertReason::LinkLost => "the account was linked (or exempt) and no longer is".into(),
        AlertReason::LinkPending => {
            "a Partner Central connection invitation waits for this account".into()
        }
        AlertReason::InvitationLapsed => {
            "the account's connection invitation expired, was rejected or was withdrawn: it was never linked and is not now"
                .into()
        }
        AlertReason::Reminder => {
            // "unlinked for 9 days, first seen 2026-11-19"
            let state = alert.subject.link_state.as_str().to_ascii_lowercase();
            let mut s = match alert.subject.state_since {
                Some(since) => format!("{state} for {}", age(alert.created_at - since)),
                None => format!("still {state}"),
            };
            if let Some(first) = alert.subject.first_seen {
                s.push_str(&format!(", first seen {}", first.format("%Y-%m-%d")));
            }
            s
        }
        AlertReason::Resolved if alert.subject.removed => "resolved: the account left the organization".into(),
        AlertReason::Resolved if !alert.subject.state.earns_credit() => format!(
            "resolved: the account is {} and earns no partner credit",
            alert.subject.state
        ),
        AlertReason::Resolved => match alert.subject.link_state {
            LinkState::Linked => format!("resolved: now linked via {}", alert.subject.link_source),
            LinkState::Exempt => format!("resolved: now exempt ({})", alert.subject.link_source),
            other => format!("resolved: now {other}"),
        },
    }
}

pub fn what_to_do(alert: &PendingAlert, tag_key: &str) -> String {
    if alert.reason == AlertReason::Resolved {
        return "nothing: this account no longer needs a link".to_string();
    }
    match alert.subject.link_state {
        LinkState::Linked => format!("nothing: it is already linked ({})", alert.subject.link_source),
        LinkState::Exempt => "nothing: it is exempt".to_string(),
        // "since": the day the account became PENDING, i.e. the day APN Link Watch sent the
        // invitation (INVITED) or first saw one a person sent.
        LinkState::Pending => {
            let accept = match alert.subject.state_since {
                Some(since) => format!(
                    "invitation sent on {}: accept it in account {} (sign in, Partner Central, Subsidiary Account Connections)",
                    since.format("%Y-%m-%d"),
                    alert.subject.account_id
                ),
                None => format!(
                    "sign in to account {} and accept the connection invitation in Partner Central (Subsidiary Account Connections)",
                    alert.subject.account_id
                ),
            };
            match open_refusal(alert) {
                Some(r) if r.kind == ChangeKind::AcceptFailed => {
                    format!("{accept}; auto-accept failed, so: {}", r.what_to_do)
                }
                _ => accept,
            }
        }
        LinkState::Unlinked => match open_refusal(alert) {
            Some(r) if r.kind == ChangeKind::InviteFailed => format!(
                "{}; or mark it exempt with the tag {tag_key}=exempt if it should not earn partner credit",
                r.what_to_do
            ),
            _ => format!(
                "link it in Partner Central (Subsidiary Account Connections: send a connection request to {}), \
                 or mark it exempt with the tag {tag_key}=exempt if it should not earn partner credit",
                alert.subject.account_id
            ),
        },
    }
}

fn email_text(alerts: &[&PendingAlert], ctx: &AlertContext, part: usize, parts: usize) -> String {
    let mut s = if all_resolved(alerts) {
        format!(
            "Good news: {} account{} APN Link Watch alerted about no longer need{} attention in organization {}.\n",
            alerts.len(),
            if alerts.len() == 1 { "" } else { "s" },
            if alerts.len() == 1 { "s" } else { "" },
            ctx.organization_id
        )
    } else {
        format!(
            "APN Link Watch found {} account{} that need{} attention in organization {}.\n\
             Partner credit only counts for accounts linked to Partner Central; linking the management account does not cover member accounts.\n",
            alerts.len(),
            if alerts.len() == 1 { "" } else { "s" },
            if alerts.len() == 1 { "s" } else { "" },
            ctx.organization_id
        )
    };
    if parts > 1 {
        s.push_str(&format!("This is part {part} of {parts}.\n"));
    }
    for a in alerts {
        s.push_str(&email_block(a, &ctx.tag_key));
    }
    s.push_str(&format!(
        "\nRun {}. List every unlinked account with: apnwatch accounts --unlinked\n",
        ctx.run_id
    ));
    s
}

fn email_block(a: &PendingAlert, tag_key: &str) -> String {
    // An INVITE_FAILED or ACCEPT_FAILED alert says it in "Why"; any other alert about an
    // account with a refusal on record gets its own line.
    let refused = match open_refusal(a) {
        Some(r) if !is_refusal_alert(a) => {
            format!("  Refused:     {} {}\n", r.kind, refusal_words(r))
        }
        _ => String::new(),
    };
    format!(
        "\n[{}] {} {}\n  OU path:     {}\n  Email:       {}\n  State:       {}\n  Link state:  {} ({}: {})\n{refused}  Why:         {}\n  What to do:  {}\n",
        a.reason.as_str(),
        a.subject.account_id,
        a.subject.name,
        a.subject.ou_path,
        a.subject.email,
        a.subject.state,
        a.subject.link_state,
        a.subject.link_source,
        a.subject.link_detail,
        why(a),
        what_to_do(a, tag_key)
    )
}

fn is_refusal_alert(a: &PendingAlert) -> bool {
    matches!(
        a.reason,
        AlertReason::InviteFailed | AlertReason::AcceptFailed
    )
}

fn slack_notification(alerts: &[&PendingAlert], ctx: &AlertContext, subject: &str) -> String {
    let mut description = String::new();
    for a in alerts.iter().take(SLACK_MAX_ACCOUNTS) {
        let mut why = why(a);
        if let Some(r) = open_refusal(a).filter(|_| !is_refusal_alert(a)) {
            why.push_str(&format!("; {}: {}", r.kind, r.reason));
        }
        let line = format!(
            "• *{}* `{}` in `{}`: *{}* ({})\n",
            escape_md(&a.subject.name),
            a.subject.account_id,
            escape_md(&a.subject.ou_path),
            a.subject.link_state,
            why
        );
        if description.len() + line.len() > SLACK_MAX_DESCRIPTION {
            break;
        }
        description.push_str(&line);
    }
    let listed = description.lines().count();
    if listed < alerts.len() {
        description.push_str(&format!(
            "…and {} more: see the email or `apnwatch accounts --unlinked`\n",
            alerts.len() - listed
        ));
    }
    let mut next_steps = Vec::new();
    // Resolved notices ask nothing of anyone.
    let open: Vec<&&PendingAlert> = alerts
        .iter()
        .filter(|a| a.reason != AlertReason::Resolved)
        .collect();
    if open
        .iter()
        .any(|a| a.subject.link_state == LinkState::Unlinked)
    {
        next_steps.push(format!(
            "Link unlinked accounts in Partner Central (Subsidiary Account Connections), or tag them {}=exempt",
            ctx.tag_key
        ));
    }
    if open
        .iter()
        .any(|a| a.subject.link_state == LinkState::Pending)
    {
        next_steps
            .push("Accept pending connection invitations in each pending account".to_string());
    }
    if open.iter().any(|a| a.subject.refusal.is_some()) {
        next_steps.push(
            "Refused invitations: see each account's reason and what to do in the email, or run apnwatch history ACCOUNT_ID"
                .to_string(),
        );
    }
    if open
        .iter()
        .any(|a| a.subject.link_state == LinkState::Linked)
    {
        next_steps.push("New linked accounts need nothing".to_string());
    }
    if open.is_empty() {
        next_steps.push("Nothing: these accounts are resolved".to_string());
    }
    let icon = if open.is_empty() {
        ":white_check_mark:"
    } else {
        ":warning:"
    };
    let mut keywords = vec!["apn-link-watch".to_string(), ctx.organization_id.clone()];
    for state in LinkState::ALL {
        if alerts.iter().any(|a| a.subject.link_state == state) {
            keywords.push(state.to_string());
        }
    }
    json!({
        "version": "1.0",
        "source": "custom",
        "id": ctx.run_id,
        "content": {
            "textType": "client-markdown",
            "title": format!("{icon} {subject}"),
            "description": description,
            "nextSteps": next_steps,
            "keywords": keywords,
        },
        "metadata": {
            "threadId": format!("apn-link-watch-{}", ctx.organization_id),
            "summary": subject,
        }
    })
    .to_string()
}

/// Slack's markdown would render `*`, `_` and backticks in account names.
fn escape_md(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '*' | '_' | '`' | '~'))
        .collect()
}

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

fn machine_alert(a: &PendingAlert, tag_key: &str) -> String {
    serde_json::to_string(&MachineAlert::new(a, tag_key)).expect("plain data serializes")
}

fn machine_json(alerts: &[&PendingAlert], ctx: &AlertContext, part: usize, parts: usize) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::AlertSubject;

    fn ctx() -> AlertContext {
        AlertContext {
            organization_id: "o-abc123def4".into(),
            run_id: "run-1".into(),
            tag_key: "apn-link".into(),
            routing: false,
        }
    }

    fn alert(id: &str, reason: AlertReason, link_state: LinkState) -> PendingAlert {
        PendingAlert {
            id: format!("run-1#{id}"),
            run_id: "run-1".into(),
            created_at: "2026-11-27T12:00:00Z".parse().unwrap(),
            reason,
            route: None,
            subject: AlertSubject {
                account_id: id.into(),
                name: format!("team-{id}"),
                email: format!("{id}@example.com"),
                ou_path: "Root/Workloads/Prod".into(),
                state: AccountState::Active,
                link_state,
                link_source: LinkSource::None,
                link_detail: "no link evidence from tag, list".into(),
                state_since: Some("2026-11-18T12:00:00Z".parse().unwrap()),
                first_seen: Some("2026-11-18T10:00:00Z".parse().unwrap()),
                removed: false,
                refusal: None,
            },
        }
    }

    fn keys(m: &AlertMessage) -> serde_json::Value {
        serde_json::from_str(&m.body).unwrap()
    }

    /// No alerts, no message.
    #[test]
    fn nothing_to_say_builds_nothing() {
        assert!(build_messages(&[], &ctx()).is_empty());
    }

    /// The email names each account with OU path, link state, why and what to do.
    #[test]
    fn email_lists_each_account_with_what_to_do() {
        let m = build_messages(
            &[alert(
                "111111111111",
                AlertReason::NewAccount,
                LinkState::Unlinked,
            )],
            &ctx(),
        );
        assert_eq!(m.len(), 1);
        let email = keys(&m[0])["email"].as_str().unwrap().to_string();
        for needle in [
            "111111111111",
            "team-111111111111",
            "Root/Workloads/Prod",
            "UNLINKED",
            "appeared",
            "link it in Partner Central",
            "apn-link=exempt",
        ] {
            assert!(email.contains(needle), "missing {needle} in {email}");
        }
        assert_eq!(
            m[0].subject,
            "APN Link Watch: 1 unlinked, 1 new account in o-abc123def4"
        );
    }

    /// Slack gets the Amazon Q Developer custom-notification shape.
    #[test]
    fn slack_format_is_a_custom_notification() {
        let m = build_messages(
            &[alert(
                "111111111111",
                AlertReason::LinkPending,
                LinkState::Pending,
            )],
            &ctx(),
        );
        let slack: serde_json::Value =
            serde_json::from_str(keys(&m[0])["https"].as_str().unwrap()).unwrap();
        assert_eq!(slack["version"], "1.0");
        assert_eq!(slack["source"], "custom");
        assert_eq!(slack["content"]["textType"], "client-markdown");
        assert!(slack["content"]["description"]
            .as_str()
            .unwrap()
            .contains("111111111111"));
        assert!(slack["content"]["nextSteps"][0]
            .as_str()
            .unwrap()
            .contains("Accept"));
    }

    /// Queues get versioned JSON with every alert.
    #[test]
    fn machine_format_carries_every_alert() {
        let alerts = [
            alert("111111111111", AlertReason::Baseline, LinkState::Unlinked),
            alert("222222222222", AlertReason::Baseline, LinkState::Unlinked),
        ];
        let m = build_messages(&alerts, &ctx());
        let sqs: serde_json::Value =
            serde_json::from_str(keys(&m[0])["sqs"].as_str().unwrap()).unwrap();
        assert_eq!(sqs["schema"], SCHEMA);
        assert_eq!(sqs["alerts"].as_array().unwrap().len(), 2);
        assert_eq!(sqs["alerts"][0]["reason"], "BASELINE");
        assert_eq!(sqs["alerts"][0]["link_state"], "UNLINKED");
        assert!(m[0].subject.contains("baseline: 2 unlinked accounts"));
    }

    /// Thousands of alerts split into parts that each fit SNS, and no alert is dropped.
    #[test]
    fn large_alerts_split_under_the_sns_limit() {
        let alerts: Vec<_> = (0..3000)
            .map(|i| {
                alert(
                    &format!("{:012}", i),
                    AlertReason::Baseline,
                    LinkState::Unlinked,
                )
            })
            .collect();
        let m = build_messages(&alerts, &ctx());
        assert!(m.len() > 1);
        assert!(m.iter().all(|p| p.size() <= MAX_MESSAGE_BYTES));
        assert_eq!(m.iter().map(|p| p.alert_ids.len()).sum::<usize>(), 3000);
        assert!(
            m[0].subject.ends_with(&format!("(1/{})", m.len())),
            "{}",
            m[0].subject
        );
    }

    /// Every published format of one message, byte for byte: the email text (`default`
    /// and `email`), the Amazon Q Developer notification (`https`) and the machine JSON
    /// (`sqs`, `lambda`, schema `apn-link-watch/alert/v1`), for a new unlinked account, a
    /// pending invitation and a lost link.
    #[test]
    fn published_formats_match_the_golden_files() {
        let mut pending = alert("222222222222", AlertReason::LinkPending, LinkState::Pending);
        pending.subject.link_source = LinkSource::PartnerCentral;
        pending.subject.link_detail = "Partner Central connection invitation pending".into();
        let mut lost = alert("333333333333", AlertReason::LinkLost, LinkState::Unlinked);
        lost.subject.state = AccountState::Suspended;
        lost.subject.link_source = LinkSource::PartnerCentral;
        lost.subject.link_detail = "link canceled in Partner Central".into();
        let alerts = [
            alert("111111111111", AlertReason::NewAccount, LinkState::Unlinked),
            pending,
            lost,
        ];
        golden_formats("alert", &alerts);
    }

    /// One message's formats against `golden/<prefix>-email.txt`, `-https.json`, `-sqs.json`.
    fn golden_formats(prefix: &str, alerts: &[PendingAlert]) {
        let m = build_messages(alerts, &ctx());
        assert_eq!(m.len(), 1);
        let doc = keys(&m[0]);
        let text = |key: &str| doc[key].as_str().unwrap().to_string();
        let pretty = |key: &str| {
            let v: serde_json::Value = serde_json::from_str(&text(key)).unwrap();
            serde_json::to_string_pretty(&v).unwrap() + "\n"
        };
        assert_eq!(text("default"), text("email"));
        assert_eq!(text("sqs"), text("lambda"));
        crate::golden::check(
            &format!("{prefix}-email.txt"),
            &format!("Subject: {}\n\n{}", m[0].subject, text("email")),
        );
        crate::golden::check(&format!("{prefix}-https.json"), &pretty("https"));
        crate::golden::check(&format!("{prefix}-sqs.json"), &pretty("sqs"));
    }

    fn refusal(kind: ChangeKind, reason: &str, what_to_do: &str) -> LinkRefusal {
        LinkRefusal {
            kind,
            at: "2026-11-27T12:00:05Z".parse().unwrap(),
            reason: reason.into(),
            message: "refused by the test".into(),
            what_to_do: what_to_do.into(),
        }
    }

    /// What auto-link did, in every format (`golden/alert-autolink-*`): a new account that
    /// was invited (PENDING, "invitation sent on"), a new account whose invitation Partner
    /// Central refused (the reason on its own line, its advice as what to do), a refusal
    /// alerted on its own (`INVITE_FAILED`) and an invitation the accept role could not
    /// accept (`ACCEPT_FAILED`).
    #[test]
    fn auto_link_outcomes_match_the_golden_files() {
        let mut invited = alert("111111111111", AlertReason::NewAccount, LinkState::Pending);
        invited.subject.state_since = Some("2026-11-27T12:00:05Z".parse().unwrap());
        invited.subject.link_source = LinkSource::PartnerCentral;
        invited.subject.link_detail = "Partner Central connection invitation pending".into();
        let profile = refusal(
            ChangeKind::InviteFailed,
            "RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException)",
            "the account cannot receive a SUBSIDIARY invitation yet: register it in Partner Central (or link it by tag), then run `apnwatch invite` again",
        );
        let mut refused = alert("222222222222", AlertReason::NewAccount, LinkState::Unlinked);
        refused.subject.refusal = Some(profile.clone());
        let mut failed = alert(
            "333333333333",
            AlertReason::InviteFailed,
            LinkState::Unlinked,
        );
        failed.subject.refusal = Some(profile);
        let mut unaccepted = alert(
            "444444444444",
            AlertReason::AcceptFailed,
            LinkState::Pending,
        );
        unaccepted.subject.link_source = LinkSource::PartnerCentral;
        unaccepted.subject.link_detail = "Partner Central connection invitation pending".into();
        unaccepted.subject.refusal = Some(refusal(
            ChangeKind::AcceptFailed,
            "AccessDenied",
            "grant the permission named in the message, or deploy infra/member-accept-role.yaml to the account (StackSet)",
        ));
        golden_formats("alert-autolink", &[invited, refused, failed, unaccepted]);
    }

    /// A refusal on record changes what to do for as long as the account is open, and a
    /// resolved notice never shows it.
    #[test]
    fn refusals_say_what_to_do_until_resolved() {
        let mut a = alert("111111111111", AlertReason::Reminder, LinkState::Unlinked);
        a.subject.refusal = Some(refusal(
            ChangeKind::InviteFailed,
            "INCOMPATIBLE_CONNECTION_INVITATION_RECEIVER (ValidationException)",
            "register it first",
        ));
        let todo = what_to_do(&a, "apn-link");
        assert!(
            todo.starts_with("register it first; or mark it exempt with the tag apn-link=exempt"),
            "{todo}"
        );
        assert!(email_block(&a, "apn-link").contains(
            "  Refused:     INVITE_FAILED INCOMPATIBLE_CONNECTION_INVITATION_RECEIVER (ValidationException) on 2026-11-27: refused by the test\n"
        ));
        let m = build_messages(std::slice::from_ref(&a), &ctx());
        assert_eq!(
            m[0].subject,
            "APN Link Watch: 1 still unlinked, 1 refused account in o-abc123def4"
        );
        let sqs: serde_json::Value =
            serde_json::from_str(keys(&m[0])["sqs"].as_str().unwrap()).unwrap();
        assert_eq!(sqs["alerts"][0]["refusal"]["kind"], "INVITE_FAILED");
        assert_eq!(
            sqs["alerts"][0]["refusal"]["what_to_do"],
            "register it first"
        );

        a.reason = AlertReason::Resolved;
        a.subject.link_state = LinkState::Linked;
        assert!(!email_block(&a, "apn-link").contains("Refused"));
        let m = build_messages(&[a], &ctx());
        let sqs: serde_json::Value =
            serde_json::from_str(keys(&m[0])["sqs"].as_str().unwrap()).unwrap();
        assert!(sqs["alerts"][0].get("refusal").is_none(), "{sqs}");
    }

    /// Subjects never pass 100 characters nor carry newlines, whatever the organization id.
    #[test]
    fn subject_is_bounded_and_single_line() {
        let mut c = ctx();
        c.organization_id = format!("o-{}\n", "x".repeat(200));
        let a = alert("111111111111", AlertReason::LinkLost, LinkState::Unlinked);
        let s = subject(&[&a], &c, "all", 1, 1);
        assert!(
            s.chars().count() <= MAX_SUBJECT_CHARS && !s.contains('\n'),
            "{s}"
        );
    }

    fn routed(id: &str, reason: AlertReason, route: Option<&str>) -> PendingAlert {
        let mut a = alert(id, reason, LinkState::Unlinked);
        a.route = route.map(str::to_string);
        a
    }

    /// A reminder says how long the account has been in its state and since when it is
    /// known, and the subject counts reminders apart from new news.
    #[test]
    fn reminders_say_how_long_and_count_in_the_subject() {
        let mut reminders: Vec<_> = ["111111111111", "222222222222", "333333333333"]
            .iter()
            .map(|id| alert(id, AlertReason::Reminder, LinkState::Unlinked))
            .collect();
        reminders[0].subject.first_seen = Some("2026-11-19T08:00:00Z".parse().unwrap());
        reminders[0].subject.state_since = Some("2026-11-18T12:00:00Z".parse().unwrap());
        reminders.push(alert(
            "444444444444",
            AlertReason::NewAccount,
            LinkState::Unlinked,
        ));
        let m = build_messages(&reminders, &ctx());
        assert_eq!(
            m[0].subject,
            "APN Link Watch: 1 unlinked, 1 new, 3 still unlinked accounts in o-abc123def4"
        );
        let email = keys(&m[0])["email"].as_str().unwrap().to_string();
        assert!(
            email.contains("[REMINDER] 111111111111")
                && email.contains("unlinked for 9 days, first seen 2026-11-19"),
            "{email}"
        );
    }

    /// A message holding only resolved notices reads as good news, not as an alarm.
    #[test]
    fn resolved_only_reads_as_good_news() {
        let mut linked = alert("111111111111", AlertReason::Resolved, LinkState::Linked);
        linked.subject.link_source = LinkSource::PartnerCentral;
        let mut gone = alert("222222222222", AlertReason::Resolved, LinkState::Unlinked);
        gone.subject.removed = true;
        let mut closed = alert("333333333333", AlertReason::Resolved, LinkState::Unlinked);
        closed.subject.state = AccountState::Suspended;
        let m = build_messages(&[linked, gone, closed], &ctx());
        assert_eq!(
            m[0].subject,
            "APN Link Watch: resolved, nothing to do: 3 accounts in o-abc123def4"
        );
        let doc = keys(&m[0]);
        let email = doc["email"].as_str().unwrap();
        assert!(email.starts_with("Good news"), "{email}");
        for needle in [
            "resolved: now linked via partner-central",
            "resolved: the account left the organization",
            "resolved: the account is SUSPENDED",
        ] {
            assert!(email.contains(needle), "missing {needle} in {email}");
        }
        assert!(!email.contains("link it in Partner Central"), "{email}");
        let slack: serde_json::Value =
            serde_json::from_str(doc["https"].as_str().unwrap()).unwrap();
        assert!(slack["content"]["title"]
            .as_str()
            .unwrap()
            .starts_with(":white_check_mark:"));
    }

    /// A lapsed invitation is explained as such, never as a lost link.
    #[test]
    fn lapsed_invitation_has_its_own_words() {
        let a = alert(
            "111111111111",
            AlertReason::InvitationLapsed,
            LinkState::Unlinked,
        );
        let text = why(&a);
        assert!(
            text.contains("expired, was rejected or was withdrawn"),
            "{text}"
        );
        assert!(!text.contains("was linked"), "{text}");
    }

    /// Without routing every message is route `all` and carries the reasons, link states
    /// and organization as attributes.
    #[test]
    fn every_message_carries_attributes() {
        let m = build_messages(
            &[
                alert("111111111111", AlertReason::NewAccount, LinkState::Unlinked),
                alert("222222222222", AlertReason::Reminder, LinkState::Pending),
            ],
            &ctx(),
        );
        assert_eq!(m.len(), 1);
        let entries = m[0].attributes.entries();
        assert_eq!(entries[0].2, "all");
        assert_eq!(entries[1].2, r#"["NEW_ACCOUNT","REMINDER"]"#);
        assert_eq!(entries[2].2, r#"["PENDING","UNLINKED"]"#);
        assert_eq!(entries[3].2, "o-abc123def4");
        assert_eq!(m[0].size(), m[0].body.len() + m[0].attributes.size());
    }

    /// With routing, each route gets its own message naming it; accounts without one go to
    /// `unrouted`.
    #[test]
    fn routing_splits_messages_by_route() {
        let mut c = ctx();
        c.routing = true;
        let m = build_messages(
            &[
                routed("111111111111", AlertReason::NewAccount, Some("payments")),
                routed("222222222222", AlertReason::NewAccount, Some("search")),
                routed("333333333333", AlertReason::NewAccount, Some("payments")),
                routed("444444444444", AlertReason::NewAccount, None),
            ],
            &c,
        );
        let by_route: Vec<(String, Vec<String>)> = m
            .iter()
            .map(|m| {
                let ids = m.alert_ids.iter().map(|i| i[6..].to_string()).collect();
                (m.attributes.route.clone(), ids)
            })
            .collect();
        assert_eq!(
            by_route,
            vec![
                (
                    "payments".into(),
                    vec!["111111111111".into(), "333333333333".into()]
                ),
                ("search".into(), vec!["222222222222".into()]),
                ("unrouted".into(), vec!["444444444444".into()]),
            ]
        );
        assert!(
            m[0].subject
                .starts_with("APN Link Watch [payments]: 2 unlinked"),
            "{}",
            m[0].subject
        );
    }
}
