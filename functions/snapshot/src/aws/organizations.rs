//! Organizations adapter: walks the whole organization (root, OUs level by level, the
//! accounts of every unit, optionally their tags) into an [`OrgTree`].
//!
//! The walk uses only list calls, one or a few pages per unit, with bounded concurrency:
//! no per-account `ListParents`/`DescribeAccount`, so its cost grows with the number of
//! units, not accounts (plus one `ListTagsForResource` per account whose tags are read).
//! Any failure that survives the SDK's retries fails the whole walk: a partial tree would
//! make the missing accounts look removed.
//!
//! Accounts come from one paged `ListAccounts` when its answers carry `Paths`
//! (`o-…/r-…/ou-…/111122223333/`): the OU listing then only names the units, and one
//! `ListAccountsForParent` per unit is saved. When a page has an account without paths
//! (older endpoints, moto) or the role may not call `ListAccounts`, the walk lists the
//! accounts of every unit as before.
//! <https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html>,
//! <https://docs.aws.amazon.com/organizations/latest/APIReference/API_Account.html>
//!
//! Throttling: the client uses the SDK's adaptive retry mode (see `aws::organizations_client`),
//! which slows every request down after a `TooManyRequestsException` and speeds up again
//! slowly; `APNWATCH_ORG_CONCURRENCY` bounds the calls in flight on top of it.
//!
//! The walk checks the run's [`Deadline`] before every request.
//!
//! With paths and stored OU names (`walk_reusing_names`, see `names`), the OU listing is
//! skipped too: the paths give every OU id and parent, and only the names the rotation
//! picks are read, one `DescribeOrganizationalUnit` each.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_organizations::types;
use aws_sdk_organizations::Client;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use tracing::{debug, info, warn};

use crate::aws::{all_pages, classify, next_page, Failure, PageError};
use crate::domain::deadline::{self, Deadline};
use crate::domain::model::{Account, AccountState, OrgTree, OrgUnit};
use crate::domain::ou_names::OuNames;
use crate::error::{BoxError, Error};
use crate::ports::{OrgSnapshot, OrgSource, OuNameInputs, TagReads};

#[path = "organizations_names.rs"]
mod names;

/// The root's name in every path, e.g. `Root/Workloads/Prod`.
pub const ROOT_NAME: &str = "Root";

pub struct OrganizationsSource {
    client: Client,
    concurrency: usize,
}

/// One walk in progress: the source and the requests this walk made, so that concurrent
/// walks of one source each count their own.
struct Walk<'a> {
    client: &'a Client,
    concurrency: usize,
    calls: AtomicU64,
    deadline: Option<&'a Deadline>,
    /// Progress, for the deadline error.
    units: AtomicUsize,
    accounts: AtomicUsize,
    tags: AtomicUsize,
    /// The accounts came from `ListAccounts` with paths.
    with_paths: AtomicBool,
}

/// One unit's listing: the unit, the OUs and the accounts directly under it.
type Listing = (Parent, Vec<types::OrganizationalUnit>, Vec<types::Account>);

/// A unit whose children the walk still has to list.
#[derive(Debug, Clone)]
struct Parent {
    id: String,
    depth: usize,
    /// Names from the root to this unit, `/`-joined.
    path: String,
    /// Ids from the root to this unit.
    ids: Vec<String>,
}

impl Parent {
    fn child(&self, id: String, name: &str) -> Parent {
        let mut ids = self.ids.clone();
        ids.push(id.clone());
        Parent {
            id,
            depth: self.depth + 1,
            path: format!("{}/{name}", self.path),
            ids,
        }
    }
}

impl OrganizationsSource {
    /// `concurrency` bounds the calls in flight (at least 1).
    pub fn new(client: Client, concurrency: usize) -> Self {
        Self {
            client,
            concurrency: concurrency.max(1),
        }
    }
}

impl<'a> Walk<'a> {
    fn new(source: &'a OrganizationsSource, deadline: Option<&'a Deadline>) -> Self {
        Walk {
            client: &source.client,
            concurrency: source.concurrency,
            calls: AtomicU64::new(0),
            deadline,
            units: AtomicUsize::new(0),
            accounts: AtomicUsize::new(0),
            tags: AtomicUsize::new(0),
            with_paths: AtomicBool::new(false),
        }
    }

