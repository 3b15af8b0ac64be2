//! Plain data of one snapshot: the organization tree, the accounts in it, their link state
//! and the change events between two snapshots. Nothing here knows about AWS SDK types; the
//! adapters translate to and from these.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::timestamp;

/// `Display` is the value's `as_str()`: the name the table, the alerts and the CLI use.
macro_rules! display_as_str {
    ($($t:ty),+) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )+};
}

display_as_str!(AccountState, LinkState, LinkSource, ChangeKind);

/// The lifecycle state Organizations reports in `Account.State`.
///
/// `Account.Status` was retired on 2026-09-09; we never read it. Values AWS adds later are
/// kept verbatim instead of failing the run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum AccountState {
    PendingActivation,
    Active,
    Suspended,
    PendingClosure,
    Closed,
    Other(String),
}

impl AccountState {
    pub fn as_str(&self) -> &str {
        match self {
            Self::PendingActivation => "PENDING_ACTIVATION",
            Self::Active => "ACTIVE",
            Self::Suspended => "SUSPENDED",
            Self::PendingClosure => "PENDING_CLOSURE",
            Self::Closed => "CLOSED",
            Self::Other(s) => s,
        }
    }
}

impl From<String> for AccountState {
    fn from(s: String) -> Self {
        match s.as_str() {
            "PENDING_ACTIVATION" => Self::PendingActivation,
            "ACTIVE" => Self::Active,
            "SUSPENDED" => Self::Suspended,
            "PENDING_CLOSURE" => Self::PendingClosure,
            "CLOSED" => Self::Closed,
            _ => Self::Other(s),
        }
    }
}

impl From<AccountState> for String {
    fn from(s: AccountState) -> Self {
        s.as_str().to_string()
    }
}

/// One organizational unit (or the root) as seen in the walk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgUnit {
    pub id: String,
    pub name: String,
    /// `None` for the root.
    pub parent_id: Option<String>,
    /// 0 for the root, 1 for its direct OUs, up to 5.
    pub depth: usize,
    /// Names from the root down to this unit, joined with `/`, e.g. `Root/Workloads/Prod`.
    pub path: String,
}

/// One account as the walk saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub email: String,
    pub state: AccountState,
    /// `INVITED` or `CREATED`.
    pub joined_method: Option<String>,
    pub joined_at: Option<DateTime<Utc>>,
    pub parent_id: String,
    /// Names from the root to the parent, e.g. `Root/Workloads/Prod`.
    pub ou_path: String,
    /// Ids from the root to the parent; an exempt OU covers every account below it.
    pub ou_ids: Vec<String>,
    /// Only filled when a tag rule needs them (one extra call per account).
    pub tags: BTreeMap<String, String>,
    pub is_management: bool,
}

/// A complete walk of the organization. A partial walk is never built: the adapter fails
/// instead, so a missing account here really is gone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrgTree {
    pub organization_id: String,
    pub management_account_id: String,
    pub root_id: String,
    pub units: Vec<OrgUnit>,
    pub accounts: Vec<Account>,
}

/// Whether an account earns the partner credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LinkState {
    Linked,
    /// A Partner Central connection invitation waits for the account to accept it.
    Pending,
    Unlinked,
    Exempt,
}

impl LinkState {
    pub const ALL: [LinkState; 4] = [Self::Linked, Self::Pending, Self::Unlinked, Self::Exempt];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Linked => "LINKED",
            Self::Pending => "PENDING",
            Self::Unlinked => "UNLINKED",
            Self::Exempt => "EXEMPT",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// The source that decided an account's link state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkSource {
    /// Partner Central's Account API (SUBSIDIARY connections of the primary account).
    PartnerCentral,
    /// The link tag on the account.
    Tag,
    /// `APNWATCH_LINKED_ACCOUNTS` / `APNWATCH_EXEMPT_ACCOUNTS`.
    List,
    /// `APNWATCH_EXEMPT_OUS`.
    ExemptOu,
    /// No source had evidence of a link.
    None,
}

impl LinkSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PartnerCentral => "partner-central",
            Self::Tag => "tag",
            Self::List => "list",
            Self::ExemptOu => "exempt-ou",
            Self::None => "none",
        }
    }
}

/// The resolver's verdict for one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkDecision {
    pub state: LinkState,
    pub source: LinkSource,
    /// Human words on why, e.g. `tag apn-link=linked` or `link canceled in Partner Central`.
    pub detail: String,
}

/// What the table holds about one account: the last observed account plus its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub account: Account,
    pub link: LinkDecision,
    pub first_seen: DateTime<Utc>,
    pub last_changed: DateTime<Utc>,
    /// Set when a complete snapshot no longer contains the account. Items are never deleted.
    pub removed: bool,
    /// Optimistic-concurrency revision: every write checks the revision it read.
    pub rev: u64,
    /// Since when the account has had its current link state (drives "unlinked for 9 days").
    pub state_since: DateTime<Utc>,
    /// When the last alert or reminder about this account being UNLINKED or PENDING was
    /// queued; `None` when no such alert is open (never alerted, or resolved since).
    pub last_alerted_at: Option<DateTime<Utc>>,
    /// The last refusal to invite or accept for this account while it keeps the link state
    /// it had then: a run that sees the link state change clears it, and so does a sent
    /// invitation or an acceptance. Alerts and reminders show it with what to do.
    pub refusal: Option<LinkRefusal>,
}

