//! What each format says, and how alerts split into messages (golden files pin the published formats).

use super::*;
use crate::domain::model::{
    AccountState, AlertSubject, ChangeKind, LinkRefusal, LinkSource, LinkState,
};

fn ctx() -> AlertContext {
    AlertContext {
        organization_id: "o-abc123def4".into(),
        run_id: "run-1".into(),
        tag_key: "apn-link".into(),
        routing: false,
    }
}

fn alert(id: &str, reason: AlertReason, link_state: LinkState) -> PendingAlert {
    PendingAlert {
        id: format!("run-1#{id}"),
        run_id: "run-1".into(),
        created_at: "2026-11-27T12:00:00Z".parse().unwrap(),
        reason,
        route: None,
        subject: AlertSubject {
            account_id: id.into(),
            name: format!("team-{id}"),
            email: format!("{id}@example.com"),
            ou_path: "Root/Workloads/Prod".into(),
            state: AccountState::Active,
            link_state,
            link_source: LinkSource::None,
            link_detail: "no link evidence from tag, list".into(),
            state_since: Some("2026-11-18T12:00:00Z".parse().unwrap()),
            first_seen: Some("2026-11-18T10:00:00Z".parse().unwrap()),
            removed: false,
            refusal: None,
        },
    }
}

fn keys(m: &AlertMessage) -> serde_json::Value {
    serde_json::from_str(&m.body).unwrap()
}

/// No alerts, no message.
#[test]
fn nothing_to_say_builds_nothing() {
    assert!(build_messages(&[], &ctx()).is_empty());
}

/// The email names each account with OU path, link state, why and what to do.
#[test]
fn email_lists_each_account_with_what_to_do() {
    let m = build_messages(
        &[alert(
            "111111111111",
            AlertReason::NewAccount,
            LinkState::Unlinked,
        )],
        &ctx(),
    );
    assert_eq!(m.len(), 1);
    let email = keys(&m[0])["email"].as_str().unwrap().to_string();
    for needle in [
        "111111111111",
        "team-111111111111",
        "Root/Workloads/Prod",
        "UNLINKED",
        "appeared",
        "link it in Partner Central",
        "apn-link=exempt",
    ] {
        assert!(email.contains(needle), "missing {needle} in {email}");
    }
    assert_eq!(
        m[0].subject,
        "APN Link Watch: 1 unlinked, 1 new account in o-abc123def4"
    );
}

/// Slack gets the Amazon Q Developer custom-notification shape.
#[test]
fn slack_format_is_a_custom_notification() {
    let m = build_messages(
        &[alert(
            "111111111111",
            AlertReason::LinkPending,
            LinkState::Pending,
        )],
        &ctx(),
    );
    let slack: serde_json::Value =
        serde_json::from_str(keys(&m[0])["https"].as_str().unwrap()).unwrap();
    assert_eq!(slack["version"], "1.0");
    assert_eq!(slack["source"], "custom");
    assert_eq!(slack["content"]["textType"], "client-markdown");
    assert!(slack["content"]["description"]
        .as_str()
        .unwrap()
        .contains("111111111111"));
    assert!(slack["content"]["nextSteps"][0]
        .as_str()
        .unwrap()
        .contains("Accept"));
}

/// Queues get versioned JSON with every alert.
#[test]
fn machine_format_carries_every_alert() {
    let alerts = [
        alert("111111111111", AlertReason::Baseline, LinkState::Unlinked),
        alert("222222222222", AlertReason::Baseline, LinkState::Unlinked),
    ];
    let m = build_messages(&alerts, &ctx());
    let sqs: serde_json::Value =
        serde_json::from_str(keys(&m[0])["sqs"].as_str().unwrap()).unwrap();
    assert_eq!(sqs["schema"], SCHEMA);
    assert_eq!(sqs["alerts"].as_array().unwrap().len(), 2);
    assert_eq!(sqs["alerts"][0]["reason"], "BASELINE");
    assert_eq!(sqs["alerts"][0]["link_state"], "UNLINKED");
    assert!(m[0].subject.contains("baseline: 2 unlinked accounts"));
}

