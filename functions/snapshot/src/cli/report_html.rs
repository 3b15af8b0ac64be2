//! `apnwatch report --html FILE`: the report as one self-contained page. Inline CSS and SVG
//! only: no script, no font, no image or style sheet fetched from anywhere, so the file opens
//! from disk, from a mail attachment or behind a proxy the same. Every chart has a `<title>`,
//! a `<desc>` and its numbers as a table (text alternatives); every colour also has a pattern
//! or a label, so the page reads in grey print and for colour-blind readers. The layout is one
//! column whose SVGs scale with the window (`viewBox`), down to a phone's width.

use std::fmt::Write;

use crate::domain::report::{hours_text, percent_text};
use crate::views::report::{CoverageView, ReportView};

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r##"
:root { --linked: #1b7f3b; --pending: #b26a00; --unlinked: #b3261e; --ink: #1d1d1f; --muted: #5f6368; --rule: #d0d4d9; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); margin: 0 auto; padding: 1rem; max-width: 60rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 0 0 .5rem; }
p.meta { color: var(--muted); margin: 0 0 1rem; }
section { border-top: 1px solid var(--rule); padding: 1rem 0; break-inside: avoid; page-break-inside: avoid; }
.headline { display: flex; flex-wrap: wrap; gap: 1rem 2rem; align-items: baseline; }
.big { font-size: 3rem; font-weight: 700; line-height: 1; }
.kpi { color: var(--muted); }
.kpi strong { color: var(--ink); font-size: 1.2rem; }
svg { width: 100%; height: auto; display: block; }
svg text { font-family: inherit; fill: var(--ink); }
.legend { list-style: none; padding: 0; margin: .5rem 0 0; display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; }
.legend svg { width: 1.1em; height: 1.1em; display: inline-block; vertical-align: -.15em; margin-right: .3em; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--rule); vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
details { margin-top: .5rem; }
summary { cursor: pointer; color: var(--muted); }
.empty { color: var(--muted); font-style: italic; }
@media (max-width: 40rem) {
  body { font-size: 14px; padding: .5rem; }
  .big { font-size: 2.25rem; }
  table.wide thead { display: none; }
  table.wide tr { display: block; border-bottom: 1px solid var(--rule); padding: .25rem 0; }
  table.wide td { display: block; border: 0; padding: .1rem 0; }
  table.wide td, table.wide td.num { text-align: left; }
  table.wide td::before { content: attr(data-label) ": "; color: var(--muted); }
  table.wide td:empty { display: none; }
}
@media print {
  body { max-width: none; font-size: 11pt; }
  details > summary { display: none; }
  details { display: block; }
  a { color: inherit; text-decoration: none; }
}
"##;

/// The fill patterns: linked solid, pending hatched, unlinked dotted (colour plus texture).
fn patterns(prefix: &str) -> String {
    format!(
        r##"<defs>
<pattern id="{prefix}-pending" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f6e3c4"/><rect width="3" height="6" fill="var(--pending)"/></pattern>
<pattern id="{prefix}-unlinked" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#f5d0cd"/><circle cx="3" cy="3" r="1.6" fill="var(--unlinked)"/></pattern>
</defs>"##
    )
}

fn fill(prefix: &str, kind: &str) -> String {
    match kind {
        "linked" => "var(--linked)".to_string(),
        other => format!("url(#{prefix}-{other})"),
    }
}

fn legend(prefix: &str, items: &[(&str, &str, usize)]) -> String {
    let mut out = String::from(r##"<ul class="legend">"##);
    for (kind, label, n) in items {
        let _ = write!(
            out,
            r##"<li><svg viewBox="0 0 10 10" aria-hidden="true"><rect width="10" height="10" fill="{}" stroke="#555" stroke-width=".5"/></svg>{} <strong>{n}</strong></li>"##,
            fill(prefix, kind),
            esc(label)
        );
    }
    out.push_str("</ul>");
    out
}

/// The linked, pending and unlinked segments of one bar, `width` wide for the eligible
/// accounts, from `x` at `y` (written as given: the coverage bar has `y="0"`, the OU bars one
/// decimal). `title` says what a segment counts, from its kind and number.
fn stacked_bar(
    prefix: &str,
    c: &CoverageView,
    (mut x, y): (f64, &str),
    (width, height): (f64, u32),
    title: impl Fn(&str, usize) -> String,
) -> String {
    let total = c.eligible.max(1) as f64;
    let mut out = String::new();
    for (kind, n) in [
        ("linked", c.linked),
        ("pending", c.pending),
        ("unlinked", c.unlinked),
    ] {
        let w = width * n as f64 / total;
        if n > 0 {
            let _ = write!(
                out,
                r##"<rect x="{x:.1}" y="{y}" width="{w:.1}" height="{height}" fill="{}"><title>{}</title></rect>"##,
                fill(prefix, kind),
                title(kind, n)
            );
        }
        x += w;
    }
    out
}

fn coverage_section(v: &ReportView) -> String {
    let c = &v.coverage;
    let t = &v.time_to_link;
    let mut segments = stacked_bar("cov", c, (0.0, "0"), (600.0, 36), |kind, n| {
        format!("{kind}: {n}")
    });
    if c.eligible == 0 {
        segments.push_str(r##"<rect x="0" y="0" width="600" height="36" fill="#eee"/><text x="300" y="23" text-anchor="middle">no eligible account</text>"##);
    }
    let desc = format!(
        "{} of {} eligible accounts linked ({}), {} pending, {} unlinked.",
        c.linked,
        c.eligible,
        percent_text(c.percent),
        c.pending,
        c.unlinked
    );
    format!(
        r##"<section id="coverage"><h2>Coverage</h2>
<div class="headline"><div><div class="big">{percent}</div><div class="kpi">of {eligible} eligible accounts linked</div></div>
<div class="kpi">Time to link: median <strong>{median}</strong>, 90th percentile <strong>{p90}</strong> ({samples} accounts linked in the window)</div></div>
<svg id="coverage-chart" role="img" aria-labelledby="coverage-title coverage-desc" viewBox="0 0 600 36" preserveAspectRatio="none" style="margin-top:.75rem;max-height:3rem">
<title id="coverage-title">Eligible accounts by link state</title><desc id="coverage-desc">{desc}</desc>
{patterns}{segments}<rect x="0" y="0" width="600" height="36" fill="none" stroke="#555"/></svg>
{legend}</section>"##,
        percent = esc(&percent_text(c.percent)),
        eligible = c.eligible,
        median = esc(&hours_text(t.median_hours)),
        p90 = esc(&hours_text(t.p90_hours)),
        samples = t.samples,
        desc = esc(&desc),
        patterns = patterns("cov"),
        legend = legend(
            "cov",
            &[
                ("linked", "Linked (solid)", c.linked),
                ("pending", "Pending: invited (hatched)", c.pending),
                ("unlinked", "Unlinked (dotted)", c.unlinked),
            ]
        ),
    )
}

fn trend_section(v: &ReportView) -> String {
    const W: f64 = 640.0;
    const H: f64 = 240.0;
    const L: f64 = 44.0;
    const R: f64 = 12.0;
    const T: f64 = 12.0;
    const B: f64 = 30.0;
    let mut svg = String::new();
    for p in [0, 25, 50, 75, 100] {
        let y = T + (H - T - B) * (1.0 - f64::from(p) / 100.0);
        let _ = write!(
            svg,
            r##"<line x1="{L}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#d0d4d9"/><text x="{}" y="{:.1}" text-anchor="end" font-size="11">{p}%</text>"##,
            W - R,
            L - 6.0,
            y + 4.0
        );
    }
    let n = v.trend.len();
    let xs = |i: usize| {
        if n <= 1 {
            L + (W - L - R) / 2.0
        } else {
            L + (W - L - R) * i as f64 / (n - 1) as f64
        }
    };
    let ys = |p: f64| T + (H - T - B) * (1.0 - p / 100.0);
    let points: Vec<String> = v
        .trend
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.percent.map(|p| format!("{:.1},{:.1}", xs(i), ys(p))))
        .collect();
    if points.is_empty() {
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="middle">no run recorded in the window</text>"##,
            W / 2.0,
            H / 2.0
        );
    } else {
        let _ = write!(
            svg,
            r##"<polyline points="{}" fill="none" stroke="var(--linked)" stroke-width="2.5"/>"##,
            points.join(" ")
        );
        for (i, d) in v.trend.iter().enumerate() {
            if let Some(p) = d.percent {
                let _ = write!(
                    svg,
                    r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="var(--linked)"><title>{}: {}</title></circle>"##,
                    xs(i),
                    ys(p),
                    d.date,
                    percent_text(Some(p))
                );
            }
        }
        let (first, last) = (&v.trend[0], &v.trend[n - 1]);
        let _ = write!(
            svg,
            r##"<text x="{L}" y="{}" font-size="11">{}</text><text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>"##,
            H - 8.0,
            first.date,
            W - R,
            H - 8.0,
            last.date
        );
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end" font-weight="700">{}</text>"##,
            xs(n - 1),
            ys(last.percent.unwrap_or(0.0)) - 8.0,
            percent_text(last.percent)
        );
    }
    let desc = match (v.trend.first(), v.trend.last()) {
        (Some(f), Some(l)) => format!(
            "Linked share of linked, pending and unlinked accounts at each day's last run: {} on {}, {} on {} ({} days with runs).",
            percent_text(f.percent),
            f.date,
            percent_text(l.percent),
            l.date,
            n
        ),
        _ => "No run was recorded in the window.".to_string(),
    };
    let mut rows = String::new();
    for d in &v.trend {
        let _ = write!(
            rows,
            r##"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"##,
            d.date,
            percent_text(d.percent),
            d.linked,
            d.pending,
            d.unlinked,
            d.exempt
        );
    }
    format!(
        r##"<section id="trend"><h2>Trend</h2>
<svg id="trend-chart" role="img" aria-labelledby="trend-title trend-desc" viewBox="0 0 {W} {H}">
<title id="trend-title">Coverage per day, last {days} days</title><desc id="trend-desc">{desc}</desc>
{svg}</svg>
<details><summary>Trend as a table</summary><table id="trend-table"><thead><tr><th>Day</th><th class="num">Coverage</th><th class="num">Linked</th><th class="num">Pending</th><th class="num">Unlinked</th><th class="num">Exempt</th></tr></thead><tbody>{rows}</tbody></table></details></section>"##,
        days = v.window_days,
        desc = esc(&desc),
    )
}

