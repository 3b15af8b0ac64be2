//! How each kind of table item looks: one flat serde struct per kind, shaped to read well in
//! the DynamoDB console, and the conversions to and from the model. Keys and timestamp
//! formats live here so that every writer and reader agrees on them.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::domain::model::{
    Account, AccountRecord, AccountState, AlertReason, ChangeEvent, ChangeKind, LinkDecision,
    LinkRefusal, LinkSource, LinkState, PendingAlert, RunSummary,
};
use crate::domain::sweep::{SweepState, SweptRange};

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) const PK: &str = "pk";
pub(crate) const SK: &str = "sk";
pub(crate) const GSI1PK: &str = "gsi1pk";
pub(crate) const GSI1SK: &str = "gsi1sk";
pub(crate) const TTL_ATTRIBUTE: &str = "expires_at";
pub(crate) const ACCOUNTS_PK: &str = "ACCOUNTS";
pub(crate) const RUNS_PK: &str = "RUNS";
pub(crate) const OUTBOX_PK: &str = "OUTBOX";
pub(crate) const LEASE_PK: &str = "LEASE";
pub(crate) const LEASE_SK: &str = "PUBLISH";
pub(crate) const SWEEP_PK: &str = "SWEEP";
pub(crate) const SWEEP_SK: &str = "TAGS";

/// RFC 3339 UTC with milliseconds: fixed width, so string order is time order in sort keys
/// and in the lease condition.
pub(crate) fn timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

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
    M: TryFrom<I, Error = String>,
{
    let raw: I = serde_dynamo::aws_sdk_dynamodb_1::from_item(item).map_err(|e| e.to_string())?;
    M::try_from(raw)
}

fn check_entity(found: &str, expected: &str) -> Result<(), String> {
    if found == expected {
        Ok(())
    } else {
        Err(format!("entity is {found:?}, expected {expected:?}"))
    }
}

/// Timestamps as RFC 3339 strings with milliseconds; any RFC 3339 form is accepted back.
mod ts {
    use chrono::{DateTime, Utc};
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::timestamp(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| D::Error::custom(format!("timestamp {s:?}: {e}")))
    }
}

mod ts_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::ts::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        super::ts::deserialize(d).map(Some)
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
    pub refusal: Option<RefusalItem>,
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
            refusal: r.refusal.as_ref().map(RefusalItem::from),
            gsi1pk: (!r.removed).then(|| link_state_pk(r.link.state)),
            gsi1sk: account_sk(&a.id),
        }
    }
}

impl TryFrom<AccountItem> for AccountRecord {
    type Error = String;

