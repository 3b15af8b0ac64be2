//! Organizations adapter: walks the whole organization (root, OUs level by level, the
//! accounts of every unit, optionally their tags) into an [`OrgTree`].
//!
//! The walk uses only list calls, one or a few pages per unit, with bounded concurrency:
//! no per-account `ListParents`/`DescribeAccount`, so its cost grows with the number of
//! units, not accounts (plus one `ListTagsForResource` per account when tags are needed).
//! Any failure that survives the SDK's retries fails the whole walk: a partial tree would
//! make the missing accounts look removed.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_organizations::types;
use aws_sdk_organizations::Client;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use tracing::{debug, info};

use crate::aws::{all_pages, classify, Failure, PageError};
use crate::error::{BoxError, Error};
use crate::model::{Account, AccountState, OrgTree, OrgUnit};
use crate::ports::{OrgSnapshot, OrgSource};

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
}

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

impl Walk<'_> {
    /// Organizations requests made so far, each page counted (SDK retries are not).
    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn count_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    async fn walk(&self, with_tags: bool) -> Result<OrgTree, Error> {
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
            .pages("ListRoots", |token| async move {
                self.client
                    .list_roots()
                    .set_next_token(token)
                    .send()
                    .await
                    .map(|out| (out.roots.unwrap_or_default(), out.next_token))
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

        // Level by level: every unit of a level is listed (bounded concurrency) before the
        // next level starts. Organizations allows 5 levels of OUs below the root; the walk
        // simply goes on until a level has no units, so it never stops short.
        let mut level = vec![root];
        while !level.is_empty() {
            let children: Vec<(Parent, Vec<types::OrganizationalUnit>, Vec<types::Account>)> =
                stream::iter(level.into_iter().map(|p| self.children(p)))
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
            }
            level = next;
        }

        if with_tags {
            // Owned ids: a closure over borrowed accounts is not `Send` for every lifetime.
            let ids: Vec<String> = accounts.iter().map(|a| a.id.clone()).collect();
            let tags: Vec<(usize, BTreeMap<String, String>)> = stream::iter(
                ids.into_iter()
                    .enumerate()
                    .map(|(i, id)| async move { Ok::<_, Error>((i, self.tags(&id).await?)) }),
            )
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
            for (i, t) in tags {
                accounts[i].tags = t;
            }
        }

        units.sort_by(|a, b| a.id.cmp(&b.id));
        accounts.sort_by(|a, b| a.id.cmp(&b.id));
        info!(
            organization_id = %organization_id,
            units = units.len(),
            accounts = accounts.len(),
            calls = self.calls(),
            "organization walked"
        );
        Ok(OrgTree {
            organization_id,
            management_account_id,
            root_id,
            units,
            accounts,
        })
    }

    /// The OUs and accounts directly under `parent`, every page of each.
    async fn children(
        &self,
        parent: Parent,
    ) -> Result<(Parent, Vec<types::OrganizationalUnit>, Vec<types::Account>), Error> {
        let id = parent.id.as_str();
        let ous = self
            .pages("ListOrganizationalUnitsForParent", |token| async move {
                self.client
                    .list_organizational_units_for_parent()
                    .parent_id(id)
                    .set_next_token(token)
                    .send()
                    .await
                    .map(|out| (out.organizational_units.unwrap_or_default(), out.next_token))
            })
            .await?;
        let accounts = self
            .pages("ListAccountsForParent", |token| async move {
                self.client
                    .list_accounts_for_parent()
                    .parent_id(id)
                    .set_next_token(token)
                    .send()
                    .await
                    .map(|out| (out.accounts.unwrap_or_default(), out.next_token))
            })
            .await?;
        debug!(
            parent_id = id,
            depth = parent.depth,
            ous = ous.len(),
            accounts = accounts.len(),
            "listed unit"
        );
        Ok((parent, ous, accounts))
    }

    async fn tags(&self, account_id: &str) -> Result<BTreeMap<String, String>, Error> {
        let tags = self
            .pages("ListTagsForResource", |token| async move {
                self.client
                    .list_tags_for_resource()
                    .resource_id(account_id)
                    .set_next_token(token)
                    .send()
                    .await
                    .map(|out| (out.tags.unwrap_or_default(), out.next_token))
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
    async fn snapshot(&self, with_tags: bool) -> Result<OrgSnapshot, Error> {
        let walk = Walk {
            client: &self.client,
            concurrency: self.concurrency,
            calls: AtomicU64::new(0),
        };
        let tree = walk.walk(with_tags).await?;
        Ok(OrgSnapshot {
            tree,
            calls: walk.calls(),
        })
    }
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
mod tests {
    use super::*;

    fn code(c: &str) -> Failure {
        Failure::Service(c.into())
    }

    /// Access denied names the exact permission the role lacks.
    #[test]
    fn access_denied_names_the_permission() {
        assert_eq!(
            hint("ListAccountsForParent", &code("AccessDeniedException")),
            "grant organizations:ListAccountsForParent to the function's role"
        );
    }

    /// Each known failure gets a hint that says what to do.
    #[test]
    fn known_failures_have_actionable_hints() {
        assert!(
            hint("ListRoots", &code("AWSOrganizationsNotInUseException"))
                .contains("management account or a delegated administrator")
        );
        assert!(hint("ListRoots", &code("TooManyRequestsException"))
            .contains("lower APNWATCH_ORG_CONCURRENCY"));
        assert!(hint("ListRoots", &Failure::Unreachable).contains("VPC endpoint or NAT"));
        assert!(hint("ListRoots", &Failure::Credentials).contains("APNWATCH_ORG_ROLE_ARN"));
        assert!(hint("ListRoots", &code("Weird")).contains("Weird"));
    }

    /// Paths and id chains grow from the root down, one unit per level.
    #[test]
    fn child_paths_and_ids_extend_the_parent() {
        let root = Parent {
            id: "r-ab12".into(),
            depth: 0,
            path: ROOT_NAME.into(),
            ids: vec!["r-ab12".into()],
        };
        let prod = root
            .child("ou-ab12-11111111".into(), "Workloads")
            .child("ou-ab12-22222222".into(), "Prod");
        assert_eq!(prod.path, "Root/Workloads/Prod");
        assert_eq!(prod.depth, 2);
        assert_eq!(
            prod.ids,
            vec!["r-ab12", "ou-ab12-11111111", "ou-ab12-22222222"]
        );
    }

    /// An account takes its parent's path and ids, reads `State` (not `Status`) and is
    /// flagged as the management account by id.
    #[test]
    fn account_fields_come_from_state_and_parent() {
        let parent = Parent {
            id: "ou-ab12-11111111".into(),
            depth: 1,
            path: "Root/Workloads".into(),
            ids: vec!["r-ab12".into(), "ou-ab12-11111111".into()],
        };
        let a = types::Account::builder()
            .id("111122223333")
            .name("prod")
            .email("prod@example.com")
            .status(types::AccountStatus::Active)
            .state(types::AccountState::Suspended)
            .joined_method(types::AccountJoinedMethod::Invited)
            .joined_timestamp(aws_sdk_organizations::primitives::DateTime::from_secs(
                1_700_000_000,
            ))
            .build();
        let acct = account(a, &parent, "111122223333").unwrap();
        assert_eq!(acct.state, AccountState::Suspended);
        assert_eq!(acct.ou_path, "Root/Workloads");
        assert_eq!(acct.ou_ids, parent.ids);
        assert_eq!(acct.parent_id, "ou-ab12-11111111");
        assert_eq!(acct.joined_method.as_deref(), Some("INVITED"));
        assert_eq!(
            acct.joined_at.unwrap().to_rfc3339(),
            "2023-11-14T22:13:20+00:00"
        );
        assert!(acct.is_management);
    }
}
