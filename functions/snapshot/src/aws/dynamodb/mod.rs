//! DynamoDB adapter: the one table holding every account's current state, its append-only
//! history, the alert outbox, the run records and the publish lease. Owns the schema
//! ([`table_definition`], [`DynamoStore::create_table`]), the item shapes (`items`), the
//! conditional transactional writes (`commit`) and every query the run and the CLI need.
//! Every SDK failure becomes an [`Error::Store`] whose hint says what to do.

mod commit;
mod items;
mod ou_names;
pub(crate) mod schema;
mod summary;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};

use crate::domain::model::{
    AccountChange, AccountRecord, ChangeEvent, LinkState, PendingAlert, RunSummary,
};
use crate::domain::ou_names::OuNames;
use crate::domain::sweep::SweepState;
use crate::error::{BoxError, Error};
use crate::ports::{
    AccountTable, AlertOutbox, CommitOutcome, PublishLease, Queries, RunRecords, StoredState,
    LEASE_SECONDS,
};
use items::{
    account_sk, from_item, history_pk, key, link_state_pk, timestamp, to_item, AccountItem,
    AlertItem, EventItem, FromItem, Item, LeaseItem, RunItem, SweepItem, ACCOUNTS_PK, LEASE_PK,
    LEASE_SK, OUTBOX_PK, RUNS_PK, SWEEP_PK, SWEEP_SK,
};
use ou_names::{OuNamesItem, OU_NAMES_SK};
pub use schema::{
    table_definition, IndexDefinition, InitOutcome, TableDefinition, LINK_STATE_INDEX,
};
use summary::SUMMARY_ENTITY;

/// The pause before resending what the SDK does not retry (see `commit`).
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_secs(5);

const HINT_MISSING_TABLE: &str = "the table does not exist: run `apnwatch init` or deploy the \
     stack, and check APNWATCH_TABLE and AWS_REGION";
const HINT_THROTTLED: &str =
    "throttled after retries: the table is busy, run again later (nothing is lost)";
const HINT_BUG: &str =
    "the request could not be built: this is a bug in apnwatch, please report it";

/// A failure without an SDK error behind it, kept as the `source` of an [`Error::Store`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Fault(String);

/// Codes DynamoDB returns when a request may succeed later.
fn is_throttle(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException"
            | "ProvisionedThroughputExceededException"
            | "RequestLimitExceeded"
            | "TransactionConflictException"
    )
}

/// What the user should do about an SDK error `code` from `operation`.
fn hint_for(operation: &str, code: Option<&str>) -> String {
    match code {
        Some("ResourceNotFoundException") => HINT_MISSING_TABLE.to_string(),
        Some("AccessDeniedException") => match operation {
            // IAM has no TransactWriteItems action: each Put is authorized as a PutItem.
            "TransactWriteItems" => "grant dynamodb:PutItem on the table to this role".into(),
            "Query" => "grant dynamodb:Query on the table and its indexes to this role".into(),
            _ => format!("grant dynamodb:{operation} on the table to this role"),
        },
        Some(
            "UnrecognizedClientException" | "InvalidSignatureException" | "ExpiredTokenException",
        ) => "the AWS credentials were rejected: refresh them and check AWS_PROFILE and AWS_REGION"
            .to_string(),
        Some(c) if is_throttle(c) => HINT_THROTTLED.to_string(),
        _ => "check the table and the network".to_string(),
    }
}

/// How long to wait before try `attempt + 1`: exponential, with half of it random so that
/// runs backing off together do not collide again. `random` is in `[0, 1)`.
fn backoff_delay(attempt: u32, random: f64) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1 << attempt.min(10))
        .min(BACKOFF_CAP);
    let half = ceiling / 2;
    half + half.mul_f64(random.clamp(0.0, 1.0))
}

async fn backoff(attempt: u32) {
    tokio::time::sleep(backoff_delay(attempt, fastrand::f64())).await;
}

