//! The words every format shares: the subject line, why an account is in the alert and what
//! to do about it, and how a refusal reads.

use crate::domain::model::{AlertReason, ChangeKind, LinkRefusal, LinkState, PendingAlert};
use crate::domain::remind::age;

use super::{all_resolved, AlertContext, MAX_SUBJECT_CHARS};

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
        let counts = [
            (unlinked, "unlinked"),
            (pending, "pending"),
            (new, "new"),
            (still_unlinked, "still unlinked"),
            (still_pending, "still pending"),
            (invites_refused, "refused"),
            (accepts_failed, "not accepted"),
            (resolved, "resolved"),
        ];
        for (n, what) in counts.into_iter().filter(|(n, _)| *n > 0) {
            words.push(format!("{n} {what}"));
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

pub(super) fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// The refusal an alert shows: none on a resolved notice, which asks nothing of anyone.
pub(super) fn open_refusal(alert: &PendingAlert) -> Option<&LinkRefusal> {
    alert
        .subject
        .refusal
        .as_ref()
        .filter(|_| alert.reason != AlertReason::Resolved)
}

/// `RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException) on 2026-11-28: <message>`.
pub(super) fn refusal_words(r: &LinkRefusal) -> String {
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

pub(super) fn is_refusal_alert(a: &PendingAlert) -> bool {
    matches!(
        a.reason,
        AlertReason::InviteFailed | AlertReason::AcceptFailed
    )
}
