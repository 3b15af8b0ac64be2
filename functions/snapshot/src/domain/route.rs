//! Routing (`APNWATCH_ROUTE_BY`): which team an account's alerts belong to, and the SNS
//! message attributes every published message carries so that each team's subscription
//! filters on them (a subscription `FilterPolicy`) instead of reading everything. Pure.
//!
//! Attribute names and types are a public contract (README, "Routing"):
//! - `route` (String): the route of every alert in the message: the OU name or tag value,
//!   [`ROUTE_ALL`] without routing, [`ROUTE_UNROUTED`] for accounts without the OU level or tag;
//! - `reasons`, `link_states` (String.Array): the distinct reasons and link states in it;
//! - `organization_id` (String).
//!
//! SNS counts every part of an attribute (name, type and value) toward the 256 KiB message
//! limit (API reference, `MessageAttributeValue`:
//! <https://docs.aws.amazon.com/sns/latest/api/API_MessageAttributeValue.html>), so
//! [`MessageAttributes::size`] is added to the body when messages are split.
//! A `String.Array` value is an array formatted as a string, i.e. JSON (Amazon SNS message
//! attribute data types:
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-message-attributes.html#SNSMessageAttributes.DataTypes>);
//! a filter policy matches it when any element matches. Filter policies apply to message
//! attributes by default (<https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering-scope.html>).

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::model::{Account, OrgUnit};

/// The `route` of every message when `APNWATCH_ROUTE_BY=none`.
pub const ROUTE_ALL: &str = "all";
/// The `route` of alerts about accounts that lack the OU level or tag routed on.
pub const ROUTE_UNROUTED: &str = "unrouted";
/// Organizations nests OUs at most five levels below the root.
pub const MAX_OU_LEVEL: usize = 5;

/// How alerts are split among teams.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RouteBy {
    /// One digest for everyone (`route` = `all`).
    #[default]
    None,
    /// The name of the N-th OU on the account's path, 1 = the top-level OU.
    OuLevel(usize),
    /// The value of this account tag.
    Tag(String),
}

impl RouteBy {
    /// Parses `none`, `ou:N` (N from 1 to 5) or `tag:KEY`; the error is a hint for the user.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("none") {
            return Ok(Self::None);
        }
        if let Some(n) = value.strip_prefix("ou:") {
            return n
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_OU_LEVEL).contains(n))
                .map(Self::OuLevel)
                .ok_or_else(|| {
                    "ou:N takes the OU level from 1 (top-level OU) to 5, e.g. ou:1".to_string()
                });
        }
        if let Some(key) = value.strip_prefix("tag:") {
            let key = key.trim();
            if key.is_empty() || key.len() > 128 {
                return Err("tag:KEY takes a tag key of 1 to 128 characters, e.g. tag:team".into());
            }
            return Ok(Self::Tag(key.to_string()));
        }
        Err("use none, ou:N (e.g. ou:1 for the top-level OU) or tag:KEY (e.g. tag:team)".into())
    }

    pub fn is_none(&self) -> bool {
        matches!(self, Self::None)
    }

    /// Routing by tag needs the account tags from the walk.
    pub fn needs_tags(&self) -> bool {
        matches!(self, Self::Tag(_))
    }
}

/// OU names by id, from the walk.
pub fn unit_names(units: &[OrgUnit]) -> BTreeMap<String, String> {
    units
        .iter()
        .map(|u| (u.id.clone(), u.name.clone()))
        .collect()
}

/// The route of `account`, or `None` when it lacks the OU level or the tag (then
/// `unrouted`) or routing is off. OU names come from the walk by id; an account no longer in
/// it (removed) falls back to its stored OU path.
pub fn route_of(
    account: &Account,
    by: &RouteBy,
    names: &BTreeMap<String, String>,
) -> Option<String> {
    let route = match by {
        RouteBy::None => None,
        RouteBy::OuLevel(n) => account
            .ou_ids
            .get(*n)
            .and_then(|id| names.get(id).cloned())
            .or_else(|| {
                (account.ou_ids.len() > *n)
                    .then(|| account.ou_path.split('/').nth(*n).map(str::to_string))
                    .flatten()
            }),
        RouteBy::Tag(key) => account.tags.get(key).cloned(),
    };
    route
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
}

/// The route a message is published under: `all` without routing, else the alert's route
/// or `unrouted`.
pub fn published_route(routing: bool, route: Option<&str>) -> String {
    match (routing, route) {
        (false, _) => ROUTE_ALL.to_string(),
        (true, Some(r)) => r.to_string(),
        (true, None) => ROUTE_UNROUTED.to_string(),
    }
}

