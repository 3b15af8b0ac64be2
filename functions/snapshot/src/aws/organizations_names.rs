//! The walk with stored OU names: `ListAccounts` with `Paths` gives every account's OU ids
//! (`o-…/r-…/ou-…/ou-…/111122223333/`), so the OU listing (one
//! `ListOrganizationalUnitsForParent` per unit) is skipped and only the names
//! `domain::ou_names::plan` picks are read, one `DescribeOrganizationalUnit` each.
//! <https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeOrganizationalUnit.html>
//!
//! Anything unexpected sends the walk back to the listing, which reads every name: stored
//! names of another organization (or none), a path that does not start at this organization
//! and root, two paths giving one OU different parents, an OU gone between the two calls
//! (`OrganizationalUnitNotFoundException`), or a role without
//! `organizations:DescribeOrganizationalUnit`.
//!
//! The tree's units are then the OUs on the accounts' paths: an OU with no account below it
//! is left out (nothing a run reports or routes reads it).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use aws_sdk_organizations::types;
use futures::stream::{self, StreamExt, TryStreamExt};
use tracing::{info, warn};

use super::{account, malformed, org_error, path_parent, Parent, Walk, ROOT_NAME};
use crate::aws::{classify, Failure};
use crate::domain::model::{Account, OrgUnit};
use crate::domain::ou_names::{self, OuNames};
use crate::error::Error;
use crate::ports::OuNameInputs;

/// The ids the paths must start with, and the management account's.
pub(super) struct Ids<'a> {
    pub organization: &'a str,
    pub root: &'a str,
    pub management: &'a str,
}

/// What the stored-names walk found: the units on the paths, the accounts, the names to
/// store; or the listed accounts back, for the listing walk.
type Outcome = Result<(Vec<OrgUnit>, Vec<Account>, OuNames), Vec<types::Account>>;

/// Every OU on the walked accounts' id chains (root first), with its parent.
pub(super) fn on_paths(accounts: &[Account]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for a in accounts {
        for pair in a.ou_ids.windows(2) {
            out.insert(pair[1].clone(), pair[0].clone());
        }
    }
    out
}

/// Every OU on the paths of `listed`, with its parent; `None` when a path does not start at
/// `ids`' organization and root or two paths disagree on an OU's parent.
fn parents_on_paths(listed: &[types::Account], ids: &Ids<'_>) -> Option<BTreeMap<String, String>> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for a in listed {
        let path = a.paths().first()?;
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        // organization, root, [OUs...], account
        if parts.len() < 3 || parts[0] != ids.organization || parts[1] != ids.root {
            return None;
        }
        for i in 2..parts.len() - 1 {
            match out.get(parts[i]) {
                Some(parent) if parent != parts[i - 1] => return None,
                Some(_) => {}
                None => {
                    out.insert(parts[i].to_string(), parts[i - 1].to_string());
                }
            }
        }
    }
    Some(out)
}

/// The unit `id` with its path and id chain, built from its parents up to the root (which
/// `built` holds from the start).
fn unit(
    id: &str,
    parents: &BTreeMap<String, String>,
    names: &BTreeMap<String, String>,
    built: &mut BTreeMap<String, Parent>,
) -> Option<Parent> {
    if let Some(p) = built.get(id) {
        return Some(p.clone());
    }
    // Acyclic: every chain starts at the root and each OU has one parent.
    let parent = unit(parents.get(id)?, parents, names, built)?;
    let child = parent.child(id.to_string(), names.get(id)?);
    built.insert(id.to_string(), child.clone());
    Some(child)
}

