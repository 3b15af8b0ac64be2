//! Who may be invited or accepted, and who waits: eligibility, the auto-invite candidates,
//! the 24 h back-off after a refusal.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Duration, Utc};

use super::{AutoInvite, BACKOFF_HOURS};
use crate::domain::ids::is_account_id;
use crate::domain::model::{AccountRecord, AccountState, ChangeEvent, ChangeKind, LinkState};

/// Why an account is not invited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ineligible {
    Malformed,
    NotInOrganization,
    Removed,
    Linked,
    Exempt,
    AlreadyPending,
    NotActive(AccountState),
    /// Refused at this time, less than 24 h ago.
    BackedOff(DateTime<Utc>),
}

impl fmt::Display for Ineligible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed => f.write_str("not an account id (12 digits)"),
            Self::NotInOrganization => f.write_str(
                "not a member of the organization as last recorded: run `apnwatch snapshot` first if it just joined",
            ),
            Self::Removed => f.write_str("left the organization"),
            Self::Linked => f.write_str("already LINKED"),
            Self::Exempt => f.write_str("EXEMPT"),
            Self::AlreadyPending => f.write_str("an invitation is already PENDING"),
            Self::NotActive(s) => write!(f, "the account is {s}, not ACTIVE"),
            Self::BackedOff(at) => write!(
                f,
                "Partner Central refused it at {}: not retried within {BACKOFF_HOURS} h",
                at.format("%Y-%m-%d %H:%M UTC")
            ),
        }
    }
}

/// Whether `record` (the table's view of `account_id`) may be invited, before any call.
pub fn eligible(account_id: &str, record: Option<&AccountRecord>) -> Result<(), Ineligible> {
    if !is_account_id(account_id) {
        return Err(Ineligible::Malformed);
    }
    let r = record.ok_or(Ineligible::NotInOrganization)?;
    if r.removed {
        return Err(Ineligible::Removed);
    }
    match r.link.state {
        LinkState::Linked => return Err(Ineligible::Linked),
        LinkState::Exempt => return Err(Ineligible::Exempt),
        LinkState::Pending => return Err(Ineligible::AlreadyPending),
        LinkState::Unlinked => {}
    }
    if r.account.state != AccountState::Active {
        return Err(Ineligible::NotActive(r.account.state.clone()));
    }
    Ok(())
}

/// The last refusal of `kind` (`INVITE_FAILED` or `ACCEPT_FAILED`) in `history` if it is
/// less than [`BACKOFF_HOURS`] old.
pub fn backed_off(
    history: &[ChangeEvent],
    kind: ChangeKind,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    history
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.at)
        .max()
        .filter(|at| within_backoff(*at, now))
}

/// The record's last refusal of `kind` if it is less than [`BACKOFF_HOURS`] old. The record
/// keeps its refusal with the same time as the history event written in the same
/// transaction, so when this is `Some`, [`backed_off`] over the history is too: a run skips
/// such an account without reading its history. `None` says nothing: an older refusal of
/// `kind` may be hidden behind a newer one of the other kind.
pub fn recent_refusal(
    record: &AccountRecord,
    kind: ChangeKind,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let refusal = record.refusal.as_ref().filter(|r| r.kind == kind)?;
    Some(refusal.at).filter(|at| within_backoff(*at, now))
}

fn within_backoff(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - at < Duration::hours(BACKOFF_HOURS)
}

/// The accounts auto-invite considers, oldest first seen first, before the back-off check
/// (which needs each one's history): `new` takes only `discovered` (this run's new
/// accounts), `unlinked` every UNLINKED one.
pub fn auto_candidates<'a>(
    mode: AutoInvite,
    records: &'a BTreeMap<String, AccountRecord>,
    discovered: &BTreeSet<String>,
) -> Vec<&'a AccountRecord> {
    let mut out: Vec<&AccountRecord> = records
        .values()
        .filter(|r| match mode {
            AutoInvite::Off => false,
            AutoInvite::New => discovered.contains(&r.account.id),
            AutoInvite::Unlinked => true,
        })
        .filter(|r| eligible(&r.account.id, Some(r)).is_ok())
        .collect();
    out.sort_by(|a, b| (a.first_seen, &a.account.id).cmp(&(b.first_seen, &b.account.id)));
    out
}

/// The accounts whose invitation auto-accept tries: PENDING (an invitation from our primary
/// account waits, as Partner Central said in the last run or as we recorded), ACTIVE.
pub fn accept_candidates(records: &BTreeMap<String, AccountRecord>) -> Vec<&AccountRecord> {
    records.values().filter(|r| may_accept(r)).collect()
}

/// Whether auto-accept may try `record`'s invitation: a PENDING, ACTIVE member account.
pub fn may_accept(record: &AccountRecord) -> bool {
    !record.removed
        && record.link.state == LinkState::Pending
        && record.account.state == AccountState::Active
        && !record.account.is_management
}
