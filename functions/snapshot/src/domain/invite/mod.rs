//! Invite and accept rules (pure): which accounts may be sent a Partner Central SUBSIDIARY
//! connection invitation, the idempotency tokens, the per-run cap, the 24 h back-off after a
//! refusal, the invite settings, and the records and history events an outcome writes.
//!
//! The calls themselves are in `invitations` (adapter) and the orchestration in `autolink`.
//! API shapes: CreateConnectionInvitation
//! (<https://docs.aws.amazon.com/partner-central/latest/APIReference/API_account_CreateConnectionInvitation.html>:
//! Name ≤ 80, Email ≤ 320, Message ≤ 256 characters, ClientToken 1 to 64 of `[A-Za-z0-9-_]`)
//! and AcceptConnectionInvitation
//! (<https://docs.aws.amazon.com/partner-central/latest/APIReference/API_account_AcceptConnectionInvitation.html>).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Duration, Utc};

use crate::config::{
    checked, invalid, is_account_id, is_external_id, whole_number, ConfigError, LinkRules,
    ENV_ACCEPT_EXTERNAL_ID, ENV_ACCEPT_ROLE_NAME, ENV_AUTO_INVITE, ENV_INVITE_EMAIL,
    ENV_INVITE_MAX_PER_RUN, ENV_INVITE_MESSAGE, ENV_INVITE_NAME, ENV_LINK_SOURCES,
    EXTERNAL_ID_HINT,
};
use crate::domain::model::{
    AccountChange, AccountRecord, AccountState, AlertReason, ChangeEvent, ChangeKind, LinkRefusal,
    LinkSource, LinkState, PendingAlert,
};

/// An account whose invitation (or acceptance) was refused is not tried again for this long:
/// a refusal such as `RECEIVER_PROFILE_NOT_FOUND` does not go away by itself within a run
/// interval, and every try costs one of the partner's daily invitations.
pub const BACKOFF_HOURS: i64 = 24;
pub const DEFAULT_MAX_PER_RUN: usize = 25;
const MAX_NAME: usize = 80;
const MAX_EMAIL: usize = 320;
const MAX_MESSAGE: usize = 256;

/// `APNWATCH_AUTO_INVITE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoInvite {
    #[default]
    Off,
    /// Accounts discovered by a run (not the first run's baseline).
    New,
    /// Every eligible UNLINKED account.
    Unlinked,
}

impl AutoInvite {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::New => "new",
            Self::Unlinked => "unlinked",
        }
    }
}

/// The invite and accept settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteConfig {
    pub auto: AutoInvite,
    pub max_per_run: usize,
    /// The inviter's name and email Partner Central shows the receiver; required to invite.
    pub name: Option<String>,
    pub email: Option<String>,
    /// `None`: [`message_for`] writes one naming the organization.
    pub message: Option<String>,
    /// The role assumed in member accounts to accept; `None` = accepting is off.
    pub accept_role_name: Option<String>,
    pub accept_external_id: Option<String>,
}

impl Default for InviteConfig {
    fn default() -> Self {
        Self {
            auto: AutoInvite::Off,
            max_per_run: DEFAULT_MAX_PER_RUN,
            name: None,
            email: None,
            message: None,
            accept_role_name: None,
            accept_external_id: None,
        }
    }
}