/// What Partner Central (or STS, for the accept role) answered instead of inviting or
/// accepting, as the account item and its alerts keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRefusal {
    /// `INVITE_FAILED` or `ACCEPT_FAILED`, as in the history.
    pub kind: ChangeKind,
    #[serde(with = "timestamp")]
    pub at: DateTime<Utc>,
    /// Partner Central's reason and the error code, e.g.
    /// `RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException)`, or the code alone.
    pub reason: String,
    /// The service's message, verbatim.
    pub message: String,
    pub what_to_do: String,
}

/// A refusal as reports, summaries and chat name it: `KIND: reason`, e.g.
/// `INVITE_FAILED: RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException)`. The run's
/// refusal counts are keyed by it, so every place must build it the same way.
pub fn refusal_label(kind: ChangeKind, reason: &str) -> String {
    format!("{kind}: {reason}")
}

impl LinkRefusal {
    /// [`refusal_label`] of this refusal.
    pub fn label(&self) -> String {
        refusal_label(self.kind, &self.reason)
    }
}

impl AccountState {
    /// Suspended, closing and closed accounts earn no partner credit: they never alert nor
    /// get reminders, and an open alert about one is resolved.
    pub fn earns_credit(&self) -> bool {
        !matches!(self, Self::Suspended | Self::PendingClosure | Self::Closed)
    }
}

/// The kinds of change recorded in an account's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeKind {
    Discovered,
    Linked,
    Pending,
    Unlinked,
    Exempted,
    Moved,
    Renamed,
    StateChanged,
    Removed,
    /// A SUBSIDIARY connection invitation was sent (`invite`); detail names the invitation.
    Invited,
    /// Partner Central refused the invitation; detail has its reason and what to do.
    InviteFailed,
    /// The invitation was accepted in the member account (auto-accept).
    Accepted,
    /// Accepting failed (no role, no invitation, refused); detail has the reason.
    AcceptFailed,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Discovered => "DISCOVERED",
            Self::Linked => "LINKED",
            Self::Pending => "PENDING",
            Self::Unlinked => "UNLINKED",
            Self::Exempted => "EXEMPTED",
            Self::Moved => "MOVED",
            Self::Renamed => "RENAMED",
            Self::StateChanged => "STATE_CHANGED",
            Self::Removed => "REMOVED",
            Self::Invited => "INVITED",
            Self::InviteFailed => "INVITE_FAILED",
            Self::Accepted => "ACCEPTED",
            Self::AcceptFailed => "ACCEPT_FAILED",
        }
    }

    pub fn for_link_state(state: LinkState) -> Self {
        match state {
            LinkState::Linked => Self::Linked,
            LinkState::Pending => Self::Pending,
            LinkState::Unlinked => Self::Unlinked,
            LinkState::Exempt => Self::Exempted,
        }
    }
}

/// One entry of an account's append-only history. Stored as it serializes (the history item
/// flattens it), so the serde attributes are the item's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEvent {
    pub account_id: String,
    #[serde(with = "timestamp")]
    pub at: DateTime<Utc>,
    pub run_id: String,
    /// Orders events of one run for one account.
    pub seq: u32,
    pub kind: ChangeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Why, in words: the deciding source, or e.g. `link canceled in Partner Central`.
    pub detail: String,
}

/// Why an account is in an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertReason {
    /// First run: the account is not linked.
    Baseline,
    /// The account appeared since the last run.
    NewAccount,
    /// The account was linked (or exempt) and no longer is.
    LinkLost,
    /// A Partner Central invitation waits for the account to accept it.
    LinkPending,
    /// The account was PENDING and is UNLINKED again: its invitation expired, was rejected
    /// or withdrawn. It was never linked, so this is not `LINK_LOST`.
    InvitationLapsed,
    /// Still UNLINKED or PENDING, `APNWATCH_REMIND_AFTER` after the last alert about it.
    Reminder,
    /// An account alerted as UNLINKED or PENDING is now linked, exempt, closed or gone.
    Resolved,
    /// Auto-invite sent no invitation: Partner Central refused it (the alert has the reason
    /// and what to do). Queued once per distinct refusal, not for the daily quota or
    /// throttling, which the next runs get past by themselves.
    InviteFailed,
    /// Auto-accept could not accept the account's invitation (no accept role, refused).
    AcceptFailed,
}

impl AlertReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Baseline => "BASELINE",
            Self::NewAccount => "NEW_ACCOUNT",
            Self::LinkLost => "LINK_LOST",
            Self::LinkPending => "LINK_PENDING",
            Self::InvitationLapsed => "INVITATION_LAPSED",
            Self::Reminder => "REMINDER",
            Self::Resolved => "RESOLVED",
            Self::InviteFailed => "INVITE_FAILED",
            Self::AcceptFailed => "ACCEPT_FAILED",
        }
    }
}

