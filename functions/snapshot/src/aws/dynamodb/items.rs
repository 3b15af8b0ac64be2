//! How each kind of table item looks: one flat serde struct per kind, shaped to read well in
//! the DynamoDB console, and the conversions to and from the model. Keys and timestamp
//! formats live here so that every writer and reader agrees on them.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::domain::model::{
    Account, AccountRecord, AccountState, ChangeEvent, LinkDecision, LinkRefusal, LinkSource,
    LinkState, PendingAlert, RunSummary,
};
use crate::domain::sweep::{SweepState, SweptRange};

use super::schema::{PK, SK};

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) const ACCOUNTS_PK: &str = "ACCOUNTS";
pub(crate) const RUNS_PK: &str = "RUNS";
pub(crate) const OUTBOX_PK: &str = "OUTBOX";
pub(crate) const LEASE_PK: &str = "LEASE";
pub(crate) const LEASE_SK: &str = "PUBLISH";
pub(crate) const SWEEP_PK: &str = "SWEEP";
pub(crate) const SWEEP_SK: &str = "TAGS";

pub(crate) use crate::domain::timestamp::format as timestamp;
use crate::domain::timestamp::{self as ts, option as ts_opt};

pub(crate) fn account_sk(account_id: &str) -> String {
    format!("ACCOUNT#{account_id}")
}

pub(crate) fn history_pk(account_id: &str) -> String {
    format!("HISTORY#{account_id}")
}

pub(crate) fn link_state_pk(state: LinkState) -> String {
    format!("LINK#{}", state.as_str())
}

pub(crate) fn event_sk(event: &ChangeEvent) -> String {
    format!("{}#{}#{:03}", timestamp(&event.at), event.run_id, event.seq)
}

pub(crate) fn run_sk(summary: &RunSummary) -> String {
    format!("{}#{}", timestamp(&summary.started_at), summary.run_id)
}

pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(pk.into())),
        (SK.to_string(), AttributeValue::S(sk.into())),
    ])
}

/// `pk=ACCOUNTS, sk=ACCOUNT#111122223333`, for error messages.
pub(crate) fn describe_key(item: &Item) -> String {
    let part = |name: &str| match item.get(name) {
        Some(AttributeValue::S(s)) => s.clone(),
        Some(other) => format!("{other:?}"),
        None => "<missing>".to_string(),
    };
    format!("pk={}, sk={}", part(PK), part(SK))
}

/// Serializes an item struct. Our structs only hold strings, numbers, booleans, lists and
/// maps, so this cannot fail short of a serde_dynamo bug.
pub(crate) fn to_item<T: Serialize>(value: &T) -> Item {
    serde_dynamo::aws_sdk_dynamodb_1::to_item(value)
        .expect("item structs serialize to DynamoDB maps")
}

/// Reads an item into its struct and then into the model type; the error text says what is
/// wrong, the caller adds the table and key.
pub(crate) fn from_item<I, M>(item: Item) -> Result<M, String>
where
    I: DeserializeOwned,
    M: FromItem<I>,
{
    let raw: I = serde_dynamo::aws_sdk_dynamodb_1::from_item(item).map_err(|e| e.to_string())?;
    M::read(raw)
}

/// A model value read back from its item struct `I`; the error text says what is wrong
/// (the caller adds the table and key).
pub(crate) trait FromItem<I>: Sized {
    fn read(item: I) -> Result<Self, String>;
}

pub(crate) fn check_entity(found: &str, expected: &str) -> Result<(), String> {
    if found == expected {
        Ok(())
    } else {
        Err(format!("entity is {found:?}, expected {expected:?}"))
    }
}

