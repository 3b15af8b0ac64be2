//! The ports with faults: each call of the in-memory fakes ([`crate::fakes`]) goes through
//! [`Ctl`]'s await points and fault draws, so the fakes keep the adapters' semantics and the
//! faults live in one place (the wrappers would fit any port).

use std::future::Future;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::alert::AlertMessage;
use crate::domain::deadline::Deadline;
use crate::domain::invite::{Accepted, Refusal, Sent};
use crate::domain::link::PartnerCentralLinks;
use crate::domain::model::{
    AccountChange, AccountRecord, ChangeEvent, LinkState, PendingAlert, RunSummary,
};
use crate::domain::ou_names::OuNames;
use crate::domain::summary::{QueuedSummary, SummaryMark, SummaryPeriod};
use crate::domain::sweep::SweepState;
use crate::error::Error;
use crate::fakes::{FakePartnerCentral, FakeStore};
use crate::ports::{
    AccountTable, AlertOutbox, CommitOutcome, Invitations, Notifier, OrgSnapshot, OrgSource,
    PartnerCentralSource, PublishLease, Queries, RunRecords, StoredState, SummaryOutbox, TagReads,
};
use crate::sim::faults::{cause, store_error, Ctl, Fault};

/// A port with faults: `inner` is the in-memory fake, `ctl` the plan.
pub struct Faulty<'a, T> {
    pub inner: &'a T,
    pub ctl: &'a Ctl,
}

impl<'a> Ctl {
    /// `inner` behind this plan's faults.
    pub fn wrap<T>(&'a self, inner: &'a T) -> Faulty<'a, T> {
        Faulty { inner, ctl: self }
    }
}

impl<T> Faulty<'_, T> {
    /// A call at `point`: a fault drawn before it fails the call (`fail` builds the error
    /// the adapter would return); after a `write`, a fault hides a write that took effect (a
    /// lost response), while after a read there is only the await point.
    async fn call<R, E>(
        &self,
        point: &'static str,
        write: bool,
        fail: impl Fn(Fault) -> E,
        call: impl Future<Output = Result<R, E>>,
    ) -> Result<R, E> {
        if let Some(f) = self.ctl.before(point).await {
            return Err(fail(f));
        }
        let out = call.await;
        if let Some(f) = self.ctl.after(point, write).await {
            return Err(fail(f));
        }
        out
    }
}

/// The methods that are the fake's own behind one fault point: one line each, the method,
/// the point's name in the plan, read or write, and the error a fault there returns.
macro_rules! faulty {
    ($(fn $method:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty = $point:literal, $kind:ident, $fail:expr;)+) => {$(
        async fn $method(&self $(, $arg: $ty)*) -> Result<$ret, Error> {
            self.call($point, $kind, $fail, self.inner.$method($($arg),*)).await
        }
    )+};
}

// [`Faulty::call`]'s `write`, named at the call sites.
const READ: bool = false;
const WRITE: bool = true;

/// The error an Organizations call returns under an injected fault.
fn organizations(operation: &'static str) -> impl Fn(Fault) -> Error {
    move |f| Error::Organizations {
        operation,
        hint: "injected fault".into(),
        source: cause(f),
    }
}

/// The error a Partner Central call returns under an injected fault.
fn partner_central(operation: &'static str) -> impl Fn(Fault) -> Error {
    move |f| Error::PartnerCentral {
        operation,
        hint: "injected fault".into(),
        source: cause(f),
    }
}

/// The error a DynamoDB call returns under an injected fault.
fn store(operation: &'static str) -> impl Fn(Fault) -> Error {
    move |f| store_error(operation, f)
}

impl<T: OrgSource + Sync> OrgSource for Faulty<'_, T> {
    faulty! {
        fn walk(&self, with_tags: bool, deadline: Option<&Deadline>) -> OrgSnapshot = "organizations.walk", READ, organizations("ListAccountsForParent");
        fn tags(&self, ids: &[String], deadline: Option<&Deadline>) -> TagReads = "organizations.tags", READ, organizations("ListTagsForResource");
    }
}