/// Thousands of alerts split into parts that each fit SNS, and no alert is dropped.
#[test]
fn large_alerts_split_under_the_sns_limit() {
    let alerts: Vec<_> = (0..3000)
        .map(|i| {
            alert(
                &format!("{:012}", i),
                AlertReason::Baseline,
                LinkState::Unlinked,
            )
        })
        .collect();
    let m = build_messages(&alerts, &ctx());
    assert!(m.len() > 1);
    assert!(m.iter().all(|p| p.size() <= MAX_MESSAGE_BYTES));
    assert_eq!(m.iter().map(|p| p.alert_ids.len()).sum::<usize>(), 3000);
    assert!(
        m[0].subject.ends_with(&format!("(1/{})", m.len())),
        "{}",
        m[0].subject
    );
}

/// Every published format of one message, byte for byte: the email text (`default`
/// and `email`), the Amazon Q Developer notification (`https`) and the machine JSON
/// (`sqs`, `lambda`, schema `apn-link-watch/alert/v1`), for a new unlinked account, a
/// pending invitation and a lost link.
#[test]
fn published_formats_match_the_golden_files() {
    let mut pending = alert("222222222222", AlertReason::LinkPending, LinkState::Pending);
    pending.subject.link_source = LinkSource::PartnerCentral;
    pending.subject.link_detail = "Partner Central connection invitation pending".into();
    let mut lost = alert("333333333333", AlertReason::LinkLost, LinkState::Unlinked);
    lost.subject.state = AccountState::Suspended;
    lost.subject.link_source = LinkSource::PartnerCentral;
    lost.subject.link_detail = "link canceled in Partner Central".into();
    let alerts = [
        alert("111111111111", AlertReason::NewAccount, LinkState::Unlinked),
        pending,
        lost,
    ];
    golden_formats("alert", &alerts);
}

/// One message's formats against `golden/<prefix>-email.txt`, `-https.json`, `-sqs.json`.
fn golden_formats(prefix: &str, alerts: &[PendingAlert]) {
    let m = build_messages(alerts, &ctx());
    assert_eq!(m.len(), 1);
    let doc = keys(&m[0]);
    let text = |key: &str| doc[key].as_str().unwrap().to_string();
    let pretty = |key: &str| {
        let v: serde_json::Value = serde_json::from_str(&text(key)).unwrap();
        serde_json::to_string_pretty(&v).unwrap() + "\n"
    };
    assert_eq!(text("default"), text("email"));
    assert_eq!(text("sqs"), text("lambda"));
    crate::golden::check(
        &format!("{prefix}-email.txt"),
        &format!("Subject: {}\n\n{}", m[0].subject, text("email")),
    );
    crate::golden::check(&format!("{prefix}-https.json"), &pretty("https"));
    crate::golden::check(&format!("{prefix}-sqs.json"), &pretty("sqs"));
}

fn refusal(kind: ChangeKind, reason: &str, what_to_do: &str) -> LinkRefusal {
    LinkRefusal {
        kind,
        at: "2026-11-27T12:00:05Z".parse().unwrap(),
        reason: reason.into(),
        message: "refused by the test".into(),
        what_to_do: what_to_do.into(),
    }
}

/// What auto-link did, in every format (`golden/alert-autolink-*`): a new account that
/// was invited (PENDING, "invitation sent on"), a new account whose invitation Partner
/// Central refused (the reason on its own line, its advice as what to do), a refusal
/// alerted on its own (`INVITE_FAILED`) and an invitation the accept role could not
/// accept (`ACCEPT_FAILED`).
#[test]
fn auto_link_outcomes_match_the_golden_files() {
    let mut invited = alert("111111111111", AlertReason::NewAccount, LinkState::Pending);
    invited.subject.state_since = Some("2026-11-27T12:00:05Z".parse().unwrap());
    invited.subject.link_source = LinkSource::PartnerCentral;
    invited.subject.link_detail = "Partner Central connection invitation pending".into();
    let profile = refusal(
        ChangeKind::InviteFailed,
        "RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException)",
        "the account cannot receive a SUBSIDIARY invitation yet: register it in Partner Central (or link it by tag), then run `apnwatch invite` again",
    );
    let mut refused = alert("222222222222", AlertReason::NewAccount, LinkState::Unlinked);
    refused.subject.refusal = Some(profile.clone());
    let mut failed = alert(
        "333333333333",
        AlertReason::InviteFailed,
        LinkState::Unlinked,
    );
    failed.subject.refusal = Some(profile);
    let mut unaccepted = alert(
        "444444444444",
        AlertReason::AcceptFailed,
        LinkState::Pending,
    );
    unaccepted.subject.link_source = LinkSource::PartnerCentral;
    unaccepted.subject.link_detail = "Partner Central connection invitation pending".into();
    unaccepted.subject.refusal = Some(refusal(
        ChangeKind::AcceptFailed,
        "AccessDenied",
        "grant the permission named in the message, or deploy infra/member-accept-role.yaml to the account (StackSet)",
    ));
    golden_formats("alert-autolink", &[invited, refused, failed, unaccepted]);
}

