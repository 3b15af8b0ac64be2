//! The Amazon Q Developer in chat applications custom notification (`https`): what Slack and
//! Microsoft Teams show, short enough to read on a phone.

use serde_json::json;

use super::wording::{is_refusal_alert, open_refusal, why};
use super::{AlertContext, SLACK_MAX_ACCOUNTS, SLACK_MAX_DESCRIPTION};
use crate::domain::model::{AlertReason, LinkState, PendingAlert};

pub(super) fn slack_notification(
    alerts: &[&PendingAlert],
    ctx: &AlertContext,
    subject: &str,
) -> String {
    let mut description = String::new();
    for a in alerts.iter().take(SLACK_MAX_ACCOUNTS) {
        let mut why = why(a);
        if let Some(r) = open_refusal(a).filter(|_| !is_refusal_alert(a)) {
            why.push_str(&format!("; {}", r.label()));
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
    CustomNotification {
        id: &ctx.run_id,
        title: &format!("{icon} {subject}"),
        description: &description,
        next_steps,
        keywords,
        thread_id: &format!("apn-link-watch-{}", ctx.organization_id),
        summary: subject,
    }
    .to_json()
}

/// An Amazon Q Developer in chat applications custom notification, the document alerts and
/// summaries both publish to `https`
/// (<https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html>).
pub(super) struct CustomNotification<'a> {
    pub id: &'a str,
    pub title: &'a str,
    /// Slack markdown (`client-markdown`).
    pub description: &'a str,
    pub next_steps: Vec<String>,
    pub keywords: Vec<String>,
    /// Notifications with the same thread id share one thread.
    pub thread_id: &'a str,
    pub summary: &'a str,
}

impl CustomNotification<'_> {
    pub fn to_json(&self) -> String {
        json!({
            "version": "1.0",
            "source": "custom",
            "id": self.id,
            "content": {
                "textType": "client-markdown",
                "title": self.title,
                "description": self.description,
                "nextSteps": self.next_steps,
                "keywords": self.keywords,
            },
            "metadata": {
                "threadId": self.thread_id,
                "summary": self.summary,
            }
        })
        .to_string()
    }
}

/// Slack's markdown would render `*`, `_` and backticks in account names.
pub(super) fn escape_md(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '*' | '_' | '`' | '~'))
        .collect()
}
