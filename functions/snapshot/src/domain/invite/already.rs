//! `apnwatch invite ID` for an account our primary account already invited: its invitation is
//! still PENDING, which is what the command asks for, so a retry reports that invitation
//! (`ALREADY_INVITED`) instead of refusing the account. PENDING comes only from the primary
//! account's own SUBSIDIARY invitations (the Partner Central source lists the sender's side),
//! so a PENDING account is one *we* invited.

use chrono::{DateTime, Utc};

use crate::domain::model::{AccountRecord, ChangeEvent, ChangeKind, LinkState};

/// The invitation an account is PENDING by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingInvitation {
    /// `None` when it was sent outside apnwatch (the console), so no `INVITED` event names it.
    pub invitation_id: Option<String>,
    /// When it was sent (the `INVITED` event), or when the account was first recorded PENDING.
    pub invited_at: DateTime<Utc>,
}

/// The detail of the `INVITED` history event; [`invitation_id`] reads it back.
pub fn invited_detail(invitation_id: &str, at: DateTime<Utc>) -> String {
    format!(
        "invitation {invitation_id} sent on {}",
        at.format("%Y-%m-%d")
    )
}

/// The invitation id an `INVITED` event's detail names.
pub fn invitation_id(detail: &str) -> Option<&str> {
    let rest = detail.strip_prefix("invitation ")?;
    let (id, _) = rest.split_once(" sent on ")?;
    (!id.is_empty()).then_some(id)
}

/// The invitation a PENDING `record` waits on, from its `history`: the latest `INVITED` event
/// no older than the PENDING state (an older one belongs to an invitation that lapsed since).
/// `None` unless the account is PENDING and in the organization.
pub fn pending_invitation(
    record: &AccountRecord,
    history: &[ChangeEvent],
) -> Option<PendingInvitation> {
    if record.removed || record.link.state != LinkState::Pending {
        return None;
    }
    let sent = history
        .iter()
        .filter(|e| e.kind == ChangeKind::Invited && e.at >= record.state_since)
        .max_by_key(|e| (e.at, e.seq));
    Some(match sent {
        Some(e) => PendingInvitation {
            invitation_id: invitation_id(&e.detail).map(str::to_string),
            invited_at: e.at,
        },
        None => PendingInvitation {
            invitation_id: None,
            invited_at: record.state_since,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::link::pending_invitation as pending_decision;
    use crate::domain::model::Account;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn record(state: LinkState, since: &str) -> AccountRecord {
        let mut link = pending_decision();
        link.state = state;
        AccountRecord {
            account: Account::sample("210987654321"),
            link,
            first_seen: at("2026-11-01T00:00:00Z"),
            last_changed: at(since),
            removed: false,
            rev: 3,
            state_since: at(since),
            last_alerted_at: None,
            refusal: None,
        }
    }

    fn pending(since: &str) -> AccountRecord {
        record(LinkState::Pending, since)
    }

    fn invited(when: &str, id: &str) -> ChangeEvent {
        ChangeEvent {
            account_id: "210987654321".into(),
            at: at(when),
            run_id: "invite-1".into(),
            seq: 0,
            kind: ChangeKind::Invited,
            before: Some("UNLINKED".into()),
            after: Some("PENDING".into()),
            detail: invited_detail(id, at(when)),
        }
    }

    /// The detail `invite` writes names the invitation, and reads back.
    #[test]
    fn invited_detail_round_trips() {
        let d = invited_detail("pacinv-0123456789abc", at("2026-11-27T12:00:00Z"));
        assert_eq!(d, "invitation pacinv-0123456789abc sent on 2026-11-27");
        assert_eq!(invitation_id(&d), Some("pacinv-0123456789abc"));
        assert_eq!(invitation_id("no link evidence"), None);
    }

    /// A PENDING account invited by apnwatch: the latest invitation since it became PENDING,
    /// not one that lapsed before.
    #[test]
    fn pending_account_names_its_current_invitation() {
        let record = pending("2026-11-27T12:00:00Z");
        let history = [
            invited("2026-11-01T09:00:00Z", "pacinv-old0000000000"),
            invited("2026-11-27T12:00:00Z", "pacinv-0123456789abc"),
        ];
        assert_eq!(
            pending_invitation(&record, &history),
            Some(PendingInvitation {
                invitation_id: Some("pacinv-0123456789abc".into()),
                invited_at: at("2026-11-27T12:00:00Z"),
            })
        );
    }

    /// Invited from the console: no id on record, the date is when it was seen PENDING.
    #[test]
    fn invitation_sent_elsewhere_has_no_id() {
        let record = pending("2026-11-27T12:00:00Z");
        let lapsed = [invited("2026-11-01T09:00:00Z", "pacinv-old0000000000")];
        assert_eq!(
            pending_invitation(&record, &lapsed),
            Some(PendingInvitation {
                invitation_id: None,
                invited_at: at("2026-11-27T12:00:00Z"),
            })
        );
    }

    /// Only PENDING members: an UNLINKED or removed account has no invitation to report.
    #[test]
    fn only_pending_members_have_one() {
        let unlinked = record(LinkState::Unlinked, "2026-11-27T12:00:00Z");
        assert_eq!(pending_invitation(&unlinked, &[]), None);
        let mut removed = pending("2026-11-27T12:00:00Z");
        removed.removed = true;
        assert_eq!(pending_invitation(&removed, &[]), None);
    }
}