/// A refusal on record changes what to do for as long as the account is open, and a
/// resolved notice never shows it.
#[test]
fn refusals_say_what_to_do_until_resolved() {
    let mut a = alert("111111111111", AlertReason::Reminder, LinkState::Unlinked);
    a.subject.refusal = Some(refusal(
        ChangeKind::InviteFailed,
        "INCOMPATIBLE_CONNECTION_INVITATION_RECEIVER (ValidationException)",
        "register it first",
    ));
    let todo = what_to_do(&a, "apn-link");
    assert!(
        todo.starts_with("register it first; or mark it exempt with the tag apn-link=exempt"),
        "{todo}"
    );
    assert!(email_block(&a, "apn-link").contains(
        "  Refused:     INVITE_FAILED INCOMPATIBLE_CONNECTION_INVITATION_RECEIVER (ValidationException) on 2026-11-27: refused by the test\n"
    ));
    let m = build_messages(std::slice::from_ref(&a), &ctx());
    assert_eq!(
        m[0].subject,
        "APN Link Watch: 1 still unlinked, 1 refused account in o-abc123def4"
    );
    let sqs: serde_json::Value =
        serde_json::from_str(keys(&m[0])["sqs"].as_str().unwrap()).unwrap();
    assert_eq!(sqs["alerts"][0]["refusal"]["kind"], "INVITE_FAILED");
    assert_eq!(
        sqs["alerts"][0]["refusal"]["what_to_do"],
        "register it first"
    );

    a.reason = AlertReason::Resolved;
    a.subject.link_state = LinkState::Linked;
    assert!(!email_block(&a, "apn-link").contains("Refused"));
    let m = build_messages(&[a], &ctx());
    let sqs: serde_json::Value =
        serde_json::from_str(keys(&m[0])["sqs"].as_str().unwrap()).unwrap();
    assert!(sqs["alerts"][0].get("refusal").is_none(), "{sqs}");
}

/// Subjects never pass 100 characters nor carry newlines, whatever the organization id.
#[test]
fn subject_is_bounded_and_single_line() {
    let mut c = ctx();
    c.organization_id = format!("o-{}\n", "x".repeat(200));
    let a = alert("111111111111", AlertReason::LinkLost, LinkState::Unlinked);
    let s = subject(&[&a], &c, "all", 1, 1);
    assert!(
        s.chars().count() <= MAX_SUBJECT_CHARS && !s.contains('\n'),
        "{s}"
    );
}

fn routed(id: &str, reason: AlertReason, route: Option<&str>) -> PendingAlert {
    let mut a = alert(id, reason, LinkState::Unlinked);
    a.route = route.map(str::to_string);
    a
}

/// A reminder says how long the account has been in its state and since when it is
/// known, and the subject counts reminders apart from new news.
#[test]
fn reminders_say_how_long_and_count_in_the_subject() {
    let mut reminders: Vec<_> = ["111111111111", "222222222222", "333333333333"]
        .iter()
        .map(|id| alert(id, AlertReason::Reminder, LinkState::Unlinked))
        .collect();
    reminders[0].subject.first_seen = Some("2026-11-19T08:00:00Z".parse().unwrap());
    reminders[0].subject.state_since = Some("2026-11-18T12:00:00Z".parse().unwrap());
    reminders.push(alert(
        "444444444444",
        AlertReason::NewAccount,
        LinkState::Unlinked,
    ));
    let m = build_messages(&reminders, &ctx());
    assert_eq!(
        m[0].subject,
        "APN Link Watch: 1 unlinked, 1 new, 3 still unlinked accounts in o-abc123def4"
    );
    let email = keys(&m[0])["email"].as_str().unwrap().to_string();
    assert!(
        email.contains("[REMINDER] 111111111111")
            && email.contains("unlinked for 9 days, first seen 2026-11-19"),
        "{email}"
    );
}

