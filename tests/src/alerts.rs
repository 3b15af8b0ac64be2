//! The alert topic with an SQS queue subscribed to it, standing in for every subscriber
//! (email, Slack), more queues subscribed with a filter policy ([`Alerts::subscribe_queue`],
//! a team's own subscription), and what such a subscriber received ([`Received`]).

use aws_config::SdkConfig;
use serde_json::Value;

use crate::moto::{MOTO_ACCOUNT, REGION};

pub const TOPIC: &str = "apn-link-watch";
const QUEUE: &str = "apn-link-watch-alerts";

/// The alert topic and a queue subscribed to it, standing in for every subscriber.
pub struct Alerts {
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
    pub topic_arn: String,
    queue_url: String,
}

/// Another queue subscribed to the topic, e.g. with a team's filter policy.
pub struct Queue {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl Queue {
    /// Every message delivered to this queue since the last call, removed from it.
    pub async fn received(&self) -> Vec<Received> {
        drain(&self.sqs, &self.url).await
    }
}

/// One message as an SQS subscriber got it.
#[derive(Debug, Clone)]
pub struct Received {
    /// SNS's message id, as `Publish` returned it.
    pub message_id: String,
    pub subject: String,
    /// The `sqs` key of the published document: schema `apn-link-watch/alert/v1`.
    pub message: Value,
    /// The SNS message attributes as the envelope carries them: name -> (Type, Value).
    pub attributes: std::collections::BTreeMap<String, (String, String)>,
}

impl Received {
    pub fn alerts(&self) -> &[Value] {
        self.message["alerts"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Account ids in the message, in its order.
    pub fn account_ids(&self) -> Vec<String> {
        self.alerts()
            .iter()
            .map(|a| a["account_id"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// A `String` attribute's value, or a `String.Array` attribute's JSON text.
    pub fn attribute(&self, name: &str) -> &str {
        self.attributes
            .get(name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no message attribute {name} in {:?}", self.attributes))
    }

    /// Asserts that the subject contains `text`, showing the subject when it does not.
    pub fn assert_subject_contains(&self, text: &str) {
        assert!(
            self.subject.contains(text),
            "{text:?} not in the subject {:?}",
            self.subject
        );
    }

    /// The alert entry for one account.
    pub fn alert(&self, account_id: &str) -> &Value {
        self.alerts()
            .iter()
            .find(|a| a["account_id"] == account_id)
            .unwrap_or_else(|| panic!("no alert for {account_id} in {}", self.message))
    }
}

impl Alerts {
    pub async fn create(cfg: &SdkConfig) -> Alerts {
        let sns = aws_sdk_sns::Client::new(cfg);
        let sqs = aws_sdk_sqs::Client::new(cfg);
        let topic_arn = sns
            .create_topic()
            .name(TOPIC)
            .send()
            .await
            .expect("CreateTopic")
            .topic_arn
            .expect("topic ARN");
        assert_eq!(
            topic_arn,
            crate::moto::topic_arn(TOPIC),
            "moto's topic ARN format"
        );
        let mut alerts = Alerts {
            sqs,
            sns,
            topic_arn,
            queue_url: String::new(),
        };
        alerts.queue_url = alerts.subscribe_queue(QUEUE, None).await.url;
        alerts
    }

    /// A new queue named `name` subscribed to the topic, with `filter_policy` (JSON, on the
    /// message attributes, SNS's default scope) when given.
    pub async fn subscribe_queue(&self, name: &str, filter_policy: Option<&str>) -> Queue {
        let url = self
            .sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .expect("CreateQueue")
            .queue_url
            .expect("queue URL");
        let mut subscribe = self
            .sns
            .subscribe()
            .topic_arn(&self.topic_arn)
            .protocol("sqs")
            .endpoint(format!("arn:aws:sqs:{REGION}:{MOTO_ACCOUNT}:{name}"));
        if let Some(policy) = filter_policy {
            subscribe = subscribe.attributes("FilterPolicy", policy);
        }
        subscribe.send().await.expect("Subscribe");
        Queue {
            sqs: self.sqs.clone(),
            url,
        }
    }

    /// Publishes what a CloudWatch alarm action sends: a JSON message and a subject, and no
    /// message attributes at all (so no `route`).
    pub async fn publish_alarm(&self, alarm_name: &str) {
        let message = serde_json::json!({
            "AlarmName": alarm_name,
            "NewStateValue": "ALARM",
            "NewStateReason": "Threshold Crossed: 1 datapoint [1.0] was greater than the threshold (0.0).",
            "StateChangeTime": "2026-11-27T12:00:00.000+0000",
            "Region": "US East (N. Virginia)",
        });
        self.sns
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(format!("ALARM: \"{alarm_name}\" in US East (N. Virginia)"))
            .message(message.to_string())
            .send()
            .await
            .expect("Publish an alarm notification");
    }

    /// Every message delivered since the last call, removed from the queue. moto delivers
    /// to SQS inside `Publish`, so whatever a finished run published is already there.
    pub async fn received(&self) -> Vec<Received> {
        drain(&self.sqs, &self.queue_url).await
    }
}

/// Every message in the queue at `url`, removed from it.
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Received> {
    let mut out = Vec::new();
    loop {
        let batch = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .expect("ReceiveMessage");
        let messages = batch.messages.unwrap_or_default();
        if messages.is_empty() {
            return out;
        }
        for m in messages {
            // Without raw delivery the body is SNS's envelope; `Message` is our `sqs` key.
            let envelope: Value =
                serde_json::from_str(m.body().unwrap_or_default()).expect("SNS envelope");
            let message: Value =
                serde_json::from_str(envelope["Message"].as_str().expect("envelope Message"))
                    .expect("the sqs key is JSON");
            let attributes = envelope["MessageAttributes"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, a)| {
                    let text = |k: &str| a[k].as_str().unwrap_or_default().to_string();
                    (name.clone(), (text("Type"), text("Value")))
                })
                .collect();
            out.push(Received {
                message_id: envelope["MessageId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                subject: envelope["Subject"].as_str().unwrap_or_default().to_string(),
                message,
                attributes,
            });
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().expect("receipt handle"))
                .send()
                .await
                .expect("DeleteMessage");
        }
    }
}
