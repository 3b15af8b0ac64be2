//! The doctor's checks of the stack's own resources: the table (`table`), the topic
//! (`topic`) and who receives its alerts (`subscriptions`).

use super::{code, describe};
use crate::domain::doctor::{Check, Status};

const DOC_TTL: &str =
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/time-to-live-ttl-how-to.html";
const DOC_TABLE: &str =
    "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DescribeTable.html";
const DOC_TOPIC: &str = "https://docs.aws.amazon.com/sns/latest/dg/sns-create-topic.html";
const DOC_SUBSCRIBE: &str =
    "https://docs.aws.amazon.com/sns/latest/dg/sns-create-subscribe-endpoint-to-topic.html";
const DOC_CONFIRM: &str = "https://docs.aws.amazon.com/sns/latest/api/API_ConfirmSubscription.html";
const DOC_EMAIL: &str = "https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html";

/// `table`: keys, the `by-link-state` index ACTIVE, TTL enabled on `expires_at`.
pub async fn table(client: &aws_sdk_dynamodb::Client, name: &str) -> Check {
    use crate::aws::dynamodb::schema::ttl_on;
    use aws_sdk_dynamodb::types::IndexStatus;
    const ID: &str = "table";
    let def = crate::aws::dynamodb::table_definition();
    let fix = format!(
        "deploy the stack (it creates the table), or run `apnwatch init` with APNWATCH_TABLE={name} for a table of your own"
    );
    let described = match client.describe_table().table_name(name).send().await {
        Ok(out) => out
            .table
            .unwrap_or_else(|| aws_sdk_dynamodb::types::TableDescription::builder().build()),
        Err(e) => {
            let found = match code(&e).as_deref() {
                Some("ResourceNotFoundException") => format!("table {name} does not exist"),
                _ => format!("DescribeTable {name} failed: {}", describe(&e)),
            };
            return Check::flag(Status::Fail, ID, found, fix, DOC_TABLE);
        }
    };
    let mut missing = Vec::new();
    if let Some(m) = crate::aws::dynamodb::schema::schema_mismatch(&described, &def) {
        missing.push(m);
    }
    for index in &def.indexes {
        let status = described
            .global_secondary_indexes()
            .iter()
            .find(|i| i.index_name() == Some(index.name))
            .and_then(|i| i.index_status());
        if let Some(s) = status.filter(|s| **s != IndexStatus::Active) {
            missing.push(format!("its index {} is {}", index.name, s.as_str()));
        }
    }
    match client.describe_time_to_live().table_name(name).send().await {
        Ok(out) => {
            let ttl = out.time_to_live_description();
            let status = ttl.and_then(|t| t.time_to_live_status());
            let attribute = ttl.and_then(|t| t.attribute_name());
            if !ttl_on(ttl) {
                missing.push(format!(
                    "TTL is not enabled on {} ({}{})",
                    def.ttl_attribute,
                    status.map_or("no status", |s| s.as_str()),
                    attribute.map(|a| format!(" on {a}")).unwrap_or_default()
                ));
            }
        }
        Err(e) => missing.push(format!("DescribeTimeToLive failed: {}", describe(&e))),
    }
    if missing.is_empty() {
        Check::pass(
            ID,
            format!(
                "table {name}: keys {} + {}, index {} ACTIVE, TTL on {}",
                def.hash_key, def.range_key, def.indexes[0].name, def.ttl_attribute
            ),
        )
    } else {
        let ttl_only = missing.iter().all(|m| m.starts_with("TTL"));
        let (fix, doc) = if ttl_only {
            (
                format!(
                    "run `apnwatch init` with APNWATCH_TABLE={name} (it turns TTL on), or `aws dynamodb update-time-to-live --table-name {name} --time-to-live-specification Enabled=true,AttributeName={}`",
                    def.ttl_attribute
                ),
                DOC_TTL,
            )
        } else {
            (fix, DOC_TABLE)
        };
        Check::flag(
            Status::Fail,
            ID,
            format!("table {name}: {}", missing.join("; ")),
            fix,
            doc,
        )
    }
}