    fn try_from(i: AccountItem) -> Result<Self, String> {
        check_entity(&i.entity, "account")?;
        let last_alerted_at = if i.alert_fields >= 1 {
            i.last_alerted_at
        } else {
            legacy_last_alerted_at(&i)
        };
        Ok(Self {
            state_since: i.state_since.unwrap_or(i.last_changed),
            last_alerted_at,
            refusal: i.refusal.map(LinkRefusal::from),
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

/// [`LinkRefusal`] as a map inside account and alert items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RefusalItem {
    pub kind: ChangeKind,
    #[serde(with = "ts")]
    pub at: DateTime<Utc>,
    pub reason: String,
    pub message: String,
    pub what_to_do: String,
}

impl From<&LinkRefusal> for RefusalItem {
    fn from(r: &LinkRefusal) -> Self {
        let LinkRefusal {
            kind,
            at,
            reason,
            message,
            what_to_do,
        } = r.clone();
        Self {
            kind,
            at,
            reason,
            message,
            what_to_do,
        }
    }
}

impl From<RefusalItem> for LinkRefusal {
    fn from(i: RefusalItem) -> Self {
        let RefusalItem {
            kind,
            at,
            reason,
            message,
            what_to_do,
        } = i;
        Self {
            kind,
            at,
            reason,
            message,
            what_to_do,
        }
    }
}

/// One history entry: pk=`HISTORY#<id>`, sk=`<at>#<run_id>#<seq:03>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct EventItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub account_id: String,
    #[serde(with = "ts")]
    pub at: DateTime<Utc>,
    pub run_id: String,
    pub seq: u32,
    pub kind: ChangeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    pub detail: String,
}

impl From<&ChangeEvent> for EventItem {
    fn from(e: &ChangeEvent) -> Self {
        Self {
            pk: history_pk(&e.account_id),
            sk: event_sk(e),
            entity: "event".to_string(),
            account_id: e.account_id.clone(),
            at: e.at,
            run_id: e.run_id.clone(),
            seq: e.seq,
            kind: e.kind,
            before: e.before.clone(),
            after: e.after.clone(),
            detail: e.detail.clone(),
        }
    }
}

impl TryFrom<EventItem> for ChangeEvent {
    type Error = String;

    fn try_from(i: EventItem) -> Result<Self, String> {
        check_entity(&i.entity, "event")?;
        Ok(Self {
            account_id: i.account_id,
            at: i.at,
            run_id: i.run_id,
            seq: i.seq,
            kind: i.kind,
            before: i.before,
            after: i.after,
            detail: i.detail,
        })
    }
}

/// A queued alert: pk=`OUTBOX`, sk=`<run_id>#<account_id>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AlertItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub id: String,
    pub run_id: String,
    #[serde(with = "ts")]
    pub created_at: DateTime<Utc>,
    pub reason: AlertReason,
    pub account_id: String,
    pub name: String,
    pub email: String,
    pub ou_path: String,
    pub state: AccountState,
    pub link_state: LinkState,
    pub link_source: LinkSource,
    pub link_detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts_opt")]
    pub state_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts_opt")]
    pub first_seen: Option<DateTime<Utc>>,
    #[serde(default)]
    pub removed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<RefusalItem>,
}

impl From<&PendingAlert> for AlertItem {
    fn from(a: &PendingAlert) -> Self {
        Self {
            pk: OUTBOX_PK.to_string(),
            sk: a.id.clone(),
            entity: "alert".to_string(),
            id: a.id.clone(),
            run_id: a.run_id.clone(),
            created_at: a.created_at,
            reason: a.reason,
            account_id: a.account_id.clone(),
            name: a.name.clone(),
            email: a.email.clone(),
            ou_path: a.ou_path.clone(),
            state: a.state.clone(),
            link_state: a.link_state,
            link_source: a.link_source,
            link_detail: a.link_detail.clone(),
            state_since: a.state_since,
            first_seen: a.first_seen,
            removed: a.removed,
            route: a.route.clone(),
            refusal: a.refusal.as_ref().map(RefusalItem::from),
        }
    }
}

impl TryFrom<AlertItem> for PendingAlert {
    type Error = String;

    fn try_from(i: AlertItem) -> Result<Self, String> {
        check_entity(&i.entity, "alert")?;
        Ok(Self {
            id: i.id,
            run_id: i.run_id,
            created_at: i.created_at,
            reason: i.reason,
            account_id: i.account_id,
            name: i.name,
            email: i.email,
            ou_path: i.ou_path,
            state: i.state,
            link_state: i.link_state,
            link_source: i.link_source,
            link_detail: i.link_detail,
            state_since: i.state_since,
            first_seen: i.first_seen,
            removed: i.removed,
            route: i.route,
            refusal: i.refusal.map(LinkRefusal::from),
        })
    }
}

/// One run's summary: pk=`RUNS`, sk=`<started_at>#<run_id>`, deleted by TTL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RunItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub run_id: String,
    #[serde(with = "ts")]
    pub started_at: DateTime<Utc>,
    #[serde(with = "ts")]
    pub finished_at: DateTime<Utc>,
    pub accounts: usize,
    pub linked: usize,
    pub pending: usize,
    pub unlinked: usize,
    pub exempt: usize,
    pub changes: usize,
    pub alerts: usize,
    pub messages: usize,
    pub dry_run: bool,
    /// Absent in items written before `apnwatch report` (read as empty / zero).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub organization_id: String,
    #[serde(default)]
    pub invited: usize,
    #[serde(default)]
    pub accepted: usize,
    /// `INVITE_FAILED: <reason>` or `ACCEPT_FAILED: <reason>` to a count.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub refusals: BTreeMap<String, usize>,
    /// Epoch seconds.
    pub expires_at: i64,
}

impl RunItem {
    pub fn new(s: &RunSummary, expires_at: DateTime<Utc>) -> Self {
        Self {
            pk: RUNS_PK.to_string(),
            sk: run_sk(s),
            entity: "run".to_string(),
            run_id: s.run_id.clone(),
            started_at: s.started_at,
            finished_at: s.finished_at,
            accounts: s.accounts,
            linked: s.linked,
            pending: s.pending,
            unlinked: s.unlinked,
            exempt: s.exempt,
            changes: s.changes,
            alerts: s.alerts,
            messages: s.messages,
            dry_run: s.dry_run,
            organization_id: s.organization_id.clone(),
            invited: s.invited,
            accepted: s.accepted,
            refusals: s.refusals.clone(),
            expires_at: expires_at.timestamp(),
        }
    }
}

