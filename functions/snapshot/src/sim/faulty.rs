//! The ports with faults: each call of the in-memory fakes ([`crate::fakes`]) goes through
//! [`Ctl`]'s await points and fault draws, so the fakes keep the adapters' semantics and the
//! faults live in one place (the wrappers would fit any port).

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

impl<T: OrgSource + Sync> OrgSource for Faulty<'_, T> {
    async fn walk(
        &self,
        with_tags: bool,
        deadline: Option<&Deadline>,
    ) -> Result<OrgSnapshot, Error> {
        if let Some(f) = self.ctl.before("organizations.walk").await {
            return Err(Error::Organizations {
                operation: "ListAccountsForParent",
                hint: "injected fault".into(),
                source: cause(f),
            });
        }
        let out = self.inner.walk(with_tags, deadline).await;
        self.ctl.after("organizations.walk", false).await;
        out
    }

    async fn tags(&self, ids: &[String], deadline: Option<&Deadline>) -> Result<TagReads, Error> {
        if let Some(f) = self.ctl.before("organizations.tags").await {
            return Err(Error::Organizations {
                operation: "ListTagsForResource",
                hint: "injected fault".into(),
                source: cause(f),
            });
        }
        let out = self.inner.tags(ids, deadline).await;
        self.ctl.after("organizations.tags", false).await;
        out
    }
}

impl PartnerCentralSource for Faulty<'_, FakePartnerCentral> {
    async fn links(&self) -> Result<PartnerCentralLinks, Error> {
        if let Some(f) = self.ctl.before("partner_central.links").await {
            return Err(Error::PartnerCentral {
                operation: "ListConnections",
                hint: "injected fault".into(),
                source: cause(f),
            });
        }
        let out = self.inner.links().await;
        self.ctl.after("partner_central.links", false).await;
        out
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
        if let Some(f) = self.ctl.before("partner_central.invite").await {
            return Err(refusal(f));
        }
        self.inner
            .links
            .lock()
            .unwrap()
            .pending
            .insert(account_id.to_string());
        if let Some(f) = self.ctl.after("partner_central.invite", true).await {
            return Err(refusal(f));
        }
        Ok(Sent {
            invitation_id: format!("inv-{account_id}"),
        })
    }

    async fn accept(&self, account_id: &str) -> Result<Accepted, Refusal> {
        if let Some(f) = self.ctl.before("partner_central.accept").await {
            return Err(refusal(f));
        }
        let found = {
            let mut links = self.inner.links.lock().unwrap();
            let found = links.pending.remove(account_id);
            if found {
                links.active.insert(account_id.to_string());
                links.canceled.remove(account_id);
            }
            found
        };
        if let Some(f) = self.ctl.after("partner_central.accept", true).await {
            return Err(refusal(f));
        }
        if !found {
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
    async fn load(&self) -> Result<StoredState, Error> {
        if let Some(f) = self.ctl.before("store.load").await {
            return Err(store_error("Query", f));
        }
        let out = self.inner.load().await;
        self.ctl.after("store.load", false).await;
        out
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

    async fn account(&self, account_id: &str) -> Result<Option<AccountRecord>, Error> {
        if let Some(f) = self.ctl.before("store.account").await {
            return Err(store_error("GetItem", f));
        }
        let out = self.inner.account(account_id).await;
        self.ctl.after("store.account", false).await;
        out
    }
}

impl PublishLease for Faulty<'_, FakeStore> {
    async fn acquire_publish_lease(&self, owner: &str, now: DateTime<Utc>) -> Result<bool, Error> {
        if let Some(f) = self.ctl.before("store.acquire_lease").await {
            return Err(store_error("PutItem", f));
        }
        let out = self.inner.acquire_publish_lease(owner, now).await;
        if let Some(f) = self.ctl.after("store.acquire_lease", true).await {
            return Err(store_error("PutItem", f));
        }
        out
    }

    async fn release_publish_lease(&self, owner: &str) -> Result<(), Error> {
        if let Some(f) = self.ctl.before("store.release_lease").await {
            return Err(store_error("DeleteItem", f));
        }
        let out = self.inner.release_publish_lease(owner).await;
        if let Some(f) = self.ctl.after("store.release_lease", true).await {
            return Err(store_error("DeleteItem", f));
        }
        out
    }
}

impl AlertOutbox for Faulty<'_, FakeStore> {
    async fn pending_alerts(&self) -> Result<Vec<PendingAlert>, Error> {
        if let Some(f) = self.ctl.before("store.pending_alerts").await {
            return Err(store_error("Query", f));
        }
        let out = self.inner.pending_alerts().await;
        self.ctl.after("store.pending_alerts", false).await;
        out
    }

    async fn ack_alerts(&self, ids: &[String]) -> Result<(), Error> {
        if let Some(f) = self.ctl.before("store.ack_alerts").await {
            return Err(store_error("BatchWriteItem", f));
        }
        self.inner.ack_alerts(ids).await?;
        {
            let mut r = self.ctl.record.lock().unwrap();
            for id in ids {
                r.unacked.remove(id);
                r.acked.insert(id.clone());
            }
        }
        if let Some(f) = self.ctl.after("store.ack_alerts", true).await {
            return Err(store_error("BatchWriteItem", f));
        }
        Ok(())
    }
}