fn ou_section(v: &ReportView) -> String {
    const ROW: f64 = 34.0;
    const LABEL: f64 = 200.0;
    const BAR: f64 = 300.0;
    let height = (v.by_ou.len().max(1) as f64) * ROW + 8.0;
    let mut svg = patterns("ou");
    if v.by_ou.is_empty() {
        svg.push_str(r##"<text x="10" y="24">no eligible account</text>"##);
    }
    for (i, o) in v.by_ou.iter().enumerate() {
        let y = 4.0 + i as f64 * ROW;
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="13">{}</text>"##,
            LABEL - 8.0,
            y + 19.0,
            esc(&o.ou)
        );
        let bar = stacked_bar(
            "ou",
            &o.coverage,
            (LABEL, &format!("{y:.1}")),
            (BAR, 26),
            |kind, n| format!("{}: {kind} {n}", esc(&o.ou)),
        );
        svg.push_str(&bar);
        let _ = write!(
            svg,
            r##"<rect x="{LABEL}" y="{y:.1}" width="{BAR}" height="26" fill="none" stroke="#555"/><text x="{:.1}" y="{:.1}" font-size="13">{} ({}/{})</text>"##,
            LABEL + BAR + 8.0,
            y + 19.0,
            percent_text(o.coverage.percent),
            o.coverage.linked,
            o.coverage.eligible
        );
    }
    let worst = v
        .by_ou
        .first()
        .map(|o| format!(" Lowest: {} at {}.", o.ou, percent_text(o.coverage.percent)))
        .unwrap_or_default();
    let desc = format!(
        "Linked, pending and unlinked eligible accounts per top-level OU, lowest coverage first.{worst}"
    );
    let mut rows = String::new();
    for o in &v.by_ou {
        let _ = write!(
            rows,
            r##"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"##,
            esc(&o.ou),
            percent_text(o.coverage.percent),
            o.coverage.linked,
            o.coverage.pending,
            o.coverage.unlinked,
            o.coverage.eligible
        );
    }
    format!(
        r##"<section id="by-ou"><h2>Coverage by top-level OU (worst first)</h2>
<svg id="ou-chart" role="img" aria-labelledby="ou-title ou-desc" viewBox="0 0 640 {height:.0}">
<title id="ou-title">Coverage by top-level OU</title><desc id="ou-desc">{desc}</desc>
{svg}</svg>
{legend}
<details><summary>OUs as a table</summary><table id="ou-table"><thead><tr><th>OU</th><th class="num">Coverage</th><th class="num">Linked</th><th class="num">Pending</th><th class="num">Unlinked</th><th class="num">Eligible</th></tr></thead><tbody>{rows}</tbody></table></details></section>"##,
        desc = esc(&desc),
        legend = legend(
            "ou",
            &[
                ("linked", "Linked", v.coverage.linked),
                ("pending", "Pending", v.coverage.pending),
                ("unlinked", "Unlinked", v.coverage.unlinked),
            ]
        ),
    )
}