    /// Organizations requests made so far, each page counted (SDK retries are not).
    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Stops the walk once the deadline leaves less than its margin.
    fn guard(&self) -> Result<(), Error> {
        deadline::check(self.deadline, || self.progress())
    }

    fn progress(&self) -> String {
        format!(
            "listing {} unit(s) and {} account(s) and reading the tags of {} account(s) with {} Organizations call(s)",
            self.units.load(Ordering::Relaxed),
            self.accounts.load(Ordering::Relaxed),
            self.tags.load(Ordering::Relaxed),
            self.calls()
        )
    }

    /// `work`, cut off when the margin is reached: a request in flight (a slow answer, or
    /// the SDK backing off from throttling) must not carry the run past the deadline.
    async fn within_deadline<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let Some(d) = self.deadline else {
            return work.await;
        };
        let budget = d.left().saturating_sub(d.margin);
        match tokio::time::timeout(budget, work).await {
            Ok(result) => result,
            Err(_elapsed) => Err(d.exceeded(self.progress())),
        }
    }

    /// Every account from `ListAccounts`, when every answer carries its paths; `None` when
    /// one does not (or the role may not call it), so the walk lists accounts per unit.
    async fn accounts_with_paths(&self) -> Result<Option<Vec<types::Account>>, Error> {
        const OP: &str = "ListAccounts";
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.guard()?;
            self.count_call();
            let out = match self
                .client
                .list_accounts()
                .set_next_token(token.clone())
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) if classify(&e) == Failure::Service("AccessDeniedException".into()) => {
                    warn!("organizations:ListAccounts is not allowed: listing accounts per unit (grant it to save calls)");
                    return Ok(None);
                }
                Err(e) => return Err(org_error(OP, e)),
            };
            let accounts = out.accounts.unwrap_or_default();
            if accounts.iter().any(|a| a.paths().is_empty()) {
                debug!("ListAccounts answered without Paths: listing accounts per unit");
                return Ok(None);
            }
            self.accounts.fetch_add(accounts.len(), Ordering::Relaxed);
            found.extend(accounts);
            match out.next_token {
                Some(next) if Some(&next) == token.as_ref() => {
                    return Err(Error::Organizations {
                        operation: OP,
                        hint: "Organizations returned a pagination token twice: run again later"
                            .into(),
                        source: format!("{OP} repeated the token {next}").into(),
                    })
                }
                Some(next) => token = Some(next),
                None => return Ok(Some(found)),
            }
        }
    }

    fn count_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// The tree; with `names`, the OU names reused where the stored ones allow, and the
    /// names to store (only when the accounts came with their paths).
    async fn walk(
        &self,
        with_tags: bool,
        names: Option<OuNameInputs<'_>>,
    ) -> Result<(OrgTree, Option<OuNames>), Error> {
        self.count_call();
        let org = self
            .client
            .describe_organization()
            .send()
            .await
            .map_err(|e| org_error("DescribeOrganization", e))?;
        let org = org
            .organization
            .ok_or_else(|| malformed("DescribeOrganization", "no organization"))?;
        let organization_id = org
            .id
            .ok_or_else(|| malformed("DescribeOrganization", "no organization id"))?;
        let management_account_id = org
            .master_account_id
            .ok_or_else(|| malformed("DescribeOrganization", "no management account id"))?;

        let roots = self
            .pages("ListRoots", |token| {
                next_page!(self.client.list_roots(), token, roots)
            })
            .await?;
        let root_id = roots
            .into_iter()
            .find_map(|r| r.id)
            .ok_or_else(|| malformed("ListRoots", "no root"))?;

        let root = Parent {
            id: root_id.clone(),
            depth: 0,
            path: ROOT_NAME.to_string(),
            ids: vec![root_id.clone()],
        };
        let mut units = vec![OrgUnit {
            id: root_id.clone(),
            name: ROOT_NAME.to_string(),
            parent_id: None,
            depth: 0,
            path: ROOT_NAME.to_string(),
        }];
        let mut accounts = Vec::new();
        let mut listed = self.accounts_with_paths().await?;
        // With stored names, the listing goes to `with_stored_names` (and comes back when it
        // says to walk by listing); without, it stays for placing the walked accounts below.
        if let Some(inputs) = names {
            if let Some(found) = listed.take() {
                let ids = names::Ids {
                    organization: &organization_id,
                    root: &root_id,
                    management: &management_account_id,
                };
                match self.with_stored_names(found, &ids, inputs).await? {
                    Ok((units, accounts, stored)) => {
                        self.with_paths.store(true, Ordering::Relaxed);
                        return Ok((
                            self.finish(
                                organization_id,
                                management_account_id,
                                root_id,
                                units,
                                accounts,
                            ),
                            Some(stored),
                        ));
                    }
                    Err(found) => listed = Some(found),
                }
            }
        }
        let per_unit = listed.is_none();
        let mut parents = Vec::new();

        // Level by level: every unit of a level is listed (bounded concurrency) before the
        // next level starts. Organizations allows 5 levels of OUs below the root; the walk
        // simply goes on until a level has no units, so it never stops short.
        let mut level = vec![root];
        while !level.is_empty() {
            let children: Vec<Listing> =
                stream::iter(level.into_iter().map(|p| self.children(p, per_unit)))
                    .buffer_unordered(self.concurrency)
                    .try_collect()
                    .await?;
            let mut next = Vec::new();
            for (parent, ous, accts) in children {
                for ou in ous {
                    let id = ou
                        .id
                        .ok_or_else(|| malformed("ListOrganizationalUnitsForParent", "no OU id"))?;
                    let name = ou.name.unwrap_or_default();
                    let child = parent.child(id, &name);
                    units.push(OrgUnit {
                        id: child.id.clone(),
                        name,
                        parent_id: Some(parent.id.clone()),
                        depth: child.depth,
                        path: child.path.clone(),
                    });
                    next.push(child);
                }
                for a in accts {
                    accounts.push(account(a, &parent, &management_account_id)?);
                }
                parents.push(parent);
            }
            level = next;
        }
        if let Some(listed) = listed {
            let by_id: BTreeMap<&str, &Parent> =
                parents.iter().map(|p| (p.id.as_str(), p)).collect();
            match placed(listed, &by_id, &management_account_id)? {
                Some(placed) => {
                    self.with_paths.store(true, Ordering::Relaxed);
                    accounts = placed;
                }
                // An account under a unit the OU listing did not see (created between the
                // two listings): list per unit, which is consistent with the units.
                None => {
                    warn!("an account's path names a unit the walk did not list: listing accounts per unit");
                    let under = |p: &Parent| {
                        let p = p.clone();
                        async move { self.accounts_under(&p.id).await.map(|accts| (p, accts)) }
                    };
                    let lists: Vec<(Parent, Vec<types::Account>)> =
                        stream::iter(parents.iter().map(under))
                            .buffer_unordered(self.concurrency)
                            .try_collect()
                            .await?;
                    for (parent, accts) in lists {
                        for a in accts {
                            accounts.push(account(a, &parent, &management_account_id)?);
                        }
                    }
                }
            }
        }

        if with_tags {
            let ids: Vec<String> = accounts.iter().map(|a| a.id.clone()).collect();
            let mut tags = self.all_tags(ids).await?;
            for a in &mut accounts {
                a.tags = tags.remove(&a.id).unwrap_or_default();
            }
        }

        // Every name was listed: with paths, they are the names to store.
        let stored = match names {
            Some(inputs) if self.with_paths.load(Ordering::Relaxed) => {
                let listed_names: BTreeMap<String, String> = units
                    .iter()
                    .map(|u| (u.id.clone(), u.name.clone()))
                    .collect();
                Some(OuNames::read_all(
                    &organization_id,
                    &listed_names,
                    &names::on_paths(&accounts),
                    inputs.now,
                ))
            }
            _ => None,
        };
        let tree = self.finish(
            organization_id,
            management_account_id,
            root_id,
            units,
            accounts,
        );
        Ok((tree, stored))
    }

    /// The tree in id order, logged.
    fn finish(
        &self,
        organization_id: String,
        management_account_id: String,
        root_id: String,
        mut units: Vec<OrgUnit>,
        mut accounts: Vec<Account>,
    ) -> OrgTree {
        units.sort_by(|a, b| a.id.cmp(&b.id));
        accounts.sort_by(|a, b| a.id.cmp(&b.id));
        info!(
            organization_id = %organization_id,
            units = units.len(),
            accounts = accounts.len(),
            calls = self.calls(),
            with_paths = self.with_paths.load(Ordering::Relaxed),
            "organization walked"
        );
        OrgTree {
            organization_id,
            management_account_id,
            root_id,
            units,
            accounts,
        }
    }

    /// The tags of `ids`, by account id, with bounded concurrency.
    async fn all_tags(
        &self,
        ids: Vec<String>,
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, Error> {
        // Owned ids: a closure over borrowed accounts is not `Send` for every lifetime.
        stream::iter(ids.into_iter().map(|id| async move {
            let tags = self.tags(&id).await?;
            self.tags.fetch_add(1, Ordering::Relaxed);
            Ok::<_, Error>((id, tags))
        }))
        .buffer_unordered(self.concurrency)
        .try_collect()
        .await
    }

    /// The OUs directly under `parent`, and its accounts when `with_accounts`.
    async fn children(&self, parent: Parent, with_accounts: bool) -> Result<Listing, Error> {
        let id = parent.id.as_str();
        let ous = self
            .pages("ListOrganizationalUnitsForParent", |token| {
                let request = self.client.list_organizational_units_for_parent();
                next_page!(request.parent_id(id), token, organizational_units)
            })
            .await?;
        self.units.fetch_add(1, Ordering::Relaxed);
        if !with_accounts {
            return Ok((parent, ous, Vec::new()));
        }
        let accounts = self.accounts_under(id).await?;
        debug!(
            parent_id = parent.id,
            depth = parent.depth,
            ous = ous.len(),
            accounts = accounts.len(),
            "listed unit"
        );
        Ok((parent, ous, accounts))
    }

    /// The accounts directly under the unit `id`, every page.
    async fn accounts_under(&self, id: &str) -> Result<Vec<types::Account>, Error> {
        let accounts = self
            .pages("ListAccountsForParent", |token| {
                let request = self.client.list_accounts_for_parent();
                next_page!(request.parent_id(id), token, accounts)
            })
            .await?;
        self.accounts.fetch_add(accounts.len(), Ordering::Relaxed);
        Ok(accounts)
    }

    async fn tags(&self, account_id: &str) -> Result<BTreeMap<String, String>, Error> {
        let tags = self
            .pages("ListTagsForResource", |token| {
                let request = self.client.list_tags_for_resource();
                next_page!(request.resource_id(account_id), token, tags)
            })
            .await?;
        Ok(tags.into_iter().map(|t| (t.key, t.value)).collect())
    }

    /// Every page of one list operation, each request counted, errors mapped once.
    async fn pages<T, E, Fut>(
        &self,
        operation: &'static str,
        mut page: impl FnMut(Option<String>) -> Fut,
    ) -> Result<Vec<T>, Error>
    where
        Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), SdkError<E>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.guard()?;
        all_pages(|token| {
            self.count_call();
            page(token)
        })
        .await
        .map_err(|e| match e {
            PageError::Call(e) => org_error(operation, e),
            PageError::Repeated(r) => Error::Organizations {
                operation,
                hint: "Organizations returned a pagination token twice: run again later".into(),
                source: Box::new(r),
            },
        })
    }
}