impl InviteConfig {
    /// Reads and validates the settings; `get` returns trimmed, non-empty values.
    pub fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
        rules: &LinkRules,
    ) -> Result<Self, ConfigError> {
        let auto = match get(ENV_AUTO_INVITE) {
            None => AutoInvite::Off,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "off" => AutoInvite::Off,
                "new" => AutoInvite::New,
                "unlinked" => AutoInvite::Unlinked,
                _ => return Err(invalid(ENV_AUTO_INVITE, &v, "use off, new or unlinked")),
            },
        };
        let max_per_run = whole_number(
            get,
            ENV_INVITE_MAX_PER_RUN,
            DEFAULT_MAX_PER_RUN,
            1..=1000,
            "a whole number from 1 to 1000",
        )?;
        let name = checked(
            get,
            ENV_INVITE_NAME,
            |n| n.chars().count() <= MAX_NAME,
            "Partner Central accepts at most 80 characters",
        )?;
        let email = checked(
            get,
            ENV_INVITE_EMAIL,
            |e| e.chars().count() <= MAX_EMAIL && is_email(e),
            "an email address like partner-ops@example.com, at most 320 characters",
        )?;
        let message = checked(
            get,
            ENV_INVITE_MESSAGE,
            |m| m.chars().count() <= MAX_MESSAGE,
            "Partner Central accepts at most 256 characters",
        )?;
        // IAM role names: 1-64 of [\w+=,.@-].
        let accept_role_name = checked(
            get,
            ENV_ACCEPT_ROLE_NAME,
            |r| {
                r.len() <= 64
                    && r.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
            },
            "a role name (not an ARN) of at most 64 letters, digits and _+=,.@-",
        )?;
        let accept_external_id = checked(
            get,
            ENV_ACCEPT_EXTERNAL_ID,
            is_external_id,
            EXTERNAL_ID_HINT,
        )?;
        let needs_pc = auto != AutoInvite::Off || accept_role_name.is_some();
        if needs_pc && !rules.uses(LinkSource::PartnerCentral) {
            let var = if auto != AutoInvite::Off {
                ENV_AUTO_INVITE
            } else {
                ENV_ACCEPT_ROLE_NAME
            };
            return Err(invalid(
                var,
                &get(var).unwrap_or_default(),
                &format!("inviting and accepting need partner-central among {ENV_LINK_SOURCES}, so the next run sees the invitation"),
            ));
        }
        if auto != AutoInvite::Off && (name.is_none() || email.is_none()) {
            return Err(invalid(
                ENV_AUTO_INVITE,
                auto.as_str(),
                &format!("set {ENV_INVITE_NAME} and {ENV_INVITE_EMAIL}: Partner Central requires the inviter's name and email"),
            ));
        }
        Ok(Self {
            auto,
            max_per_run,
            name,
            email,
            message,
            accept_role_name,
            accept_external_id,
        })
    }

    pub fn accepts(&self) -> bool {
        self.accept_role_name.is_some()
    }
}

/// The documented pattern, simplified: one `@`, a local part of the allowed characters and
/// a dotted domain of letters, digits and inner hyphens.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&b));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    local_ok && domain_ok
}

/// The invitation text: the configured message, or one naming the organization (`org`: a
/// noun phrase, e.g. `organization o-abc123def4`).
pub fn message_for(config: &InviteConfig, org: &str) -> String {
    config.message.clone().unwrap_or_else(|| {
        format!(
            "Please accept: this connects your account, a member of {org}, to our Partner Central as a subsidiary account (sent by APN Link Watch)."
        )
    })
}

/// `ClientToken` for inviting `account_id` on `day`: a retried call (a crashed run, a
/// repeated `apnwatch invite`) on the same day sends no second invitation, and the next day
/// a new invitation is possible once the old one lapsed.
pub fn invite_token(account_id: &str, now: DateTime<Utc>) -> String {
    format!("apnwatch-invite-{account_id}-{}", now.format("%Y%m%d"))
}

/// `ClientToken` for accepting one invitation: one invitation is accepted once.
pub fn accept_token(invitation_id: &str) -> String {
    format!("apnwatch-accept-{invitation_id}")
}

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
        .filter(|at| now - *at < Duration::hours(BACKOFF_HOURS))
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

/// What Partner Central (or STS) answered instead of doing it: data to record, never a crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The error code, e.g. `ResourceNotFoundException`, `AccessDenied`.
    pub code: String,
    /// Partner Central's `Reason`, e.g. `RECEIVER_PROFILE_NOT_FOUND`.
    pub reason: Option<String>,
    pub message: String,
}

impl Refusal {
    /// The daily quota and throttling hit every further call too: stop this run's batch.
    pub fn stops_batch(&self) -> bool {
        self.code.contains("Throttl")
            || self.reason.as_deref()
                == Some("LIMIT_EXCEEDED_NUMBER_OF_CONNECTION_INVITATION_PER_DAY")
    }

    /// `REASON (Code)` or the code alone.
    pub fn label(&self) -> String {
        match &self.reason {
            Some(r) => format!("{r} ({})", self.code),
            None => self.code.clone(),
        }
    }

