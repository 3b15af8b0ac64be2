//! The Lambda entry: hand the payload to [`App::invoke`] (which accepts the schedule, `{}`,
//! Organizations and Partner Central change events and SQS batches of them, see
//! [`trigger`](crate::trigger)), print the run's metrics, return the result. Anything else is
//! refused as `BadEvent` before a single read or write, so a misrouted event cannot trigger
//! a run.
//!
//! [`App::invoke`]: crate::app::App::invoke

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tracing::info;

use crate::app::App;
use crate::error::Error;
use crate::invoke::InvocationView;
use crate::run::RunOptions;

/// Events and alerted accounts listed in the invoke result; the counts are always complete.
pub const RESULT_LIST_LIMIT: usize = 100;

pub async fn handler(app: &App, event: LambdaEvent<Value>) -> Result<Value, Error> {
    info!(request_id = %event.context.request_id, "invoke received");
    let outcome = app.invoke(&event.payload, RunOptions::default()).await?;
    if let Some(report) = &outcome.report {
        // stdout, not the tracing subscriber: CloudWatch reads EMF from the raw line.
        println!("{}", crate::metrics::emf(report));
    }
    Ok(
        serde_json::to_value(InvocationView::capped(&outcome, RESULT_LIST_LIMIT))
            .expect("views are plain data"),
    )
}