impl OrgSource for OrganizationsSource {
    async fn walk(
        &self,
        with_tags: bool,
        deadline: Option<&Deadline>,
    ) -> Result<OrgSnapshot, Error> {
        let walk = Walk::new(self, deadline);
        let (tree, _) = walk.within_deadline(walk.walk(with_tags, None)).await?;
        Ok(OrgSnapshot {
            tree,
            calls: walk.calls(),
            ou_names: None,
        })
    }

    async fn walk_reusing_names(
        &self,
        names: OuNameInputs<'_>,
        deadline: Option<&Deadline>,
    ) -> Result<OrgSnapshot, Error> {
        let walk = Walk::new(self, deadline);
        let (tree, ou_names) = walk.within_deadline(walk.walk(false, Some(names))).await?;
        Ok(OrgSnapshot {
            tree,
            calls: walk.calls(),
            ou_names,
        })
    }

    async fn tags(&self, ids: &[String], deadline: Option<&Deadline>) -> Result<TagReads, Error> {
        let walk = Walk::new(self, deadline);
        let tags = walk.within_deadline(walk.all_tags(ids.to_vec())).await?;
        Ok(TagReads {
            tags,
            calls: walk.calls(),
        })
    }
}

/// The accounts of `ListAccounts` placed by their first path under the listed units; `None`
/// when a path names a unit that is not in `units`.
fn placed(
    listed: Vec<types::Account>,
    units: &BTreeMap<&str, &Parent>,
    management_id: &str,
) -> Result<Option<Vec<Account>>, Error> {
    let mut accounts = Vec::with_capacity(listed.len());
    for a in listed {
        let Some(parent_id) = a.paths().first().and_then(|p| path_parent(p)) else {
            return Err(malformed("ListAccounts", "a path without a parent unit"));
        };
        let Some(parent) = units.get(parent_id) else {
            return Ok(None);
        };
        accounts.push(account(a, parent, management_id)?);
    }
    Ok(Some(accounts))
}

