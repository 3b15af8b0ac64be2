//! SNS adapter: publishes the messages `alert` built, one `Publish` each, with
//! `MessageStructure=json` so every subscriber (email, Amazon Q Developer, SQS, Lambda)
//! gets its own format, and with the message attributes subscribers filter on (`route`). A
//! failure leaves the alerts queued in the table.

use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;

use crate::alert::AlertMessage;
use crate::aws::{classify, Failure};
use crate::error::Error;
use crate::ports::Notifier;

pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }
}

impl Notifier for SnsNotifier {
    async fn publish(&self, message: &AlertMessage) -> Result<String, Error> {
        let mut publish = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&message.subject)
            .message(&message.body)
            .message_structure("json");
        for (name, data_type, value) in message.attributes.entries() {
            let value = MessageAttributeValue::builder()
                .data_type(data_type)
                .string_value(value)
                .build()
                .map_err(|e| Error::Notify {
                    topic: self.topic_arn.clone(),
                    hint: "the message attribute could not be built: this is a bug in apnwatch, please report it".into(),
                    queued: message.alert_ids.len(),
                    source: Box::new(e),
                })?;
            publish = publish.message_attributes(name, value);
        }
        let out = publish.send().await.map_err(|e| self.error(message, e))?;
        Ok(out.message_id.unwrap_or_default())
    }
}

impl SnsNotifier {
    fn error<E>(&self, message: &AlertMessage, err: SdkError<E>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        Error::Notify {
            topic: self.topic_arn.clone(),
            hint: hint(&classify(&err)),
            queued: message.alert_ids.len(),
            source: Box::new(err),
        }
    }
}

/// What the user should do, by what failed. SNS uses its query-protocol codes
/// (`NotFound`, not `NotFoundException`).
fn hint(failure: &Failure) -> String {
    match failure {
        Failure::Service(code) => match code.as_str() {
            "NotFound" => "the topic does not exist: check APNWATCH_TOPIC_ARN".into(),
            "AuthorizationError" => "grant sns:Publish on the topic".into(),
            "KMSDisabled" | "KMSInvalidState" | "KMSNotFound" => {
                "the topic's KMS key is disabled, pending deletion or gone: enable it or give the topic a usable key".into()
            }
            "KMSThrottling" | "Throttled" | "Throttling" => {
                "SNS or KMS kept throttling after retries: the next run sends the alerts".into()
            }
            c if c.starts_with("KMS") => {
                "grant kms:GenerateDataKey and kms:Decrypt on the topic's key".into()
            }
            "InvalidParameter" | "ParameterValueInvalid" | "ValidationException" => {
                "SNS rejected the message: check that APNWATCH_TOPIC_ARN is a standard (not FIFO) topic".into()
            }
            other => format!("SNS answered {other}: see the cause"),
        },
        Failure::Unreachable => {
            "could not reach the SNS endpoint: check network access (VPC endpoint or NAT)".into()
        }
        Failure::Credentials => {
            "could not get credentials for SNS: check the function's role".into()
        }
        Failure::Other => "the SNS call failed: see the cause".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(c: &str) -> String {
        hint(&Failure::Service(c.into()))
    }

    /// The documented failures each say what to fix.
    #[test]
    fn publish_failures_say_what_to_fix() {
        assert_eq!(
            code("NotFound"),
            "the topic does not exist: check APNWATCH_TOPIC_ARN"
        );
        assert_eq!(code("AuthorizationError"), "grant sns:Publish on the topic");
        for kms in ["KMSAccessDenied", "KMSOptInRequired"] {
            assert_eq!(
                code(kms),
                "grant kms:GenerateDataKey and kms:Decrypt on the topic's key"
            );
        }
        assert!(code("KMSDisabled").contains("disabled"));
        assert!(hint(&Failure::Unreachable).contains("VPC endpoint or NAT"));
    }
}