impl TryFrom<RunItem> for RunSummary {
    type Error = String;

    fn try_from(i: RunItem) -> Result<Self, String> {
        check_entity(&i.entity, "run")?;
        Ok(Self {
            run_id: i.run_id,
            started_at: i.started_at,
            finished_at: i.finished_at,
            accounts: i.accounts,
            linked: i.linked,
            pending: i.pending,
            unlinked: i.unlinked,
            exempt: i.exempt,
            changes: i.changes,
            alerts: i.alerts,
            messages: i.messages,
            dry_run: i.dry_run,
            organization_id: i.organization_id,
            invited: i.invited,
            accepted: i.accepted,
            refusals: i.refusals,
        })
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

impl TryFrom<SweepItem> for SweepState {
    type Error = String;

    fn try_from(i: SweepItem) -> Result<Self, String> {
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
mod tests {
    use super::*;

    /// The sweep item keeps the cursor, the time and every range through a round trip.
    #[test]
    fn sweep_item_round_trips() {
        let s = SweepState {
            cursor: Some("111122223333".into()),
            swept_at: Some(at("2027-02-25T09:00:00Z")),
            ranges: vec![SweptRange {
                first: "999900001111".into(),
                last: "111122223333".into(),
                at: at("2027-02-25T09:00:00Z"),
            }],
        };
        let item = to_item(&SweepItem::new(&s));
        assert_eq!(from_item::<SweepItem, SweepState>(item).unwrap(), s);
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn record(id: &str, state: LinkState, removed: bool) -> AccountRecord {
        AccountRecord {
            account: Account {
                id: id.into(),
                name: "Prod Workloads".into(),
                email: format!("{id}@example.com"),
                state: AccountState::Active,
                joined_method: Some("INVITED".into()),
                joined_at: Some(at("2024-03-01T09:30:00.123Z")),
                parent_id: "ou-ab12-prod1234".into(),
                ou_path: "Root/Workloads/Prod".into(),
                ou_ids: vec!["r-ab12".into(), "ou-ab12-prod1234".into()],
                tags: [("apn-link".to_string(), "linked".to_string())].into(),
                is_management: false,
            },
            link: LinkDecision {
                state,
                source: LinkSource::Tag,
                detail: "tag apn-link=linked".into(),
            },
            first_seen: at("2026-11-20T12:00:00.000Z"),
            last_changed: at("2026-11-27T12:00:00.500Z"),
            removed,
            rev: 7,
            state_since: at("2026-11-21T08:00:00.000Z"),
            last_alerted_at: None,
            refusal: None,
        }
    }

    fn event(at_: &str, run: &str, seq: u32) -> ChangeEvent {
        ChangeEvent {
            account_id: "111122223333".into(),
            at: at(at_),
            run_id: run.into(),
            seq,
            kind: ChangeKind::Unlinked,
            before: Some("LINKED".into()),
            after: Some("UNLINKED".into()),
            detail: "link canceled in Partner Central".into(),
        }
    }

    fn s(v: &AttributeValue) -> &str {
        v.as_s().unwrap()
    }

    /// An account record survives the trip through its item unchanged.
    #[test]
    fn account_record_round_trips() {
        let r = record("111122223333", LinkState::Linked, false);
        let item = to_item(&AccountItem::from(&r));
        let back: AccountRecord = from_item::<AccountItem, _>(item).unwrap();
        assert_eq!(back, r);
    }

    /// A refusal is a map on the account item (`refusal.kind`, `.at`, `.reason`,
    /// `.message`, `.what_to_do`) and comes back as it was.
    #[test]
    fn refusal_is_a_documented_map() {
        let mut r = record("111122223333", LinkState::Unlinked, false);
        r.refusal = Some(LinkRefusal {
            kind: ChangeKind::AcceptFailed,
            at: at("2026-11-28T10:00:00.250Z"),
            reason: "AccessDenied".into(),
            message: "not authorized to perform: sts:AssumeRole".into(),
            what_to_do: "deploy infra/member-accept-role.yaml".into(),
        });
        let item = to_item(&AccountItem::from(&r));
        let m = item["refusal"].as_m().unwrap();
        assert_eq!(s(&m["kind"]), "ACCEPT_FAILED");
        assert_eq!(s(&m["at"]), "2026-11-28T10:00:00.250Z");
        assert_eq!(s(&m["reason"]), "AccessDenied");
        assert_eq!(from_item::<AccountItem, AccountRecord>(item).unwrap(), r);
        r.refusal = None;
        assert!(!to_item(&AccountItem::from(&r)).contains_key("refusal"));
    }

    /// The account item reads well in the console: plain strings, a list of OU ids, a map of
    /// tags, booleans, a numeric revision and the index keys.
    #[test]
    fn account_item_has_documented_attributes() {
        let item = to_item(&AccountItem::from(&record(
            "111122223333",
            LinkState::Unlinked,
            false,
        )));
        assert_eq!(s(&item["pk"]), "ACCOUNTS");
        assert_eq!(s(&item["sk"]), "ACCOUNT#111122223333");
        assert_eq!(s(&item["entity"]), "account");
        assert_eq!(s(&item["state"]), "ACTIVE");
        assert_eq!(s(&item["link_state"]), "UNLINKED");
        assert_eq!(s(&item["link_source"]), "tag");
        assert_eq!(s(&item["joined_at"]), "2024-03-01T09:30:00.123Z");
        assert_eq!(s(&item["first_seen"]), "2026-11-20T12:00:00.000Z");
        assert_eq!(item["ou_ids"].as_l().unwrap().len(), 2);
        assert_eq!(s(&item["tags"].as_m().unwrap()["apn-link"]), "linked");
        assert_eq!(item["is_management"], AttributeValue::Bool(false));
        assert_eq!(item["removed"], AttributeValue::Bool(false));
        assert_eq!(item["rev"], AttributeValue::N("7".into()));
        assert_eq!(s(&item["gsi1pk"]), "LINK#UNLINKED");
        assert_eq!(s(&item["gsi1sk"]), "ACCOUNT#111122223333");
    }

    /// A removed account keeps its item but leaves the by-link-state index.
    #[test]
    fn removed_account_has_no_index_key() {
        let r = record("111122223333", LinkState::Linked, true);
        let item = to_item(&AccountItem::from(&r));
        assert!(!item.contains_key("gsi1pk"));
        assert_eq!(from_item::<AccountItem, AccountRecord>(item).unwrap(), r);
    }

    /// Missing optional fields are left out of the item rather than stored as NULL.
    #[test]
    fn absent_optionals_are_omitted() {
        let mut r = record("111122223333", LinkState::Linked, false);
        r.account.joined_method = None;
        r.account.joined_at = None;
        let item = to_item(&AccountItem::from(&r));
        assert!(!item.contains_key("joined_method") && !item.contains_key("joined_at"));
        assert_eq!(from_item::<AccountItem, AccountRecord>(item).unwrap(), r);
    }

    /// The alert bookkeeping round-trips; an item from before it existed still loads, and an
    /// UNLINKED one counts as alerted when its link state last changed, so reminders and
    /// resolved notices also cover accounts alerted by an older version.
    #[test]
    fn items_without_alert_fields_still_load() {
        let mut r = record("111122223333", LinkState::Unlinked, false);
        r.last_alerted_at = Some(at("2026-11-22T10:00:00.000Z"));
        let item = to_item(&AccountItem::from(&r));
        assert_eq!(s(&item["last_alerted_at"]), "2026-11-22T10:00:00.000Z");
        assert_eq!(s(&item["state_since"]), "2026-11-21T08:00:00.000Z");
        assert_eq!(
            from_item::<AccountItem, AccountRecord>(item.clone()).unwrap(),
            r
        );

        let mut old = item;
        for field in ["last_alerted_at", "state_since", "alert_fields"] {
            old.remove(field);
        }
        let back: AccountRecord = from_item::<AccountItem, _>(old.clone()).unwrap();
        assert_eq!(back.last_alerted_at, Some(r.last_changed));
        assert_eq!(back.state_since, r.last_changed);
        old.insert("link_state".into(), AttributeValue::S("LINKED".into()));
        let linked: AccountRecord = from_item::<AccountItem, _>(old).unwrap();
        assert_eq!(
            linked.last_alerted_at, None,
            "no open alert on a linked account"
        );
    }

    /// History sort keys order events by time, then run, then sequence.
    #[test]
    fn history_sort_keys_sort_in_event_order() {
        let events = [
            event("2026-11-27T09:00:00Z", "run-a", 2),
            event("2026-11-27T09:00:00Z", "run-a", 10),
            event("2026-11-27T09:00:00.5Z", "run-b", 1),
            event("2026-11-27T10:00:00Z", "run-c", 1),
        ];
        let keys: Vec<String> = events.iter().map(event_sk).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted, keys);
        assert_eq!(keys[0], "2026-11-27T09:00:00.000Z#run-a#002");
    }

    /// A history event survives the trip through its item unchanged.
    #[test]
    fn event_round_trips() {
        let e = event("2026-11-27T09:00:00.250Z", "run-a", 1);
        let item = to_item(&EventItem::from(&e));
        assert_eq!(s(&item["pk"]), "HISTORY#111122223333");
        assert_eq!(s(&item["kind"]), "UNLINKED");
        assert_eq!(from_item::<EventItem, ChangeEvent>(item).unwrap(), e);
    }

    /// A queued alert survives the trip through its item unchanged.
    #[test]
    fn alert_round_trips() {
        let a = PendingAlert {
            id: "run-a#111122223333".into(),
            run_id: "run-a".into(),
            created_at: at("2026-11-27T09:00:00Z"),
            reason: AlertReason::LinkLost,
            account_id: "111122223333".into(),
            name: "Prod".into(),
            email: "prod@example.com".into(),
            ou_path: "Root/Prod".into(),
            state: AccountState::Other("SOMETHING_NEW".into()),
            link_state: LinkState::Unlinked,
            link_source: LinkSource::PartnerCentral,
            link_detail: "link canceled in Partner Central".into(),
            state_since: Some(at("2026-11-20T09:00:00Z")),
            first_seen: Some(at("2026-11-19T09:00:00Z")),
            removed: false,
            route: Some("Workloads".into()),
            refusal: Some(LinkRefusal {
                kind: ChangeKind::InviteFailed,
                at: at("2026-11-27T09:00:00.250Z"),
                reason: "RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException)".into(),
                message: "no profile".into(),
                what_to_do: "register it".into(),
            }),
        };
        let item = to_item(&AlertItem::from(&a));
        assert_eq!(s(&item["sk"]), "run-a#111122223333");
        assert_eq!(s(&item["reason"]), "LINK_LOST");
        assert_eq!(from_item::<AlertItem, PendingAlert>(item).unwrap(), a);
    }

    /// A run summary survives the trip; its item carries the TTL in epoch seconds.
    #[test]
    fn run_round_trips_with_ttl() {
        let r = RunSummary {
            run_id: "run-a".into(),
            started_at: at("2026-11-27T09:00:00Z"),
            finished_at: at("2026-11-27T09:00:05Z"),
            accounts: 12,
            linked: 9,
            unlinked: 3,
            changes: 4,
            alerts: 3,
            messages: 1,
            organization_id: "o-abc123def4".into(),
            invited: 2,
            accepted: 1,
            refusals: [("INVITE_FAILED: RECEIVER_PROFILE_NOT_FOUND".to_string(), 1)].into(),
            ..Default::default()
        };
        let item = to_item(&RunItem::new(&r, at("2027-02-25T09:00:00Z")));
        assert_eq!(s(&item["sk"]), "2026-11-27T09:00:00.000Z#run-a");
        assert_eq!(item["expires_at"], AttributeValue::N("1803546000".into()));
        assert_eq!(from_item::<RunItem, RunSummary>(item).unwrap(), r);
    }

    /// An item of another kind, or with an unreadable value, is reported, not guessed at.
    #[test]
    fn malformed_items_are_rejected() {
        let mut item = to_item(&AccountItem::from(&record(
            "111122223333",
            LinkState::Linked,
            false,
        )));
        item.insert("link_state".into(), AttributeValue::S("MAYBE".into()));
        assert!(from_item::<AccountItem, AccountRecord>(item.clone()).is_err());
        item.insert("link_state".into(), AttributeValue::S("LINKED".into()));
        item.insert("entity".into(), AttributeValue::S("event".into()));
        let err = from_item::<AccountItem, AccountRecord>(item.clone()).unwrap_err();
        assert!(err.contains("entity"), "{err}");
        item.remove("rev");
        assert!(from_item::<AccountItem, AccountRecord>(item).is_err());
    }
}
