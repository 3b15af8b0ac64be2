//! Invite and accept rules, one scenario each.

use super::*;
use crate::domain::model::{
    AccountRecord, AccountState, AlertReason, ChangeKind, LinkDecision, LinkSource, LinkState,
    PendingAlert,
};
use chrono::{Duration, TimeZone};
use std::collections::{BTreeMap, BTreeSet};

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, h, 0, 0).unwrap()
}

fn record(id: &str, state: LinkState) -> AccountRecord {
    AccountRecord {
        link: LinkDecision {
            state,
            source: LinkSource::None,
            detail: "no source".into(),
        },
        first_seen: at(1),
        last_changed: at(1),
        rev: 3,
        state_since: at(1),
        last_alerted_at: Some(at(1)),
        ..AccountRecord::sample(id)
    }
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

/// The record written with a refusal backs the account off exactly as its history does, so
/// a run can skip a backed-off account without reading the history.
#[test]
fn the_recorded_refusal_backs_off_as_the_history_does() {
    let r = record("111122223333", LinkState::Unlinked);
    let refusal = Refusal {
        code: "AccessDeniedException".into(),
        reason: None,
        message: "m".into(),
    };
    let stamp = Stamp {
        run_id: "run".into(),
        now: at(2),
    };
    for refused in [
        invite_failed(&r, &refusal, &stamp),
        accept_failed(&r, &refusal, &stamp),
    ] {
        for kind in [ChangeKind::InviteFailed, ChangeKind::AcceptFailed] {
            for now in [at(3), at(2) + Duration::hours(24)] {
                assert_eq!(
                    recent_refusal(&refused.record, kind, now),
                    backed_off(&refused.events, kind, now),
                    "{kind} at {now}"
                );
            }
        }
    }
    assert_eq!(
        recent_refusal(&r, ChangeKind::InviteFailed, at(3)),
        None,
        "no refusal on record"
    );
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
        (
            a.id.as_str(),
            a.reason,
            a.route.as_deref(),
            a.subject.link_state
        ),
        (
            "run-1#111122223333",
            AlertReason::NewAccount,
            Some("payments"),
            LinkState::Pending
        )
    );
    assert_eq!(a.subject.state_since, Some(at(5)));

    let c = tell(
        invite_failed(&r, &profile_refusal(), &stamp(5)),
        &r,
        notice(),
        &stamp(5),
    );
    let a = c.alert.expect("rewritten");
    assert_eq!(
        (a.reason, a.subject.link_state),
        (AlertReason::NewAccount, LinkState::Unlinked)
    );
    assert_eq!(
        a.subject.refusal.map(|x| (x.kind, x.reason)),
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
