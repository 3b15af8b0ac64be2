//! Diff scenarios: what a run records, alerts and reminds for each kind of change.

use super::*;
use crate::domain::model::{AccountState, LinkSource};

fn ctx(first_run: bool) -> RunContext {
    RunContext {
        run_id: "run-2".into(),
        now: "2026-11-27T12:00:00Z".parse().unwrap(),
        first_run,
        ..RunContext::default()
    }
}

fn account(id: &str) -> Account {
    Account::sample(id)
}

fn link(state: LinkState) -> LinkDecision {
    let source = if state == LinkState::Unlinked {
        LinkSource::None
    } else {
        LinkSource::Tag
    };
    LinkDecision {
        state,
        source,
        detail: "test".into(),
    }
}

fn stored(account: Account, state: LinkState) -> (String, AccountRecord) {
    let at = "2026-11-26T12:00:00Z".parse().unwrap();
    let id = account.id.clone();
    let record = AccountRecord {
        account,
        link: link(state),
        first_seen: at,
        last_changed: at,
        rev: 3,
        state_since: at,
        ..AccountRecord::sample(&id)
    };
    (id, record)
}

/// A refusal stays on the account while its link state stays, and goes when it changes.
#[test]
fn refusal_lasts_as_long_as_the_link_state() {
    let (id, mut prev) = stored(account("111111111111"), LinkState::Unlinked);
    prev.refusal = Some(crate::domain::model::LinkRefusal {
        kind: ChangeKind::InviteFailed,
        at: prev.first_seen,
        reason: "RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException)".into(),
        message: String::new(),
        what_to_do: "register it".into(),
    });
    let previous = BTreeMap::from([(id.clone(), prev.clone())]);
    let renamed = Account {
        name: "renamed".into(),
        ..prev.account.clone()
    };
    let kept = diff(
        &previous,
        &[(renamed, link(LinkState::Unlinked))],
        &ctx(false),
    );
    assert_eq!(kept[0].record.refusal, prev.refusal);
    let linked = diff(
        &previous,
        &[(prev.account.clone(), link(LinkState::Linked))],
        &ctx(false),
    );
    assert_eq!(linked[0].record.refusal, None);
}

/// First run: every account is DISCOVERED; only the unlinked ones join the baseline alert.
#[test]
fn first_run_baselines_unlinked_only() {
    let current = vec![
        (account("111111111111"), link(LinkState::Linked)),
        (account("222222222222"), link(LinkState::Unlinked)),
        (account("333333333333"), link(LinkState::Exempt)),
    ];
    let changes = diff(&BTreeMap::new(), &current, &ctx(true));
    assert_eq!(changes.len(), 3);
    assert!(changes
        .iter()
        .all(|c| c.events.len() == 1 && c.events[0].kind == ChangeKind::Discovered));
    let alerted: Vec<_> = changes
        .iter()
        .filter_map(|c| c.alert.as_ref())
        .map(|a| (a.subject.account_id.as_str(), a.reason))
        .collect();
    assert_eq!(alerted, vec![("222222222222", AlertReason::Baseline)]);
    assert_eq!(changes[0].record.rev, 1);
    assert_eq!(changes[0].expected_rev, None);
}

/// Later runs alert on every new account, linked or not, but never on exempt ones.
#[test]
fn later_run_alerts_new_accounts_linked_or_not() {
    let prev: BTreeMap<_, _> = [stored(account("111111111111"), LinkState::Linked)].into();
    let current = vec![
        (account("111111111111"), link(LinkState::Linked)),
        (account("222222222222"), link(LinkState::Linked)),
        (account("333333333333"), link(LinkState::Unlinked)),
        (account("444444444444"), link(LinkState::Exempt)),
    ];
    let changes = diff(&prev, &current, &ctx(false));
    let alerted: Vec<_> = changes
        .iter()
        .filter_map(|c| c.alert.as_ref())
        .map(|a| a.subject.account_id.as_str())
        .collect();
    assert_eq!(alerted, vec!["222222222222", "333333333333"]);
    assert!(
        changes
            .iter()
            .all(|c| c.record.account.id != "111111111111"),
        "unchanged account is not rewritten"
    );
}