/// The unit directly above the account in `o-…/r-…/ou-…/111122223333/`.
fn path_parent(path: &str) -> Option<&str> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    // organization, root, [OUs...], account
    (parts.len() >= 3).then(|| parts[parts.len() - 2])
}

fn account(a: types::Account, parent: &Parent, management_id: &str) -> Result<Account, Error> {
    let id =
        a.id.ok_or_else(|| malformed("ListAccountsForParent", "no account id"))?;
    Ok(Account {
        is_management: id == management_id,
        name: a.name.unwrap_or_default(),
        email: a.email.unwrap_or_default(),
        // `State` only: `Status` was retired.
        state: a
            .state
            .map(|s| AccountState::from(s.as_str().to_string()))
            .unwrap_or_else(|| AccountState::Other("UNKNOWN".into())),
        joined_method: a.joined_method.map(|m| m.as_str().to_string()),
        joined_at: a.joined_timestamp.and_then(|t| to_chrono(&t)),
        parent_id: parent.id.clone(),
        ou_path: parent.path.clone(),
        ou_ids: parent.ids.clone(),
        tags: BTreeMap::new(),
        id,
    })
}

/// Milliseconds, the precision the table stores: a finer value would differ from the stored
/// one on every run and rewrite every account though nothing changed.
fn to_chrono(t: &aws_sdk_organizations::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(t.to_millis().ok()?)
}

