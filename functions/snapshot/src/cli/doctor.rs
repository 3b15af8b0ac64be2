//! `apnwatch doctor`: run the checks, print the report (text or `--json`), and turn a FAIL
//! into the exit status 1 while still printing everything.

use crate::app::App;
use crate::domain::doctor::{Options, Status};
use crate::error::Error;
use crate::views::doctor::{doctor_text, DoctorView};

pub async fn doctor(app: &App, options: Options, json: bool) -> Result<String, Error> {
    let report = app.doctor(options).await;
    let output = if json {
        super::to_json(&DoctorView::from(&report))
    } else {
        doctor_text(&report)
    };
    if report.ok() {
        return Ok(output);
    }
    let mut ids: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.id.to_string())
        .collect();
    ids.dedup();
    Err(Error::Unhealthy { ids, output })
}

/// `--max-run-age`: a whole number with a unit (`90m`, `2h`, `1d`).
pub fn parse_max_run_age(s: &str) -> Result<chrono::Duration, String> {
    match crate::domain::remind::parse_remind_after(s) {
        Ok(Some(d)) => Ok(d),
        _ => Err(format!(
            "{s:?} is not a duration: a whole number with a unit s, m, h or d (e.g. 2h, 90m)"
        )),
    }
}