/// The DynamoDB implementation of [`Store`](crate::ports::Store).
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    run_retention_days: u32,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>, run_retention_days: u32) -> Self {
        Self {
            client,
            table: table.into(),
            run_retention_days,
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The schema this adapter expects; the same as [`table_definition`].
    pub fn table_definition() -> TableDefinition {
        table_definition()
    }

    fn fail(
        &self,
        operation: &'static str,
        hint: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Error {
        Error::Store {
            table: self.table.clone(),
            operation,
            hint: hint.into(),
            source: source.into(),
        }
    }

    /// The one translation of an SDK error, for every operation.
    fn sdk_error<E>(&self, operation: &'static str, err: E) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let hint = hint_for(operation, err.code());
        self.fail(operation, hint, err)
    }

    fn decode<I, M>(&self, item: Item) -> Result<M, Error>
    where
        I: serde::de::DeserializeOwned,
        M: FromItem<I>,
    {
        let key = items::describe_key(&item);
        from_item::<I, M>(item).map_err(|reason| Error::CorruptItem {
            table: self.table.clone(),
            key,
            reason,
        })
    }

    fn query(&self, pk: &str) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_string()))
    }

    /// The items of partition `pk` whose sort key starts with `prefix`.
    pub(crate) fn query_prefix(&self, pk: &str, prefix: &str) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_string()))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_string()))
    }

    /// Runs `query` to its last page, or until `limit` items are read.
    async fn query_all(
        &self,
        query: QueryFluentBuilder,
        limit: Option<usize>,
    ) -> Result<Vec<Item>, Error> {
        self.query_map(query, limit, Ok).await
    }

    /// [`Self::query_all`], each item passed through `f` as its page arrives, so that only one
    /// page of raw items (at most 1 MB) is held at a time: at 10,000 accounts every raw item
    /// at once is tens of MiB more than the decoded records.
    async fn query_map<T>(
        &self,
        query: QueryFluentBuilder,
        limit: Option<usize>,
        f: impl Fn(Item) -> Result<T, Error>,
    ) -> Result<Vec<T>, Error> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let mut page = query.clone().set_exclusive_start_key(start.take());
            if let Some(limit) = limit {
                let left = limit.saturating_sub(found.len());
                page = page.limit(i32::try_from(left).unwrap_or(i32::MAX));
            }
            let out = page.send().await.map_err(|e| self.sdk_error("Query", e))?;
            for item in out.items.unwrap_or_default() {
                found.push(f(item)?);
            }
            let done = limit.is_some_and(|l| found.len() >= l);
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() && !done => start = Some(k),
                _ => return Ok(found),
            }
        }
    }

    /// One item by key, read consistently, in its model type; `None` when there is none.
    async fn get_decoded<I, M>(&self, key: Item) -> Result<Option<M>, Error>
    where
        I: serde::de::DeserializeOwned,
        M: FromItem<I>,
    {
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.sdk_error("GetItem", e))?
            .item
            .map(|item| self.decode::<I, M>(item))
            .transpose()
    }

    /// The `SWEEP` partition's two items, the tag sweep (sk `TAGS`) and the OU names (sk
    /// `OUS`), each its default when absent. One consistent Query instead of a GetItem each:
    /// one request less per run, and a Query reads its items as one read (their sizes summed,
    /// then rounded up to 4 KB), never more than the two GetItems (each rounded up on its own).
    /// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html>
    async fn sweep_partition(&self) -> Result<(SweepState, OuNames), Error> {
        let mut sweep = SweepState::default();
        let mut ou_names = OuNames::default();
        let query = self.query(SWEEP_PK).consistent_read(true);
        for item in self.query_all(query, None).await? {
            match item.get(schema::SK) {
                Some(AttributeValue::S(sk)) if sk == SWEEP_SK => {
                    sweep = self.decode::<SweepItem, SweepState>(item)?;
                }
                Some(AttributeValue::S(sk)) if sk == OU_NAMES_SK => {
                    ou_names = self.decode::<OuNamesItem, OuNames>(item)?;
                }
                // Nothing else lives there; a later version's item is not ours to read.
                _ => {}
            }
        }
        Ok((sweep, ou_names))
    }

    async fn query_decoded<I, M>(
        &self,
        query: QueryFluentBuilder,
        limit: Option<usize>,
    ) -> Result<Vec<M>, Error>
    where
        I: serde::de::DeserializeOwned,
        M: FromItem<I>,
    {
        self.query_map(query, limit, |item| self.decode::<I, M>(item))
            .await
    }
}

