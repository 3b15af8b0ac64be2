//! Bad input, generated (issue 17): property-based tests of every parser of outside input.
//! Invoke payloads (random JSON, and the sample events of `infra/events/` with fields
//! removed, retyped or changed) never panic and never start a walk unless the payload is an
//! accepted event; every `APNWATCH_*` value parses or is refused with a message, never a
//! panic, and valid ones mean what they say; the account, OU and ARN validators match their
//! documented patterns; names with commas, quotes, line breaks and non-ASCII round-trip
//! through the JSON and CSV outputs.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::config::{self, Config};
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
    include_str!("../../../infra/events/control-tower-create-managed-account.json"),
    include_str!("../../../infra/events/control-tower-update-managed-account.json"),
    include_str!("../../../infra/events/malformed.json"),
    include_str!("../../../infra/events/manual.json"),
    include_str!("../../../infra/events/organizations-close-account-result.json"),
    include_str!("../../../infra/events/organizations-create-account-result-failed.json"),
    include_str!("../../../infra/events/organizations-create-account-result.json"),
    include_str!("../../../infra/events/organizations-ignored.json"),
    include_str!("../../../infra/events/organizations-move-account.json"),
    include_str!("../../../infra/events/organizations-tag-resource.json"),
    include_str!("../../../infra/events/partner-central-invitation-accepted.json"),
    include_str!("../../../infra/events/scheduled-event.json"),
    include_str!("../../../infra/events/sqs-batch.json"),
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

/// Settings from `pairs` on top of the one required variable.
fn config(pairs: &[(&str, &str)]) -> Result<Config, config::ConfigError> {
    let env: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([("APNWATCH_TABLE".to_string(), "t".to_string())])
        .collect();
    Config::from_lookup(|k| env.get(k).cloned())
}

const VARS: [&str; 24] = [
    config::ENV_TOPIC_ARN,
    config::ENV_LINK_TAG_KEY,
    config::ENV_LINKED_ACCOUNTS,
    config::ENV_EXEMPT_ACCOUNTS,
    config::ENV_EXEMPT_OUS,
    config::ENV_LINK_SOURCES,
    config::ENV_PARTNER_CENTRAL_CATALOG,
    config::ENV_PARTNER_CENTRAL_ROLE_ARN,
    config::ENV_PARTNER_CENTRAL_EXTERNAL_ID,
    config::ENV_ORG_ROLE_ARN,
    config::ENV_ORG_CONCURRENCY,
    config::ENV_RUN_RETENTION_DAYS,
    config::ENV_REMIND_AFTER,
    config::ENV_NOTIFY_RESOLVED,
    config::ENV_ROUTE_BY,
    config::ENV_TAG_SWEEP_ABOVE,
    config::ENV_TAG_MAX_AGE,
    config::ENV_AUTO_INVITE,
    config::ENV_INVITE_MAX_PER_RUN,
    config::ENV_INVITE_NAME,
    config::ENV_INVITE_EMAIL,
    config::ENV_INVITE_MESSAGE,
    config::ENV_ACCEPT_ROLE_NAME,
    config::ENV_ACCEPT_EXTERNAL_ID,
];

/// Values near the valid ones as well as any text.
fn setting_value() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[0-9]{1,25}",
        "-?[0-9]{1,4}[smhdx]?",
        "(ou|r)-[a-z0-9]{2,6}-[a-z0-9]{6,10}(, ?[0-9]{12})?",
        "arn:aws:(sns|iam|sts)::?[0-9]{12}:[A-Za-z0-9/._-]{0,12}",
        "(tag|ou|ou-level|partner-central|list|off|new|unlinked|true|FALSE|AWS|Sandbox)(:[0-9])?",
    ]
}