impl PartnerCentralSource for Faulty<'_, FakePartnerCentral> {
    faulty! {
        fn links(&self) -> PartnerCentralLinks = "partner_central.links", READ, partner_central("ListConnections");
    }
}

/// Partner Central's invitation calls over the same links the run reads: an invitation
/// makes the account pending, an acceptance makes it active.
impl Invitations for Faulty<'_, FakePartnerCentral> {
    async fn invite(
        &self,
        account_id: &str,
        _token: &str,
        _message: &str,
    ) -> Result<Sent, Refusal> {
        let call = async {
            self.inner
                .links
                .lock()
                .unwrap()
                .pending
                .insert(account_id.to_string());
            Ok(Sent {
                invitation_id: format!("inv-{account_id}"),
            })
        };
        self.call("partner_central.invite", WRITE, refusal, call)
            .await
    }

    async fn accept(&self, account_id: &str) -> Result<Accepted, Refusal> {
        let call = async {
            let mut links = self.inner.links.lock().unwrap();
            let found = links.pending.remove(account_id);
            if found {
                links.active.insert(account_id.to_string());
                links.canceled.remove(account_id);
            }
            Ok(found)
        };
        // Not found is the answer to a call that went through: after the await point.
        if !self
            .call("partner_central.accept", WRITE, refusal, call)
            .await?
        {
            return Err(Refusal {
                code: "ResourceNotFoundException".into(),
                reason: None,
                message: "no pending invitation".into(),
            });
        }
        Ok(Accepted {
            invitation_id: format!("inv-{account_id}"),
            connection_id: None,
        })
    }
}

fn refusal(f: Fault) -> Refusal {
    Refusal {
        code: match f {
            Fault::Throttled => "ThrottlingException",
            Fault::Denied => "AccessDeniedException",
            Fault::Timeout => "RequestTimeout",
        }
        .into(),
        reason: None,
        message: "injected fault".into(),
    }
}

impl AccountTable for Faulty<'_, FakeStore> {
    faulty! {
        fn load(&self) -> StoredState = "store.load", READ, store("Query");
    }

    /// Each account's change is its own transaction in DynamoDB: written in chunks here, with
    /// an await point (a possible crash) between them.
    async fn commit(&self, changes: &[AccountChange]) -> Result<CommitOutcome, Error> {
        let mut outcome = CommitOutcome::default();
        let mut rest = changes;
        while !rest.is_empty() {
            if let Some(f) = self.ctl.before("store.commit").await {
                return Err(store_error("TransactWriteItems", f));
            }
            let (now, later) = rest.split_at(self.ctl.chunk(rest.len()));
            rest = later;
            let done = self.inner.commit(now).await?;
            self.queued(now, &done.conflicts);
            outcome.written += done.written;
            outcome.conflicts.extend(done.conflicts);
            if let Some(f) = self.ctl.after("store.commit", true).await {
                return Err(store_error("TransactWriteItems", f));
            }
        }
        Ok(outcome)
    }

    faulty! {
        fn account(&self, account_id: &str) -> Option<AccountRecord> = "store.account", READ, store("GetItem");
    }
}

impl PublishLease for Faulty<'_, FakeStore> {
    faulty! {
        fn acquire_publish_lease(&self, owner: &str, now: DateTime<Utc>) -> bool = "store.acquire_lease", WRITE, store("PutItem");
        fn release_publish_lease(&self, owner: &str) -> () = "store.release_lease", WRITE, store("DeleteItem");
    }
}

impl AlertOutbox for Faulty<'_, FakeStore> {
    faulty! {
        fn pending_alerts(&self) -> Vec<PendingAlert> = "store.pending_alerts", READ, store("Query");
        fn has_queued(&self) -> bool = "store.has_queued", READ, store("Query");
    }

    async fn ack_alerts(&self, ids: &[String]) -> Result<(), Error> {
        let call = async {
            self.inner.ack_alerts(ids).await?;
            let mut r = self.ctl.record.lock().unwrap();
            for id in ids {
                r.unacked.remove(id);
                r.acked.insert(id.clone());
            }
            Ok(())
        };
        self.call("store.ack_alerts", WRITE, store("BatchWriteItem"), call)
            .await
    }
}

