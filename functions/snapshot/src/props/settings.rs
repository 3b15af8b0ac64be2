//! `APNWATCH_*` values and the id and ARN validators.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::config::{self, Config};

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