proptest! {
    /// Any value of any `APNWATCH_*` variable is parsed or refused with a message naming the
    /// variable, never a panic.
    #[test]
    fn every_setting_value_parses_or_is_refused_by_name(
        var in 0..VARS.len(),
        value in setting_value(),
    ) {
        if let Err(e) = config(&[(VARS[var], &value)]) {
            let msg = e.to_string();
            prop_assert!(msg.contains("APNWATCH_"), "{msg}");
        }
    }

    /// Whole-number settings take exactly their documented range.
    #[test]
    fn whole_number_settings_take_their_range(n in -5i64..2000) {
        let c = config(&[(config::ENV_ORG_CONCURRENCY, &n.to_string())]);
        prop_assert_eq!(c.as_ref().ok().map(|c| c.org_concurrency as i64), (1..=16).contains(&n).then_some(n));
        let c = config(&[(config::ENV_RUN_RETENTION_DAYS, &n.to_string())]);
        prop_assert_eq!(c.as_ref().ok().map(|c| i64::from(c.run_retention_days)), (1..=3650).contains(&n).then_some(n));
    }

    /// A duration with a unit means that many seconds, minutes, hours or days, up to ten
    /// years; `0` and `off` turn reminders off.
    #[test]
    fn durations_mean_what_they_say(n in 1i64..5000, unit in 0usize..4, pad in " {0,2}") {
        let (u, secs) = [('s', 1), ('m', 60), ('h', 3600), ('d', 86_400)][unit];
        let parsed = crate::domain::remind::parse_remind_after(&format!("{pad}{n}{u}{pad}"));
        let want = n * secs;
        if want <= 3650 * 86_400 {
            prop_assert_eq!(parsed, Ok(Some(chrono::Duration::seconds(want))));
        } else {
            prop_assert!(parsed.is_err());
        }
    }

    /// Account id lists: any spacing around the commas, the same ids back.
    #[test]
    fn account_lists_round_trip(ids in prop::collection::btree_set("[0-9]{12}", 1..6), sep in " ?, ?") {
        let joined = ids.iter().cloned().collect::<Vec<_>>().join(&sep);
        let c = config(&[(config::ENV_EXEMPT_ACCOUNTS, &joined)]).expect("valid ids");
        prop_assert_eq!(c.rules.exempt_accounts.into_iter().collect::<std::collections::BTreeSet<_>>(), ids);
    }

    /// An account id is exactly 12 ASCII digits.
    #[test]
    fn account_ids_are_twelve_digits(s in prop_oneof![".{0,14}", "[0-9]{10,14}", "[0-9０-９]{12}"]) {
        let want = s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
        prop_assert_eq!(config::is_account_id(&s), want);
    }

    /// OU ids follow `ou-` + 4-32 + `-` + 8-32 lowercase alphanumerics (roots `r-` + 4-32).
    #[test]
    fn ou_ids_follow_the_pattern(a in "[a-z0-9]{4,32}", b in "[a-z0-9]{8,32}", junk in ".{0,12}") {
        let ou = format!("ou-{a}-{b}");
        let root = format!("r-{a}");
        let longer = format!("{ou}{junk}");
        let alnum = junk.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        prop_assert!(config::is_ou_id(&ou));
        prop_assert!(config::is_ou_id(&root));
        prop_assert!(!config::is_ou_id(&longer) || (alnum && b.len() + junk.len() <= 32));
        prop_assert!(!config::is_ou_id(&ou.to_uppercase()) || ou == ou.to_uppercase());
    }

    /// A topic ARN in the documented shape is taken; one of another service never is.
    #[test]
    fn topic_arns_follow_the_pattern(
        region in "[a-z]{2}-[a-z]{4,9}-[1-9]",
        account in "[0-9]{12}",
        name in "[A-Za-z0-9_-]{1,256}",
        service in "(sqs|iam|lambda|s3)",
    ) {
        let arn = format!("arn:aws:sns:{region}:{account}:{name}");
        prop_assert!(config(&[(config::ENV_TOPIC_ARN, &arn)]).is_ok(), "{arn}");
        let other = format!("arn:aws:{service}:{region}:{account}:{name}");
        prop_assert!(config(&[(config::ENV_TOPIC_ARN, &other)]).is_err());
    }

    /// Role ARNs: an IAM role ARN is taken, anything else refused by name.
    #[test]
    fn role_arns_follow_the_pattern(account in "[0-9]{12}", role in "[A-Za-z0-9+=,.@_-]{1,64}") {
        let arn = format!("arn:aws:iam::{account}:role/{role}");
        prop_assert!(config(&[(config::ENV_ORG_ROLE_ARN, &arn)]).is_ok(), "{arn}");
        let user = format!("arn:aws:iam::{account}:user/{role}");
        prop_assert!(config(&[(config::ENV_ORG_ROLE_ARN, &user)]).is_err());
    }
}

/// A stored account named `name`.
fn named(name: &str) -> crate::domain::model::AccountRecord {
    use crate::domain::model::*;
    let t: chrono::DateTime<chrono::Utc> = "2026-11-27T12:00:00Z".parse().expect("time");
    AccountRecord {
        account: Account {
            id: "111122223333".into(),
            name: name.into(),
            email: "a@example.com".into(),
            state: AccountState::Active,
            joined_method: None,
            joined_at: None,
            parent_id: "r-ab12".into(),
            ou_path: format!("Root/{name}"),
            ou_ids: vec!["r-ab12".into()],
            tags: Default::default(),
            is_management: false,
        },
        link: LinkDecision {
            state: LinkState::Unlinked,
            source: LinkSource::None,
            detail: name.into(),
        },
        first_seen: t,
        last_changed: t,
        removed: false,
        rev: 1,
        state_since: t,
        last_alerted_at: None,
        refusal: None,
    }
}

/// Names as people write them: commas, quotes, line breaks, non-ASCII, anything.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![".{0,30}", "[a-z ,\"\r\n;Zürich東京]{0,30}", any::<String>()]
}

proptest! {
    /// `accounts --json`: the name comes back exactly.
    #[test]
    fn json_output_round_trips_names(name in name()) {
        let view = crate::views::AccountView::from(&named(&name));
        let back: Value = serde_json::from_str(&serde_json::to_string(&view).expect("json")).expect("parse");
        prop_assert_eq!(back["name"].as_str(), Some(name.as_str()));
        let path = format!("Root/{name}");
        prop_assert_eq!(back["ou_path"].as_str(), Some(path.as_str()));
    }
}

#[cfg(feature = "cli")]
proptest! {
    /// `accounts --csv`: an RFC 4180 reader gets every name back exactly, one row each.
    #[test]
    fn csv_output_round_trips_names(names in prop::collection::vec(name(), 1..4)) {
        let records: Vec<_> = names.iter().map(|n| named(n)).collect();
        let out = crate::cli::csv::accounts_csv(&records);
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(out.as_bytes());
        let col = crate::cli::csv::ACCOUNT_COLUMNS.iter().position(|c| *c == "name").expect("name column");
        let back: Vec<String> = reader.records().map(|r| r.expect("row")[col].to_string()).collect();
        prop_assert_eq!(back, names);
    }
}
