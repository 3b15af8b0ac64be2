//! Every `APNWATCH_*` setting, read and validated once at start-up. Errors name the variable
//! and the bad value, so a misconfigured function fails on its first invoke with a fix-it
//! message instead of quietly judging every account with the wrong rules.
//!
//! Config sits above the domain: it turns strings into the domain's types (`LinkRules`,
//! `InviteConfig`, `AlertPolicy`, `RouteBy`); the domain never reads a variable.

mod invite;

use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::str::FromStr;

pub use crate::error::ConfigError;

pub use crate::domain::ids::{is_account_id, is_ou_id};
use crate::domain::invite::InviteConfig;
pub use crate::domain::link::{LinkRules, DEFAULT_TAG_KEY};
use crate::domain::model::LinkSource;
use crate::domain::remind::{parse_remind_after, AlertPolicy};
use crate::domain::route::RouteBy;
use crate::domain::summary::SummaryPeriod;

pub const ENV_TABLE: &str = "APNWATCH_TABLE";
pub const ENV_TOPIC_ARN: &str = "APNWATCH_TOPIC_ARN";
pub const ENV_LINK_TAG_KEY: &str = "APNWATCH_LINK_TAG_KEY";
pub const ENV_LINKED_ACCOUNTS: &str = "APNWATCH_LINKED_ACCOUNTS";
pub const ENV_EXEMPT_ACCOUNTS: &str = "APNWATCH_EXEMPT_ACCOUNTS";
pub const ENV_EXEMPT_OUS: &str = "APNWATCH_EXEMPT_OUS";
pub const ENV_LINK_SOURCES: &str = "APNWATCH_LINK_SOURCES";
pub const ENV_PARTNER_CENTRAL_CATALOG: &str = "APNWATCH_PARTNER_CENTRAL_CATALOG";
pub const ENV_PARTNER_CENTRAL_ROLE_ARN: &str = "APNWATCH_PARTNER_CENTRAL_ROLE_ARN";
pub const ENV_PARTNER_CENTRAL_EXTERNAL_ID: &str = "APNWATCH_PARTNER_CENTRAL_EXTERNAL_ID";
pub const ENV_ORG_ROLE_ARN: &str = "APNWATCH_ORG_ROLE_ARN";
pub const ENV_ORG_CONCURRENCY: &str = "APNWATCH_ORG_CONCURRENCY";
pub const ENV_RUN_RETENTION_DAYS: &str = "APNWATCH_RUN_RETENTION_DAYS";
pub const ENV_REMIND_AFTER: &str = "APNWATCH_REMIND_AFTER";
pub const ENV_NOTIFY_RESOLVED: &str = "APNWATCH_NOTIFY_RESOLVED";
pub const ENV_ROUTE_BY: &str = "APNWATCH_ROUTE_BY";
pub const ENV_SUMMARY: &str = "APNWATCH_SUMMARY";
pub const ENV_TAG_SWEEP_ABOVE: &str = "APNWATCH_TAG_SWEEP_ABOVE";
pub const ENV_TAG_MAX_AGE: &str = "APNWATCH_TAG_MAX_AGE";
pub const ENV_OU_MAX_AGE: &str = "APNWATCH_OU_MAX_AGE";
pub const ENV_AUTO_INVITE: &str = "APNWATCH_AUTO_INVITE";
pub const ENV_INVITE_MAX_PER_RUN: &str = "APNWATCH_INVITE_MAX_PER_RUN";
pub const ENV_INVITE_NAME: &str = "APNWATCH_INVITE_NAME";
pub const ENV_INVITE_EMAIL: &str = "APNWATCH_INVITE_EMAIL";
pub const ENV_INVITE_MESSAGE: &str = "APNWATCH_INVITE_MESSAGE";
pub const ENV_ACCEPT_ROLE_NAME: &str = "APNWATCH_ACCEPT_ROLE_NAME";
pub const ENV_ACCEPT_EXTERNAL_ID: &str = "APNWATCH_ACCEPT_EXTERNAL_ID";
/// Whether the stack's change triggers are on (template parameter TriggerOnChanges): the
/// doctor then checks that CloudTrail delivers the change events.
pub const ENV_CHANGE_TRIGGERS: &str = "APNWATCH_CHANGE_TRIGGERS";

