//! The stored OU names: pk=`SWEEP`, sk=`OUS`, beside the tag sweep's `SWEEP`/`TAGS`. One
//! item however many runs: each OU's name, parent and when the name was read, the
//! organization they belong to and when the last run that used them started
//! (`domain::ou_names`).
//!
//! A DynamoDB item holds at most 400 KB (attribute names included).
//! <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html>
//! An organization has at most 2,000 OUs and an OU name at most 128 characters, so the
//! extreme case does not fit: past [`MAX_ITEM_BYTES`] the item keeps the OUs in id order
//! while they fit, and the OUs left out are read again by the next run like new ones (more
//! calls, never a wrong name). A typical 1,000-OU organization takes about 100 KB.
//! <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html>

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::items::{check_entity, FromItem, SWEEP_PK};
use crate::domain::ou_names::{OuName, OuNames};
use crate::domain::timestamp::{self as ts, option as ts_opt};

/// The partition of the tag sweep: `load` reads both in one Query.
pub(crate) const OU_NAMES_PK: &str = SWEEP_PK;
pub(crate) const OU_NAMES_SK: &str = "OUS";
const ENTITY: &str = "ou_names";

/// Below DynamoDB's 400 KB with room for the keys and the estimate's slack.
pub(crate) const MAX_ITEM_BYTES: usize = 350_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct OuNamesItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub organization_id: Option<String>,
    #[serde(with = "ts_opt", default)]
    pub planned_at: Option<DateTime<Utc>>,
    /// By OU id.
    #[serde(default)]
    pub units: BTreeMap<String, OuNameItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct OuNameItem {
    pub name: String,
    pub parent_id: String,
    #[serde(with = "ts")]
    pub read_at: DateTime<Utc>,
}

impl OuNamesItem {
    /// The item for `names`, and how many OUs were left out to stay within
    /// [`MAX_ITEM_BYTES`].
    pub fn new(names: &OuNames) -> (Self, usize) {
        let mut size = 200;
        let mut left_out = 0;
        let mut units = BTreeMap::new();
        for (id, u) in &names.units {
            // The map key, the three values, their attribute names and DynamoDB's per-value
            // overhead (a few bytes each): an estimate on the high side.
            let entry = id.len() + u.name.len() + u.parent_id.len() + 24 + 40;
            if size + entry > MAX_ITEM_BYTES {
                left_out += 1;
                continue;
            }
            size += entry;
            units.insert(
                id.clone(),
                OuNameItem {
                    name: u.name.clone(),
                    parent_id: u.parent_id.clone(),
                    read_at: u.read_at,
                },
            );
        }
        let item = Self {
            pk: OU_NAMES_PK.to_string(),
            sk: OU_NAMES_SK.to_string(),
            entity: ENTITY.to_string(),
            organization_id: names.organization_id.clone(),
            planned_at: names.planned_at,
            units,
        };
        (item, left_out)
    }
}

impl FromItem<OuNamesItem> for OuNames {
    fn read(i: OuNamesItem) -> Result<Self, String> {
        check_entity(&i.entity, ENTITY)?;
        let units = i
            .units
            .into_iter()
            .map(|(id, u)| {
                let unit = OuName {
                    name: u.name,
                    parent_id: u.parent_id,
                    read_at: u.read_at,
                };
                (id, unit)
            })
            .collect();
        Ok(Self {
            organization_id: i.organization_id,
            planned_at: i.planned_at,
            units,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::items::{from_item, to_item};
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn names(n: usize, name_len: usize) -> OuNames {
        OuNames {
            organization_id: Some("o-abc123def4".into()),
            planned_at: Some(at("2027-02-25T09:00:00Z")),
            units: (0..n)
                .map(|i| {
                    (
                        format!("ou-ab12-{i:08}"),
                        OuName {
                            name: "n".repeat(name_len),
                            parent_id: "r-ab12".into(),
                            read_at: at("2027-02-25T08:00:00Z"),
                        },
                    )
                })
                .collect(),
        }
    }

    /// The item keeps the organization, the run time and every OU through a round trip.
    #[test]
    fn ou_names_item_round_trips() {
        let n = names(3, 12);
        let (item, left_out) = OuNamesItem::new(&n);
        assert_eq!(left_out, 0);
        assert_eq!(
            from_item::<OuNamesItem, OuNames>(to_item(&item)).unwrap(),
            n
        );
    }

    /// The stored attributes keep their shape: timestamps as `domain::timestamp` writes them
    /// (milliseconds, `Z`), a run time not yet planned as NULL; and both read back.
    #[test]
    fn ou_names_item_keeps_its_attributes() {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        let mut n = names(1, 4);
        let item = to_item(&OuNamesItem::new(&n).0);
        assert_eq!(item["planned_at"], A::S("2027-02-25T09:00:00.000Z".into()));
        let A::M(units) = &item["units"] else {
            panic!("units is a map: {item:?}")
        };
        let A::M(unit) = &units["ou-ab12-00000000"] else {
            panic!("a unit is a map: {units:?}")
        };
        assert_eq!(unit["read_at"], A::S("2027-02-25T08:00:00.000Z".into()));

        n.planned_at = None;
        n.organization_id = None;
        let item = to_item(&OuNamesItem::new(&n).0);
        assert_eq!(item["planned_at"], A::Null(true));
        assert_eq!(item["organization_id"], A::Null(true));
        assert_eq!(from_item::<OuNamesItem, OuNames>(item).unwrap(), n);
    }

    /// 1,000 OUs with 30-character names fit in one item well below 400 KB; 2,000 OUs with
    /// 128-character names (the quotas' extreme) are cut to fit, the rest left to the next run.
    #[test]
    fn the_item_stays_below_dynamodbs_limit() {
        let (item, left_out) = OuNamesItem::new(&names(1000, 30));
        assert_eq!(left_out, 0);
        let size = serde_json::to_vec(&item).unwrap().len();
        assert!(size < 150_000, "{size} bytes");

        let (item, left_out) = OuNamesItem::new(&names(2000, 128));
        assert!(left_out > 0);
        assert_eq!(item.units.len() + left_out, 2000);
        // JSON counts more than DynamoDB does (quotes and separators): an upper bound.
        let size = serde_json::to_vec(&item).unwrap().len();
        assert!(size < 400_000, "{size} bytes");
    }
}
