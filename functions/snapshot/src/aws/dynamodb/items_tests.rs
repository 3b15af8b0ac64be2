//! Items: each kind survives the trip through its DynamoDB shape, older items included.

use super::*;
use crate::domain::model::{AlertReason, ChangeKind};

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
    round_trip(SweepItem::new(&s), &s);
}

/// `raw` as an item, after checking that the item reads back as `model`: the trip through
/// DynamoDB's shape loses nothing.
fn round_trip<I, M>(raw: I, model: &M) -> Item
where
    I: Serialize + DeserializeOwned,
    M: FromItem<I> + PartialEq + std::fmt::Debug,
{
    let item = to_item(&raw);
    assert_eq!(&from_item::<I, M>(item.clone()).unwrap(), model);
    item
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// [`AccountRecord::sample`] with every optional field filled in, revision 7.
fn record(id: &str, state: LinkState, removed: bool) -> AccountRecord {
    let sample = AccountRecord::sample(id);
    AccountRecord {
        account: Account {
            name: "Prod Workloads".into(),
            joined_method: Some("INVITED".into()),
            joined_at: Some(at("2024-03-01T09:30:00.123Z")),
            ou_ids: vec!["r-ab12".into(), "ou-ab12-prod1234".into()],
            tags: [("apn-link".to_string(), "linked".to_string())].into(),
            ..sample.account
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
        ..sample
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
    round_trip(AccountItem::from(&r), &r);
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
    let item = round_trip(AccountItem::from(&r), &r);
    assert!(!item.contains_key("gsi1pk"));
}

/// Missing optional fields are left out of the item rather than stored as NULL.
#[test]
fn absent_optionals_are_omitted() {
    let mut r = record("111122223333", LinkState::Linked, false);
    r.account.joined_method = None;
    r.account.joined_at = None;
    let item = round_trip(AccountItem::from(&r), &r);
    assert!(!item.contains_key("joined_method") && !item.contains_key("joined_at"));
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
    let item = round_trip(EventItem::from(&e), &e);
    assert_eq!(s(&item["pk"]), "HISTORY#111122223333");
    assert_eq!(s(&item["kind"]), "UNLINKED");
}

/// A queued alert survives the trip through its item unchanged.
#[test]
fn alert_round_trips() {
    // An account state this version does not know, and a refusal: the rarest fields too.
    let mut record = record("111122223333", LinkState::Unlinked, false);
    record.account.state = AccountState::Other("SOMETHING_NEW".into());
    record.link.source = LinkSource::PartnerCentral;
    record.link.detail = "link canceled in Partner Central".into();
    record.refusal = Some(LinkRefusal {
        kind: ChangeKind::InviteFailed,
        at: at("2026-11-27T09:00:00.250Z"),
        reason: "RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException)".into(),
        message: "no profile".into(),
        what_to_do: "register it".into(),
    });
    let queued_at = at("2026-11-27T09:00:00Z");
    let route = Some("Workloads".into());
    let a = PendingAlert::about(&record, AlertReason::LinkLost, "run-a", queued_at, route);
    let item = round_trip(AlertItem::from(&a), &a);
    assert_eq!(s(&item["sk"]), "run-a#111122223333");
    assert_eq!(s(&item["reason"]), "LINK_LOST");
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
    let item = round_trip(RunItem::new(&r, at("2027-02-25T09:00:00Z")), &r);
    assert_eq!(s(&item["sk"]), "2026-11-27T09:00:00.000Z#run-a");
    assert_eq!(item["expires_at"], AttributeValue::N("1803546000".into()));
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