impl SummaryOutbox for Faulty<'_, FakeStore> {
    faulty! {
        fn last_summary(&self, period: SummaryPeriod) -> Option<SummaryMark> = "store.last_summary", READ, store("Query");
        fn queue_summaries(&self, mark: &SummaryMark, summaries: &[QueuedSummary]) -> bool = "store.queue_summaries", WRITE, store("TransactWriteItems");
        fn pending_summaries(&self) -> Vec<QueuedSummary> = "store.pending_summaries", READ, store("Query");
        fn ack_summary(&self, id: &str) -> () = "store.ack_summary", WRITE, store("DeleteItem");
    }
}

impl RunRecords for Faulty<'_, FakeStore> {
    faulty! {
        fn put_ou_names(&self, names: &OuNames) -> () = "store.put_ou_names", WRITE, store("PutItem");
        fn put_run(&self, summary: &RunSummary) -> () = "store.put_run", WRITE, store("PutItem");
        fn put_sweep(&self, sweep: &SweepState) -> () = "store.put_sweep", WRITE, store("PutItem");
    }
}

impl Faulty<'_, FakeStore> {
    /// Notes the alerts a commit queued; an alert queued again after it was acked would be
    /// sent twice.
    fn queued(&self, changes: &[AccountChange], conflicts: &[String]) {
        let mut r = self.ctl.record.lock().unwrap();
        for c in changes {
            if conflicts.contains(&c.record.account.id) {
                continue;
            }
            if let Some(a) = &c.alert {
                if r.acked.contains(&a.id) {
                    r.violations
                        .push(format!("alert {} queued again after it was sent", a.id));
                }
                r.queued.insert(a.id.clone(), a.clone());
            }
        }
    }
}

impl Queries for Faulty<'_, FakeStore> {
    faulty! {
        fn accounts(&self, link_state: Option<LinkState>) -> Vec<AccountRecord> = "store.accounts", READ, store("Query");
        fn history(&self, account_id: &str) -> Vec<ChangeEvent> = "store.history", READ, store("Query");
    }

    async fn runs(&self, limit: usize) -> Result<Vec<RunSummary>, Error> {
        self.inner.runs(limit).await
    }
}

/// SNS, recording which alerts each accepted message carried.
pub struct FaultyNotifier<'a> {
    pub ctl: &'a Ctl,
    pub published: &'a Mutex<Vec<AlertMessage>>,
}

impl Notifier for FaultyNotifier<'_> {
    async fn publish(&self, message: &AlertMessage) -> Result<String, Error> {
        if let Some(f) = self.ctl.before("sns.publish").await {
            return Err(Error::Notify {
                topic: "arn:aws:sns:us-east-1:123456789012:sim".into(),
                hint: "injected fault".into(),
                queued: message.alert_ids.len(),
                source: cause(f),
            });
        }
        let n = {
            let mut p = self.published.lock().unwrap();
            p.push(message.clone());
            p.len()
        };
        {
            let mut r = self.ctl.record.lock().unwrap();
            for id in &message.alert_ids {
                if r.acked.contains(id) {
                    r.violations.push(format!(
                        "alert {id} published again after the outbox dropped it"
                    ));
                } else if r.unacked.contains(id) {
                    r.tolerated_duplicates += 1;
                }
                r.unacked.insert(id.clone());
                *r.published.entry(id.clone()).or_default() += 1;
            }
        }
        if let Some(f) = self.ctl.after("sns.publish", true).await {
            return Err(Error::Notify {
                topic: "arn:aws:sns:us-east-1:123456789012:sim".into(),
                hint: "injected fault after SNS accepted the message".into(),
                queued: message.alert_ids.len(),
                source: cause(f),
            });
        }
        Ok(format!("msg-{n}"))
    }
}