/// Every variable the function reads; the template test checks `template.yaml` sets only these.
pub const ALL_VARS: &[&str] = &[
    ENV_TABLE,
    ENV_TOPIC_ARN,
    ENV_LINK_TAG_KEY,
    ENV_LINKED_ACCOUNTS,
    ENV_EXEMPT_ACCOUNTS,
    ENV_EXEMPT_OUS,
    ENV_LINK_SOURCES,
    ENV_PARTNER_CENTRAL_CATALOG,
    ENV_PARTNER_CENTRAL_ROLE_ARN,
    ENV_PARTNER_CENTRAL_EXTERNAL_ID,
    ENV_ORG_ROLE_ARN,
    ENV_ORG_CONCURRENCY,
    ENV_RUN_RETENTION_DAYS,
    ENV_REMIND_AFTER,
    ENV_NOTIFY_RESOLVED,
    ENV_ROUTE_BY,
    ENV_SUMMARY,
    ENV_TAG_SWEEP_ABOVE,
    ENV_TAG_MAX_AGE,
    ENV_OU_MAX_AGE,
    ENV_AUTO_INVITE,
    ENV_INVITE_MAX_PER_RUN,
    ENV_INVITE_NAME,
    ENV_INVITE_EMAIL,
    ENV_INVITE_MESSAGE,
    ENV_ACCEPT_ROLE_NAME,
    ENV_ACCEPT_EXTERNAL_ID,
    ENV_CHANGE_TRIGGERS,
];
pub const DEFAULT_CATALOG: &str = "AWS";
/// Organizations throttles per account at a few requests per second; four calls in flight
/// walks a wide tree quickly without living on the retry path.
pub const DEFAULT_ORG_CONCURRENCY: usize = 4;
pub const DEFAULT_RUN_RETENTION_DAYS: u32 = 90;
/// Up to this many accounts every run reads every account's tags (one call each).
pub const DEFAULT_TAG_SWEEP_ABOVE: usize = 1000;
/// Above the sweep threshold, every account's tags are re-read at least this often.
pub const DEFAULT_TAG_MAX_AGE: chrono::Duration = chrono::Duration::hours(24);
/// When the accounts come with their paths, every stored OU name is re-read at least this often.
pub const DEFAULT_OU_MAX_AGE: chrono::Duration = chrono::Duration::hours(24);