/// Nothing changed: no record rewrite, no event, no alert.
#[test]
fn unchanged_snapshot_yields_nothing() {
    let prev: BTreeMap<_, _> = [stored(account("111111111111"), LinkState::Unlinked)].into();
    let current = vec![(account("111111111111"), link(LinkState::Unlinked))];
    assert!(diff(&prev, &current, &ctx(false)).is_empty());
}

/// Losing a link records UNLINKED with before/after and alerts LINK_LOST.
#[test]
fn link_lost_alerts() {
    let prev: BTreeMap<_, _> = [stored(account("111111111111"), LinkState::Linked)].into();
    let current = vec![(account("111111111111"), link(LinkState::Unlinked))];
    let changes = diff(&prev, &current, &ctx(false));
    assert_eq!(changes.len(), 1);
    let e = &changes[0].events[0];
    assert_eq!(
        (e.kind, e.before.as_deref(), e.after.as_deref()),
        (ChangeKind::Unlinked, Some("LINKED"), Some("UNLINKED"))
    );
    assert_eq!(
        changes[0].alert.as_ref().unwrap().reason,
        AlertReason::LinkLost
    );
    assert_eq!(
        (changes[0].expected_rev, changes[0].record.rev),
        (Some(3), 4)
    );
}

/// Becoming linked or exempt is recorded but never alerts.
#[test]
fn gaining_a_link_does_not_alert() {
    let prev: BTreeMap<_, _> = [
        stored(account("111111111111"), LinkState::Unlinked),
        stored(account("222222222222"), LinkState::Unlinked),
    ]
    .into();
    let current = vec![
        (account("111111111111"), link(LinkState::Linked)),
        (account("222222222222"), link(LinkState::Exempt)),
    ];
    let changes = diff(&prev, &current, &ctx(false));
    let kinds: Vec<_> = changes.iter().map(|c| c.events[0].kind).collect();
    assert_eq!(kinds, vec![ChangeKind::Linked, ChangeKind::Exempted]);
    assert!(changes.iter().all(|c| c.alert.is_none()));
}

/// Rename, move and state change each get their own event, in a stable order.
#[test]
fn rename_move_and_state_change_are_separate_events() {
    let prev: BTreeMap<_, _> = [stored(account("111111111111"), LinkState::Linked)].into();
    let mut now = account("111111111111");
    now.name = "renamed".into();
    now.ou_path = "Root/Suspended".into();
    now.parent_id = "ou-ab12-susp1234".into();
    now.state = AccountState::Closed;
    let changes = diff(&prev, &[(now, link(LinkState::Linked))], &ctx(false));
    let events: Vec<_> = changes[0]
        .events
        .iter()
        .map(|e| (e.kind, e.seq, e.after.clone().unwrap()))
        .collect();
    assert_eq!(
        events,
        vec![
            (ChangeKind::Renamed, 0, "renamed".into()),
            (ChangeKind::Moved, 1, "Root/Suspended".into()),
            (ChangeKind::StateChanged, 2, "CLOSED".into())
        ]
    );
    assert!(changes[0].alert.is_none());
}

/// An account missing from a complete snapshot is marked removed, not deleted, and a
/// second run does not remove it again.
#[test]
fn missing_account_is_marked_removed_once() {
    let prev: BTreeMap<_, _> = [stored(account("111111111111"), LinkState::Linked)].into();
    let changes = diff(&prev, &[], &ctx(false));
    assert_eq!(changes.len(), 1);
    assert!(changes[0].record.removed);
    assert_eq!(changes[0].events[0].kind, ChangeKind::Removed);
    let mut after: BTreeMap<_, _> = prev.clone();
    after.insert("111111111111".into(), changes[0].record.clone());
    assert!(diff(&after, &[], &ctx(false)).is_empty());
}

