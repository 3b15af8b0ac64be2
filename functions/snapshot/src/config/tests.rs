//! Settings: defaults, every variable's validation, and errors that name the variable.

use super::*;
use std::collections::HashMap;

fn cfg(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|k| map.get(k).cloned())
}

/// Only the table is required; everything else has a documented default.
#[test]
fn defaults_apply_when_only_the_table_is_set() {
    let c = cfg(&[(ENV_TABLE, "t")]).unwrap();
    assert_eq!(c.rules.sources, vec![LinkSource::Tag, LinkSource::List]);
    assert_eq!(c.rules.tag_key, "apn-link");
    assert_eq!(c.partner_central.catalog, "AWS");
    assert_eq!(c.org_concurrency, 4);
    assert!(c.topic_arn.is_none());
}

/// A missing table names the variable.
#[test]
fn missing_table_names_the_variable() {
    let e = cfg(&[]).unwrap_err();
    assert!(
        e.to_string().starts_with("APNWATCH_TABLE is not set"),
        "{e}"
    );
}

/// A malformed id in a list is a start-up error naming the value, not a silent skip.
#[test]
fn malformed_account_id_is_named() {
    let e = cfg(&[
        (ENV_TABLE, "t"),
        (ENV_LINKED_ACCOUNTS, "111122223333, 12345"),
    ])
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("APNWATCH_LINKED_ACCOUNTS") && msg.contains("\"12345\""),
        "{msg}"
    );
}

/// Lists accept spaces and empty entries; OU ids follow the documented pattern.
#[test]
fn lists_parse_and_ou_ids_validate() {
    let c = cfg(&[
        (ENV_TABLE, "t"),
        (ENV_EXEMPT_ACCOUNTS, " 111122223333 ,,222233334444"),
        (ENV_EXEMPT_OUS, "ou-ab12-cdef5678"),
    ])
    .unwrap();
    assert_eq!(c.rules.exempt_accounts.len(), 2);
    assert!(c.rules.exempt_ous.contains("ou-ab12-cdef5678"));
    let e = cfg(&[(ENV_TABLE, "t"), (ENV_EXEMPT_OUS, "Sandbox")]).unwrap_err();
    assert!(e.to_string().contains("APNWATCH_EXEMPT_OUS"));
}

/// The Partner Central role's external id follows STS's rules, like the accept role's.
#[test]
fn partner_central_external_id_is_checked_at_start() {
    let ok = cfg(&[
        (ENV_TABLE, "t"),
        (ENV_PARTNER_CENTRAL_EXTERNAL_ID, "apn-link:watch/1"),
    ]);
    assert_eq!(
        ok.unwrap().partner_central.external_id.as_deref(),
        Some("apn-link:watch/1")
    );
    for bad in ["x", "has space", "semi;colon"] {
        let e = cfg(&[(ENV_TABLE, "t"), (ENV_PARTNER_CENTRAL_EXTERNAL_ID, bad)]).unwrap_err();
        assert!(
            e.to_string().starts_with(ENV_PARTNER_CENTRAL_EXTERNAL_ID),
            "{e}"
        );
    }
}

/// Sources are ordered, known and unique.
#[test]
fn link_sources_parse_in_order() {
    let c = cfg(&[(ENV_TABLE, "t"), (ENV_LINK_SOURCES, "partner-central, tag")]).unwrap();
    assert_eq!(
        c.rules.sources,
        vec![LinkSource::PartnerCentral, LinkSource::Tag]
    );
    assert!(cfg(&[(ENV_TABLE, "t"), (ENV_LINK_SOURCES, "tags")]).is_err());
    assert!(cfg(&[(ENV_TABLE, "t"), (ENV_LINK_SOURCES, "tag,tag")]).is_err());
}

/// Reminders default to a week and resolved notices to on; bad values name the variable.
#[test]
fn reminder_resolved_and_routing_settings_parse() {
    let c = cfg(&[(ENV_TABLE, "t")]).unwrap();
    assert_eq!(c.alert_policy.remind_after, Some(chrono::Duration::days(7)));
    assert!(c.alert_policy.notify_resolved);
    assert_eq!(c.route_by, RouteBy::None);
    assert_eq!(c.summary, crate::domain::summary::SummaryPeriod::Weekly);
    let c = cfg(&[
        (ENV_TABLE, "t"),
        (ENV_REMIND_AFTER, "off"),
        (ENV_NOTIFY_RESOLVED, "false"),
        (ENV_ROUTE_BY, "tag:team"),
        (ENV_SUMMARY, "daily"),
    ])
    .unwrap();
    assert_eq!(c.summary, crate::domain::summary::SummaryPeriod::Daily);
    assert_eq!(c.alert_policy.remind_after, None);
    assert!(!c.alert_policy.notify_resolved);
    assert!(c.needs_tags(), "routing by tag reads tags");
    for (var, bad) in [
        (ENV_REMIND_AFTER, "weekly"),
        (ENV_NOTIFY_RESOLVED, "yes"),
        (ENV_ROUTE_BY, "ou:9"),
        (ENV_SUMMARY, "monthly"),
    ] {
        let e = cfg(&[(ENV_TABLE, "t"), (var, bad)]).unwrap_err();
        assert!(e.to_string().starts_with(var), "{e}");
    }
}

