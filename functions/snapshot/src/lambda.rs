//! The Lambda entry: accept an EventBridge event (the schedule, or any envelope) or `{}` for
//! a manual invoke, run once, return the run's summary. Anything else is refused before a
//! single read or write, so a misrouted event cannot trigger a run.

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tracing::info;

use crate::app::App;
use crate::error::Error;
use crate::run::RunOptions;
use crate::views::SnapshotView;

/// Events and alerted accounts listed in the invoke result; the counts are always complete.
pub const RESULT_LIST_LIMIT: usize = 100;

/// What started the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// An EventBridge event: `detail-type` and `source` say which.
    EventBridge { source: String, detail_type: String },
    /// `{}`: a person or a script invoked the function by hand.
    Manual,
}

/// Checks the payload shape. EventBridge envelopes always carry `source` and `detail-type`.
pub fn trigger(payload: &Value) -> Result<Trigger, Error> {
    let Value::Object(map) = payload else {
        return Err(Error::BadEvent(format!(
            "expected a JSON object, got {}",
            kind(payload)
        )));
    };
    if map.is_empty() {
        return Ok(Trigger::Manual);
    }
    match (map.get("source"), map.get("detail-type")) {
        (Some(Value::String(source)), Some(Value::String(detail_type))) => {
            Ok(Trigger::EventBridge {
                source: source.clone(),
                detail_type: detail_type.clone(),
            })
        }
        _ => {
            let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
            keys.sort_unstable();
            keys.truncate(8);
            Err(Error::BadEvent(format!(
                "an object with keys [{}] but without string \"source\" and \"detail-type\"",
                keys.join(", ")
            )))
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub async fn handler(app: &App, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let trigger = trigger(&event.payload)?;
    info!(request_id = %event.context.request_id, ?trigger, "invoked");
    let report = app.run(RunOptions::default()).await?;
    // stdout, not the tracing subscriber: CloudWatch reads EMF from the raw line.
    println!("{}", crate::metrics::emf(&report));
    Ok(
        serde_json::to_value(SnapshotView::capped(&report, RESULT_LIST_LIMIT))
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The schedule's own event is accepted.
    #[test]
    fn scheduled_event_is_accepted() {
        let ev = json!({"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-11-27T12:00:00Z", "region": "us-east-1", "resources": [], "detail": {}});
        assert_eq!(
            trigger(&ev).unwrap(),
            Trigger::EventBridge {
                source: "aws.events".into(),
                detail_type: "Scheduled Event".into()
            }
        );
    }

    /// `{}` is a manual run.
    #[test]
    fn empty_object_is_manual() {
        assert_eq!(trigger(&json!({})).unwrap(), Trigger::Manual);
    }

    /// Anything else is refused with a message that says what was expected.
    #[test]
    fn other_payloads_are_refused_clearly() {
        for bad in [
            json!(null),
            json!("run"),
            json!([1]),
            json!({"Records": []}),
            json!({"source": 1, "detail-type": "x"}),
        ] {
            let e = trigger(&bad).unwrap_err();
            assert_eq!(e.kind(), "BadEvent");
            assert!(e.to_string().contains("EventBridge event"), "{e}");
        }
    }
}