/// A removed account that comes back is discovered again and alerts as new.
#[test]
fn returning_account_is_rediscovered() {
    let (id, mut rec) = stored(account("111111111111"), LinkState::Unlinked);
    rec.removed = true;
    let prev: BTreeMap<_, _> = [(id, rec)].into();
    let changes = diff(
        &prev,
        &[(account("111111111111"), link(LinkState::Unlinked))],
        &ctx(false),
    );
    assert_eq!(changes[0].events[0].before.as_deref(), Some("REMOVED"));
    assert_eq!(
        changes[0].alert.as_ref().unwrap().reason,
        AlertReason::NewAccount
    );
    assert!(!changes[0].record.removed);
}

/// A new Partner Central invitation alerts as pending.
#[test]
fn pending_invitation_alerts() {
    let prev: BTreeMap<_, _> = [stored(account("111111111111"), LinkState::Unlinked)].into();
    let changes = diff(
        &prev,
        &[(account("111111111111"), link(LinkState::Pending))],
        &ctx(false),
    );
    assert_eq!(changes[0].events[0].kind, ChangeKind::Pending);
    assert_eq!(
        changes[0].alert.as_ref().unwrap().reason,
        AlertReason::LinkPending
    );
}

fn alerted(account: Account, state: LinkState, last: &str) -> (String, AccountRecord) {
    let (id, mut rec) = stored(account, state);
    rec.last_alerted_at = Some(last.parse().unwrap());
    (id, rec)
}

/// The previous table: each account of `accounts` in its link state, alerted at `last`.
fn alerted_at(last: &str, accounts: &[(&str, LinkState)]) -> BTreeMap<String, AccountRecord> {
    accounts
        .iter()
        .map(|&(id, state)| alerted(account(id), state, last))
        .collect()
}

fn reasons(changes: &[AccountChange]) -> Vec<(&str, AlertReason)> {
    changes
        .iter()
        .filter_map(|c| c.alert.as_ref())
        .map(|a| (a.subject.account_id.as_str(), a.reason))
        .collect()
}

/// An unchanged account alerted at least `APNWATCH_REMIND_AFTER` ago is reminded about,
/// with only its record rewritten (the new `last_alerted_at`), no history event; one
/// alerted more recently is left alone with no write at all.
#[test]
fn reminder_is_due_only_after_remind_after() {
    let prev: BTreeMap<_, _> = [
        alerted(
            account("111111111111"),
            LinkState::Unlinked,
            "2026-11-20T12:00:00Z",
        ),
        alerted(
            account("222222222222"),
            LinkState::Pending,
            "2026-11-25T12:00:00Z",
        ),
    ]
    .into();
    let current = vec![
        (account("111111111111"), link(LinkState::Unlinked)),
        (account("222222222222"), link(LinkState::Pending)),
    ];
    let changes = diff(&prev, &current, &ctx(false));
    assert_eq!(
        reasons(&changes),
        vec![("111111111111", AlertReason::Reminder)]
    );
    assert_eq!(changes.len(), 1, "no write for the account not due");
    let c = &changes[0];
    assert!(c.events.is_empty());
    assert_eq!(c.record.last_alerted_at, Some(ctx(false).now));
    assert_eq!(c.expected_rev, Some(3));
    let alert = c.alert.as_ref().unwrap();
    assert_eq!(
        alert.subject.state_since,
        Some(prev["111111111111"].state_since)
    );
}

/// An alerted account linked or exempted just when its reminder fell due is resolved,
/// not reminded (simulator seed 15 found the REMINDER).
#[test]
fn a_due_reminder_gives_way_to_resolved() {
    let prev = alerted_at(
        "2020-01-01T00:00:00Z",
        &[
            ("111111111111", LinkState::Unlinked),
            ("222222222222", LinkState::Pending),
        ],
    );
    let current = vec![
        (account("111111111111"), link(LinkState::Exempt)),
        (account("222222222222"), link(LinkState::Linked)),
    ];
    assert_eq!(
        reasons(&diff(&prev, &current, &ctx(false))),
        vec![
            ("111111111111", AlertReason::Resolved),
            ("222222222222", AlertReason::Resolved)
        ]
    );
}