/// `topic`: the topic exists and is a standard topic. Returns whether it can be listed.
pub async fn topic(client: &aws_sdk_sns::Client, arn: &str) -> (Check, bool) {
    const ID: &str = "topic";
    match client.get_topic_attributes().topic_arn(arn).send().await {
        Ok(out) => {
            let attrs = out.attributes.unwrap_or_default();
            if attrs.get("FifoTopic").is_some_and(|v| v == "true") {
                return (
                    Check::flag(Status::Fail,
                        ID,
                        format!("topic {arn} is a FIFO topic"),
                        "set APNWATCH_TOPIC_ARN to a standard topic (the stack's AlertTopic): alerts are published without a message group",
                        DOC_TOPIC,
                    ),
                    true,
                );
            }
            (
                Check::pass(ID, format!("topic {arn} exists (standard)")),
                true,
            )
        }
        Err(e) => (
            Check::flag(Status::Fail,
                ID,
                format!("GetTopicAttributes {arn} failed: {}", describe(&e)),
                "set APNWATCH_TOPIC_ARN to the stack output AlertTopicArn, and grant sns:GetTopicAttributes on it (the stack does)",
                DOC_TOPIC,
            ),
            false,
        ),
    }
}

/// `subscriptions`: FAIL when none is confirmed, one WARN per `PendingConfirmation`.
pub async fn subscriptions(client: &aws_sdk_sns::Client, arn: &str) -> Vec<Check> {
    const ID: &str = "subscriptions";
    const PENDING: &str = "PendingConfirmation";
    let listed = crate::aws::all_pages(|token| {
        let request = client.list_subscriptions_by_topic().topic_arn(arn);
        crate::aws::next_page!(request, token, subscriptions)
    })
    .await;
    let subs = match listed {
        Ok(subs) => subs,
        Err(crate::aws::PageError::Call(e)) => {
            return vec![Check::flag(
                Status::Fail,
                ID,
                format!("ListSubscriptionsByTopic failed: {}", describe(&e)),
                "grant sns:ListSubscriptionsByTopic on the topic (the stack does)",
                DOC_SUBSCRIBE,
            )]
        }
        Err(crate::aws::PageError::Repeated(r)) => {
            return vec![Check::flag(
                Status::Fail,
                ID,
                r.to_string(),
                "run the doctor again",
                DOC_SUBSCRIBE,
            )]
        }
    };
    let endpoint = |s: &aws_sdk_sns::types::Subscription| {
        format!(
            "{} {}",
            s.protocol().unwrap_or("?"),
            s.endpoint().unwrap_or("?")
        )
    };
    // A confirmed subscription is listed with its ARN; an unconfirmed one with the word
    // `PendingConfirmation` (Subscribe's documentation spells it "pending confirmation"), a
    // pending one that was deleted with `Deleted`, which counts as neither.
    // <https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html>
    let is_pending = |s: &&aws_sdk_sns::types::Subscription| {
        s.subscription_arn()
            .is_some_and(|a| a.replace(' ', "").eq_ignore_ascii_case(PENDING))
    };
    let pending: Vec<_> = subs.iter().filter(is_pending).collect();
    let confirmed: Vec<_> = subs
        .iter()
        .filter(|s| s.subscription_arn().is_some_and(|a| a.starts_with("arn:")))
        .collect();
    let mut checks = vec![if confirmed.is_empty() {
        Check::flag(Status::Fail,
            ID,
            format!(
                "no confirmed subscription ({} pending): alerts reach nobody",
                pending.len()
            ),
            "subscribe an endpoint (the stack's AlertEmail, a Slack or Teams channel, or `aws sns subscribe`) and confirm it",
            DOC_SUBSCRIBE,
        )
    } else {
        Check::pass(
            ID,
            format!(
                "{} confirmed: {}",
                confirmed.len(),
                confirmed
                    .iter()
                    .map(|s| endpoint(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    }];
    for s in pending {
        let found = format!("{} is {PENDING}: it receives nothing yet", endpoint(s));
        checks.push(if s.protocol().is_some_and(|p| p.starts_with("email")) {
            Check::flag(Status::Warn,
                ID,
                found,
                "open the \"AWS Notification - Subscription Confirmation\" email and choose Confirm subscription; if the link expired, subscribe the address again",
                DOC_EMAIL,
            )
        } else {
            Check::flag(Status::Warn,
                ID,
                found,
                "confirm it with the token the endpoint received: `aws sns confirm-subscription --topic-arn TOPIC --token TOKEN`",
                DOC_CONFIRM,
            )
        });
    }
    checks
}
