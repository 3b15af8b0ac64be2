//! The plain-text format (`default` and `email`): one block per account with what to do.

use super::wording::{is_refusal_alert, open_refusal, refusal_words, what_to_do, why};
use super::{all_resolved, AlertContext};
use crate::domain::model::PendingAlert;

pub(super) fn email_text(
    alerts: &[&PendingAlert],
    ctx: &AlertContext,
    part: usize,
    parts: usize,
) -> String {
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

pub(super) fn email_block(a: &PendingAlert, tag_key: &str) -> String {
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