/// One account's entry in an alert, stored in the outbox in the same transaction as the
/// account change that caused it, so that a crash can neither lose it nor send it twice.
/// Stored as it serializes (the outbox item flattens it), so the serde attributes are the
/// item's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAlert {
    /// `<run_id>#<account_id>`: unique per run and account.
    pub id: String,
    pub run_id: String,
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    pub reason: AlertReason,
    /// The route (`APNWATCH_ROUTE_BY`) the account belonged to when the alert was queued;
    /// `None` without routing or when the account lacks the OU level or tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// The account as the alert tells of it.
    #[serde(flatten)]
    pub subject: AlertSubject,
}

/// What an alert shows of its account, taken from the account's record when the alert is
/// queued or rewritten ([`AlertSubject::of`]). A field added here reaches the outbox item by
/// itself (the item flattens this struct, so the serde shape below is the stored one) and
/// then only needs its line in the message that shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSubject {
    pub account_id: String,
    pub name: String,
    pub email: String,
    pub ou_path: String,
    pub state: AccountState,
    pub link_state: LinkState,
    pub link_source: LinkSource,
    pub link_detail: String,
    /// Since when the account has had `link_state` (reminders say how long).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "timestamp::option"
    )]
    pub state_since: Option<DateTime<Utc>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "timestamp::option"
    )]
    pub first_seen: Option<DateTime<Utc>>,
    /// The account left the organization (a `RESOLVED` notice says so).
    #[serde(default)]
    pub removed: bool,
    /// The account's last invite or accept refusal (see [`AccountRecord::refusal`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<LinkRefusal>,
}

impl AlertSubject {
    pub fn of(record: &AccountRecord) -> Self {
        let a = &record.account;
        Self {
            account_id: a.id.clone(),
            name: a.name.clone(),
            email: a.email.clone(),
            ou_path: a.ou_path.clone(),
            state: a.state.clone(),
            link_state: record.link.state,
            link_source: record.link.source,
            link_detail: record.link.detail.clone(),
            state_since: Some(record.state_since),
            first_seen: Some(record.first_seen),
            removed: record.removed,
            refusal: record.refusal.clone(),
        }
    }
}

impl PendingAlert {
    /// The alert about `record` for `reason`, queued by `run_id` at `now`: one per run and
    /// account, so its id is `<run_id>#<account_id>`.
    pub fn about(
        record: &AccountRecord,
        reason: AlertReason,
        run_id: &str,
        now: DateTime<Utc>,
        route: Option<String>,
    ) -> Self {
        Self {
            id: format!("{run_id}#{}", record.account.id),
            run_id: run_id.to_string(),
            created_at: now,
            reason,
            route,
            subject: AlertSubject::of(record),
        }
    }

    /// This alert, still queued, told with what `record` says now (an invitation sent, a
    /// refusal): same id, reason and route, so it replaces itself in the outbox.
    pub fn updated(&self, record: &AccountRecord) -> Self {
        Self {
            subject: AlertSubject::of(record),
            ..self.clone()
        }
    }
}

/// One account's change in a run: the record to store, the events to append and the alert
/// to queue. The record carries the revision it was diffed against for the conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountChange {
    /// Revision of the stored record this change was computed from; `None` for a new item.
    pub expected_rev: Option<u64>,
    pub record: AccountRecord,
    pub events: Vec<ChangeEvent>,
    pub alert: Option<PendingAlert>,
    /// `alert` rewrites one still queued in the outbox (auto-link telling what it did): it is
    /// written only while that one is still there, so an alert another run published
    /// meanwhile is never queued a second time (the change then conflicts).
    pub replaces_queued: bool,
}

/// Counts of one run, stored as the run record (the run item flattens it, so the serde
/// attributes are the item's shape) and printed by the CLI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    #[serde(with = "timestamp")]
    pub started_at: DateTime<Utc>,
    #[serde(with = "timestamp")]
    pub finished_at: DateTime<Utc>,
    pub accounts: usize,
    pub linked: usize,
    pub pending: usize,
    pub unlinked: usize,
    pub exempt: usize,
    /// History events written.
    pub changes: usize,
    /// Accounts in the alerts this run published (its own and any left over).
    pub alerts: usize,
    /// SNS messages published.
    pub messages: usize,
    pub dry_run: bool,
    /// The organization walked (`apnwatch report` names it without calling Organizations);
    /// empty in records written before it was kept.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub organization_id: String,
    /// Auto-link after this run: invitations sent, invitations accepted, and refusals by
    /// `INVITE_FAILED: <reason>` / `ACCEPT_FAILED: <reason>` (what `apnwatch report` sums).
    #[serde(default)]
    pub invited: usize,
    #[serde(default)]
    pub accepted: usize,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub refusals: BTreeMap<String, usize>,
}