impl Walk<'_> {
    /// The units and accounts from `listed` (every account, with paths) and the stored
    /// names, reading the names the plan picks; `Err(listed)` to walk by listing instead.
    pub(super) async fn with_stored_names(
        &self,
        listed: Vec<types::Account>,
        ids: &Ids<'_>,
        inputs: OuNameInputs<'_>,
    ) -> Result<Outcome, Error> {
        if !inputs.previous.usable_for(ids.organization) {
            info!("no OU names stored for this organization: listing every OU");
            return Ok(Err(listed));
        }
        let Some(parents) = parents_on_paths(&listed, ids) else {
            warn!(
                "the accounts' paths do not agree with the organization and root: listing every OU"
            );
            return Ok(Err(listed));
        };
        let plan = ou_names::plan(
            &parents,
            inputs.previous,
            inputs.named,
            inputs.now,
            inputs.max_age,
        );
        info!(
            ous = parents.len(),
            new = plan.new,
            named = plan.forced,
            slice = plan.slice,
            "OU names reused; reading the new, named and oldest"
        );
        let reads: Vec<(String, Option<String>)> =
            stream::iter(plan.read.into_iter().map(|id| async move {
                let name = self.ou_name(&id).await?;
                Ok::<_, Error>((id, name))
            }))
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        let mut read = BTreeMap::new();
        for (id, name) in reads {
            let Some(name) = name else {
                return Ok(Err(listed));
            };
            read.insert(id, name);
        }
        let Some(stored) = ou_names::after_reads(
            ids.organization,
            &parents,
            inputs.previous,
            &read,
            inputs.now,
        ) else {
            return Ok(Err(listed));
        };

        let names: BTreeMap<String, String> = stored
            .units
            .iter()
            .map(|(id, u)| (id.clone(), u.name.clone()))
            .collect();
        let root = Parent {
            id: ids.root.to_string(),
            depth: 0,
            path: ROOT_NAME.to_string(),
            ids: vec![ids.root.to_string()],
        };
        let mut built = BTreeMap::from([(ids.root.to_string(), root)]);
        let mut units = vec![OrgUnit {
            id: ids.root.to_string(),
            name: ROOT_NAME.to_string(),
            parent_id: None,
            depth: 0,
            path: ROOT_NAME.to_string(),
        }];
        for (id, parent_id) in &parents {
            let u = unit(id, &parents, &names, &mut built).ok_or_else(|| {
                malformed(
                    "ListAccounts",
                    "a path whose OU chain does not reach the root",
                )
            })?;
            units.push(OrgUnit {
                id: id.clone(),
                name: names[id].clone(),
                parent_id: Some(parent_id.clone()),
                depth: u.depth,
                path: u.path,
            });
        }
        let mut accounts = Vec::with_capacity(listed.len());
        for a in listed {
            let parent = a
                .paths()
                .first()
                .and_then(|p| path_parent(p))
                .and_then(|id| built.get(id))
                .ok_or_else(|| malformed("ListAccounts", "a path without a parent unit"))?;
            accounts.push(account(a, parent, ids.management)?);
        }
        Ok(Ok((units, accounts, stored)))
    }

    /// One OU's name; `None` when it is gone or the role may not describe OUs (the walk then
    /// lists every OU instead).
    async fn ou_name(&self, id: &str) -> Result<Option<String>, Error> {
        const OP: &str = "DescribeOrganizationalUnit";
        self.guard()?;
        self.count_call();
        let out = match self
            .client
            .describe_organizational_unit()
            .organizational_unit_id(id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                return match classify(&e) {
                    Failure::Service(code) if code == "OrganizationalUnitNotFoundException" => {
                        warn!(ou_id = id, "an OU on a path is gone: listing every OU");
                        Ok(None)
                    }
                    Failure::Service(code) if code == "AccessDeniedException" => {
                        warn!("organizations:DescribeOrganizationalUnit is not allowed: listing every OU (grant it to save calls)");
                        Ok(None)
                    }
                    _ => Err(org_error(OP, e)),
                };
            }
        };
        self.units.fetch_add(1, Ordering::Relaxed);
        let name = out
            .organizational_unit
            .and_then(|ou| ou.name)
            .ok_or_else(|| malformed(OP, "no OU name"))?;
        Ok(Some(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(path: &str) -> types::Account {
        types::Account::builder()
            .id("111122223333")
            .paths(path)
            .build()
    }

    const IDS: Ids<'static> = Ids {
        organization: "o-abc123def4",
        root: "r-ab12",
        management: "999999999999",
    };

    /// The paths give each OU its parent; a path of another organization or root, or two
    /// parents for one OU, sends the walk back to the listing.
    #[test]
    fn paths_give_the_parents() {
        let listed = vec![
            acct("o-abc123def4/r-ab12/ou-ab12-11111111/ou-ab12-22222222/111122223333/"),
            acct("o-abc123def4/r-ab12/ou-ab12-11111111/111122223334/"),
            acct("o-abc123def4/r-ab12/111122223335/"),
        ];
        let parents = parents_on_paths(&listed, &IDS).unwrap();
        assert_eq!(
            parents,
            BTreeMap::from([
                ("ou-ab12-11111111".to_string(), "r-ab12".to_string()),
                (
                    "ou-ab12-22222222".to_string(),
                    "ou-ab12-11111111".to_string()
                ),
            ])
        );
        let other_root = vec![acct("o-abc123def4/r-zz99/111122223335/")];
        assert_eq!(parents_on_paths(&other_root, &IDS), None);
        let disagree = vec![
            acct("o-abc123def4/r-ab12/ou-ab12-11111111/111122223334/"),
            acct("o-abc123def4/r-ab12/ou-ab12-22222222/ou-ab12-11111111/111122223334/"),
        ];
        assert_eq!(parents_on_paths(&disagree, &IDS), None);
    }
}
