//! In-memory implementations of the ports, for unit tests of a whole run without AWS (and the
//! benchmark, through the `test-util` feature; the product never compiles them). They
//! keep the semantics the adapters promise (conditional writes on revisions, an exclusive
//! publish lease, an outbox) so run-level rules are tested against the same contract.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::alert::AlertMessage;
use crate::domain::deadline::Deadline;
use crate::domain::link::PartnerCentralLinks;
use crate::domain::model::{
    AccountChange, AccountRecord, ChangeEvent, LinkState, OrgTree, PendingAlert, RunSummary,
};
use crate::domain::ou_names::OuNames;
use crate::domain::summary::{QueuedSummary, SummaryMark, SummaryPeriod};
use crate::domain::sweep::SweepState;
use crate::error::Error;
use crate::ports::{
    AccountTable, AlertOutbox, CommitOutcome, Notifier, OrgSnapshot, OrgSource,
    PartnerCentralSource, PublishLease, Queries, RunRecords, StoredState, SummaryOutbox, TagReads,
    LEASE_SECONDS,
};

fn fake_error(what: &str) -> crate::error::BoxError {
    Box::new(std::io::Error::other(what.to_string()))
}

/// An organization that answers with a fixed tree, or fails like a throttled walk.
#[derive(Default)]
pub struct FakeOrg {
    pub tree: Mutex<OrgTree>,
    pub fail: Mutex<bool>,
}

impl FakeOrg {
    pub fn new(tree: OrgTree) -> Self {
        Self {
            tree: Mutex::new(tree),
            fail: Mutex::new(false),
        }
    }
}

impl OrgSource for FakeOrg {
    async fn tags(&self, ids: &[String], _deadline: Option<&Deadline>) -> Result<TagReads, Error> {
        let tree = self.tree.lock().unwrap();
        // A set: the bench asks for 10,000 accounts' tags.
        let wanted: std::collections::BTreeSet<&String> = ids.iter().collect();
        Ok(TagReads {
            tags: tree
                .accounts
                .iter()
                .filter(|a| wanted.contains(&a.id))
                .map(|a| (a.id.clone(), a.tags.clone()))
                .collect(),
            calls: ids.len() as u64,
        })
    }

    async fn walk(
        &self,
        _with_tags: bool,
        deadline: Option<&Deadline>,
    ) -> Result<OrgSnapshot, Error> {
        crate::domain::deadline::check(deadline, || "listing the fake organization".into())?;
        if *self.fail.lock().unwrap() {
            return Err(Error::Organizations {
                operation: "ListAccountsForParent",
                hint: "Organizations kept throttling after retries".into(),
                source: fake_error("TooManyRequestsException"),
            });
        }
        Ok(OrgSnapshot {
            tree: self.tree.lock().unwrap().clone(),
            calls: 0,
            ou_names: None,
        })
    }
}

/// Partner Central answering with fixed links, or failing.
#[derive(Default)]
pub struct FakePartnerCentral {
    pub links: Mutex<PartnerCentralLinks>,
    pub fail: Mutex<bool>,
}

impl PartnerCentralSource for FakePartnerCentral {
    async fn links(&self) -> Result<PartnerCentralLinks, Error> {
        if *self.fail.lock().unwrap() {
            return Err(Error::PartnerCentral {
                operation: "ListConnections",
                hint: "access denied".into(),
                source: fake_error("AccessDeniedException"),
            });
        }
        Ok(self.links.lock().unwrap().clone())
    }
}

#[derive(Default, Debug, Clone)]
pub struct FakeTable {
    pub accounts: BTreeMap<String, AccountRecord>,
    pub history: Vec<ChangeEvent>,
    pub outbox: BTreeMap<String, PendingAlert>,
    /// Queued summaries by id, beside the alerts in the outbox.
    pub summaries: BTreeMap<String, QueuedSummary>,
    /// Period markers by `(daily|weekly, period key)`.
    pub summary_marks: BTreeMap<(String, String), SummaryMark>,
    pub runs: Vec<RunSummary>,
    pub lease: Option<(String, DateTime<Utc>)>,
    /// Account items written, as a DynamoDB bill would count them.
    pub account_writes: usize,
    pub sweep: SweepState,
    pub ou_names: OuNames,
    /// Reads of the whole accounts partition (`load`, `accounts(None)`), as a bill would
    /// count them.
    pub full_reads: usize,
}

