//! The outside systems one run needs, as small traits: the organization to read, Partner
//! Central, the table and the topic. The AWS adapters implement them; unit tests use the
//! in-memory fakes in `fakes` (built for tests and with the `test-util` feature only).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use chrono::{DateTime, Utc};

use crate::alert::AlertMessage;
use crate::domain::deadline::Deadline;
use crate::domain::invite::{Accepted, Refusal, Sent};
use crate::domain::link::PartnerCentralLinks;
use crate::domain::model::{
    AccountChange, AccountRecord, ChangeEvent, LinkState, OrgTree, PendingAlert, RunSummary,
};
use crate::domain::ou_names::OuNames;
use crate::domain::summary::{QueuedSummary, SummaryMark, SummaryPeriod};
use crate::domain::sweep::SweepState;
use crate::error::Error;

/// Reads the whole organization. Fails rather than return a partial tree, and with
/// [`Error::Deadline`] once `deadline` leaves less than its margin.
pub trait OrgSource {
    /// The tree; every account's tags too when `with_tags`.
    fn walk(
        &self,
        with_tags: bool,
        deadline: Option<&Deadline>,
    ) -> impl Future<Output = Result<OrgSnapshot, Error>> + Send;

    /// The tags of the accounts `ids` (one `ListTagsForResource` each), by account id.
    fn tags(
        &self,
        ids: &[String],
        deadline: Option<&Deadline>,
    ) -> impl Future<Output = Result<TagReads, Error>> + Send;

    /// The tree without tags, reusing stored OU names where `names` allows
    /// (`domain::ou_names`); the snapshot then carries the names to store. A source that
    /// cannot reuse them walks as [`OrgSource::walk`] and carries none.
    fn walk_reusing_names(
        &self,
        names: OuNameInputs<'_>,
        deadline: Option<&Deadline>,
    ) -> impl Future<Output = Result<OrgSnapshot, Error>> + Send {
        let _ = names;
        self.walk(false, deadline)
    }

    /// [`OrgSource::walk`] without a deadline.
    fn snapshot(&self, with_tags: bool) -> impl Future<Output = Result<OrgSnapshot, Error>> + Send {
        self.walk(with_tags, None)
    }
}

/// What a walk needs to reuse stored OU names.
#[derive(Debug, Clone, Copy)]
pub struct OuNameInputs<'a> {
    pub previous: &'a OuNames,
    /// OU ids named in the events that triggered the run: their names are read.
    pub named: &'a BTreeSet<String>,
    /// The run's start.
    pub now: DateTime<Utc>,
    /// `APNWATCH_OU_MAX_AGE`.
    pub max_age: chrono::Duration,
}

/// Tags read for some accounts, and what it cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagReads {
    pub tags: BTreeMap<String, BTreeMap<String, String>>,
    pub calls: u64,
}

/// One walk of the organization: the tree, and what it cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgSnapshot {
    pub tree: OrgTree,
    /// Organizations requests this walk made, each page counted (SDK retries are not).
    pub calls: u64,
    /// The OU names to store, when the walk had the accounts' paths
    /// ([`OrgSource::walk_reusing_names`] only).
    pub ou_names: Option<OuNames>,
}

/// Reads the partner's SUBSIDIARY connections and invitations.
pub trait PartnerCentralSource {
    fn links(&self) -> impl Future<Output = Result<PartnerCentralLinks, Error>> + Send;
}

/// Partner Central's invitation calls. Every failure is a [`Refusal`]: recorded as data,
/// never a failed run.
pub trait Invitations {
    /// Sends a SUBSIDIARY invitation from the primary account to `account_id`.
    fn invite(
        &self,
        account_id: &str,
        token: &str,
        message: &str,
    ) -> impl Future<Output = Result<Sent, Refusal>> + Send;
    /// In `account_id` (through the accept role), accepts the PENDING invitation from the
    /// primary account.
    fn accept(&self, account_id: &str) -> impl Future<Output = Result<Accepted, Refusal>> + Send;
}

/// What the table held before this run.
#[derive(Debug, Clone, Default)]
pub struct StoredState {
    pub records: BTreeMap<String, AccountRecord>,
    /// No account and no run was ever stored: the run reports a baseline.
    pub first_run: bool,
    /// The tag sweep's position and history (default when none was stored).
    pub sweep: SweepState,
    /// The stored OU names (default when none were stored).
    pub ou_names: OuNames,
}

/// Result of writing a run's changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitOutcome {
    /// Accounts whose change was written.
    pub written: usize,
    /// Accounts another run changed since we read them; nothing of theirs was written.
    pub conflicts: Vec<String>,
}

/// The account items: the state a run diffs against and writes back, one account at a time
/// and conditional on the revision it read.
pub trait AccountTable {
    fn load(&self) -> impl Future<Output = Result<StoredState, Error>> + Send;
    /// Writes each account's record, its events and its alert atomically, conditional on
    /// the revision the change was computed from.
    fn commit(
        &self,
        changes: &[AccountChange],
    ) -> impl Future<Output = Result<CommitOutcome, Error>> + Send;
    /// The stored record of one account, read consistently.
    fn account(
        &self,
        account_id: &str,
    ) -> impl Future<Output = Result<Option<AccountRecord>, Error>> + Send;
}