fn auto_link_section(v: &ReportView) -> String {
    let a = &v.auto_link;
    let steps = [
        ("Invitations sent", a.invitations_sent, "var(--pending)"),
        ("Accepted", a.accepted, "var(--linked)"),
        ("Refused", a.refused, "var(--unlinked)"),
    ];
    let max = steps.iter().map(|s| s.1).max().unwrap_or(0).max(1) as f64;
    let mut svg = String::new();
    for (i, (label, n, colour)) in steps.iter().enumerate() {
        let y = 4.0 + i as f64 * 38.0;
        let w = (360.0 * *n as f64 / max).max(2.0);
        let x = 180.0 + (360.0 - w) / 2.0;
        let _ = write!(
            svg,
            r##"<text x="172" y="{:.1}" text-anchor="end" font-size="13">{label}</text><rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="30" fill="{colour}"/><text x="360" y="{:.1}" text-anchor="middle" font-size="14" font-weight="700" style="fill:#fff;paint-order:stroke" stroke="#000" stroke-width="2.5">{n}</text>"##,
            y + 20.0,
            y + 20.0,
        );
    }
    let desc = format!(
        "In the last {} days auto-link sent {} invitations; {} were accepted and {} refused.",
        v.window_days, a.invitations_sent, a.accepted, a.refused
    );
    let refusals = if a.refusals.is_empty() {
        r##"<p class="empty">No refusal in the window.</p>"##.to_string()
    } else {
        let mut rows = String::new();
        for r in &a.refusals {
            let _ = write!(
                rows,
                r##"<tr><td>{}</td><td class="num">{}</td></tr>"##,
                esc(&r.reason),
                r.count
            );
        }
        format!(
            r##"<table id="refusals-table"><thead><tr><th>Refusal reason</th><th class="num">Count</th></tr></thead><tbody>{rows}</tbody></table>"##
        )
    };
    format!(
        r##"<section id="auto-link"><h2>Auto-link</h2>
<svg id="auto-link-chart" role="img" aria-labelledby="funnel-title funnel-desc" viewBox="0 0 640 122">
<title id="funnel-title">Auto-link funnel, last {days} days</title><desc id="funnel-desc">{desc}</desc>
{svg}</svg>{refusals}</section>"##,
        days = v.window_days,
        desc = esc(&desc),
    )
}