    /// What a user can do about it.
    pub fn advice(&self) -> &'static str {
        match (self.reason.as_deref(), self.code.as_str()) {
            (Some("RECEIVER_PROFILE_NOT_FOUND"), _) | (Some("INCOMPATIBLE_CONNECTION_INVITATION_RECEIVER"), _) => {
                "the account cannot receive a SUBSIDIARY invitation yet: register it in Partner Central (or link it by tag), then run `apnwatch invite` again"
            }
            (Some("LIMIT_EXCEEDED_NUMBER_OF_CONNECTION_INVITATION_PER_DAY"), _) => {
                "the partner's daily invitation quota is used up: the next day's runs continue"
            }
            (Some("LIMIT_EXCEEDED_NUMBER_OF_OPEN_CONNECTION_INVITATION"), _) => {
                "too many open invitations: wait for accounts to accept, or cancel stale invitations in Partner Central"
            }
            (Some("DUPLICATE_CONNECTION_INVITATION"), _) => {
                "an invitation is already open: accept it in the member account"
            }
            (_, c) if c.contains("Throttl") => "Partner Central throttled the calls: the next run continues",
            (_, c) if c.starts_with("AccessDenied") => {
                "grant the permission named in the message, or deploy infra/member-accept-role.yaml to the account (StackSet)"
            }
            _ => "see the message; the account is tried again after 24 h",
        }
    }
}

/// A sent invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub invitation_id: String,
}

/// An accepted invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub invitation_id: String,
    pub connection_id: Option<String>,
}

/// Who writes an outcome event: the run (`run_id`) or `apnwatch invite` (its own id).
#[derive(Debug, Clone)]
pub struct Stamp {
    pub run_id: String,
    pub now: DateTime<Utc>,
}

fn event(
    stamp: &Stamp,
    record: &AccountRecord,
    kind: ChangeKind,
    after: Option<String>,
    detail: String,
) -> ChangeEvent {
    ChangeEvent {
        account_id: record.account.id.clone(),
        at: stamp.now,
        run_id: stamp.run_id.clone(),
        // An event's key is time#run#seq: the invite and the accept of one account in one
        // run share the stamp, and a run's own events count up from 0.
        seq: match kind {
            ChangeKind::Accepted | ChangeKind::AcceptFailed => 901,
            _ => 900,
        },
        kind,
        before: Some(record.link.state.to_string()),
        after,
        detail,
    }
}

/// The record after an invitation was sent: PENDING with the very decision the resolver
/// makes for a pending invitation ([`crate::domain::link::pending_invitation`]), so the next run
/// sees no change; the alert state (`last_alerted_at`) is kept so a later link resolves it.
pub fn invited(record: &AccountRecord, sent: &Sent, stamp: &Stamp) -> AccountChange {
    let mut next = record.clone();
    next.link = crate::domain::link::pending_invitation();
    next.rev = record.rev + 1;
    next.refusal = None;
    next.last_changed = stamp.now;
    next.state_since = stamp.now;
    let e = event(
        stamp,
        record,
        ChangeKind::Invited,
        Some(LinkState::Pending.to_string()),
        format!(
            "invitation {} sent on {}",
            sent.invitation_id,
            stamp.now.format("%Y-%m-%d")
        ),
    );
    AccountChange {
        expected_rev: Some(record.rev),
        record: next,
        events: vec![e],
        alert: None,
        replaces_queued: false,
    }
}

/// The record is unchanged but for the revision; the event carries the reason and advice.
fn refused(
    record: &AccountRecord,
    kind: ChangeKind,
    refusal: &Refusal,
    stamp: &Stamp,
) -> AccountChange {
    let mut next = record.clone();
    next.rev = record.rev + 1;
    next.refusal = Some(LinkRefusal {
        kind,
        at: stamp.now,
        reason: refusal.label(),
        message: refusal.message.clone(),
        what_to_do: refusal.advice().to_string(),
    });
    let e = event(
        stamp,
        record,
        kind,
        Some(record.link.state.to_string()),
        format!(
            "{}: {}; {}",
            refusal.label(),
            refusal.message,
            refusal.advice()
        ),
    );
    AccountChange {
        expected_rev: Some(record.rev),
        record: next,
        events: vec![e],
        alert: None,
        replaces_queued: false,
    }
}

pub fn invite_failed(record: &AccountRecord, refusal: &Refusal, stamp: &Stamp) -> AccountChange {
    refused(record, ChangeKind::InviteFailed, refusal, stamp)
}

