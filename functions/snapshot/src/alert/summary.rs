//! The periodic coverage summary (`APNWATCH_SUMMARY`) in every subscriber's format: email
//! text, the Amazon Q Developer custom notification (`https`, Slack and Teams) and, for
//! queues and functions, JSON with `schema` [`SUMMARY_SCHEMA`]. The numbers are
//! [`Report`]'s: the same computation as `apnwatch report`.
//!
//! The `https` document has the shape `chat` uses for alerts (Amazon Q Developer in chat
//! applications, custom notifications:
//! <https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html>); its own
//! `threadId` keeps the summaries in one thread apart from the alerts.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::chat::{escape_md, CustomNotification};
use super::MAX_SUBJECT_CHARS;
use crate::domain::model::LinkState;
use crate::domain::report::{percent_text, Report, METRIC_WINDOW_DAYS};
use crate::domain::route::ROUTE_ALL;
use crate::domain::summary::{summary_id, QueuedSummary, SummaryPeriod};

/// Identifies the summary's machine-readable format for subscribers.
pub const SUMMARY_SCHEMA: &str = "apn-link-watch/summary/v1";
/// The `reasons` attribute of every summary, so filter policies can take or leave it.
pub const SUMMARY_REASON: &str = "SUMMARY";
/// OUs a summary lists (worst first, only those with accounts left to link).
pub const WORST_OUS_SHOWN: usize = 5;
/// Oldest unlinked accounts the chat summary names, to stay short on a phone (the email and
/// the JSON list every one the report holds).
pub const OLDEST_SHOWN_IN_CHAT: usize = 5;

/// What a summary is about: whose, which period, which route.
#[derive(Debug, Clone)]
pub struct SummaryContext {
    pub organization_id: String,
    pub run_id: String,
    pub period: SummaryPeriod,
    /// `2026-W50` or `2026-12-07`.
    pub key: String,
    /// `all`, or the route this summary covers.
    pub route: String,
}

/// Renders the summary of `report` (coverage `change` in points since the last summary) as
/// the outbox entry that publishes it.
pub fn render_summary(report: &Report, change: Option<f64>, ctx: &SummaryContext) -> QueuedSummary {
    let subject = summary_subject(report, change, ctx);
    let text = summary_text(report, change, ctx);
    let chat = summary_chat(report, change, ctx, &subject);
    let machine = summary_json(report, change, ctx).to_string();
    let body = json!({
        "default": text,
        "email": text,
        "https": chat,
        "sqs": machine,
        "lambda": machine,
    })
    .to_string();
    let c = &report.coverage;
    let link_states: BTreeSet<String> = [
        (LinkState::Linked, c.linked),
        (LinkState::Pending, c.pending),
        (LinkState::Unlinked, c.unlinked),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(s, _)| s.to_string())
    .collect();
    QueuedSummary {
        id: summary_id(ctx.period, &ctx.key, &ctx.route),
        run_id: ctx.run_id.clone(),
        created_at: report.generated_at,
        route: ctx.route.clone(),
        subject,
        body,
        link_states,
        organization_id: ctx.organization_id.clone(),
    }
}

fn change_words(change: Option<f64>) -> String {
    match change {
        None => "first summary".to_string(),
        Some(0.0) => "no change since the last summary".to_string(),
        Some(c) => format!("{c:+.1} points since the last summary"),
    }
}

fn period_words(ctx: &SummaryContext) -> String {
    match ctx.period {
        SummaryPeriod::Daily => format!("daily summary {}", ctx.key),
        _ => format!("weekly summary {}", ctx.key),
    }
}

pub(super) fn summary_subject(
    report: &Report,
    change: Option<f64>,
    ctx: &SummaryContext,
) -> String {
    let c = &report.coverage;
    let route = if ctx.route == ROUTE_ALL {
        String::new()
    } else {
        format!("[{}] ", ctx.route)
    };
    let delta = change.map_or_else(String::new, |d| format!(" ({d:+.1})"));
    let subject = format!(
        "{route}APN coverage {}{delta}: {} unlinked, {} pending ({})",
        percent_text(c.percent),
        c.unlinked,
        c.pending,
        period_words(ctx)
    );
    subject.chars().take(MAX_SUBJECT_CHARS).collect()
}

fn worst_ous(report: &Report) -> impl Iterator<Item = &crate::domain::report::OuCoverage> {
    report
        .by_ou
        .iter()
        .filter(|o| o.coverage.linked < o.coverage.eligible)
        .take(WORST_OUS_SHOWN)
}

