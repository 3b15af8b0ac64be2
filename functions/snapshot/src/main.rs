//! The Lambda function: configuration and clients once per cold start, then one run per
//! invoke. All logic lives in the library.

// The layout of `main`'s future nests the SDK's configuration loading and the runtime's
// service stack deeply enough to pass rustc's default limit (128).
#![recursion_limit = "256"]

use apnwatch::app::App;
use apnwatch::lambda::Failed;
use lambda_runtime::{service_fn, tracing, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // JSON lines when the function's LogFormat is JSON (AWS_LAMBDA_LOG_FORMAT).
    tracing::init_default_subscriber();
    let app = App::from_env()
        .await
        .map_err(Failed)
        .inspect_err(|e| tracing::error!(error = %e, "cannot start"))?;
    lambda_runtime::run(service_fn(|event| apnwatch::lambda::invoke(&app, event))).await
}
