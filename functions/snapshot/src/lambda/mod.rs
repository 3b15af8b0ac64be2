//! The Lambda entry: hand the payload to [`App::invoke`] (which accepts the schedule, `{}`,
//! Organizations and Partner Central change events and SQS batches of them, see
//! [`trigger`](crate::domain::trigger)), print the run's metrics, return the result. Anything else is
//! refused as `BadEvent` before a single read or write, so a misrouted event cannot trigger
//! a run. `{"apnwatch": "doctor"}` returns the doctor's report instead (read-only checks
//! with the function's own role, see [`App::doctor`]).
//!
//! [`App::invoke`]: crate::app::App::invoke
//! [`App::doctor`]: crate::app::App::doctor

pub mod metrics;

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tracing::{info, warn};

use crate::app::invoke::InvocationView;
use crate::app::App;
use crate::domain::deadline::Deadline;
use crate::error::Error;
use crate::run::RunOptions;

/// Events and alerted accounts listed in the invoke result; the counts are always complete.
pub const RESULT_LIST_LIMIT: usize = 100;

pub async fn handler(app: &App, event: LambdaEvent<Value>) -> Result<Value, Error> {
    info!(request_id = %event.context.request_id, deadline_ms = event.context.deadline, "invoke received");
    if crate::domain::doctor::requested(&event.payload) {
        let report = app.doctor(crate::domain::doctor::Options::default()).await;
        info!(ok = report.ok(), checks = report.checks.len(), "doctor");
        return Ok(
            serde_json::to_value(crate::views::doctor::DoctorView::from(&report))
                .expect("views are plain data"),
        );
    }
    let deadline = Deadline::from_epoch_millis(event.context.deadline);
    if deadline.is_none() {
        warn!(
            deadline_ms = event.context.deadline,
            "the invoke's deadline is not in the future (an emulator?): running without the deadline guard"
        );
    }
    let options = RunOptions {
        deadline,
        ..RunOptions::default()
    };
    let outcome = app.invoke(&event.payload, options).await?;
    if let Some(report) = &outcome.report {
        // stdout, not the tracing subscriber: CloudWatch reads EMF from the raw line.
        println!("{}", crate::lambda::metrics::emf(report));
    }
    Ok(
        serde_json::to_value(InvocationView::capped(&outcome, RESULT_LIST_LIMIT))
            .expect("views are plain data"),
    )
}

/// [`handler`] as the runtime calls it: a failure becomes [`Failed`].
pub async fn invoke(app: &App, event: LambdaEvent<Value>) -> Result<Value, Failed> {
    handler(app, event).await.map_err(Failed)
}

/// An error as the Lambda reports it. The runtime logs a failed invoke with `{:?}` and a
/// failed start with the error's Debug too: both print the one-line reason with its causes
/// (`StoreError: DynamoDB table ...`), not the SDK's dump of the raw HTTP response, and the
/// invoke's `Diagnostic` carries the variant as `errorType`.
pub struct Failed(pub Error);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.one_line())
    }
}

impl std::fmt::Debug for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.kind(), self.0.one_line())
    }
}

impl std::error::Error for Failed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl From<Failed> for lambda_runtime::Diagnostic {
    fn from(e: Failed) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.0.kind().to_string(),
            error_message: e.0.one_line(),
        }
    }
}
