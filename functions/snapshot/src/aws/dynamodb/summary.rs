//! The periodic summaries in the table: the period marker (pk=`SUMMARY`,
//! sk=`<daily|weekly>#<period key>`) and the queued summaries beside the alerts in the
//! outbox (pk=`OUTBOX`, sk=`SUMMARY#<daily|weekly>#<period key>#<route>`).
//!
//! Once per period: the marker is put with `attribute_not_exists(pk)` in the same
//! TransactWriteItems as the summaries, so either a run writes the marker and queues every
//! summary, or (the period's marker exists: a crashed run's retry, a concurrent run) it
//! writes nothing. A condition that fails cancels the whole transaction
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html>;
//! the reasons, `ConditionalCheckFailed` for our marker or `TransactionConflict` for a
//! concurrent transaction on it, come back in order in `TransactionCanceledException`).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::Put;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::commit::cancellation_codes;
use super::items::{key, to_item, FromItem, OUTBOX_PK};
use super::{backoff, DynamoStore};
use crate::domain::summary::{QueuedSummary, SummaryMark, SummaryPeriod};
use crate::domain::timestamp as ts;
use crate::error::Error;
use crate::ports::SummaryOutbox;

pub(crate) const SUMMARY_PK: &str = "SUMMARY";
/// Where queued summaries start in the outbox partition (alert keys start with a run id).
pub(crate) const SUMMARY_SK_PREFIX: &str = "SUMMARY#";
/// The `entity` of a queued summary, told apart from the alerts in the outbox partition by it.
pub(crate) const SUMMARY_ENTITY: &str = "summary";
/// TransactWriteItems takes at most 100 actions: the marker and 99 summaries.
const MAX_IN_TRANSACTION: usize = 99;
/// Markers outlive a year of weekly summaries, then TTL removes them.
const MARK_RETENTION_DAYS: i64 = 400;
/// Two runs writing the same marker at once: DynamoDB cancels one with
/// `TransactionConflict`; the retry then finds the marker and writes nothing.
const CONFLICT_TRIES: u32 = 4;

/// A period whose summaries are queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SummaryMarkItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub period: String,
    pub period_key: String,
    pub run_id: String,
    #[serde(with = "ts")]
    pub queued_at: DateTime<Utc>,
    /// Coverage percent by route, for the next summary's change; null without an eligible
    /// account.
    #[serde(default)]
    pub percent: BTreeMap<String, Option<f64>>,
    /// Epoch seconds (TTL).
    pub expires_at: i64,
}

impl SummaryMarkItem {
    fn new(m: &SummaryMark) -> Self {
        Self {
            pk: SUMMARY_PK.to_string(),
            sk: format!("{}#{}", m.period.as_str(), m.key),
            entity: "summary_period".to_string(),
            period: m.period.as_str().to_string(),
            period_key: m.key.clone(),
            run_id: m.run_id.clone(),
            queued_at: m.queued_at,
            percent: m.percent.clone(),
            expires_at: (m.queued_at + chrono::Duration::days(MARK_RETENTION_DAYS)).timestamp(),
        }
    }
}

impl FromItem<SummaryMarkItem> for SummaryMark {
    fn read(i: SummaryMarkItem) -> Result<Self, String> {
        super::items::check_entity(&i.entity, "summary_period")?;
        Ok(Self {
            period: SummaryPeriod::parse(&i.period)?,
            key: i.period_key,
            run_id: i.run_id,
            queued_at: i.queued_at,
            percent: i.percent,
        })
    }
}

/// A queued summary: the rendered message, published as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SummaryItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub run_id: String,
    #[serde(with = "ts")]
    pub created_at: DateTime<Utc>,
    pub route: String,
    pub subject: String,
    pub body: String,
    #[serde(default)]
    pub link_states: Vec<String>,
    pub organization_id: String,
}

impl From<&QueuedSummary> for SummaryItem {
    fn from(s: &QueuedSummary) -> Self {
        Self {
            pk: OUTBOX_PK.to_string(),
            sk: s.id.clone(),
            entity: SUMMARY_ENTITY.to_string(),
            run_id: s.run_id.clone(),
            created_at: s.created_at,
            route: s.route.clone(),
            subject: s.subject.clone(),
            body: s.body.clone(),
            link_states: s.link_states.iter().cloned().collect(),
            organization_id: s.organization_id.clone(),
        }
    }
}

impl FromItem<SummaryItem> for QueuedSummary {
    fn read(i: SummaryItem) -> Result<Self, String> {
        super::items::check_entity(&i.entity, SUMMARY_ENTITY)?;
        Ok(Self {
            id: i.sk,
            run_id: i.run_id,
            created_at: i.created_at,
            route: i.route,
            subject: i.subject,
            body: i.body,
            link_states: i.link_states.into_iter().collect::<BTreeSet<_>>(),
            organization_id: i.organization_id,
        })
    }
}

impl SummaryOutbox for DynamoStore {
    /// One Query, newest first, one item: period keys sort in time order.
    async fn last_summary(&self, period: SummaryPeriod) -> Result<Option<SummaryMark>, Error> {
        let query = self
            .query_prefix(SUMMARY_PK, &format!("{}#", period.as_str()))
            .scan_index_forward(false)
            .consistent_read(true);
        Ok(self
            .query_decoded::<SummaryMarkItem, SummaryMark>(query, Some(1))
            .await?
            .into_iter()
            .next())
    }

    async fn queue_summaries(
        &self,
        mark: &SummaryMark,
        summaries: &[QueuedSummary],
    ) -> Result<bool, Error> {
        let (first, rest) = summaries.split_at(summaries.len().min(MAX_IN_TRANSACTION));
        let mut actions = vec![self.put_action(
            Put::builder()
                .set_item(Some(to_item(&SummaryMarkItem::new(mark))))
                .condition_expression("attribute_not_exists(pk)"),
        )?];
        for s in first {
            actions.push(
                self.put_action(Put::builder().set_item(Some(to_item(&SummaryItem::from(s)))))?,
            );
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => break,
                Err(e) => e,
            };
            let codes = err.as_service_error().and_then(cancellation_codes);
            match codes {
                Some(codes) if codes.first() == Some(&Some("ConditionalCheckFailed")) => {
                    return Ok(false)
                }
                Some(codes)
                    if codes.contains(&Some("TransactionConflict")) && attempt < CONFLICT_TRIES =>
                {
                    backoff(attempt).await;
                }
                _ => return Err(self.sdk_error("TransactWriteItems", err)),
            }
        }
        // Past 99 routes: the rest follow the transaction (a crash right here loses them,
        // never duplicates them).
        for s in rest {
            self.client
                .put_item()
                .table_name(self.table())
                .set_item(Some(to_item(&SummaryItem::from(s))))
                .send()
                .await
                .map_err(|e| self.sdk_error("PutItem", e))?;
        }
        Ok(true)
    }

    async fn pending_summaries(&self) -> Result<Vec<QueuedSummary>, Error> {
        let query = self
            .query_prefix(OUTBOX_PK, SUMMARY_SK_PREFIX)
            .consistent_read(true);
        self.query_decoded::<SummaryItem, QueuedSummary>(query, None)
            .await
    }

    async fn ack_summary(&self, id: &str) -> Result<(), Error> {
        self.client
            .delete_item()
            .table_name(self.table())
            .set_key(Some(key(OUTBOX_PK, id)))
            .send()
            .await
            .map_err(|e| self.sdk_error("DeleteItem", e))?;
        Ok(())
    }
}