impl AccountTable for DynamoStore {
    async fn load(&self) -> Result<StoredState, Error> {
        let records: Vec<AccountRecord> = self
            .query_decoded::<AccountItem, _>(self.query(ACCOUNTS_PK).consistent_read(true), None)
            .await?;
        let first_run = records.is_empty()
            && self
                .query_all(self.query(RUNS_PK).consistent_read(true), Some(1))
                .await?
                .is_empty();
        let records: BTreeMap<String, AccountRecord> = records
            .into_iter()
            .map(|r| (r.account.id.clone(), r))
            .collect();
        let (sweep, ou_names) = self.sweep_partition().await?;
        Ok(StoredState {
            records,
            first_run,
            sweep,
            ou_names,
        })
    }

    async fn commit(&self, changes: &[AccountChange]) -> Result<CommitOutcome, Error> {
        self.commit_changes(changes).await
    }

    async fn account(&self, account_id: &str) -> Result<Option<AccountRecord>, Error> {
        self.get_decoded::<AccountItem, AccountRecord>(key(ACCOUNTS_PK, account_sk(account_id)))
            .await
    }
}

impl AlertOutbox for DynamoStore {
    async fn pending_alerts(&self) -> Result<Vec<PendingAlert>, Error> {
        // Alerts only: the summaries queued beside them (entity `summary`) are read by
        // `pending_summaries`. Told apart by entity, not key: alert keys start with any run id.
        // The filter runs in DynamoDB after the read, so the capacity stays that of the whole
        // partition, but the summaries' bodies are not sent back for nothing; and no summary
        // reaches the alert decoder, so no client-side check is needed.
        // <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.FilterExpression.html>
        let query = self
            .query(OUTBOX_PK)
            .consistent_read(true)
            .filter_expression("#entity <> :summary")
            .expression_attribute_names("#entity", "entity")
            .expression_attribute_values(":summary", AttributeValue::S(SUMMARY_ENTITY.into()));
        self.query_decoded::<AlertItem, PendingAlert>(query, None)
            .await
    }

    async fn has_queued(&self) -> Result<bool, Error> {
        // The partition holds only queued alerts and summaries (the summary markers live
        // under `SUMMARY`): its first key, if any, is the answer. The projection leaves the
        // capacity as it is (one item's read) but not the bytes sent back; see
        // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ProjectionExpressions.html
        let query = self
            .query(OUTBOX_PK)
            .consistent_read(true)
            .projection_expression("pk");
        Ok(!self.query_all(query, Some(1)).await?.is_empty())
    }

    async fn ack_alerts(&self, ids: &[String]) -> Result<(), Error> {
        self.delete_alerts(ids).await
    }
}

impl PublishLease for DynamoStore {
    async fn acquire_publish_lease(&self, owner: &str, now: DateTime<Utc>) -> Result<bool, Error> {
        let until = now + chrono::Duration::seconds(LEASE_SECONDS);
        let lease = LeaseItem::new(owner, until, until + chrono::Duration::hours(1));
        // Our own live lease counts as free, so a retried request does not lock us out.
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&lease)))
            .condition_expression("attribute_not_exists(pk) OR #until < :now OR #owner = :owner")
            .expression_attribute_names("#until", "until")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":now", AttributeValue::S(timestamp(&now)))
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.sdk_error("PutItem", e)),
        }
    }

    async fn release_publish_lease(&self, owner: &str) -> Result<(), Error> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(LEASE_PK, LEASE_SK)))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_string()))
            .send()
            .await;
        match result {
            // Someone else holds it (ours expired): theirs is not ours to release.
            Err(e)
                if !e
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(self.sdk_error("DeleteItem", e))
            }
            _ => Ok(()),
        }
    }
}

