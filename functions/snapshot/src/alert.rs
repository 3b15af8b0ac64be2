//! Alert messages: what a run says about its pending alerts, in the formats each SNS
//! subscriber reads. Pure text building; `notify` only publishes what this module returns.
//!
//! One publish carries every format through SNS `MessageStructure=json`:
//! - `default` and `email`: plain text, one block per account with what to do;
//! - `https`: the Amazon Q Developer in chat applications custom notification (Slack);
//! - `sqs` and `lambda`: machine-readable JSON of the alerts.
//!
//! SNS caps a message at 256 KB for all keys together, so alerts are split into parts that
//! each stay under [`MAX_MESSAGE_BYTES`].

use serde::Serialize;
use serde_json::json;

use chrono::{DateTime, Utc};

use crate::model::{AccountState, AlertReason, LinkSource, LinkState, PendingAlert};

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
}

/// One SNS publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertMessage {
    pub subject: String,
    /// The `MessageStructure=json` document.
    pub body: String,
    /// Outbox ids of the alerts in this message: deleted once SNS accepted it.
    pub alert_ids: Vec<String>,
}

/// Builds the messages for `alerts`, split so each fits SNS's limit. Empty in, empty out:
/// a run with nothing to say publishes nothing.
pub fn build_messages(alerts: &[PendingAlert], ctx: &AlertContext) -> Vec<AlertMessage> {
    let mut sorted: Vec<&PendingAlert> = alerts.iter().collect();
    sorted.sort_by(|a, b| {
        (reason_rank(a.reason), &a.account_id).cmp(&(reason_rank(b.reason), &b.account_id))
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
    // The estimate is close, not a bound: halve any part that still renders too large.
    loop {
        let total = parts.len();
        let rendered: Vec<AlertMessage> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| render(p, ctx, i + 1, total))
            .collect();
        let too_big = rendered
            .iter()
            .zip(&parts)
            .position(|(m, p)| m.body.len() > MAX_MESSAGE_BYTES && p.len() > 1);
        match too_big {
            None => return rendered,
            Some(i) => {
                let half = parts[i].len() / 2;
                let second = parts[i].split_off(half);
                parts.insert(i + 1, second);
            }
        }
    }
}

fn reason_rank(r: AlertReason) -> u8 {
    match r {
        AlertReason::LinkLost => 0,
        AlertReason::NewAccount => 1,
        AlertReason::LinkPending => 2,
        AlertReason::Baseline => 3,
    }
}

fn render(alerts: &[&PendingAlert], ctx: &AlertContext, part: usize, parts: usize) -> AlertMessage {
    let subject = subject(alerts, ctx, part, parts);
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
    }
}