pub fn accept_failed(record: &AccountRecord, refusal: &Refusal, stamp: &Stamp) -> AccountChange {
    refused(record, ChangeKind::AcceptFailed, refusal, stamp)
}

/// The link state is left to the next run, which reads the ACTIVE connection from Partner
/// Central and records LINKED (and the RESOLVED notice) the usual way.
pub fn accepted(record: &AccountRecord, accepted: &Accepted, stamp: &Stamp) -> AccountChange {
    let mut next = record.clone();
    next.rev = record.rev + 1;
    next.refusal = None;
    let detail = match &accepted.connection_id {
        Some(c) => format!(
            "invitation {} accepted: connection {c}",
            accepted.invitation_id
        ),
        None => format!("invitation {} accepted", accepted.invitation_id),
    };
    let e = event(
        stamp,
        record,
        ChangeKind::Accepted,
        Some(record.link.state.to_string()),
        detail,
    );
    AccountChange {
        expected_rev: Some(record.rev),
        record: next,
        events: vec![e],
        alert: None,
        replaces_queued: false,
    }
}

/// Who hears of an outcome beyond the account's history.
#[derive(Debug, Clone, Default)]
pub struct Notice<'a> {
    /// The alert about the account still waiting in the outbox (this run's, or one a failed
    /// run left), if any.
    pub queued: Option<&'a PendingAlert>,
    /// Queue an alert for a refusal nobody was told of: set by a run for a refusal about
    /// this account (not the daily quota or throttling, which later runs get past by
    /// themselves); never by `apnwatch invite`, whose user reads the outcome.
    pub alert_refusal: bool,
    /// The account's route (`APNWATCH_ROUTE_BY`) for such an alert.
    pub route: Option<String>,
}