impl RunRecords for DynamoStore {
    async fn put_run(&self, summary: &RunSummary) -> Result<(), Error> {
        let expires_at = Utc::now() + chrono::Duration::days(i64::from(self.run_retention_days));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&RunItem::new(summary, expires_at))))
            .send()
            .await
            .map_err(|e| self.sdk_error("PutItem", e))?;
        Ok(())
    }

    async fn put_sweep(&self, sweep: &SweepState) -> Result<(), Error> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&SweepItem::new(sweep))))
            .send()
            .await
            .map_err(|e| self.sdk_error("PutItem", e))?;
        Ok(())
    }

    async fn put_ou_names(&self, names: &OuNames) -> Result<(), Error> {
        let (item, left_out) = OuNamesItem::new(names);
        if left_out > 0 {
            tracing::warn!(
                left_out,
                stored = item.units.len(),
                "the OU names exceed one DynamoDB item: the OUs left out are read again next run"
            );
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)))
            .send()
            .await
            .map_err(|e| self.sdk_error("PutItem", e))?;
        Ok(())
    }
}

impl Queries for DynamoStore {
    async fn accounts(&self, link_state: Option<LinkState>) -> Result<Vec<AccountRecord>, Error> {
        let query = match link_state {
            None => self.query(ACCOUNTS_PK).consistent_read(true),
            Some(state) => self
                .client
                .query()
                .table_name(&self.table)
                .index_name(LINK_STATE_INDEX)
                .key_condition_expression("gsi1pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(link_state_pk(state))),
        };
        self.query_decoded::<AccountItem, _>(query, None).await
    }

    async fn history(&self, account_id: &str) -> Result<Vec<ChangeEvent>, Error> {
        let query = self
            .query(&history_pk(account_id))
            .consistent_read(true)
            .scan_index_forward(true);
        self.query_decoded::<EventItem, _>(query, None).await
    }

    async fn runs(&self, limit: usize) -> Result<Vec<RunSummary>, Error> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let query = self.query(RUNS_PK).scan_index_forward(false);
        self.query_decoded::<RunItem, _>(query, Some(limit)).await
    }

    /// One Query on the `RUNS` partition from the sort key `<since>` on: run keys start
    /// with their RFC 3339 start time, which sorts as a string.
    async fn runs_since(&self, since: DateTime<Utc>) -> Result<Vec<RunSummary>, Error> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk >= :since")
            .expression_attribute_values(":pk", AttributeValue::S(RUNS_PK.to_string()))
            .expression_attribute_values(":since", AttributeValue::S(timestamp(&since)))
            .scan_index_forward(true);
        self.query_decoded::<RunItem, _>(query, None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind of failure tells the user what to do about it.
    #[test]
    fn hints_are_actionable() {
        assert!(hint_for("Query", Some("ResourceNotFoundException")).contains("apnwatch init"));
        assert_eq!(
            hint_for("GetItem", Some("AccessDeniedException")),
            "grant dynamodb:GetItem on the table to this role"
        );
        assert_eq!(
            hint_for("TransactWriteItems", Some("AccessDeniedException")),
            "grant dynamodb:PutItem on the table to this role"
        );
        assert!(hint_for("Query", Some("ThrottlingException")).starts_with("throttled"));
        assert!(
            hint_for("Query", Some("ProvisionedThroughputExceededException"))
                .starts_with("throttled")
        );
        assert_eq!(hint_for("Query", None), "check the table and the network");
    }

    /// The backoff grows with each try but never waits longer than the cap.
    #[test]
    fn backoff_grows_and_is_bounded() {
        assert_eq!(backoff_delay(1, 0.0), Duration::from_millis(100));
        assert!(backoff_delay(1, 0.999_999) < Duration::from_millis(200));
        assert_eq!(backoff_delay(3, 0.0), Duration::from_millis(400));
        assert_eq!(backoff_delay(30, 1.0), BACKOFF_CAP);
        assert_eq!(backoff_delay(30, 0.0), BACKOFF_CAP / 2);
    }
}