fn oldest_section(v: &ReportView) -> String {
    if v.oldest_unlinked.is_empty() {
        return r##"<section id="oldest"><h2>Oldest unlinked accounts</h2><p class="empty">No eligible account is unlinked or pending.</p></section>"##.to_string();
    }
    let mut rows = String::new();
    for u in &v.oldest_unlinked {
        let _ = write!(
            rows,
            r##"<tr><td data-label="Account">{}</td><td data-label="Name">{}</td><td data-label="OU">{}</td><td data-label="State">{}</td><td data-label="Since">{}</td><td class="num" data-label="Days">{}</td><td data-label="Last refusal">{}</td></tr>"##,
            esc(&u.account_id),
            esc(&u.name),
            esc(&u.ou_path),
            esc(&u.link_state),
            esc(u.since.get(..10).unwrap_or(&u.since)),
            u.days,
            esc(u.refusal.as_deref().unwrap_or("")),
        );
    }
    format!(
        r##"<section id="oldest"><h2>Oldest unlinked accounts</h2>
<table id="oldest-table" class="wide"><caption class="kpi" style="text-align:left">The {n} UNLINKED or PENDING eligible accounts longest in that state</caption><thead><tr><th>Account</th><th>Name</th><th>OU</th><th>State</th><th>Since</th><th class="num">Days</th><th>Last refusal</th></tr></thead><tbody>{rows}</tbody></table></section>"##,
        n = v.oldest_unlinked.len()
    )
}

/// The whole page.
pub fn report_html(v: &ReportView) -> String {
    let org = v.organization_id.as_deref().unwrap_or("the organization");
    format!(
        r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>APN link coverage: {org}</title><style>{CSS}</style></head>
<body><main>
<h1>APN link coverage</h1>
<p class="meta">{org}, last {days} days, generated {generated} by apnwatch report</p>
{coverage}
{trend}
{ou}
{auto_link}
{oldest}
</main></body></html>
"##,
        org = esc(org),
        days = v.window_days,
        generated = esc(&v.generated_at),
        coverage = coverage_section(v),
        trend = trend_section(v),
        ou = ou_section(v),
        auto_link = auto_link_section(v),
        oldest = oldest_section(v),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text from the table is escaped, never markup.
    #[test]
    fn names_are_escaped() {
        let html = report_html(&ReportView::from(&crate::views::report::tests::sample()));
        assert!(html.contains("sandbox &lt;dev&gt; &amp; test"));
        assert!(!html.contains("<dev>"));
    }
}