/// Brings the outbox up to date with an outcome `change` computed from `prev`: a queued
/// alert about the account is rewritten from the new record (same id and reason), so the
/// message says "invitation sent on …" or shows the refusal instead of "send a connection
/// request"; otherwise a refusal gets its own `INVITE_FAILED`/`ACCEPT_FAILED` alert when
/// `notice` allows it and it differs from the refusal last recorded (the same refusal again
/// after the 24 h back-off is for reminders to repeat, not a new alert).
pub fn tell(
    mut change: AccountChange,
    prev: &AccountRecord,
    notice: Notice<'_>,
    stamp: &Stamp,
) -> AccountChange {
    if let Some(queued) = notice.queued {
        change.alert = Some(queued.updated(&change.record));
        change.replaces_queued = true;
        return change;
    }
    let Some(refusal) = &change.record.refusal else {
        return change;
    };
    let repeated = prev
        .refusal
        .as_ref()
        .is_some_and(|p| (p.kind, &p.reason) == (refusal.kind, &refusal.reason));
    if !notice.alert_refusal || repeated || !change.record.account.state.earns_credit() {
        return change;
    }
    let reason = match refusal.kind {
        ChangeKind::AcceptFailed => AlertReason::AcceptFailed,
        _ => AlertReason::InviteFailed,
    };
    change.record.last_alerted_at = Some(stamp.now);
    let mut alert = PendingAlert::about(
        &change.record,
        reason,
        &stamp.run_id,
        stamp.now,
        notice.route,
    );
    // Its own id: the run's alert about this account (`<run_id>#<account_id>`) may have
    // been published already (that is why none is queued), and a second alert under that
    // id would be dropped by a subscriber that drops repeated ids (simulator seed 163).
    alert.id = format!("{}#{}", alert.id, reason.as_str());
    change.alert = Some(alert);
    change
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{Account, LinkDecision};
    use chrono::TimeZone;
    use std::collections::HashMap;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, h, 0, 0).unwrap()
    }

    fn record(id: &str, state: LinkState) -> AccountRecord {
        AccountRecord {
            account: Account {
                id: id.into(),
                name: "n".into(),
                email: "e@example.com".into(),
                state: AccountState::Active,
                joined_method: None,
                joined_at: None,
                parent_id: "r-ab12".into(),
                ou_path: "Root".into(),
                ou_ids: vec![],
                tags: Default::default(),
                is_management: false,
            },
            link: LinkDecision {
                state,
                source: LinkSource::None,
                detail: "no source".into(),
            },
            first_seen: at(1),
            last_changed: at(1),
            removed: false,
            rev: 3,
            state_since: at(1),
            last_alerted_at: Some(at(1)),
            refusal: None,
        }
    }

    fn cfg(vars: &[(&str, &str)]) -> Result<InviteConfig, ConfigError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        let rules = LinkRules {
            sources: vec![LinkSource::PartnerCentral, LinkSource::Tag],
            ..LinkRules::default()
        };
        InviteConfig::from_lookup(&|k| map.get(k).map(|v| v.to_string()), &rules)
    }

    /// Only UNLINKED, ACTIVE members of the organization are invited; everything else is
    /// refused before any call, with the reason.
    #[test]
    fn eligibility_rules() {
        assert_eq!(
            eligible(
                "111122223333",
                Some(&record("111122223333", LinkState::Unlinked))
            ),
            Ok(())
        );
        assert_eq!(eligible("12345", None), Err(Ineligible::Malformed));
        assert_eq!(
            eligible("111122223333", None),
            Err(Ineligible::NotInOrganization)
        );
        assert_eq!(
            eligible("1", Some(&record("1", LinkState::Linked))),
            Err(Ineligible::Malformed)
        );
        let id = "111122223333";
        assert_eq!(
            eligible(id, Some(&record(id, LinkState::Linked))),
            Err(Ineligible::Linked)
        );
        assert_eq!(
            eligible(id, Some(&record(id, LinkState::Exempt))),
            Err(Ineligible::Exempt)
        );
        assert_eq!(
            eligible(id, Some(&record(id, LinkState::Pending))),
            Err(Ineligible::AlreadyPending)
        );
        let mut closed = record(id, LinkState::Unlinked);
        closed.account.state = AccountState::Closed;
        assert_eq!(
            eligible(id, Some(&closed)),
            Err(Ineligible::NotActive(AccountState::Closed))
        );
        let mut gone = record(id, LinkState::Unlinked);
        gone.removed = true;
        assert_eq!(eligible(id, Some(&gone)), Err(Ineligible::Removed));
    }

    /// The token is the same all day for one account and differs per account and day, and
    /// fits the documented 64-character `[A-Za-z0-9-_]` pattern.
    #[test]
    fn client_token_per_account_and_day() {
        let a = invite_token("111122223333", at(1));
        assert_eq!(a, invite_token("111122223333", at(23)));
        assert_ne!(a, invite_token("222233334444", at(1)));
        assert_ne!(a, invite_token("111122223333", at(1) + Duration::days(1)));
        for t in [a, accept_token("pacinv-abcdefghij123")] {
            assert!(
                t.len() <= 64
                    && t.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{t}"
            );
        }
    }

    /// The default message names the organization and fits Partner Central's 256
    /// characters; a configured one is sent as it is.
    #[test]
    fn default_message_names_the_organization_and_fits() {
        for org in [
            "organization o-abc123def4ghij56",
            "the organization of management account 111122223333",
        ] {
            let m = message_for(&InviteConfig::default(), org);
            assert!(m.contains(org) && m.chars().count() <= MAX_MESSAGE, "{m}");
        }
        let own = InviteConfig {
            message: Some("Hi".into()),
            ..InviteConfig::default()
        };
        assert_eq!(message_for(&own, "organization o-x"), "Hi");
    }

    /// A refusal less than 24 h old backs the account off; an older one does not.
    #[test]
    fn refusal_backs_off_for_24_hours() {
        let r = record("111122223333", LinkState::Unlinked);
        let refusal = Refusal {
            code: "ResourceNotFoundException".into(),
            reason: Some("RECEIVER_PROFILE_NOT_FOUND".into()),
            message: "m".into(),
        };
        let stamp = Stamp {
            run_id: "run".into(),
            now: at(2),
        };
        let history = invite_failed(&r, &refusal, &stamp).events;
        assert_eq!(
            backed_off(&history, ChangeKind::InviteFailed, at(3)),
            Some(at(2))
        );
        assert_eq!(
            backed_off(
                &history,
                ChangeKind::InviteFailed,
                at(2) + Duration::hours(24)
            ),
            None
        );
        assert_eq!(backed_off(&history, ChangeKind::AcceptFailed, at(3)), None);
        assert!(
            history[0]
                .detail
                .starts_with("RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException): m; "),
            "{}",
            history[0].detail
        );
    }

    /// `new` takes only this run's new accounts, `unlinked` every eligible one, oldest first.
    #[test]
    fn auto_candidates_by_mode() {
        let mut records = BTreeMap::new();
        for (id, state) in [
            ("111111111111", LinkState::Unlinked),
            ("222222222222", LinkState::Unlinked),
            ("333333333333", LinkState::Linked),
        ] {
            records.insert(id.to_string(), record(id, state));
        }
        records.get_mut("222222222222").unwrap().first_seen = at(0);
        let discovered: BTreeSet<String> =
            ["111111111111".to_string(), "333333333333".to_string()].into();
        let ids = |mode| {
            auto_candidates(mode, &records, &discovered)
                .iter()
                .map(|r| r.account.id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(AutoInvite::Off), Vec::<String>::new());
        assert_eq!(ids(AutoInvite::New), vec!["111111111111"]);
        assert_eq!(
            ids(AutoInvite::Unlinked),
            vec!["222222222222", "111111111111"]
        );
    }

    /// A sent invitation makes the record PENDING with the resolver's own decision, keeps
    /// the open alert, and writes one INVITED event naming the invitation.
    #[test]
    fn invited_record_is_pending() {
        let r = record("111122223333", LinkState::Unlinked);
        let c = invited(
            &r,
            &Sent {
                invitation_id: "pacinv-abc".into(),
            },
            &Stamp {
                run_id: "x".into(),
                now: at(5),
            },
        );
        assert_eq!(c.expected_rev, Some(3));
        assert_eq!(c.record.rev, 4);
        assert_eq!(c.record.link, crate::domain::link::pending_invitation());
        assert_eq!(c.record.last_alerted_at, Some(at(1)));
        assert_eq!(c.events[0].kind, ChangeKind::Invited);
        assert_eq!(
            c.events[0].detail,
            "invitation pacinv-abc sent on 2026-11-28"
        );
    }

    fn profile_refusal() -> Refusal {
        Refusal {
            code: "ResourceNotFoundException".into(),
            reason: Some("RECEIVER_PROFILE_NOT_FOUND".into()),
            message: "no profile".into(),
        }
    }

    fn stamp(h: u32) -> Stamp {
        Stamp {
            run_id: "run-9".into(),
            now: at(h),
        }
    }

    /// A queued alert about the account is rewritten from the outcome, keeping its id,
    /// reason and route: "invitation sent on" after an invite, the refusal after a refusal.
    #[test]
    fn queued_alert_is_rewritten_with_the_outcome() {
        let r = record("111122223333", LinkState::Unlinked);
        let mut queued = PendingAlert::about(&r, AlertReason::NewAccount, "run-1", at(1), None);
        queued.route = Some("payments".into());
        let notice = || Notice {
            queued: Some(&queued),
            alert_refusal: true,
            route: None,
        };
        let sent = Sent {
            invitation_id: "pacinv-abc".into(),
        };

        let c = tell(invited(&r, &sent, &stamp(5)), &r, notice(), &stamp(5));
        let a = c.alert.expect("rewritten");
        assert_eq!(
            (a.id.as_str(), a.reason, a.route.as_deref(), a.link_state),
            (
                "run-1#111122223333",
                AlertReason::NewAccount,
                Some("payments"),
                LinkState::Pending
            )
        );
        assert_eq!(a.state_since, Some(at(5)));

        let c = tell(
            invite_failed(&r, &profile_refusal(), &stamp(5)),
            &r,
            notice(),
            &stamp(5),
        );
        let a = c.alert.expect("rewritten");
        assert_eq!(
            (a.reason, a.link_state),
            (AlertReason::NewAccount, LinkState::Unlinked)
        );
        assert_eq!(
            a.refusal.map(|x| (x.kind, x.reason)),
            Some((
                ChangeKind::InviteFailed,
                "RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException)".to_string()
            ))
        );
    }

    /// With nothing queued, a run alerts a new refusal once (INVITE_FAILED), not the same
    /// refusal again, not one `apnwatch invite` saw, and never an invite that was sent.
    #[test]
    fn a_refusal_nobody_was_told_of_is_alerted_once() {
        let r = record("111122223333", LinkState::Unlinked);
        let run = |alert_refusal| Notice {
            queued: None,
            alert_refusal,
            route: Some("payments".into()),
        };
        let first = tell(
            invite_failed(&r, &profile_refusal(), &stamp(5)),
            &r,
            run(true),
            &stamp(5),
        );
        let a = first.alert.clone().expect("alerted");
        assert_eq!(
            (a.id.as_str(), a.reason, a.route.as_deref()),
            (
                "run-9#111122223333#INVITE_FAILED",
                AlertReason::InviteFailed,
                Some("payments")
            )
        );
        assert_eq!(first.record.last_alerted_at, Some(at(5)));

        let after = &first.record;
        let again = tell(
            invite_failed(after, &profile_refusal(), &stamp(6)),
            after,
            run(true),
            &stamp(6),
        );
        assert_eq!(again.alert, None, "the same refusal again");
        let by_hand = tell(
            invite_failed(&r, &profile_refusal(), &stamp(5)),
            &r,
            run(false),
            &stamp(5),
        );
        assert_eq!(by_hand.alert, None);
        assert!(
            by_hand.record.refusal.is_some(),
            "kept on the account all the same"
        );
        let sent = Sent {
            invitation_id: "pacinv-abc".into(),
        };
        let ok = tell(
            invited(after, &sent, &stamp(7)),
            after,
            run(true),
            &stamp(7),
        );
        assert_eq!((ok.alert, ok.record.refusal), (None, None));
    }

    /// Quota and throttling stop the batch; a profile refusal does not.
    #[test]
    fn quota_and_throttling_stop_the_batch() {
        let r = |code: &str, reason: Option<&str>| Refusal {
            code: code.into(),
            reason: reason.map(Into::into),
            message: String::new(),
        };
        assert!(r(
            "ServiceQuotaExceededException",
            Some("LIMIT_EXCEEDED_NUMBER_OF_CONNECTION_INVITATION_PER_DAY")
        )
        .stops_batch());
        assert!(r("ThrottlingException", None).stops_batch());
        assert!(!r(
            "ResourceNotFoundException",
            Some("RECEIVER_PROFILE_NOT_FOUND")
        )
        .stops_batch());
        assert!(r(
            "ResourceNotFoundException",
            Some("RECEIVER_PROFILE_NOT_FOUND")
        )
        .advice()
        .contains("register it in Partner Central"));
    }

    /// Settings: defaults, lengths, the email pattern, and auto-invite's requirements, each
    /// error naming its variable.
    #[test]
    fn settings_validate_and_name_the_variable() {
        let c = cfg(&[]).unwrap();
        assert_eq!(
            (c.auto, c.max_per_run, c.accepts()),
            (AutoInvite::Off, 25, false)
        );
        let ok = [
            (ENV_AUTO_INVITE, "unlinked"),
            (ENV_INVITE_NAME, "Ops"),
            (ENV_INVITE_EMAIL, "ops@example.com"),
        ];
        assert_eq!(cfg(&ok).unwrap().auto, AutoInvite::Unlinked);
        let long_name = "n".repeat(81);
        let long_msg = "m".repeat(257);
        for (vars, var) in [
            (vec![(ENV_AUTO_INVITE, "all")], ENV_AUTO_INVITE),
            (vec![(ENV_AUTO_INVITE, "new")], ENV_AUTO_INVITE),
            (vec![(ENV_INVITE_EMAIL, "ops@localhost")], ENV_INVITE_EMAIL),
            (vec![(ENV_INVITE_NAME, long_name.as_str())], ENV_INVITE_NAME),
            (
                vec![(ENV_INVITE_MESSAGE, long_msg.as_str())],
                ENV_INVITE_MESSAGE,
            ),
            (vec![(ENV_INVITE_MAX_PER_RUN, "0")], ENV_INVITE_MAX_PER_RUN),
            (
                vec![(ENV_ACCEPT_ROLE_NAME, "arn:aws:iam::1:role/x")],
                ENV_ACCEPT_ROLE_NAME,
            ),
        ] {
            let e = cfg(&vars).unwrap_err();
            assert!(e.to_string().starts_with(var), "{e}");
        }
        // Without partner-central among the sources, auto-invite is a start-up error.
        let map: HashMap<&str, &str> = ok.iter().copied().collect();
        let e = InviteConfig::from_lookup(
            &|k| map.get(k).map(|v| v.to_string()),
            &LinkRules::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("partner-central among APNWATCH_LINK_SOURCES"),
            "{e}"
        );
    }
}