/// The one mapping from an SDK error of any Organizations call to [`Error::Organizations`].
fn org_error<E>(operation: &'static str, err: SdkError<E>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    Error::Organizations {
        operation,
        hint: hint(operation, &classify(&err)),
        source: Box::new(err),
    }
}

/// What the user should do, by what failed.
fn hint(operation: &str, failure: &Failure) -> String {
    match failure {
        Failure::Service(code) => match code.as_str() {
            "AccessDeniedException" => {
                format!("grant organizations:{operation} to the function's role")
            }
            "AWSOrganizationsNotInUseException" => "this account is not in an organization: deploy in the management account or a delegated administrator".into(),
            "TooManyRequestsException" => "Organizations kept throttling after retries: lower APNWATCH_ORG_CONCURRENCY or run less often".into(),
            "ServiceException" => "Organizations had an internal error after retries: run again later".into(),
            other => format!("Organizations answered {other}: see the cause"),
        },
        Failure::Unreachable => "could not reach the Organizations endpoint: check network access (VPC endpoint or NAT)".into(),
        Failure::Credentials => "could not get credentials for Organizations: check the function's role, and APNWATCH_ORG_ROLE_ARN and its trust policy when set".into(),
        Failure::Other => "the Organizations call failed: see the cause".into(),
    }
}

fn malformed(operation: &'static str, what: &str) -> Error {
    let source: BoxError = format!("{operation} answered without the expected data: {what}").into();
    Error::Organizations {
        operation,
        hint: "Organizations returned an incomplete answer: run again; report it if it persists"
            .into(),
        source,
    }
}

#[cfg(test)]
#[path = "organizations_tests.rs"]
mod tests;
