//! The table's schema as plain data, shared by `apnwatch init` (CreateTable) and the test
//! that holds template.yaml to it, plus table creation: idempotent, waits for ACTIVE, then
//! turns TTL on.

use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, TableDescription, TableStatus,
    TimeToLiveDescription, TimeToLiveSpecification, TimeToLiveStatus,
};

use super::{DynamoStore, Fault, HINT_BUG};
use crate::error::Error;

/// The key attributes of every item and of the index, and the TTL attribute.
pub(crate) const PK: &str = "pk";
pub(crate) const SK: &str = "sk";
pub(crate) const GSI1PK: &str = "gsi1pk";
pub(crate) const GSI1SK: &str = "gsi1sk";
pub(crate) const TTL_ATTRIBUTE: &str = "expires_at";

/// Whether `ttl` (a DescribeTimeToLive answer) has TTL on the table's TTL attribute, enabled
/// or being enabled: `init` accepts it and `doctor` checks it.
pub(crate) fn ttl_on(ttl: Option<&TimeToLiveDescription>) -> bool {
    ttl.is_some_and(|t| {
        matches!(
            t.time_to_live_status(),
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        ) && t.attribute_name() == Some(TTL_ATTRIBUTE)
    })
}

/// The index listing current accounts by link state.
pub const LINK_STATE_INDEX: &str = "by-link-state";

/// How long `create_table` waits for a new table to become ACTIVE.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(180);

/// One global secondary index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDefinition {
    pub name: &'static str,
    pub hash_key: &'static str,
    pub range_key: &'static str,
    /// `ALL`.
    pub projection: &'static str,
}

/// The table's schema, in CloudFormation's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    pub hash_key: &'static str,
    pub range_key: &'static str,
    /// `(AttributeName, AttributeType)` of every key attribute, table and index.
    pub attributes: Vec<(&'static str, &'static str)>,
    pub indexes: Vec<IndexDefinition>,
    pub ttl_attribute: &'static str,
    pub billing_mode: &'static str,
}

pub fn table_definition() -> TableDefinition {
    TableDefinition {
        hash_key: PK,
        range_key: SK,
        attributes: vec![(PK, "S"), (SK, "S"), (GSI1PK, "S"), (GSI1SK, "S")],
        indexes: vec![IndexDefinition {
            name: LINK_STATE_INDEX,
            hash_key: GSI1PK,
            range_key: GSI1SK,
            projection: "ALL",
        }],
        ttl_attribute: TTL_ATTRIBUTE,
        billing_mode: "PAY_PER_REQUEST",
    }
}

/// What `create_table` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitOutcome {
    /// False when the table was already there.
    pub created: bool,
}

/// Where a described table differs from the definition, in words; `None` when it matches.
pub(crate) fn schema_mismatch(table: &TableDescription, def: &TableDefinition) -> Option<String> {
    let keys = |schema: &[KeySchemaElement]| -> (Option<String>, Option<String>) {
        let find = |kind: KeyType| {
            schema
                .iter()
                .find(|k| k.key_type() == &kind)
                .map(|k| k.attribute_name().to_string())
        };
        (find(KeyType::Hash), find(KeyType::Range))
    };
    let want = |hash: &str, range: &str| (Some(hash.to_string()), Some(range.to_string()));
    if keys(table.key_schema()) != want(def.hash_key, def.range_key) {
        return Some(format!(
            "its key is not {} (HASH) + {} (RANGE)",
            def.hash_key, def.range_key
        ));
    }
    for index in &def.indexes {
        let found = table
            .global_secondary_indexes()
            .iter()
            .find(|i| i.index_name() == Some(index.name));
        match found {
            None => return Some(format!("it has no index {}", index.name)),
            Some(i) if keys(i.key_schema()) != want(index.hash_key, index.range_key) => {
                return Some(format!(
                    "its index {} is not keyed {} + {}",
                    index.name, index.hash_key, index.range_key
                ))
            }
            Some(_) => {}
        }
    }
    None
}