/// Counts first, so the subject line alone tells the reader how bad it is.
pub fn subject(alerts: &[&PendingAlert], ctx: &AlertContext, part: usize, parts: usize) -> String {
    let count = |pred: &dyn Fn(&PendingAlert) -> bool| alerts.iter().filter(|a| pred(a)).count();
    let unlinked = count(&|a| a.link_state == LinkState::Unlinked);
    let pending = count(&|a| a.link_state == LinkState::Pending);
    let new = count(&|a| a.reason == AlertReason::NewAccount);
    let mut words = Vec::new();
    if alerts.iter().all(|a| a.reason == AlertReason::Baseline) {
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
    }
    let mut s = format!(
        "APN Link Watch: {} account{} in {}",
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

pub fn why(alert: &PendingAlert) -> &'static str {
    match alert.reason {
        AlertReason::Baseline if alert.link_state == LinkState::Pending => {
            "first run of APN Link Watch: the account has not accepted its link invitation yet"
        }
        AlertReason::Baseline => "first run of APN Link Watch: this account is not linked",
        AlertReason::NewAccount => "the account appeared in the organization since the last run",
        AlertReason::LinkLost => "the account was linked (or exempt) and no longer is",
        AlertReason::LinkPending => {
            "a Partner Central connection invitation waits for this account"
        }
    }
}

pub fn what_to_do(alert: &PendingAlert, tag_key: &str) -> String {
    match alert.link_state {
        LinkState::Linked => format!("nothing: it is already linked ({})", alert.link_source),
        LinkState::Exempt => "nothing: it is exempt".to_string(),
        LinkState::Pending => format!(
            "sign in to account {} and accept the connection invitation in Partner Central (Subsidiary Account Connections)",
            alert.account_id
        ),
        LinkState::Unlinked => format!(
            "link it in Partner Central (Subsidiary Account Connections: send a connection request to {}), \
             or mark it exempt with the tag {tag_key}=exempt if it should not earn partner credit",
            alert.account_id
        ),
    }
}

fn email_text(alerts: &[&PendingAlert], ctx: &AlertContext, part: usize, parts: usize) -> String {
    let mut s = format!(
        "APN Link Watch found {} account{} that need{} attention in organization {}.\n\
         Partner credit only counts for accounts linked to Partner Central; linking the management account does not cover member accounts.\n",
        alerts.len(),
        if alerts.len() == 1 { "" } else { "s" },
        if alerts.len() == 1 { "s" } else { "" },
        ctx.organization_id
    );
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
    format!(
        "\n[{}] {} {}\n  OU path:     {}\n  Email:       {}\n  State:       {}\n  Link state:  {} ({}: {})\n  Why:         {}\n  What to do:  {}\n",
        a.reason.as_str(),
        a.account_id,
        a.name,
        a.ou_path,
        a.email,
        a.state,
        a.link_state,
        a.link_source,
        a.link_detail,
        why(a),
        what_to_do(a, tag_key)
    )
}

fn slack_notification(alerts: &[&PendingAlert], ctx: &AlertContext, subject: &str) -> String {
    let mut description = String::new();
    for a in alerts.iter().take(SLACK_MAX_ACCOUNTS) {
        let line = format!(
            "• *{}* `{}` in `{}`: *{}* ({})\n",
            escape_md(&a.name),
            a.account_id,
            escape_md(&a.ou_path),
            a.link_state,
            why(a)
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
    if alerts.iter().any(|a| a.link_state == LinkState::Unlinked) {
        next_steps.push(format!(
            "Link unlinked accounts in Partner Central (Subsidiary Account Connections), or tag them {}=exempt",
            ctx.tag_key
        ));
    }
    if alerts.iter().any(|a| a.link_state == LinkState::Pending) {
        next_steps
            .push("Accept pending connection invitations in each pending account".to_string());
    }
    if alerts.iter().any(|a| a.link_state == LinkState::Linked) {
        next_steps.push("New linked accounts need nothing".to_string());
    }
    let mut keywords = vec!["apn-link-watch".to_string(), ctx.organization_id.clone()];
    for state in LinkState::ALL {
        if alerts.iter().any(|a| a.link_state == state) {
            keywords.push(state.to_string());
        }
    }
    json!({
        "version": "1.0",
        "source": "custom",
        "id": ctx.run_id,
        "content": {
            "textType": "client-markdown",
            "title": format!(":warning: {subject}"),
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
    why: &'static str,
    what_to_do: String,
    id: &'a str,
    run_id: &'a str,
    created_at: DateTime<Utc>,
}

impl<'a> MachineAlert<'a> {
    fn new(alert: &'a PendingAlert, tag_key: &str) -> Self {
        Self {
            account_id: &alert.account_id,
            name: &alert.name,
            email: &alert.email,
            ou_path: &alert.ou_path,
            state: &alert.state,
            link_state: alert.link_state,
            link_source: alert.link_source,
            link_detail: &alert.link_detail,
            reason: alert.reason,
            why: why(alert),
            what_to_do: what_to_do(alert, tag_key),
            id: &alert.id,
            run_id: &alert.run_id,
            created_at: alert.created_at,
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

    fn ctx() -> AlertContext {
        AlertContext {
            organization_id: "o-abc123def4".into(),
            run_id: "run-1".into(),
            tag_key: "apn-link".into(),
        }
    }

    fn alert(id: &str, reason: AlertReason, link_state: LinkState) -> PendingAlert {
        PendingAlert {
            id: format!("run-1#{id}"),
            run_id: "run-1".into(),
            created_at: "2026-11-27T12:00:00Z".parse().unwrap(),
            reason,
            account_id: id.into(),
            name: format!("team-{id}"),
            email: format!("{id}@example.com"),
            ou_path: "Root/Workloads/Prod".into(),
            state: AccountState::Active,
            link_state,
            link_source: LinkSource::None,
            link_detail: "no link evidence from tag, list".into(),
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
        assert!(m.iter().all(|p| p.body.len() <= MAX_MESSAGE_BYTES));
        assert_eq!(m.iter().map(|p| p.alert_ids.len()).sum::<usize>(), 3000);
        assert!(
            m[0].subject.ends_with(&format!("(1/{})", m.len())),
            "{}",
            m[0].subject
        );
    }

    /// Compares `actual` with the golden file `golden/<name>` of this package; with
    /// `UPDATE_GOLDEN=1` in the environment, (re)writes the file instead.
    fn golden(name: &str, actual: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("golden")
            .join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, actual).unwrap();
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
        assert!(
            actual == expected,
            "{} differs from what the code renders: a published format changed. If that \
             is intended, bump the format (e.g. the schema version), rerun with \
             UPDATE_GOLDEN=1 and review the diff.\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        );
    }

    /// Every published format of one message, byte for byte: the email text (`default`
    /// and `email`), the Amazon Q Developer notification (`https`) and the machine JSON
    /// (`sqs`, `lambda`, schema `apn-link-watch/alert/v1`), for a new unlinked account, a
    /// pending invitation and a lost link.
    #[test]
    fn published_formats_match_the_golden_files() {
        let mut pending = alert("222222222222", AlertReason::LinkPending, LinkState::Pending);
        pending.link_source = LinkSource::PartnerCentral;
        pending.link_detail = "Partner Central connection invitation pending".into();
        let mut lost = alert("333333333333", AlertReason::LinkLost, LinkState::Unlinked);
        lost.state = AccountState::Suspended;
        lost.link_source = LinkSource::PartnerCentral;
        lost.link_detail = "link canceled in Partner Central".into();
        let alerts = [
            alert("111111111111", AlertReason::NewAccount, LinkState::Unlinked),
            pending,
            lost,
        ];
        let m = build_messages(&alerts, &ctx());
        assert_eq!(m.len(), 1);
        let doc = keys(&m[0]);
        let text = |key: &str| doc[key].as_str().unwrap().to_string();
        let pretty = |key: &str| {
            let v: serde_json::Value = serde_json::from_str(&text(key)).unwrap();
            serde_json::to_string_pretty(&v).unwrap() + "\n"
        };
        assert_eq!(text("default"), text("email"));
        assert_eq!(text("sqs"), text("lambda"));
        golden(
            "alert-email.txt",
            &format!("Subject: {}\n\n{}", m[0].subject, text("email")),
        );
        golden("alert-https.json", &pretty("https"));
        golden("alert-sqs.json", &pretty("sqs"));
    }

    /// Subjects never pass 100 characters nor carry newlines, whatever the organization id.
    #[test]
    fn subject_is_bounded_and_single_line() {
        let mut c = ctx();
        c.organization_id = format!("o-{}\n", "x".repeat(200));
        let a = alert("111111111111", AlertReason::LinkLost, LinkState::Unlinked);
        let s = subject(&[&a], &c, 1, 1);
        assert!(
            s.chars().count() <= MAX_SUBJECT_CHARS && !s.contains('\n'),
            "{s}"
        );
    }
}