/// Current state of one account: pk=`ACCOUNTS`, sk=`ACCOUNT#<id>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AccountItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub account_id: String,
    pub name: String,
    pub email: String,
    pub state: AccountState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts_opt")]
    pub joined_at: Option<DateTime<Utc>>,
    pub parent_id: String,
    pub ou_path: String,
    pub ou_ids: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub is_management: bool,
    pub link_state: LinkState,
    pub link_source: LinkSource,
    pub link_detail: String,
    #[serde(with = "ts")]
    pub first_seen: DateTime<Utc>,
    #[serde(with = "ts")]
    pub last_changed: DateTime<Utc>,
    pub removed: bool,
    pub rev: u64,
    /// Since when the account has had `link_state`. Items written before reminders existed
    /// lack it: read back as `last_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts_opt")]
    pub state_since: Option<DateTime<Utc>>,
    /// When the last alert or reminder about the account being UNLINKED or PENDING was
    /// queued; absent when none is open. See [`legacy_last_alerted_at`] for older items.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts_opt")]
    pub last_alerted_at: Option<DateTime<Utc>>,
    /// `1` once the item carries the alert bookkeeping above, so that an absent
    /// `last_alerted_at` means "no open alert" rather than "written by an older version".
    #[serde(default)]
    pub alert_fields: u8,
    /// The last invite or accept refusal while the account keeps its link state (a map).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<LinkRefusal>,
    /// Absent on removed accounts, so the index lists only current ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi1pk: Option<String>,
    pub gsi1sk: String,
}

impl From<&AccountRecord> for AccountItem {
    fn from(r: &AccountRecord) -> Self {
        let a = &r.account;
        Self {
            pk: ACCOUNTS_PK.to_string(),
            sk: account_sk(&a.id),
            entity: "account".to_string(),
            account_id: a.id.clone(),
            name: a.name.clone(),
            email: a.email.clone(),
            state: a.state.clone(),
            joined_method: a.joined_method.clone(),
            joined_at: a.joined_at,
            parent_id: a.parent_id.clone(),
            ou_path: a.ou_path.clone(),
            ou_ids: a.ou_ids.clone(),
            tags: a.tags.clone(),
            is_management: a.is_management,
            link_state: r.link.state,
            link_source: r.link.source,
            link_detail: r.link.detail.clone(),
            first_seen: r.first_seen,
            last_changed: r.last_changed,
            removed: r.removed,
            rev: r.rev,
            state_since: Some(r.state_since),
            last_alerted_at: r.last_alerted_at,
            alert_fields: 1,
            refusal: r.refusal.clone(),
            gsi1pk: (!r.removed).then(|| link_state_pk(r.link.state)),
            gsi1sk: account_sk(&a.id),
        }
    }
}

impl FromItem<AccountItem> for AccountRecord {
    fn read(i: AccountItem) -> Result<Self, String> {
        check_entity(&i.entity, "account")?;
        let last_alerted_at = if i.alert_fields >= 1 {
            i.last_alerted_at
        } else {
            legacy_last_alerted_at(&i)
        };
        Ok(Self {
            state_since: i.state_since.unwrap_or(i.last_changed),
            last_alerted_at,
            refusal: i.refusal,
            account: Account {
                id: i.account_id,
                name: i.name,
                email: i.email,
                state: i.state,
                joined_method: i.joined_method,
                joined_at: i.joined_at,
                parent_id: i.parent_id,
                ou_path: i.ou_path,
                ou_ids: i.ou_ids,
                tags: i.tags,
                is_management: i.is_management,
            },
            link: LinkDecision {
                state: i.link_state,
                source: i.link_source,
                detail: i.link_detail,
            },
            first_seen: i.first_seen,
            last_changed: i.last_changed,
            removed: i.removed,
            rev: i.rev,
        })
    }
}

/// An item written before reminders existed has no alert bookkeeping. Every UNLINKED or
/// PENDING account that earns credit was alerted by then (baseline, new account, link lost
/// or pending), most recently when its link state last changed: so that is its last alert,
/// and reminders and resolved notices pick it up from there.
fn legacy_last_alerted_at(i: &AccountItem) -> Option<DateTime<Utc>> {
    let open = matches!(i.link_state, LinkState::Unlinked | LinkState::Pending)
        && i.state.earns_credit()
        && !i.removed;
    open.then_some(i.last_changed)
}

/// An item that is a domain value with its key: pk, sk and `entity`, the value's own
/// attributes flattened beside them (so its serde attributes are the item's shape), and the
/// TTL where the kind expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Keyed<T> {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    #[serde(flatten)]
    pub value: T,
    /// Epoch seconds (TTL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// A domain value stored as a [`Keyed`] item, and the `entity` its items carry.
pub(crate) trait Entity {
    const ENTITY: &'static str;
}