impl DynamoStore {
    /// The CreateTable request for `def`.
    fn create_table_request(
        &self,
        def: &TableDefinition,
    ) -> Result<CreateTableFluentBuilder, Error> {
        let bug = |e| self.fail("CreateTable", HINT_BUG, e);
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
        };
        let mut request = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::from(def.billing_mode))
            .key_schema(key(def.hash_key, KeyType::Hash).map_err(bug)?)
            .key_schema(key(def.range_key, KeyType::Range).map_err(bug)?);
        for (name, kind) in &def.attributes {
            let attribute = AttributeDefinition::builder()
                .attribute_name(*name)
                .attribute_type(ScalarAttributeType::from(*kind))
                .build()
                .map_err(bug)?;
            request = request.attribute_definitions(attribute);
        }
        for index in &def.indexes {
            let gsi = GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .key_schema(key(index.hash_key, KeyType::Hash).map_err(bug)?)
                .key_schema(key(index.range_key, KeyType::Range).map_err(bug)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection))
                        .build(),
                )
                .build()
                .map_err(bug)?;
            request = request.global_secondary_indexes(gsi);
        }
        Ok(request)
    }

    /// Creates the table unless it exists, waits until it is ACTIVE and enables TTL. Safe
    /// to run again: an existing table with the expected schema is left as it is.
    pub async fn create_table(&self) -> Result<InitOutcome, Error> {
        let def = table_definition();
        let created = match self.create_table_request(&def)?.send().await {
            Ok(_) => true,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) =>
            {
                false
            }
            Err(e) => return Err(self.sdk_error("CreateTable", e)),
        };
        self.wait_until_active(&def).await?;
        self.enable_ttl(&def).await?;
        Ok(InitOutcome { created })
    }

    async fn wait_until_active(&self, def: &TableDefinition) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now() + ACTIVE_TIMEOUT;
        let mut delay = Duration::from_millis(200);
        // One request, sent at every poll.
        let describe = self.client.describe_table().table_name(&self.table);
        loop {
            let sent = describe.clone().send().await;
            let out = sent.map_err(|e| self.sdk_error("DescribeTable", e))?;
            let table = out
                .table
                .unwrap_or_else(|| TableDescription::builder().build());
            if let Some(problem) = schema_mismatch(&table, def) {
                return Err(self.fail(
                    "DescribeTable",
                    format!(
                        "the table exists with another schema ({problem}): set APNWATCH_TABLE \
                         to another name or delete the table"
                    ),
                    Fault(problem),
                ));
            }
            let indexes_active = table
                .global_secondary_indexes()
                .iter()
                .all(|i| i.index_status().is_none_or(|s| s == &IndexStatus::Active));
            let status = table.table_status();
            if status == Some(&TableStatus::Active) && indexes_active {
                return Ok(());
            }
            if tokio::time::Instant::now() + delay > deadline {
                return Err(self.fail(
                    "DescribeTable",
                    format!(
                        "the table is not ACTIVE after {} s: check it in the DynamoDB console, \
                         then run `apnwatch init` again",
                        ACTIVE_TIMEOUT.as_secs()
                    ),
                    Fault(format!("table status {status:?}")),
                ));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    async fn enable_ttl(&self, def: &TableDefinition) -> Result<(), Error> {
        let spec = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(def.ttl_attribute)
            .build()
            .map_err(|e| self.fail("UpdateTimeToLive", HINT_BUG, e))?;
        let result = self
            .client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(spec)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(()),
            Err(e) if e.code() == Some("ValidationException") => e,
            Err(e) => return Err(self.sdk_error("UpdateTimeToLive", e)),
        };
        // Also the answer when TTL is already on: fine if it is on our attribute.
        let out = self
            .client
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| self.sdk_error("DescribeTimeToLive", e))?;
        let current = out
            .time_to_live_description
            .unwrap_or_else(|| TimeToLiveDescription::builder().build());
        if ttl_on(Some(&current)) {
            return Ok(());
        }
        Err(self.fail(
            "UpdateTimeToLive",
            format!(
                "TTL could not be enabled on {} (now {:?} on {:?}): enable it on {} in the \
                 DynamoDB console",
                def.ttl_attribute,
                current.time_to_live_status(),
                current.attribute_name(),
                def.ttl_attribute
            ),
            err,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::{BehaviorVersion, Region};

    fn store() -> DynamoStore {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .build();
        DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), "apnwatch", 90)
    }

    /// The CreateTable request carries exactly the documented schema.
    #[test]
    fn create_table_request_follows_the_definition() {
        let def = table_definition();
        let request = store().create_table_request(&def).unwrap();
        let input = request.as_input();
        assert_eq!(input.get_table_name().as_deref(), Some("apnwatch"));
        assert_eq!(input.get_billing_mode(), &Some(BillingMode::PayPerRequest));
        let keys: Vec<(&str, &KeyType)> = input
            .get_key_schema()
            .as_deref()
            .unwrap()
            .iter()
            .map(|k| (k.attribute_name(), k.key_type()))
            .collect();
        assert_eq!(keys, [("pk", &KeyType::Hash), ("sk", &KeyType::Range)]);
        let attributes: Vec<(&str, &str)> = input
            .get_attribute_definitions()
            .as_deref()
            .unwrap()
            .iter()
            .map(|a| (a.attribute_name(), a.attribute_type().as_str()))
            .collect();
        assert_eq!(
            attributes,
            [("pk", "S"), ("sk", "S"), ("gsi1pk", "S"), ("gsi1sk", "S")]
        );
        let gsi = &input.get_global_secondary_indexes().as_deref().unwrap()[0];
        assert_eq!(gsi.index_name(), "by-link-state");
        assert_eq!(gsi.key_schema()[0].attribute_name(), "gsi1pk");
        assert_eq!(gsi.key_schema()[1].attribute_name(), "gsi1sk");
        assert_eq!(
            gsi.projection().and_then(|p| p.projection_type()),
            Some(&ProjectionType::All)
        );
        assert_eq!(def.ttl_attribute, "expires_at");
    }
}