/// The alerts waiting to go out: queued by [`AccountTable::commit`] in the same transaction
/// as their change, deleted once SNS accepted them.
pub trait AlertOutbox {
    /// Every queued alert, read consistently.
    fn pending_alerts(&self) -> impl Future<Output = Result<Vec<PendingAlert>, Error>> + Send;
    /// Whether anything waits in the outbox, alerts or the summaries queued beside them
    /// ([`SummaryOutbox`]): one consistent read of at most one item, so that a run with
    /// nothing to publish (the usual unchanged run) neither reads the outbox twice nor takes
    /// the lease.
    fn has_queued(&self) -> impl Future<Output = Result<bool, Error>> + Send;
    /// Drops alerts SNS accepted.
    fn ack_alerts(&self, ids: &[String]) -> impl Future<Output = Result<(), Error>> + Send;
}

/// The periodic summaries (`APNWATCH_SUMMARY`) in the same outbox as the alerts: queued at
/// most once per period by a conditional write on the period's marker, published under the
/// publish lease, deleted once SNS accepted them.
pub trait SummaryOutbox {
    /// The newest marker of `period`'s kind (daily or weekly), read consistently.
    fn last_summary(
        &self,
        period: SummaryPeriod,
    ) -> impl Future<Output = Result<Option<SummaryMark>, Error>> + Send;
    /// Writes `mark` and queues `summaries` in one transaction, unless the period already has
    /// a marker: then nothing is written and the result is `false`.
    fn queue_summaries(
        &self,
        mark: &SummaryMark,
        summaries: &[QueuedSummary],
    ) -> impl Future<Output = Result<bool, Error>> + Send;
    /// Every queued summary, read consistently.
    fn pending_summaries(&self) -> impl Future<Output = Result<Vec<QueuedSummary>, Error>> + Send;
    /// Drops a summary SNS accepted.
    fn ack_summary(&self, id: &str) -> impl Future<Output = Result<(), Error>> + Send;
}

/// One publisher at a time: whoever holds the lease sends the outbox.
pub trait PublishLease {
    /// Takes the publish lease unless another run holds a live one; the caller's own live
    /// lease counts as free, so a retried request does not lock it out.
    fn acquire_publish_lease(
        &self,
        owner: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, Error>> + Send;
    fn release_publish_lease(&self, owner: &str) -> impl Future<Output = Result<(), Error>> + Send;
}

/// What a run leaves for the next one and for people: its record, and the tag sweep.
pub trait RunRecords {
    fn put_run(&self, summary: &RunSummary) -> impl Future<Output = Result<(), Error>> + Send;
    /// Stores the tag sweep (one item, overwritten each run that spreads its tag reads).
    fn put_sweep(&self, sweep: &SweepState) -> impl Future<Output = Result<(), Error>> + Send;
    /// Stores the OU names (one item, overwritten each run that walked with paths).
    fn put_ou_names(&self, names: &OuNames) -> impl Future<Output = Result<(), Error>> + Send;
}

/// The table as one run uses it: every concern above. The CLI's read-only queries are
/// [`Queries`]. Implemented for whatever implements the five.
pub trait Store: AccountTable + AlertOutbox + SummaryOutbox + PublishLease + RunRecords {}

impl<T: AccountTable + AlertOutbox + SummaryOutbox + PublishLease + RunRecords> Store for T {}

/// What the CLI's query commands read from the table (never written by them).
pub trait Queries {
    /// Current records; with a state, only those (from the index, no Scan).
    fn accounts(
        &self,
        link_state: Option<LinkState>,
    ) -> impl Future<Output = Result<Vec<AccountRecord>, Error>> + Send;
    /// One account's history, oldest first.
    fn history(
        &self,
        account_id: &str,
    ) -> impl Future<Output = Result<Vec<ChangeEvent>, Error>> + Send;
    /// Most recent first.
    fn runs(&self, limit: usize) -> impl Future<Output = Result<Vec<RunSummary>, Error>> + Send;
    /// Every run that started at or after `since`, oldest first (`apnwatch report`). The
    /// default reads them all; the table adapter asks for the range only.
    fn runs_since(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<RunSummary>, Error>> + Send
    where
        Self: Sync,
    {
        async move {
            let mut runs = self.runs(usize::MAX).await?;
            runs.retain(|r| r.started_at >= since);
            runs.reverse();
            Ok(runs)
        }
    }
}

/// How long a publish lease lasts: long enough for one run to publish its alerts; a crashed
/// run blocks others this long. Shared by the DynamoDB adapter and the fake.
pub const LEASE_SECONDS: i64 = 300;

pub trait Notifier {
    /// Publishes one message; returns the SNS message id.
    fn publish(&self, message: &AlertMessage)
        -> impl Future<Output = Result<String, Error>> + Send;
}