/// A message holding only resolved notices reads as good news, not as an alarm.
#[test]
fn resolved_only_reads_as_good_news() {
    let mut linked = alert("111111111111", AlertReason::Resolved, LinkState::Linked);
    linked.subject.link_source = LinkSource::PartnerCentral;
    let mut gone = alert("222222222222", AlertReason::Resolved, LinkState::Unlinked);
    gone.subject.removed = true;
    let mut closed = alert("333333333333", AlertReason::Resolved, LinkState::Unlinked);
    closed.subject.state = AccountState::Suspended;
    let m = build_messages(&[linked, gone, closed], &ctx());
    assert_eq!(
        m[0].subject,
        "APN Link Watch: resolved, nothing to do: 3 accounts in o-abc123def4"
    );
    let doc = keys(&m[0]);
    let email = doc["email"].as_str().unwrap();
    assert!(email.starts_with("Good news"), "{email}");
    for needle in [
        "resolved: now linked via partner-central",
        "resolved: the account left the organization",
        "resolved: the account is SUSPENDED",
    ] {
        assert!(email.contains(needle), "missing {needle} in {email}");
    }
    assert!(!email.contains("link it in Partner Central"), "{email}");
    let slack: serde_json::Value = serde_json::from_str(doc["https"].as_str().unwrap()).unwrap();
    assert!(slack["content"]["title"]
        .as_str()
        .unwrap()
        .starts_with(":white_check_mark:"));
}

/// A lapsed invitation is explained as such, never as a lost link.
#[test]
fn lapsed_invitation_has_its_own_words() {
    let a = alert(
        "111111111111",
        AlertReason::InvitationLapsed,
        LinkState::Unlinked,
    );
    let text = why(&a);
    assert!(
        text.contains("expired, was rejected or was withdrawn"),
        "{text}"
    );
    assert!(!text.contains("was linked"), "{text}");
}

/// Without routing every message is route `all` and carries the reasons, link states
/// and organization as attributes.
#[test]
fn every_message_carries_attributes() {
    let m = build_messages(
        &[
            alert("111111111111", AlertReason::NewAccount, LinkState::Unlinked),
            alert("222222222222", AlertReason::Reminder, LinkState::Pending),
        ],
        &ctx(),
    );
    assert_eq!(m.len(), 1);
    let entries = m[0].attributes.entries();
    assert_eq!(entries[0].2, "all");
    assert_eq!(entries[1].2, r#"["NEW_ACCOUNT","REMINDER"]"#);
    assert_eq!(entries[2].2, r#"["PENDING","UNLINKED"]"#);
    assert_eq!(entries[3].2, "o-abc123def4");
    assert_eq!(m[0].size(), m[0].body.len() + m[0].attributes.size());
}

/// With routing, each route gets its own message naming it; accounts without one go to
/// `unrouted`.
#[test]
fn routing_splits_messages_by_route() {
    let mut c = ctx();
    c.routing = true;
    let m = build_messages(
        &[
            routed("111111111111", AlertReason::NewAccount, Some("payments")),
            routed("222222222222", AlertReason::NewAccount, Some("search")),
            routed("333333333333", AlertReason::NewAccount, Some("payments")),
            routed("444444444444", AlertReason::NewAccount, None),
        ],
        &c,
    );
    let by_route: Vec<(String, Vec<String>)> = m
        .iter()
        .map(|m| {
            let ids = m.alert_ids.iter().map(|i| i[6..].to_string()).collect();
            (m.attributes.route.clone(), ids)
        })
        .collect();
    assert_eq!(
        by_route,
        vec![
            (
                "payments".into(),
                vec!["111111111111".into(), "333333333333".into()]
            ),
            ("search".into(), vec!["222222222222".into()]),
            ("unrouted".into(), vec!["444444444444".into()]),
        ]
    );
    assert!(
        m[0].subject
            .starts_with("APN Link Watch [payments]: 2 unlinked"),
        "{}",
        m[0].subject
    );
}