/// The SNS message attributes of one published message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageAttributes {
    pub route: String,
    /// Distinct, sorted.
    pub reasons: BTreeSet<String>,
    /// Distinct, sorted.
    pub link_states: BTreeSet<String>,
    pub organization_id: String,
}

/// One attribute as SNS takes it: name, data type, string value.
pub type Attribute = (&'static str, &'static str, String);

impl MessageAttributes {
    /// Name, `DataType` and `StringValue` of each attribute, in a stable order.
    pub fn entries(&self) -> Vec<Attribute> {
        let array = |set: &BTreeSet<String>| {
            serde_json::to_string(&set.iter().collect::<Vec<_>>()).expect("strings serialize")
        };
        vec![
            ("route", "String", self.route.clone()),
            ("reasons", "String.Array", array(&self.reasons)),
            ("link_states", "String.Array", array(&self.link_states)),
            ("organization_id", "String", self.organization_id.clone()),
        ]
    }

    /// Bytes SNS counts toward the message size: every name, type and value.
    pub fn size(&self) -> usize {
        self.entries()
            .iter()
            .map(|(name, kind, value)| name.len() + kind.len() + value.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(tags: &[(&str, &str)]) -> Account {
        Account {
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Account::sample("111122223333")
        }
    }

    fn names() -> BTreeMap<String, String> {
        [
            ("ou-ab12-work1234".to_string(), "Workloads".to_string()),
            ("ou-ab12-prod1234".to_string(), "Prod/EU".to_string()),
        ]
        .into()
    }

    /// `none`, `ou:N` and `tag:KEY` parse; anything else is refused with the accepted forms.
    #[test]
    fn route_by_parses_the_documented_forms() {
        assert_eq!(RouteBy::parse("none"), Ok(RouteBy::None));
        assert_eq!(RouteBy::parse("ou:1"), Ok(RouteBy::OuLevel(1)));
        assert_eq!(RouteBy::parse("tag:team"), Ok(RouteBy::Tag("team".into())));
        for bad in ["ou:0", "ou:6", "ou:x", "tag:", "team", "ou"] {
            assert!(RouteBy::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    /// `ou:1` is the top-level OU's name, `ou:2` the next one, looked up by id so a `/` in a
    /// name does not shift levels; an account above that level is unrouted.
    #[test]
    fn ou_levels_name_the_ous_on_the_path() {
        let a = account(&[]);
        assert_eq!(
            route_of(&a, &RouteBy::OuLevel(1), &names()).as_deref(),
            Some("Workloads")
        );
        assert_eq!(
            route_of(&a, &RouteBy::OuLevel(2), &names()).as_deref(),
            Some("Prod/EU")
        );
        assert_eq!(route_of(&a, &RouteBy::OuLevel(3), &names()), None);
        // Removed accounts are not in the walk any more: the stored path still routes them.
        assert_eq!(
            route_of(&a, &RouteBy::OuLevel(1), &BTreeMap::new()).as_deref(),
            Some("Workloads")
        );
    }

    /// `tag:team` routes by the tag's value; no tag (or an empty one) means unrouted.
    #[test]
    fn tags_route_by_value() {
        let by = RouteBy::Tag("team".into());
        assert_eq!(
            route_of(&account(&[("team", "payments")]), &by, &names()).as_deref(),
            Some("payments")
        );
        assert_eq!(route_of(&account(&[("team", " ")]), &by, &names()), None);
        assert_eq!(route_of(&account(&[]), &by, &names()), None);
        assert_eq!(published_route(true, None), "unrouted");
        assert_eq!(published_route(false, Some("payments")), "all");
    }

    /// Arrays go to SNS as JSON array strings, and every name, type and value is counted.
    #[test]
    fn attributes_are_sns_shaped_and_counted() {
        let attrs = MessageAttributes {
            route: "all".into(),
            reasons: ["REMINDER".to_string(), "NEW_ACCOUNT".to_string()].into(),
            link_states: ["UNLINKED".to_string()].into(),
            organization_id: "o-abc123def4".into(),
        };
        let entries = attrs.entries();
        assert_eq!(
            entries[1],
            (
                "reasons",
                "String.Array",
                r#"["NEW_ACCOUNT","REMINDER"]"#.to_string()
            )
        );
        let expected: usize = ["route", "String", "all"].concat().len()
            + ["reasons", "String.Array", r#"["NEW_ACCOUNT","REMINDER"]"#]
                .concat()
                .len()
            + ["link_states", "String.Array", r#"["UNLINKED"]"#]
                .concat()
                .len()
            + ["organization_id", "String", "o-abc123def4"].concat().len();
        assert_eq!(attrs.size(), expected);
    }
}