/// Role ARNs, catalog and numbers are checked up front.
#[test]
fn arns_catalog_and_numbers_are_validated() {
    assert!(cfg(&[
        (ENV_TABLE, "t"),
        (ENV_ORG_ROLE_ARN, "arn:aws:iam::111122223333:role/r")
    ])
    .is_ok());
    assert!(cfg(&[(ENV_TABLE, "t"), (ENV_ORG_ROLE_ARN, "my-role")]).is_err());
    assert!(cfg(&[(ENV_TABLE, "t"), (ENV_PARTNER_CENTRAL_CATALOG, "Sandbox")]).is_ok());
    assert!(cfg(&[(ENV_TABLE, "t"), (ENV_PARTNER_CENTRAL_CATALOG, "aws")]).is_err());
    assert!(cfg(&[(ENV_TABLE, "t"), (ENV_ORG_CONCURRENCY, "0")]).is_err());
    assert!(cfg(&[(ENV_TABLE, "t"), (ENV_TOPIC_ARN, "topic")]).is_err());
}

fn topic_error(arn: &str) -> String {
    cfg(&[(ENV_TABLE, "t"), (ENV_TOPIC_ARN, arn)])
        .map(|_| ())
        .unwrap_err()
        .to_string()
}

/// Standard topic ARNs in any partition start up, and the ARN is kept as given.
#[test]
fn sns_topic_arns_are_accepted_in_every_partition() {
    for arn in [
        "arn:aws:sns:us-east-1:111122223333:apn-link-watch",
        "arn:aws-cn:sns:cn-north-1:111122223333:alerts_1",
        "arn:aws-us-gov:sns:us-gov-west-1:111122223333:apn-link-watch-AlertTopic-AbC12",
    ] {
        let c =
            cfg(&[(ENV_TABLE, "t"), (ENV_TOPIC_ARN, arn)]).unwrap_or_else(|e| panic!("{arn}: {e}"));
        assert_eq!(c.topic_arn.as_deref(), Some(arn));
    }
}

/// An SQS queue ARN pasted by mistake stops start-up, naming the variable and the service.
#[test]
fn queue_arn_as_topic_is_refused_at_start() {
    let msg = topic_error("arn:aws:sqs:us-east-1:111122223333:apn-link-watch-DeadLetterQueue");
    assert!(
        msg.starts_with("APNWATCH_TOPIC_ARN has an invalid value")
            && msg.contains("\"sqs\", not an SNS topic")
            && msg.contains("TopicArn"),
        "{msg}"
    );
}

/// A FIFO topic is refused: its subscribers would be queues only, never email or chat.
#[test]
fn fifo_topic_is_refused_at_start() {
    let msg = topic_error("arn:aws:sns:us-east-1:111122223333:alerts.fifo");
    assert!(
        msg.starts_with("APNWATCH_TOPIC_ARN") && msg.contains("FIFO"),
        "{msg}"
    );
}

/// Malformed shapes (missing parts, bad account, empty or odd names) name the expected shape.
#[test]
fn malformed_topic_arns_show_the_expected_shape() {
    for arn in [
        "apn-link-watch",
        "arn:aws:sns:us-east-1:111122223333",
        "arn:aws:sns:us-east-1:1111:apn-link-watch",
        "arn:aws:sns::111122223333:apn-link-watch",
        "arn:aws:sns:us-east-1:111122223333:",
        "arn:aws:sns:us-east-1:111122223333:a.b",
        "arn:aws:sns:us-east-1:111122223333:apn:extra",
        "arn:xyz:sns:us-east-1:111122223333:apn-link-watch",
    ] {
        let msg = topic_error(arn);
        assert!(
            msg.starts_with("APNWATCH_TOPIC_ARN has an invalid value")
                && msg.contains("arn:<partition>:sns:<region>:<account>:<name>"),
            "{arn}: {msg}"
        );
    }
}

/// The tag sweep defaults to 1,000 accounts and 24 h; bad values name the variable.
#[test]
fn tag_sweep_settings() {
    let c = cfg(&[(ENV_TABLE, "t")]).unwrap();
    assert_eq!(c.tag_sweep_above, 1000);
    assert_eq!(c.tag_max_age, chrono::Duration::hours(24));
    let c = cfg(&[
        (ENV_TABLE, "t"),
        (ENV_TAG_SWEEP_ABOVE, "0"),
        (ENV_TAG_MAX_AGE, "7d"),
    ])
    .unwrap();
    assert_eq!(c.tag_sweep_above, 0);
    assert_eq!(c.tag_max_age, chrono::Duration::days(7));
    for bad in ["-1", "many"] {
        let e = cfg(&[(ENV_TABLE, "t"), (ENV_TAG_SWEEP_ABOVE, bad)]).unwrap_err();
        assert!(e.to_string().contains(ENV_TAG_SWEEP_ABOVE));
    }
    for bad in ["10m", "off", "24"] {
        let e = cfg(&[(ENV_TABLE, "t"), (ENV_TAG_MAX_AGE, bad)]).unwrap_err();
        assert!(e.to_string().contains("at least 1h"), "{bad}: {e}");
    }
}

/// The OU-name max age defaults to 24 h and takes the tag max age's format and minimum.
#[test]
fn ou_max_age_setting() {
    let c = cfg(&[(ENV_TABLE, "t")]).unwrap();
    assert_eq!(c.ou_max_age, chrono::Duration::hours(24));
    let c = cfg(&[(ENV_TABLE, "t"), (ENV_OU_MAX_AGE, "3d")]).unwrap();
    assert_eq!(c.ou_max_age, chrono::Duration::days(3));
    for bad in ["30m", "never", "24"] {
        let e = cfg(&[(ENV_TABLE, "t"), (ENV_OU_MAX_AGE, bad)]).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains(ENV_OU_MAX_AGE) && text.contains("at least 1h"),
            "{bad}: {text}"
        );
    }
}
