//! Invoke payloads: random JSON and the sample events of `infra/events/` with fields
//! removed, retyped or changed start a walk exactly when an independent statement of the
//! accepted shapes says so, and never panic.

use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::domain::trigger::{self, *};

/// Any JSON value, nested a few levels, with the keys the parser looks at among the random
/// ones so that near-misses are common.
fn json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("source".to_string()),
        Just("detail-type".to_string()),
        Just("detail".to_string()),
        Just("eventName".to_string()),
        Just("errorCode".to_string()),
        Just("Records".to_string()),
        Just("eventSource".to_string()),
        Just("messageId".to_string()),
        Just("body".to_string()),
        Just("time".to_string()),
        "[a-zA-Z-]{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,20}".prop_map(Value::String),
        Just(Value::String(SCHEDULE_SOURCE.into())),
        Just(Value::String(ORGANIZATIONS_SOURCE.into())),
        Just(Value::String(PARTNER_CENTRAL_SOURCE.into())),
        Just(Value::String(CONTROL_TOWER_SOURCE.into())),
        Just(Value::String(SCHEDULE_DETAIL_TYPE.into())),
        Just(Value::String("aws:sqs".into())),
        Just(Value::String("{}".into())),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// An EventBridge envelope this function handles: the accepted source and detail-type
/// pairs, and for Organizations a known `eventName` of a call that did not fail.
fn accepted_event(map: &Map<String, Value>) -> bool {
    let (Some(Value::String(source)), Some(Value::String(detail_type))) =
        (map.get("source"), map.get("detail-type"))
    else {
        return false;
    };
    let detail = map.get("detail");
    match source.as_str() {
        SCHEDULE_SOURCE => detail_type == SCHEDULE_DETAIL_TYPE,
        ORGANIZATIONS_SOURCE => {
            let name = detail
                .and_then(|d| d.get("eventName"))
                .and_then(Value::as_str);
            let failed = detail
                .and_then(|d| d.get("errorCode"))
                .and_then(Value::as_str)
                .is_some();
            // A CreateAccountResult whose status says FAILED created nothing.
            let status = detail
                .and_then(|d| d.get("serviceEventDetails"))
                .and_then(|d| d.get("createAccountStatus"))
                .and_then(|s| s.get("state"))
                .and_then(Value::as_str);
            let not_created = name == Some("CreateAccountResult") && status == Some("FAILED");
            ORGANIZATIONS_DETAIL_TYPES.contains(&detail_type.as_str())
                && name.is_some_and(|n| ORGANIZATIONS_EVENT_NAMES.contains(&n))
                && !failed
                && !not_created
        }
        CONTROL_TOWER_SOURCE => {
            let name = detail
                .and_then(|d| d.get("eventName"))
                .and_then(Value::as_str);
            detail_type == CONTROL_TOWER_DETAIL_TYPE
                && name.is_some_and(|n| CONTROL_TOWER_EVENT_NAMES.contains(&n))
        }
        PARTNER_CENTRAL_SOURCE => PARTNER_CENTRAL_DETAIL_TYPES.contains(&detail_type.as_str()),
        _ => false,
    }
}

/// Whether a payload should start a walk: `{}`, an accepted event, or an SQS batch (of SQS
/// records only) with at least one accepted event in a body.
fn should_walk(payload: &Value) -> bool {
    let Value::Object(map) = payload else {
        return false;
    };
    if map.is_empty() {
        return true;
    }
    match map.get("Records") {
        None => accepted_event(map),
        Some(Value::Array(records)) => {
            let sqs = |r: &Value| {
                r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs")
                    && r.get("messageId").and_then(Value::as_str).is_some()
            };
            !records.is_empty()
                && records.iter().all(sqs)
                && records.iter().any(|r| {
                    let body = r.get("body").and_then(Value::as_str).unwrap_or("");
                    matches!(serde_json::from_str(body), Ok(Value::Object(m)) if accepted_event(&m))
                })
        }
        Some(_) => false,
    }
}

/// The invoke handler walks when the payload parses and something asks for a run.
fn walks(payload: &Value) -> bool {
    trigger::parse(payload).is_ok_and(|inv| inv.nothing_to_do().is_none())
}

