//! What `apnwatch doctor` prints and the `{"apnwatch": "doctor"}` invoke returns: the JSON
//! object `{"ok", "checks": [{"id", "status", "found", "what_to_do", "doc"}]}` and the same
//! report as text, one `STATUS  id  found` line per check and a `what to do:` line under
//! each WARN and FAIL. Both are a public contract (README "After you deploy: run the
//! doctor").

use serde::Serialize;

use crate::domain::doctor::{Check, Report, Status};

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct DoctorView {
    /// No check FAILed (the CLI's exit status is 0).
    pub ok: bool,
    pub checks: Vec<CheckView>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct CheckView {
    pub id: String,
    /// `PASS`, `WARN`, `FAIL` or `SKIP`.
    pub status: Status,
    pub found: String,
    /// `null` unless WARN or FAIL.
    pub what_to_do: Option<String>,
    /// `null` unless WARN or FAIL.
    pub doc: Option<String>,
}

impl From<&Check> for CheckView {
    fn from(c: &Check) -> Self {
        Self {
            id: c.id.to_string(),
            status: c.status,
            found: c.found.clone(),
            what_to_do: c.what_to_do.clone(),
            doc: c.doc.clone(),
        }
    }
}

impl From<&Report> for DoctorView {
    fn from(r: &Report) -> Self {
        Self {
            ok: r.ok(),
            checks: r.checks.iter().map(CheckView::from).collect(),
        }
    }
}

/// The terminal text: ids padded to one column so the findings line up.
pub fn doctor_text(report: &Report) -> String {
    let width = report.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
    let mut out = String::new();
    for c in &report.checks {
        out.push_str(&format!(
            "{:<4}  {:<width$}  {}\n",
            c.status.as_str(),
            c.id,
            c.found
        ));
        if matches!(c.status, Status::Warn | Status::Fail) {
            let fix = c.what_to_do.as_deref().unwrap_or("see the finding");
            match &c.doc {
                Some(doc) => out.push_str(&format!("      what to do: {fix} ({doc})\n")),
                None => out.push_str(&format!("      what to do: {fix}\n")),
            }
        }
    }
    let (fails, warns) = report
        .checks
        .iter()
        .fold((0, 0), |(f, w), c| match c.status {
            Status::Fail => (f + 1, w),
            Status::Warn => (f, w + 1),
            _ => (f, w),
        });
    out.push_str(&format!(
        "{}: {fails} failed, {warns} warning(s), {} check(s)\n",
        if report.ok() { "ok" } else { "not ok" },
        report.checks.len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report {
            checks: vec![
                Check::pass("identity", "account 123456789012 (partition aws)"),
                Check::flag(
                    Status::Warn,
                    "subscriptions",
                    "email ops@example.com is PendingConfirmation",
                    "confirm the subscription from the email AWS sent",
                    "https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html",
                ),
                Check::flag(
                    Status::Fail,
                    "table",
                    "TTL is not enabled on expires_at",
                    "run `apnwatch init`",
                    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html",
                ),
                Check::skip("accept-role", "APNWATCH_ACCEPT_ROLE_NAME is not set"),
            ],
        }
    }

    /// The JSON has the documented fields, `null` fix and doc on PASS and SKIP.
    #[test]
    fn doctor_json_is_the_published_shape() {
        let json = serde_json::to_string_pretty(&DoctorView::from(&sample())).unwrap() + "\n";
        crate::golden::check("doctor.json", &json);
    }

    /// The text has one aligned line per check and a `what to do:` line under WARN and FAIL.
    #[test]
    fn doctor_text_is_the_published_shape() {
        crate::golden::check("doctor.txt", &doctor_text(&sample()));
    }
}