/// A table with the adapter's write semantics.
#[derive(Default)]
pub struct FakeStore {
    pub table: Mutex<FakeTable>,
    /// Called inside `commit` before writing: lets a test play a concurrent run.
    #[allow(clippy::type_complexity)]
    pub before_commit: Mutex<Option<Box<dyn FnMut(&mut FakeTable) + Send>>>,
}

impl FakeStore {
    pub fn snapshot(&self) -> FakeTable {
        self.table.lock().unwrap().clone()
    }
}

impl AccountTable for FakeStore {
    async fn load(&self) -> Result<StoredState, Error> {
        let mut t = self.table.lock().unwrap();
        t.full_reads += 1;
        Ok(StoredState {
            records: t.accounts.clone(),
            first_run: t.accounts.is_empty() && t.runs.is_empty(),
            sweep: t.sweep.clone(),
            ou_names: t.ou_names.clone(),
        })
    }

    async fn commit(&self, changes: &[AccountChange]) -> Result<CommitOutcome, Error> {
        if let Some(hook) = self.before_commit.lock().unwrap().as_mut() {
            hook(&mut self.table.lock().unwrap());
        }
        let mut t = self.table.lock().unwrap();
        let mut outcome = CommitOutcome::default();
        for c in changes {
            let current = t.accounts.get(&c.record.account.id).map(|r| r.rev);
            let alert_gone = c.replaces_queued
                && c.alert
                    .as_ref()
                    .is_some_and(|a| !t.outbox.contains_key(&a.id));
            if current != c.expected_rev || alert_gone {
                outcome.conflicts.push(c.record.account.id.clone());
                continue;
            }
            t.accounts
                .insert(c.record.account.id.clone(), c.record.clone());
            t.account_writes += 1;
            t.history.extend(c.events.iter().cloned());
            if let Some(a) = &c.alert {
                t.outbox.insert(a.id.clone(), a.clone());
            }
            outcome.written += 1;
        }
        Ok(outcome)
    }

    async fn account(&self, account_id: &str) -> Result<Option<AccountRecord>, Error> {
        Ok(self.table.lock().unwrap().accounts.get(account_id).cloned())
    }
}

impl AlertOutbox for FakeStore {
    async fn pending_alerts(&self) -> Result<Vec<PendingAlert>, Error> {
        Ok(self
            .table
            .lock()
            .unwrap()
            .outbox
            .values()
            .cloned()
            .collect())
    }

    async fn has_queued(&self) -> Result<bool, Error> {
        let t = self.table.lock().unwrap();
        Ok(!t.outbox.is_empty() || !t.summaries.is_empty())
    }

    async fn ack_alerts(&self, ids: &[String]) -> Result<(), Error> {
        let mut t = self.table.lock().unwrap();
        for id in ids {
            t.outbox.remove(id);
        }
        Ok(())
    }
}

impl SummaryOutbox for FakeStore {
    async fn last_summary(&self, period: SummaryPeriod) -> Result<Option<SummaryMark>, Error> {
        let t = self.table.lock().unwrap();
        Ok(t.summary_marks
            .iter()
            .rfind(|((kind, _), _)| kind == period.as_str())
            .map(|(_, m)| m.clone()))
    }

    async fn queue_summaries(
        &self,
        mark: &SummaryMark,
        summaries: &[QueuedSummary],
    ) -> Result<bool, Error> {
        // As the adapter's transaction: the marker's absence is the condition for all of it.
        let mut t = self.table.lock().unwrap();
        let key = (mark.period.as_str().to_string(), mark.key.clone());
        if t.summary_marks.contains_key(&key) {
            return Ok(false);
        }
        t.summary_marks.insert(key, mark.clone());
        for s in summaries {
            t.summaries.insert(s.id.clone(), s.clone());
        }
        Ok(true)
    }

    async fn pending_summaries(&self) -> Result<Vec<QueuedSummary>, Error> {
        Ok(self
            .table
            .lock()
            .unwrap()
            .summaries
            .values()
            .cloned()
            .collect())
    }

    async fn ack_summary(&self, id: &str) -> Result<(), Error> {
        self.table.lock().unwrap().summaries.remove(id);
        Ok(())
    }
}

impl PublishLease for FakeStore {
    async fn acquire_publish_lease(&self, owner: &str, now: DateTime<Utc>) -> Result<bool, Error> {
        // As the adapter's condition: free, expired, or the caller's own.
        let mut t = self.table.lock().unwrap();
        match &t.lease {
            Some((holder, until)) if *until >= now && holder != owner => Ok(false),
            _ => {
                t.lease = Some((owner.to_string(), now + Duration::seconds(LEASE_SECONDS)));
                Ok(true)
            }
        }
    }

