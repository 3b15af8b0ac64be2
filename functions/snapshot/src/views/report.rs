//! What `apnwatch report --json` prints: the stable shape of a [`Report`] (field names are a
//! public contract, documented in the README; add fields, never rename them). The HTML page
//! and the text summary are drawn from the same view.

use serde::Serialize;

use crate::domain::report::{
    hours_text, percent_text, AutoLink, Coverage, Report, TimeToLink, TrendDay, Unlinked,
};
use crate::domain::timestamp::format_secs;

#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    pub generated_at: String,
    pub organization_id: Option<String>,
    pub window_days: u32,
    pub coverage: CoverageView,
    pub time_to_link: TimeToLinkView,
    pub by_ou: Vec<OuView>,
    pub oldest_unlinked: Vec<UnlinkedView>,
    pub auto_link: AutoLinkView,
    pub trend: Vec<TrendView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoverageView {
    pub eligible: usize,
    pub linked: usize,
    pub pending: usize,
    pub unlinked: usize,
    /// `null` without an eligible account.
    pub percent: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimeToLinkView {
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
    pub samples: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct OuView {
    pub ou: String,
    /// The OU's own coverage, its fields beside `ou` in the JSON.
    #[serde(flatten)]
    pub coverage: CoverageView,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnlinkedView {
    pub account_id: String,
    pub name: String,
    pub ou_path: String,
    pub link_state: String,
    pub since: String,
    pub days: i64,
    pub refusal: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AutoLinkView {
    pub invitations_sent: usize,
    pub accepted: usize,
    pub refused: usize,
    pub refusals: Vec<RefusalCount>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RefusalCount {
    pub reason: String,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrendView {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub linked: usize,
    pub pending: usize,
    pub unlinked: usize,
    pub exempt: usize,
    pub percent: Option<f64>,
}

impl From<&Coverage> for CoverageView {
    fn from(c: &Coverage) -> Self {
        Self {
            eligible: c.eligible,
            linked: c.linked,
            pending: c.pending,
            unlinked: c.unlinked,
            percent: c.percent,
        }
    }
}

impl From<&TimeToLink> for TimeToLinkView {
    fn from(t: &TimeToLink) -> Self {
        Self {
            median_hours: t.median_hours,
            p90_hours: t.p90_hours,
            samples: t.samples,
        }
    }
}

impl From<&Unlinked> for UnlinkedView {
    fn from(u: &Unlinked) -> Self {
        Self {
            account_id: u.account_id.clone(),
            name: u.name.clone(),
            ou_path: u.ou_path.clone(),
            link_state: u.link_state.to_string(),
            since: format_secs(&u.since),
            days: u.days,
            refusal: u.refusal.clone(),
        }
    }
}

impl From<&AutoLink> for AutoLinkView {
    fn from(a: &AutoLink) -> Self {
        Self {
            invitations_sent: a.invitations_sent,
            accepted: a.accepted,
            refused: a.refused(),
            refusals: a
                .refusals
                .iter()
                .map(|(reason, count)| RefusalCount {
                    reason: reason.clone(),
                    count: *count,
                })
                .collect(),
        }
    }
}

impl From<&TrendDay> for TrendView {
    fn from(d: &TrendDay) -> Self {
        Self {
            date: d.date.format("%Y-%m-%d").to_string(),
            linked: d.linked,
            pending: d.pending,
            unlinked: d.unlinked,
            exempt: d.exempt,
            percent: d.percent,
        }
    }
}

impl From<&Report> for ReportView {
    fn from(r: &Report) -> Self {
        Self {
            generated_at: format_secs(&r.generated_at),
            organization_id: r.organization_id.clone(),
            window_days: r.window_days,
            coverage: (&r.coverage).into(),
            time_to_link: (&r.time_to_link).into(),
            by_ou: r
                .by_ou
                .iter()
                .map(|o| OuView {
                    ou: o.ou.clone(),
                    coverage: (&o.coverage).into(),
                })
                .collect(),
            oldest_unlinked: r.oldest_unlinked.iter().map(Into::into).collect(),
            auto_link: (&r.auto_link).into(),
            trend: r.trend.iter().map(Into::into).collect(),
        }
    }
}

/// The report as plain text: what `apnwatch report` prints without `--json`.
pub fn report_text(v: &ReportView) -> String {
    let mut out = Vec::new();
    let c = &v.coverage;
    out.push(format!(
        "APN link coverage of {} over the last {} days (generated {})",
        v.organization_id.as_deref().unwrap_or("the organization"),
        v.window_days,
        v.generated_at
    ));
    out.push(format!(
        "coverage: {} ({} of {} eligible linked; {} pending, {} unlinked)",
        percent_text(c.percent),
        c.linked,
        c.eligible,
        c.pending,
        c.unlinked
    ));
    let t = &v.time_to_link;
    out.push(format!(
        "time to link: median {}, p90 {} ({} accounts linked in the window)",
        hours_text(t.median_hours),
        hours_text(t.p90_hours),
        t.samples
    ));
    let a = &v.auto_link;
    out.push(format!(
        "auto-link: {} invitations sent, {} accepted, {} refused",
        a.invitations_sent, a.accepted, a.refused
    ));
    for r in &a.refusals {
        out.push(format!("  {} x {}", r.count, r.reason));
    }
    out.push("by top-level OU (worst first):".into());
    if v.by_ou.is_empty() {
        out.push("  no eligible account".into());
    }
    for o in &v.by_ou {
        out.push(format!(
            "  {:>6}  {}/{} linked  {}",
            percent_text(o.coverage.percent),
            o.coverage.linked,
            o.coverage.eligible,
            o.ou
        ));
    }
    out.push("oldest unlinked:".into());
    if v.oldest_unlinked.is_empty() {
        out.push("  none".into());
    }
    for u in &v.oldest_unlinked {
        let refusal = u
            .refusal
            .as_ref()
            .map(|r| format!(" [{r}]"))
            .unwrap_or_default();
        out.push(format!(
            "  {} {} {} {} days ({}, {}){refusal}",
            u.account_id, u.link_state, u.since, u.days, u.name, u.ou_path
        ));
    }
    out.push(format!("trend: {} days with runs", v.trend.len()));
    if let (Some(first), Some(last)) = (v.trend.first(), v.trend.last()) {
        out.push(format!(
            "  {} {} -> {} {}",
            first.date,
            percent_text(first.percent),
            last.date,
            percent_text(last.percent)
        ));
    }
    out.join("\n")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::model::LinkState;
    use crate::domain::report::OuCoverage;
    use chrono::{DateTime, NaiveDate, Utc};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// A report with a bit of everything, for the format tests.
    pub(crate) fn sample() -> Report {
        let cov = |linked, pending, unlinked| Coverage {
            eligible: linked + pending + unlinked,
            linked,
            pending,
            unlinked,
            percent: crate::domain::report::percent(linked, linked + pending + unlinked),
        };
        Report {
            generated_at: at("2026-12-01T08:00:00Z"),
            organization_id: Some("o-abc123def4".into()),
            window_days: 90,
            coverage: cov(42, 3, 5),
            time_to_link: TimeToLink {
                median_hours: Some(26.5),
                p90_hours: Some(71.0),
                samples: 12,
            },
            by_ou: vec![
                OuCoverage {
                    ou: "Root/Sandbox".into(),
                    coverage: cov(2, 1, 4),
                },
                OuCoverage {
                    ou: "Root/Workloads".into(),
                    coverage: cov(30, 2, 1),
                },
                OuCoverage {
                    ou: "Root/Security & <Audit>".into(),
                    coverage: cov(10, 0, 0),
                },
            ],
            oldest_unlinked: vec![Unlinked {
                account_id: "111122223333".into(),
                name: "sandbox <dev> & test".into(),
                ou_path: "Root/Sandbox".into(),
                link_state: LinkState::Unlinked,
                since: at("2026-10-02T09:30:00Z"),
                days: 59,
                refusal: Some(
                    "INVITE_FAILED: RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException)".into(),
                ),
            }],
            auto_link: AutoLink {
                invitations_sent: 14,
                accepted: 11,
                refusals: vec![(
                    "INVITE_FAILED: RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException)".into(),
                    2,
                )],
            },
            trend: (1..=30)
                .map(|d| TrendDay {
                    date: NaiveDate::from_ymd_opt(2026, 11, d).unwrap(),
                    linked: 20 + (d as usize * 22) / 30,
                    pending: 3,
                    unlinked: 27 - (d as usize * 22) / 30,
                    exempt: 4,
                    percent: crate::domain::report::percent(20 + (d as usize * 22) / 30, 50),
                })
                .collect(),
        }
    }

    /// `apnwatch report --json`: the published field names and shapes, byte for byte.
    #[test]
    fn report_json_is_stable() {
        let mut r = sample();
        r.trend.truncate(2);
        let json = serde_json::to_string_pretty(&ReportView::from(&r)).unwrap() + "\n";
        crate::golden::check("report.json", &json);
    }

    /// The text summary leads with the coverage figure and says n/a rather than divide by 0.
    #[test]
    fn text_says_coverage_first_and_na_when_empty() {
        let text = report_text(&ReportView::from(&sample()));
        assert!(text
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("coverage: 84.0% (42 of 50"));
        let empty = Report::compute(&[], &[], at("2026-12-01T08:00:00Z"), 90);
        let text = report_text(&ReportView::from(&empty));
        assert!(
            text.contains("coverage: n/a (0 of 0 eligible linked"),
            "{text}"
        );
        assert!(text.contains("median n/a"), "{text}");
    }
}