/// Which Partner Central catalog to read: `AWS` (production) or `Sandbox` (trials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerCentralConfig {
    pub catalog: String,
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table: String,
    /// Required for a real run; a dry run publishes nothing and may leave it unset.
    pub topic_arn: Option<String>,
    pub rules: LinkRules,
    pub partner_central: PartnerCentralConfig,
    pub org_role_arn: Option<String>,
    pub org_concurrency: usize,
    pub run_retention_days: u32,
    /// Reminders and resolved notices (`APNWATCH_REMIND_AFTER`, `APNWATCH_NOTIFY_RESOLVED`).
    pub alert_policy: AlertPolicy,
    /// `APNWATCH_ROUTE_BY`.
    pub route_by: RouteBy,
    /// `APNWATCH_SUMMARY`: how often the coverage summary goes out (default weekly).
    pub summary: SummaryPeriod,
    /// `APNWATCH_TAG_SWEEP_ABOVE`: above this many accounts tag reads are spread.
    pub tag_sweep_above: usize,
    /// `APNWATCH_TAG_MAX_AGE`.
    pub tag_max_age: chrono::Duration,
    /// `APNWATCH_OU_MAX_AGE`: how old a stored OU name may get (see `domain::ou_names`).
    pub ou_max_age: chrono::Duration,
    /// `APNWATCH_AUTO_INVITE`, `APNWATCH_INVITE_*`, `APNWATCH_ACCEPT_*` (see `invite`).
    pub invite: InviteConfig,
    /// `APNWATCH_CHANGE_TRIGGERS`: the stack starts runs on change events (default false).
    pub change_triggers: bool,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get`, so tests need not touch the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let table = get(ENV_TABLE).ok_or(ConfigError::Missing {
            var: ENV_TABLE,
            hint: "set it to the DynamoDB table name (the stack output TableName)",
        })?;
        let topic_arn = get(ENV_TOPIC_ARN);
        if let Some(arn) = &topic_arn {
            check_topic_arn(arn)?;
        }

        let sources = match get(ENV_LINK_SOURCES) {
            None => LinkRules::default().sources,
            Some(v) => parse_sources(&v)?,
        };
        let tag_key = get(ENV_LINK_TAG_KEY).unwrap_or_else(|| DEFAULT_TAG_KEY.to_string());
        if tag_key.len() > 128 {
            return Err(invalid(
                ENV_LINK_TAG_KEY,
                &tag_key,
                "a tag key has at most 128 characters",
            ));
        }
        let rules = LinkRules {
            sources,
            tag_key,
            linked_accounts: parse_ids(
                ENV_LINKED_ACCOUNTS,
                get(ENV_LINKED_ACCOUNTS),
                is_account_id,
                "an account id is 12 digits",
            )?,
            exempt_accounts: parse_ids(
                ENV_EXEMPT_ACCOUNTS,
                get(ENV_EXEMPT_ACCOUNTS),
                is_account_id,
                "an account id is 12 digits",
            )?,
            exempt_ous: parse_ids(
                ENV_EXEMPT_OUS,
                get(ENV_EXEMPT_OUS),
                is_ou_id,
                "an OU id looks like ou-ab12-cd34ef56 (a root id like r-ab12 is accepted too)",
            )?,
        };

        let catalog =
            get(ENV_PARTNER_CENTRAL_CATALOG).unwrap_or_else(|| DEFAULT_CATALOG.to_string());
        if catalog != "AWS" && catalog != "Sandbox" {
            return Err(invalid(
                ENV_PARTNER_CENTRAL_CATALOG,
                &catalog,
                "use AWS (production) or Sandbox (trials)",
            ));
        }
        let pc_role = get(ENV_PARTNER_CENTRAL_ROLE_ARN);
        if let Some(arn) = &pc_role {
            check_role_arn(ENV_PARTNER_CENTRAL_ROLE_ARN, arn)?;
        }
        let org_role_arn = get(ENV_ORG_ROLE_ARN);
        if let Some(arn) = &org_role_arn {
            check_role_arn(ENV_ORG_ROLE_ARN, arn)?;
        }

        let org_concurrency = whole_number(
            &get,
            ENV_ORG_CONCURRENCY,
            DEFAULT_ORG_CONCURRENCY,
            1..=16,
            "a whole number from 1 to 16",
        )?;
        let run_retention_days = whole_number(
            &get,
            ENV_RUN_RETENTION_DAYS,
            DEFAULT_RUN_RETENTION_DAYS,
            1..=3650,
            "a whole number of days from 1 to 3650",
        )?;

        let alert_policy = AlertPolicy {
            remind_after: match get(ENV_REMIND_AFTER) {
                None => AlertPolicy::default().remind_after,
                Some(v) => parse_remind_after(&v).map_err(|h| invalid(ENV_REMIND_AFTER, &v, &h))?,
            },
            notify_resolved: boolean(&get, ENV_NOTIFY_RESOLVED, true)?,
        };
        let route_by = match get(ENV_ROUTE_BY) {
            None => RouteBy::None,
            Some(v) => RouteBy::parse(&v).map_err(|h| invalid(ENV_ROUTE_BY, &v, &h))?,
        };
        let summary = match get(ENV_SUMMARY) {
            None => SummaryPeriod::default(),
            Some(v) => SummaryPeriod::parse(&v).map_err(|h| invalid(ENV_SUMMARY, &v, &h))?,
        };

        let tag_sweep_above = whole_number(
            &get,
            ENV_TAG_SWEEP_ABOVE,
            DEFAULT_TAG_SWEEP_ABOVE,
            0..=usize::MAX,
            "a whole number of accounts (0: always spread the tag reads)",
        )?;
        let tag_max_age = max_age(&get, ENV_TAG_MAX_AGE, DEFAULT_TAG_MAX_AGE)?;
        let ou_max_age = max_age(&get, ENV_OU_MAX_AGE, DEFAULT_OU_MAX_AGE)?;
        let invite = InviteConfig::from_lookup(&get, &rules)?;
        let change_triggers = boolean(&get, ENV_CHANGE_TRIGGERS, false)?;

        Ok(Self {
            table,
            topic_arn,
            rules,
            partner_central: PartnerCentralConfig {
                catalog,
                role_arn: pc_role,
                external_id: checked(
                    &get,
                    ENV_PARTNER_CENTRAL_EXTERNAL_ID,
                    is_external_id,
                    EXTERNAL_ID_HINT,
                )?,
            },
            org_role_arn,
            org_concurrency,
            run_retention_days,
            alert_policy,
            route_by,
            summary,
            tag_sweep_above,
            tag_max_age,
            ou_max_age,
            invite,
            change_triggers,
        })
    }

    /// Account tags are read when a link rule or the routing needs them.
    pub fn needs_tags(&self) -> bool {
        self.rules.needs_tags() || self.route_by.needs_tags()
    }
}

/// `var` as `true` or `false` (any case), `default` when it is not set.
fn boolean(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(invalid(var, &v, "use true or false")),
        },
    }
}

/// `var` as a max age (`APNWATCH_TAG_MAX_AGE`, `APNWATCH_OU_MAX_AGE`): a whole number with
/// `m`, `h` or `d`, at least one hour; `default` when it is not set.
fn max_age(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: chrono::Duration,
) -> Result<chrono::Duration, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(v) => match parse_remind_after(&v) {
            Ok(Some(d)) if d >= chrono::Duration::hours(1) => Ok(d),
            _ => Err(invalid(
                var,
                &v,
                "a duration of at least 1h with a unit m, h or d (e.g. 24h, 7d)",
            )),
        },
    }
}

/// `var` as a whole number within `range`, `default` when it is not set; `hint` says what
/// is expected.
pub(crate) fn whole_number<T: FromStr + PartialOrd>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
    range: RangeInclusive<T>,
    hint: &str,
) -> Result<T, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(v) => v
            .parse::<T>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| invalid(var, &v, hint)),
    }
}

/// `var`'s value when it is not set or `ok` holds for it; otherwise the error with `hint`.
pub(crate) fn checked(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    ok: impl Fn(&str) -> bool,
    hint: &str,
) -> Result<Option<String>, ConfigError> {
    match get(var) {
        Some(v) if !ok(&v) => Err(invalid(var, &v, hint)),
        v => Ok(v),
    }
}

/// STS AssumeRole's `ExternalId`: 2 to 1224 characters of `[\w+=,.@:/-]`
/// (<https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html>), checked at
/// start so that a typo is named here rather than refused by STS mid-run.
pub(crate) fn is_external_id(x: &str) -> bool {
    (2..=1224).contains(&x.len())
        && x.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&b))
}

pub(crate) const EXTERNAL_ID_HINT: &str = "2 to 1224 letters, digits and _+=,.@:/-";

pub(crate) fn invalid(var: &'static str, value: &str, hint: &str) -> ConfigError {
    ConfigError::Invalid {
        var,
        value: value.to_string(),
        hint: hint.to_string(),
    }
}

fn check_role_arn(var: &'static str, arn: &str) -> Result<(), ConfigError> {
    let parts: Vec<&str> = arn.split(':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && is_account_id(parts[4])
        && parts[5].starts_with("role/")
        && parts[5].len() > "role/".len();
    if ok {
        Ok(())
    } else {
        Err(invalid(
            var,
            arn,
            "expected an IAM role ARN like arn:aws:iam::111122223333:role/apn-link-watch-reader",
        ))
    }
}

/// `arn:<partition>:sns:<region>:<account>:<name>`, a standard topic. Checked at start so a
/// copy-paste slip (the queue ARN next to it in the console, a FIFO topic) fails before a run
/// stores changes whose alerts could then only fail at the first publish.
fn check_topic_arn(arn: &str) -> Result<(), ConfigError> {
    const EXAMPLE: &str = "arn:aws:sns:us-east-1:111122223333:apn-link-watch";
    let parts: Vec<&str> = arn.split(':').collect();
    let lower_dash = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if parts.len() == 6 && parts[0] == "arn" && parts[2] != "sns" {
        return Err(invalid(
            ENV_TOPIC_ARN,
            arn,
            &format!(
                "this is an ARN of service {:?}, not an SNS topic: use the stack output TopicArn, e.g. {EXAMPLE}",
                parts[2]
            ),
        ));
    }
    // Topic names: 1 to 256 of [A-Za-z0-9_-]; FIFO topics add the `.fifo` suffix.
    let name = parts.get(5).copied().unwrap_or_default();
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && lower_dash(parts[1])
        && lower_dash(parts[3])
        && is_account_id(parts[4])
        && !base.is_empty()
        && name.len() <= 256
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(invalid(
            ENV_TOPIC_ARN,
            arn,
            &format!("expected an SNS topic ARN arn:<partition>:sns:<region>:<account>:<name>, e.g. {EXAMPLE}"),
        ));
    }
    if name.ends_with(".fifo") {
        return Err(invalid(
            ENV_TOPIC_ARN,
            arn,
            "a FIFO topic needs a message group id and delivers only to SQS queues, so email and chat \
             subscribers would get nothing: use a standard topic (the stack output TopicArn)",
        ));
    }
    Ok(())
}

fn parse_sources(v: &str) -> Result<Vec<LinkSource>, ConfigError> {
    let mut out = Vec::new();
    for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let source = match part {
            "partner-central" => LinkSource::PartnerCentral,
            "tag" => LinkSource::Tag,
            "list" => LinkSource::List,
            _ => {
                return Err(invalid(
                    ENV_LINK_SOURCES,
                    part,
                    "sources are partner-central, tag and list, comma-separated in the order to ask them",
                ))
            }
        };
        if out.contains(&source) {
            return Err(invalid(
                ENV_LINK_SOURCES,
                part,
                "each source may appear once",
            ));
        }
        out.push(source);
    }
    if out.is_empty() {
        return Err(invalid(
            ENV_LINK_SOURCES,
            v,
            "name at least one of partner-central, tag, list",
        ));
    }
    Ok(out)
}

fn parse_ids(
    var: &'static str,
    value: Option<String>,
    valid: fn(&str) -> bool,
    hint: &str,
) -> Result<BTreeSet<String>, ConfigError> {
    let mut out = BTreeSet::new();
    for id in value
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        if !valid(id) {
            return Err(invalid(var, id, hint));
        }
        out.insert(id.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