    async fn release_publish_lease(&self, owner: &str) -> Result<(), Error> {
        let mut t = self.table.lock().unwrap();
        if t.lease.as_ref().is_some_and(|(o, _)| o == owner) {
            t.lease = None;
        }
        Ok(())
    }
}

impl RunRecords for FakeStore {
    async fn put_run(&self, summary: &RunSummary) -> Result<(), Error> {
        self.table.lock().unwrap().runs.push(summary.clone());
        Ok(())
    }

    async fn put_sweep(&self, sweep: &SweepState) -> Result<(), Error> {
        self.table.lock().unwrap().sweep = sweep.clone();
        Ok(())
    }

    async fn put_ou_names(&self, names: &OuNames) -> Result<(), Error> {
        self.table.lock().unwrap().ou_names = names.clone();
        Ok(())
    }
}

impl Queries for FakeStore {
    async fn accounts(&self, link_state: Option<LinkState>) -> Result<Vec<AccountRecord>, Error> {
        let mut t = self.table.lock().unwrap();
        t.full_reads += usize::from(link_state.is_none());
        Ok(t.accounts
            .values()
            .filter(|r| link_state.is_none_or(|s| !r.removed && r.link.state == s))
            .cloned()
            .collect())
    }

    async fn history(&self, account_id: &str) -> Result<Vec<ChangeEvent>, Error> {
        let t = self.table.lock().unwrap();
        Ok(t.history
            .iter()
            .filter(|e| e.account_id == account_id)
            .cloned()
            .collect())
    }

    async fn runs(&self, limit: usize) -> Result<Vec<RunSummary>, Error> {
        let t = self.table.lock().unwrap();
        Ok(t.runs.iter().rev().take(limit).cloned().collect())
    }
}

/// A topic that records what it was given, or refuses it.
#[derive(Default)]
pub struct FakeNotifier {
    pub published: Mutex<Vec<AlertMessage>>,
    pub fail: Mutex<bool>,
}

impl Notifier for FakeNotifier {
    async fn publish(&self, message: &AlertMessage) -> Result<String, Error> {
        if *self.fail.lock().unwrap() {
            return Err(Error::Notify {
                topic: "arn:aws:sns:us-east-1:123456789012:fake".into(),
                hint: "grant sns:Publish on the topic".into(),
                queued: message.alert_ids.len(),
                source: fake_error("AuthorizationError"),
            });
        }
        let mut p = self.published.lock().unwrap();
        p.push(message.clone());
        Ok(format!("msg-{}", p.len()))
    }
}

/// The publish lease's contract, which [`FakeStore`] and the DynamoDB adapter both keep (the
/// store tests run it against moto): one run at a time holds the lease; the holder may
/// renew its own live lease; it frees up when released or [`LEASE_SECONDS`] after it was
/// last taken; a run cannot release another run's lease.
pub async fn check_publish_lease_contract<S: PublishLease>(store: &S) {
    let now: DateTime<Utc> = "2026-11-27T12:00:00Z".parse().expect("timestamp");
    let minutes = |m: i64| now + Duration::minutes(m);
    let lease_minutes = LEASE_SECONDS / 60;
    let take = |owner: &'static str, at: DateTime<Utc>| {
        let store = &store;
        async move {
            store
                .acquire_publish_lease(owner, at)
                .await
                .expect("acquire")
        }
    };

    assert!(take("run-a", now).await, "a free lease is taken");
    assert!(
        !take("run-b", minutes(1)).await,
        "a live lease is exclusive"
    );
    assert!(take("run-a", minutes(1)).await, "the holder renews its own");
    assert!(
        !take("run-b", minutes(lease_minutes)).await,
        "the renewed lease lasts from its renewal"
    );
    assert!(
        take("run-b", minutes(lease_minutes + 2)).await,
        "an expired lease is free"
    );
    store.release_publish_lease("run-a").await.expect("release");
    assert!(
        !take("run-c", minutes(lease_minutes + 3)).await,
        "a run cannot release another's lease"
    );
    store.release_publish_lease("run-b").await.expect("release");
    assert!(
        take("run-c", minutes(lease_minutes + 3)).await,
        "a released lease is free"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fake's publish lease keeps the adapter's contract.
    #[tokio::test]
    async fn fake_lease_keeps_the_contract() {
        check_publish_lease_contract(&FakeStore::default()).await;
    }

    /// The fake table keeps the whole store contract the DynamoDB adapter keeps on moto.
    #[tokio::test]
    async fn fake_store_keeps_the_contract() {
        crate::contract::check_store_contract(&FakeStore::default()).await;
    }
}