pub(super) fn summary_text(report: &Report, change: Option<f64>, ctx: &SummaryContext) -> String {
    let c = &report.coverage;
    let mut s = format!(
        "APN Link Watch {} for organization {}",
        period_words(ctx),
        ctx.organization_id
    );
    if ctx.route != ROUTE_ALL {
        s.push_str(&format!(", route {}", ctx.route));
    }
    s.push_str(".\n\n");
    s.push_str(&format!(
        "Coverage: {} of {} eligible accounts linked ({}; {})\n",
        c.linked,
        c.eligible,
        percent_text(c.percent),
        change_words(change)
    ));
    s.push_str(&format!(
        "Unlinked: {}\nPending: {}\n",
        c.unlinked, c.pending
    ));
    let t = &report.time_to_link;
    match (t.median_hours, t.p90_hours) {
        (Some(m), Some(p)) => s.push_str(&format!(
            "Time to link (last {} days): median {m:.1} h, 90th percentile {p:.1} h, {} account{}\n",
            report.window_days,
            t.samples,
            if t.samples == 1 { "" } else { "s" }
        )),
        _ => s.push_str(&format!(
            "Time to link (last {} days): no account linked\n",
            report.window_days
        )),
    }
    let worst: Vec<_> = worst_ous(report).collect();
    if !worst.is_empty() {
        s.push_str("\nWorst OUs:\n");
        for o in worst {
            s.push_str(&format!(
                "- {}: {} ({} of {} linked)\n",
                o.ou,
                percent_text(o.coverage.percent),
                o.coverage.linked,
                o.coverage.eligible
            ));
        }
    }
    if !report.oldest_unlinked.is_empty() {
        s.push_str("\nOldest unlinked accounts:\n");
        for u in &report.oldest_unlinked {
            s.push_str(&format!(
                "- {} ({}) in {}: {} since {} ({} days)",
                u.name,
                u.account_id,
                u.ou_path,
                u.link_state,
                u.since.format("%Y-%m-%d"),
                u.days
            ));
            if let Some(r) = &u.refusal {
                s.push_str(&format!("; {r}"));
            }
            s.push('\n');
        }
    }
    s.push_str(&format!(
        "\nRun {}. The whole picture, with charts: apnwatch report --html report.html\n",
        ctx.run_id
    ));
    s
}

fn summary_chat(
    report: &Report,
    change: Option<f64>,
    ctx: &SummaryContext,
    subject: &str,
) -> String {
    let c = &report.coverage;
    let mut description = format!(
        "*{}* linked ({} of {}; {})\n• Unlinked: *{}*  • Pending: *{}*\n",
        percent_text(c.percent),
        c.linked,
        c.eligible,
        change_words(change),
        c.unlinked,
        c.pending
    );
    if let Some(m) = report.time_to_link.median_hours {
        description.push_str(&format!(
            "• Time to link: median {m:.1} h ({} accounts, last {} days)\n",
            report.time_to_link.samples, report.window_days
        ));
    }
    let worst: Vec<String> = worst_ous(report)
        .map(|o| {
            format!(
                "`{}` {}",
                escape_md(&o.ou),
                percent_text(o.coverage.percent)
            )
        })
        .collect();
    if !worst.is_empty() {
        description.push_str(&format!("• Worst OUs: {}\n", worst.join(", ")));
    }
    let oldest: Vec<String> = report
        .oldest_unlinked
        .iter()
        .take(OLDEST_SHOWN_IN_CHAT)
        .map(|u| {
            format!(
                "*{}* `{}` ({} days)",
                escape_md(&u.name),
                u.account_id,
                u.days
            )
        })
        .collect();
    if !oldest.is_empty() {
        description.push_str(&format!("• Oldest unlinked: {}\n", oldest.join(", ")));
    }
    CustomNotification {
        id: &format!("{}-{}", ctx.run_id, ctx.route),
        title: &format!(":bar_chart: {subject}"),
        description: &description,
        next_steps: vec![
            "See the trend and every OU: apnwatch report --html report.html".to_string(),
            "List the unlinked accounts: apnwatch accounts --unlinked".to_string(),
        ],
        keywords: vec![
            "apn-link-watch".to_string(),
            ctx.organization_id.clone(),
            SUMMARY_REASON.to_string(),
        ],
        thread_id: &format!("apn-link-watch-{}-summary", ctx.organization_id),
        summary: subject,
    }
    .to_json()
}

pub(super) fn summary_json(report: &Report, change: Option<f64>, ctx: &SummaryContext) -> Value {
    let c = &report.coverage;
    let t = &report.time_to_link;
    json!({
        "schema": SUMMARY_SCHEMA,
        "organization_id": ctx.organization_id,
        "run_id": ctx.run_id,
        "period": ctx.period.as_str(),
        "period_key": ctx.key,
        "route": ctx.route,
        "generated_at": crate::domain::timestamp::format(&report.generated_at),
        "coverage": {
            "eligible": c.eligible,
            "linked": c.linked,
            "pending": c.pending,
            "unlinked": c.unlinked,
            "percent": c.percent,
            "change": change,
        },
        "time_to_link": {
            "window_days": report.window_days,
            "median_hours": t.median_hours,
            "p90_hours": t.p90_hours,
            "samples": t.samples,
        },
        "worst_ous": worst_ous(report).map(|o| json!({
            "ou": o.ou,
            "eligible": o.coverage.eligible,
            "linked": o.coverage.linked,
            "percent": o.coverage.percent,
        })).collect::<Vec<_>>(),
        "oldest_unlinked": report.oldest_unlinked.iter().map(|u| json!({
            "account_id": u.account_id,
            "name": u.name,
            "ou_path": u.ou_path,
            "link_state": u.link_state.to_string(),
            "since": crate::domain::timestamp::format(&u.since),
            "days": u.days,
            "refusal": u.refusal,
        })).collect::<Vec<_>>(),
    })
}

/// The time to link a summary reports looks back this far (as the run's metric does).
pub const SUMMARY_WINDOW_DAYS: u32 = METRIC_WINDOW_DAYS;

#[cfg(test)]
#[path = "summary_tests.rs"]
mod tests;