impl SummaryOutbox for Faulty<'_, FakeStore> {
    async fn last_summary(&self, period: SummaryPeriod) -> Result<Option<SummaryMark>, Error> {
        if let Some(f) = self.ctl.before("store.last_summary").await {
            return Err(store_error("Query", f));
        }
        let out = self.inner.last_summary(period).await;
        self.ctl.after("store.last_summary", false).await;
        out
    }

    async fn queue_summaries(
        &self,
        mark: &SummaryMark,
        summaries: &[QueuedSummary],
    ) -> Result<bool, Error> {
        if let Some(f) = self.ctl.before("store.queue_summaries").await {
            return Err(store_error("TransactWriteItems", f));
        }
        let out = self.inner.queue_summaries(mark, summaries).await;
        if let Some(f) = self.ctl.after("store.queue_summaries", true).await {
            return Err(store_error("TransactWriteItems", f));
        }
        out
    }

    async fn pending_summaries(&self) -> Result<Vec<QueuedSummary>, Error> {
        if let Some(f) = self.ctl.before("store.pending_summaries").await {
            return Err(store_error("Query", f));
        }
        let out = self.inner.pending_summaries().await;
        self.ctl.after("store.pending_summaries", false).await;
        out
    }

    async fn ack_summary(&self, id: &str) -> Result<(), Error> {
        if let Some(f) = self.ctl.before("store.ack_summary").await {
            return Err(store_error("DeleteItem", f));
        }
        let out = self.inner.ack_summary(id).await;
        if let Some(f) = self.ctl.after("store.ack_summary", true).await {
            return Err(store_error("DeleteItem", f));
        }
        out
    }
}

impl RunRecords for Faulty<'_, FakeStore> {
    async fn put_ou_names(&self, names: &OuNames) -> Result<(), Error> {
        if let Some(f) = self.ctl.before("store.put_ou_names").await {
            return Err(store_error("PutItem", f));
        }
        self.inner.put_ou_names(names).await?;
        if let Some(f) = self.ctl.after("store.put_ou_names", true).await {
            return Err(store_error("PutItem", f));
        }
        Ok(())
    }

    async fn put_run(&self, summary: &RunSummary) -> Result<(), Error> {
        if let Some(f) = self.ctl.before("store.put_run").await {
            return Err(store_error("PutItem", f));
        }
        self.inner.put_run(summary).await?;
        if let Some(f) = self.ctl.after("store.put_run", true).await {
            return Err(store_error("PutItem", f));
        }
        Ok(())
    }

    async fn put_sweep(&self, sweep: &SweepState) -> Result<(), Error> {
        if let Some(f) = self.ctl.before("store.put_sweep").await {
            return Err(store_error("PutItem", f));
        }
        self.inner.put_sweep(sweep).await?;
        if let Some(f) = self.ctl.after("store.put_sweep", true).await {
            return Err(store_error("PutItem", f));
        }
        Ok(())
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
    async fn accounts(&self, link_state: Option<LinkState>) -> Result<Vec<AccountRecord>, Error> {
        if let Some(f) = self.ctl.before("store.accounts").await {
            return Err(store_error("Query", f));
        }
        let out = self.inner.accounts(link_state).await;
        self.ctl.after("store.accounts", false).await;
        out
    }

    async fn history(&self, account_id: &str) -> Result<Vec<ChangeEvent>, Error> {
        if let Some(f) = self.ctl.before("store.history").await {
            return Err(store_error("Query", f));
        }
        let out = self.inner.history(account_id).await;
        self.ctl.after("store.history", false).await;
        out
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