const SAMPLES: [&str; 13] = [
    include_str!("../../../../infra/events/control-tower-create-managed-account.json"),
    include_str!("../../../../infra/events/control-tower-update-managed-account.json"),
    include_str!("../../../../infra/events/malformed.json"),
    include_str!("../../../../infra/events/manual.json"),
    include_str!("../../../../infra/events/organizations-close-account-result.json"),
    include_str!("../../../../infra/events/organizations-create-account-result-failed.json"),
    include_str!("../../../../infra/events/organizations-create-account-result.json"),
    include_str!("../../../../infra/events/organizations-ignored.json"),
    include_str!("../../../../infra/events/organizations-move-account.json"),
    include_str!("../../../../infra/events/organizations-tag-resource.json"),
    include_str!("../../../../infra/events/partner-central-invitation-accepted.json"),
    include_str!("../../../../infra/events/scheduled-event.json"),
    include_str!("../../../../infra/events/sqs-batch.json"),
];

/// One mutation: at the node `path` leads to (each number picks a child, modulo), remove
/// it, put `value` in its place, or (for a string holding JSON, like an SQS body) mutate
/// inside it.
#[derive(Debug, Clone)]
enum Mutation {
    Remove(Vec<usize>),
    Replace(Vec<usize>, Value),
    Retype(Vec<usize>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let path = prop::collection::vec(any::<usize>(), 0..6);
    prop_oneof![
        path.clone().prop_map(Mutation::Remove),
        (path.clone(), json()).prop_map(|(p, v)| Mutation::Replace(p, v)),
        path.prop_map(Mutation::Retype),
    ]
}

fn retype(v: &Value) -> Value {
    match v {
        Value::String(s) => s
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or(Value::Bool(true)),
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Null => Value::String(String::new()),
        Value::Array(a) => a.first().cloned().unwrap_or(Value::Null),
        Value::Object(m) => Value::Array(m.values().cloned().collect()),
    }
}

/// Applies `m` to `v`, descending into JSON held in strings (SQS bodies) too.
fn mutate(v: &mut Value, path: &[usize], m: &Mutation) {
    let Some((first, rest)) = path.split_first() else {
        match m {
            Mutation::Replace(_, new) => *v = new.clone(),
            Mutation::Retype(_) => *v = retype(v),
            Mutation::Remove(_) => *v = Value::Null,
        }
        return;
    };
    match v {
        Value::Object(map) if !map.is_empty() => {
            let key = map
                .keys()
                .nth(first % map.len())
                .cloned()
                .expect("in range");
            if rest.is_empty() && matches!(m, Mutation::Remove(_)) {
                map.remove(&key);
            } else {
                mutate(map.get_mut(&key).expect("present"), rest, m);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let i = first % items.len();
            if rest.is_empty() && matches!(m, Mutation::Remove(_)) {
                items.remove(i);
            } else {
                mutate(&mut items[i], rest, m);
            }
        }
        Value::String(s) => {
            if let Ok(mut inner) = serde_json::from_str::<Value>(s) {
                mutate(&mut inner, rest, m);
                *s = inner.to_string();
            }
        }
        _ => mutate(v, &[], m),
    }
}

proptest! {
    /// Random JSON never panics the parser and starts a walk only when it is `{}`, an
    /// accepted event or an SQS batch holding one.
    #[test]
    fn random_payloads_never_walk_unless_accepted(payload in json()) {
        prop_assert_eq!(walks(&payload), should_walk(&payload), "{}", payload);
    }

    /// The sample events with fields removed, retyped or changed (inside SQS bodies too):
    /// no panic, and a walk only for a payload still accepted.
    #[test]
    fn mutated_sample_events_never_walk_unless_accepted(
        sample in 0..SAMPLES.len(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut payload: Value = serde_json::from_str(SAMPLES[sample]).expect("sample is JSON");
        for m in &mutations {
            let (Mutation::Remove(p) | Mutation::Replace(p, _) | Mutation::Retype(p)) = m;
            mutate(&mut payload, p, m);
        }
        prop_assert_eq!(walks(&payload), should_walk(&payload), "{}", payload);
    }
}