impl<T: Entity> Keyed<T> {
    /// `value` as the item at `pk`, `sk`.
    fn at(pk: String, sk: String, value: T) -> Self {
        Self {
            pk,
            sk,
            entity: T::ENTITY.to_string(),
            value,
            expires_at: None,
        }
    }
}

impl<T: Entity> FromItem<Keyed<T>> for T {
    fn read(i: Keyed<T>) -> Result<T, String> {
        check_entity(&i.entity, T::ENTITY)?;
        Ok(i.value)
    }
}

impl Entity for ChangeEvent {
    const ENTITY: &'static str = "event";
}

impl Entity for PendingAlert {
    const ENTITY: &'static str = "alert";
}

impl Entity for RunSummary {
    const ENTITY: &'static str = "run";
}

/// One history entry: pk=`HISTORY#<id>`, sk=`<at>#<run_id>#<seq:03>`.
pub(crate) type EventItem = Keyed<ChangeEvent>;

impl From<&ChangeEvent> for EventItem {
    fn from(e: &ChangeEvent) -> Self {
        Keyed::at(history_pk(&e.account_id), event_sk(e), e.clone())
    }
}

/// A queued alert: pk=`OUTBOX`, sk=`<run_id>#<account_id>`; the domain's [`PendingAlert`],
/// its account's attributes ([`AlertSubject`](crate::domain::model::AlertSubject)) flattened
/// into the item too.
pub(crate) type AlertItem = Keyed<PendingAlert>;

impl From<&PendingAlert> for AlertItem {
    fn from(a: &PendingAlert) -> Self {
        Keyed::at(OUTBOX_PK.to_string(), a.id.clone(), a.clone())
    }
}

/// One run's summary: pk=`RUNS`, sk=`<started_at>#<run_id>`, deleted by TTL.
pub(crate) type RunItem = Keyed<RunSummary>;

impl RunItem {
    pub fn new(s: &RunSummary, expires_at: DateTime<Utc>) -> Self {
        Self {
            expires_at: Some(expires_at.timestamp()),
            ..Keyed::at(RUNS_PK.to_string(), run_sk(s), s.clone())
        }
    }
}

/// The publish lease: pk=`LEASE`, sk=`PUBLISH`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LeaseItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub owner: String,
    #[serde(with = "ts")]
    pub until: DateTime<Utc>,
    /// Epoch seconds; only cleans up, the condition on `until` decides who holds the lease.
    pub expires_at: i64,
}

impl LeaseItem {
    pub fn new(owner: &str, until: DateTime<Utc>, expires_at: DateTime<Utc>) -> Self {
        Self {
            pk: LEASE_PK.to_string(),
            sk: LEASE_SK.to_string(),
            entity: "lease".to_string(),
            owner: owner.to_string(),
            until,
            expires_at: expires_at.timestamp(),
        }
    }
}

/// The tag sweep: pk=`SWEEP`, sk=`TAGS`. One item however many accounts: where the rotation
/// stands and which id ranges were read when, so `tags_read_at` needs no write per account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SweepItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub cursor: Option<String>,
    #[serde(with = "ts_opt", default)]
    pub swept_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ranges: Vec<SweptRangeItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SweptRangeItem {
    pub first: String,
    pub last: String,
    #[serde(with = "ts")]
    pub at: DateTime<Utc>,
}

impl SweepItem {
    pub fn new(s: &SweepState) -> Self {
        Self {
            pk: SWEEP_PK.to_string(),
            sk: SWEEP_SK.to_string(),
            entity: "sweep".to_string(),
            cursor: s.cursor.clone(),
            swept_at: s.swept_at,
            ranges: s
                .ranges
                .iter()
                .map(|r| SweptRangeItem {
                    first: r.first.clone(),
                    last: r.last.clone(),
                    at: r.at,
                })
                .collect(),
        }
    }
}

impl FromItem<SweepItem> for SweepState {
    fn read(i: SweepItem) -> Result<Self, String> {
        check_entity(&i.entity, "sweep")?;
        Ok(Self {
            cursor: i.cursor,
            swept_at: i.swept_at,
            ranges: i
                .ranges
                .into_iter()
                .map(|r| SweptRange {
                    first: r.first,
                    last: r.last,
                    at: r.at,
                })
                .collect(),
        })
    }
}

#[cfg(test)]
#[path = "items_tests.rs"]
mod tests;