/// With reminders off, nothing is ever due.
#[test]
fn reminders_off_never_remind() {
    let prev = alerted_at(
        "2020-01-01T00:00:00Z",
        &[("111111111111", LinkState::Unlinked)],
    );
    let mut c = ctx(false);
    c.policy.remind_after = None;
    let current = vec![(account("111111111111"), link(LinkState::Unlinked))];
    assert!(diff(&prev, &current, &c).is_empty());
}

/// An alerted account that is now linked, exempt, closed or gone is resolved once: the
/// open alert is cleared, so the next run says nothing more.
#[test]
fn open_alerts_resolve_on_link_exempt_close_and_removal() {
    let prev = alerted_at(
        "2026-11-26T12:00:00Z",
        &[
            ("111111111111", LinkState::Unlinked),
            ("222222222222", LinkState::Pending),
            ("333333333333", LinkState::Unlinked),
            ("444444444444", LinkState::Unlinked),
        ],
    );
    let mut closed = account("333333333333");
    closed.state = AccountState::Suspended;
    let current = vec![
        (account("111111111111"), link(LinkState::Linked)),
        (account("222222222222"), link(LinkState::Exempt)),
        (closed, link(LinkState::Unlinked)),
    ];
    let changes = diff(&prev, &current, &ctx(false));
    assert_eq!(
        reasons(&changes),
        vec![
            ("111111111111", AlertReason::Resolved),
            ("222222222222", AlertReason::Resolved),
            ("333333333333", AlertReason::Resolved),
            ("444444444444", AlertReason::Resolved),
        ]
    );
    assert!(changes.iter().all(|c| c.record.last_alerted_at.is_none()));
    assert!(changes[3].alert.as_ref().unwrap().subject.removed);

    let after: BTreeMap<_, _> = changes
        .iter()
        .map(|c| (c.record.account.id.clone(), c.record.clone()))
        .collect();
    assert!(diff(&after, &current, &ctx(false)).is_empty());

    let mut quiet = ctx(false);
    quiet.policy.notify_resolved = false;
    let changes = diff(&prev, &current, &quiet);
    assert!(reasons(&changes).is_empty());
    assert!(changes.iter().all(|c| c.record.last_alerted_at.is_none()));
}

/// Suspended or closed accounts never alert, not even when new or when their link goes.
#[test]
fn closed_accounts_never_alert() {
    let mut suspended = account("111111111111");
    suspended.state = AccountState::Suspended;
    let mut closing = account("222222222222");
    closing.state = AccountState::PendingClosure;
    let first = diff(
        &BTreeMap::new(),
        &[
            (suspended.clone(), link(LinkState::Unlinked)),
            (closing.clone(), link(LinkState::Pending)),
        ],
        &ctx(true),
    );
    assert!(reasons(&first).is_empty());
    assert!(first.iter().all(|c| c.record.last_alerted_at.is_none()));
    let prev: BTreeMap<_, _> = [stored(suspended.clone(), LinkState::Linked)].into();
    let lost = diff(
        &prev,
        &[(suspended, link(LinkState::Unlinked))],
        &ctx(false),
    );
    assert!(reasons(&lost).is_empty());
}

/// A lapsed invitation (PENDING back to UNLINKED) has its own reason, not LINK_LOST.
#[test]
fn lapsed_invitation_is_not_a_lost_link() {
    let prev = alerted_at(
        "2026-11-26T12:00:00Z",
        &[("111111111111", LinkState::Pending)],
    );
    let changes = diff(
        &prev,
        &[(account("111111111111"), link(LinkState::Unlinked))],
        &ctx(false),
    );
    assert_eq!(
        reasons(&changes),
        vec![("111111111111", AlertReason::InvitationLapsed)]
    );
    assert_eq!(changes[0].record.state_since, ctx(false).now);
}
