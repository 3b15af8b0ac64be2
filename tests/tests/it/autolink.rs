//! Invite and accept, end to end: `apnwatch invite`, auto-invite after a run and auto-accept
//! in member accounts, against moto (Organizations, STS AssumeRole, DynamoDB, SNS) and the
//! fake Partner Central, which tells the primary from a member by the request's access key.

use apnwatch::app::App;
use apnwatch::cli::{execute, Cli};
use apnwatch::domain::deadline::Deadline;
use apnwatch::domain::invite::invite_token;
use apnwatch::domain::model::{AlertReason, ChangeKind, LinkSource, LinkState};
use apnwatch::ports::{Invitations, Queries};
use apnwatch::run::RunOptions;
use clap::Parser;
use integration_tests::{app, pc_fixture, records, sdk_config, FakePartnerCentral, World};
use serde_json::{json, Value};
use std::time::Duration;

/// moto, the fake (asking moto's STS who signed each request), and the function reading
/// Partner Central first; `extra` is merged into the fixture.
async fn start(extra: Value) -> (World, FakePartnerCentral) {
    let world = World::start().await;
    let pc = FakePartnerCentral::start(fixture(&world, &extra));
    read_partner_central(&world, &pc);
    (world, pc)
}

/// Like [`start`], with one member account `member` created first, so that the fixture can
/// name it: `extra(member id)` is merged into the fixture.
async fn start_with_member(
    extra: impl FnOnce(&str) -> Value,
) -> (World, FakePartnerCentral, String) {
    let world = World::start().await;
    let member = world.org.account(&world.org.root_id, "member", &[]).await;
    let pc = FakePartnerCentral::start(fixture(&world, &extra(&member)));
    read_partner_central(&world, &pc);
    (world, pc, member)
}

/// The function reads Partner Central first, at the fake, and may invite as "Partner Ops".
fn read_partner_central(world: &World, pc: &FakePartnerCentral) {
    world.set_env(&[
        ("APNWATCH_LINK_SOURCES", Some("partner-central,tag")),
        ("AWS_ENDPOINT_URL_PARTNERCENTRAL_ACCOUNT", Some(&pc.url)),
        ("APNWATCH_INVITE_NAME", Some("Partner Ops")),
        ("APNWATCH_INVITE_EMAIL", Some("partner-ops@example.com")),
    ]);
}

fn fixture(world: &World, extra: &Value) -> Value {
    let mut fx = pc_fixture(&[], &[]);
    fx["sts_url"] = json!(world.moto.url);
    for (k, v) in extra.as_object().expect("extra is an object") {
        fx[k] = v.clone();
    }
    fx
}

async fn apnwatch(args: &[&str]) -> Result<String, apnwatch::Error> {
    let cli = Cli::try_parse_from(std::iter::once("apnwatch").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?} does not parse: {e}"));
    execute(&app().await, &cli).await
}

async fn kinds(account_id: &str) -> Vec<ChangeKind> {
    let app = app().await;
    let history = app.store().history(account_id).await.unwrap();
    history.iter().map(|e| e.kind).collect()
}

async fn last_detail(account_id: &str, kind: ChangeKind) -> String {
    let app = app().await;
    let history = app.store().history(account_id).await.unwrap();
    history
        .iter()
        .rev()
        .find(|e| e.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} event for {account_id}: {history:?}"))
        .detail
        .clone()
}

/// `apnwatch invite` sends one SUBSIDIARY invitation to an UNLINKED member, records INVITED
/// with the invitation id, and the account is PENDING; the next run agrees (no change).
#[tokio::test]
async fn invite_by_hand_sends_and_records_pending() {
    let (world, pc) = start(json!({})).await;
    let member = world.org.account(&world.org.root_id, "member", &[]).await;
    world.run().await;

    let out = apnwatch(&["invite", &member, "--json"]).await.unwrap();

    let out: Value = serde_json::from_str(&out).unwrap();
    let line = &out["invitations"][0];
    assert_eq!(line["account_id"], member.as_str());
    assert_eq!(line["outcome"], "SENT");
    let invitation = line["invitation_id"].as_str().unwrap().to_string();
    assert!(invitation.starts_with("pacinv-"), "{invitation}");
    let create = pc.requests_of("CreateConnectionInvitation");
    assert_eq!(create.len(), 1);
    assert_eq!(create[0].body["ReceiverIdentifier"], member.as_str());
    assert_eq!(create[0].body["ConnectionType"], "SUBSIDIARY");
    assert_eq!(create[0].body["Name"], "Partner Ops");
    assert_eq!(create[0].body["Email"], "partner-ops@example.com");
    assert!(create[0].body["ClientToken"]
        .as_str()
        .unwrap()
        .contains(&member));
    assert_eq!(records().await[&member].link.state, LinkState::Pending);
    assert!(last_detail(&member, ChangeKind::Invited)
        .await
        .contains(&invitation));

    let report = world.run().await;
    assert!(
        report.events.is_empty(),
        "the run sees the same PENDING: {:?}",
        report.events
    );
}

/// `apnwatch invite` repeated for an account our invitation keeps PENDING (after the run that
/// read it back) succeeds as ALREADY_INVITED with that invitation's id and date, sends
/// nothing; in a list with a LINKED account the LINKED one is still NOT_ELIGIBLE.
#[tokio::test]
async fn repeated_invite_reports_the_pending_invitation() {
    let (world, pc) = start(json!({})).await;
    let member = world.org.account(&world.org.root_id, "member", &[]).await;
    let linked = world.org.linked_account(&world.org.root_id, "linked").await;
    world.run().await;
    let first: Value =
        serde_json::from_str(&apnwatch(&["invite", &member, "--json"]).await.unwrap()).unwrap();
    let invitation = first["invitations"][0]["invitation_id"].clone();
    world.run().await;

    let again = apnwatch(&["invite", &member, "--json"]).await.unwrap();
    let text = apnwatch(&["invite", &member]).await.unwrap();

    let again: Value = serde_json::from_str(&again).unwrap();
    let line = &again["invitations"][0];
    assert_eq!(line["outcome"], "ALREADY_INVITED", "{again}");
    assert_eq!(line["invitation_id"], invitation);
    let sent_at = line["invited_at"].as_str().expect("invited_at");
    let sent_at: chrono::DateTime<chrono::Utc> = sent_at.parse().unwrap();
    assert!(
        (chrono::Utc::now() - sent_at).num_minutes() < 5,
        "{sent_at}"
    );
    assert!(line.get("reason").is_none(), "{line}");
    assert!(
        text.starts_with(&format!(
            "{member}: ALREADY_INVITED ({}, sent ",
            invitation.as_str().unwrap()
        )),
        "{text}"
    );
    assert_eq!(pc.requests_of("CreateConnectionInvitation").len(), 1);
    assert_eq!(
        kinds(&member)
            .await
            .iter()
            .filter(|k| **k == ChangeKind::Invited)
            .count(),
        1,
        "nothing recorded twice"
    );

    let err = apnwatch(&["invite", &member, &linked, "--json"])
        .await
        .unwrap_err();
    let apnwatch::Error::NotInvited { ids, output } = &err else {
        panic!("expected NotInvited, got {}", err.one_line());
    };
    assert_eq!(ids, &vec![linked.clone()], "only the LINKED account fails");
    let out: Value = serde_json::from_str(output).unwrap();
    assert_eq!(out["invitations"][0]["outcome"], "ALREADY_INVITED");
    assert_eq!(out["invitations"][1]["outcome"], "NOT_ELIGIBLE");
    assert_eq!(out["invitations"][1]["reason"], "already LINKED");
}

/// A retried call with the same ClientToken (a crashed run, the same day) gets the same
/// invitation back: Partner Central holds one invitation, not two.
#[tokio::test]
async fn retried_invite_is_idempotent() {
    let (world, pc) = start(json!({})).await;
    let member = world.org.account(&world.org.root_id, "member", &[]).await;
    let app = world.app().await;
    let inv = app.invitations().expect("partner-central is a source");
    let token = invite_token(&member, chrono::Utc::now());

    let first = inv.invite(&member, &token, "m").await.unwrap();
    let second = inv.invite(&member, &token, "m").await.unwrap();

    assert_eq!(first, second);
    assert_eq!(pc.requests_of("CreateConnectionInvitation").len(), 2);
    world.run().await;
    let r = &records().await[&member];
    assert_eq!(
        (r.link.state, r.link.source),
        (LinkState::Pending, LinkSource::PartnerCentral)
    );
}

/// A refusal is recorded as INVITE_FAILED with Partner Central's reason and what to do, the
/// command fails naming the refused ids, and ids that are malformed or not members are
/// refused before any call.
#[tokio::test]
async fn refused_invite_is_recorded_and_named() {
    let (world, pc, member) =
        start_with_member(|m| json!({"refuse_receivers": {m: "RECEIVER_PROFILE_NOT_FOUND"}})).await;
    world.run().await;

    let err = apnwatch(&["invite", &member, "999988887777", "--json"])
        .await
        .unwrap_err();

    let apnwatch::Error::NotInvited { ids, output } = &err else {
        panic!("expected NotInvited, got {}", err.one_line());
    };
    assert_eq!(ids, &vec![member.clone(), "999988887777".to_string()]);
    let out: Value = serde_json::from_str(output).unwrap();
    assert_eq!(out["invitations"][0]["outcome"], "REFUSED");
    assert!(out["invitations"][0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("RECEIVER_PROFILE_NOT_FOUND"));
    assert!(out["invitations"][0]["what_to_do"]
        .as_str()
        .unwrap()
        .contains("register it in Partner Central"));
    assert_eq!(out["invitations"][1]["outcome"], "NOT_ELIGIBLE");
    assert_eq!(
        pc.requests_of("CreateConnectionInvitation").len(),
        1,
        "no call for the non-member"
    );
    assert!(last_detail(&member, ChangeKind::InviteFailed)
        .await
        .starts_with("RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException)"));
    assert_eq!(records().await[&member].link.state, LinkState::Unlinked);
    // A malformed id never reaches the command.
    assert!(Cli::try_parse_from(["apnwatch", "invite", "12345"]).is_err());
}

/// `invite --dry-run` says who would be invited and neither calls Partner Central nor writes.
#[tokio::test]
async fn dry_run_invite_calls_and_writes_nothing() {
    let (world, pc) = start(json!({})).await;
    let member = world.org.account(&world.org.root_id, "member", &[]).await;
    world.run().await;
    let before = kinds(&member).await;

    let out = apnwatch(&["invite", &member, "--dry-run"]).await.unwrap();

    assert_eq!(out, format!("{member}: WOULD_SEND"));
    assert!(pc.requests_of("CreateConnectionInvitation").is_empty());
    assert_eq!(kinds(&member).await, before);
    assert_eq!(records().await[&member].link.state, LinkState::Unlinked);
}

/// Auto-invite `new` leaves the baseline alone and invites the account that appears later;
/// the one alert about the new account says the invitation was sent and where to accept it.
#[tokio::test]
async fn auto_invite_new_invites_only_new_accounts() {
    let (world, pc) = start(json!({})).await;
    let old = world.org.account(&world.org.root_id, "old", &[]).await;
    world.set_env(&[("APNWATCH_AUTO_INVITE", Some("new"))]);
    world.run().await;
    assert!(pc.requests_of("CreateConnectionInvitation").is_empty());

    let new = world.org.account(&world.org.root_id, "new", &[]).await;
    let report = world.run().await;

    let create = pc.requests_of("CreateConnectionInvitation");
    assert_eq!(create.len(), 1);
    assert_eq!(create[0].body["ReceiverIdentifier"], new.as_str());
    assert_eq!(report.auto_link.unwrap().invited, vec![new.clone()]);
    let r = records().await;
    assert_eq!(r[&new].link.state, LinkState::Pending);
    assert_eq!(r[&old].link.state, LinkState::Unlinked);
    let received = world.alerts.received().await;
    let about_new: Vec<&Value> = received
        .iter()
        .flat_map(|m| m.alerts())
        .filter(|a| a["account_id"] == new.as_str())
        .collect();
    assert_eq!(about_new.len(), 1, "one alert about the new account");
    let alert = about_new[0];
    assert_eq!(alert["reason"], AlertReason::NewAccount.as_str());
    assert_eq!(alert["link_state"], "PENDING");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(
        alert["what_to_do"].as_str().unwrap(),
        format!(
            "invitation sent on {today}: accept it in account {new} (sign in, Partner Central, Subsidiary Account Connections)"
        )
    );
}

/// Auto-invite `unlinked` invites at most APNWATCH_INVITE_MAX_PER_RUN per run; the next
/// run continues with the rest.
#[tokio::test]
async fn auto_invite_unlinked_respects_the_cap() {
    let (world, pc) = start(json!({})).await;
    for name in ["a", "b", "c"] {
        world.org.account(&world.org.root_id, name, &[]).await;
    }
    world.set_env(&[
        ("APNWATCH_AUTO_INVITE", Some("unlinked")),
        ("APNWATCH_INVITE_MAX_PER_RUN", Some("2")),
    ]);

    world.run().await;
    assert_eq!(pc.requests_of("CreateConnectionInvitation").len(), 2);
    world.run().await;
    assert_eq!(pc.requests_of("CreateConnectionInvitation").len(), 3);

    let states: Vec<LinkState> = records()
        .await
        .values()
        .filter(|r| !r.account.is_management)
        .map(|r| r.link.state)
        .collect();
    assert_eq!(states, vec![LinkState::Pending; 3]);
}

/// A refused account is recorded once and not asked again within 24 h; the run succeeds
/// and its alerts go out.
#[tokio::test]
async fn refusal_is_not_retried_within_24_hours() {
    let (world, pc, member) = start_with_member(
        |m| json!({"refuse_receivers": {m: "INCOMPATIBLE_CONNECTION_INVITATION_RECEIVER"}}),
    )
    .await;
    world.set_env(&[("APNWATCH_AUTO_INVITE", Some("unlinked"))]);

    let first = world.run().await;
    let second = world.run().await;

    assert_eq!(pc.requests_of("CreateConnectionInvitation").len(), 1);
    assert_eq!(first.auto_link.unwrap().invite_failed.len(), 1);
    assert_eq!(second.auto_link.unwrap().backed_off, 1);
    let failed = kinds(&member)
        .await
        .into_iter()
        .filter(|k| *k == ChangeKind::InviteFailed)
        .count();
    assert_eq!(failed, 1);
    assert!(last_detail(&member, ChangeKind::InviteFailed)
        .await
        .contains("INCOMPATIBLE_CONNECTION_INVITATION_RECEIVER (ConflictException)"));
    let received = world.alerts.received().await;
    assert_eq!(received.len(), 1, "the baseline alert went out, once");
    let alert = received[0].alert(&member);
    assert_eq!(alert["reason"], AlertReason::Baseline.as_str());
    assert_eq!(alert["refusal"]["kind"], "INVITE_FAILED");
    assert_eq!(
        alert["refusal"]["reason"],
        "INCOMPATIBLE_CONNECTION_INVITATION_RECEIVER (ConflictException)"
    );
    assert!(
        alert["what_to_do"]
            .as_str()
            .unwrap()
            .starts_with("the account cannot receive a SUBSIDIARY invitation yet: register it in Partner Central"),
        "{alert}"
    );
}

/// A refusal of an account whose alert already went out gets its own INVITE_FAILED alert,
/// once: the back-off run after it publishes nothing, and the account keeps the refusal.
#[tokio::test]
async fn refusal_after_the_alert_went_out_is_alerted_once() {
    let (world, _pc, member) =
        start_with_member(|m| json!({"refuse_receivers": {m: "RECEIVER_PROFILE_NOT_FOUND"}})).await;
    world.run().await;
    assert_eq!(world.alerts.received().await.len(), 1, "the baseline");
    world.set_env(&[("APNWATCH_AUTO_INVITE", Some("unlinked"))]);

    world.run().await;
    let received = world.alerts.received().await;
    world.run().await;

    assert_eq!(received.len(), 1);
    assert_eq!(received[0].account_ids(), vec![member.clone()]);
    let alert = received[0].alert(&member);
    assert_eq!(alert["reason"], AlertReason::InviteFailed.as_str());
    assert!(
        alert["why"]
            .as_str()
            .unwrap()
            .starts_with("Partner Central refused the connection invitation: RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException) on "),
        "{alert}"
    );
    received[0].assert_subject_contains("1 refused");
    assert!(
        world.alerts.received().await.is_empty(),
        "the back-off run is quiet"
    );
    let listed: Value = serde_json::from_str(
        &apnwatch(&["accounts", "--unlinked", "--json"])
            .await
            .unwrap(),
    )
    .unwrap();
    let shown = listed["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account_id"] == member.as_str())
        .expect("listed");
    assert_eq!(shown["refusal_kind"], "INVITE_FAILED", "{shown}");
    let refusal = records().await[&member]
        .refusal
        .clone()
        .expect("kept on the account");
    assert_eq!(
        (refusal.kind, refusal.reason.as_str()),
        (
            ChangeKind::InviteFailed,
            "RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException)"
        )
    );
}

/// The daily quota stops the batch: one sent, one refused with the quota reason, the rest
/// not tried; the run itself succeeds.
#[tokio::test]
async fn daily_quota_stops_the_batch() {
    let (world, pc) = start(json!({"invites_per_day": 1})).await;
    for name in ["a", "b", "c"] {
        world.org.account(&world.org.root_id, name, &[]).await;
    }
    world.set_env(&[("APNWATCH_AUTO_INVITE", Some("unlinked"))]);

    let report = world.run().await;

    let auto = report.auto_link.unwrap();
    assert_eq!(auto.invited.len(), 1);
    assert_eq!(auto.invite_failed.len(), 1);
    assert!(auto.invite_failed[0]
        .1
        .starts_with("LIMIT_EXCEEDED_NUMBER_OF_CONNECTION_INVITATION_PER_DAY"));
    assert_eq!(pc.requests_of("CreateConnectionInvitation").len(), 2);
}

/// Throttling of every invite never fails the run: recorded, logged, counted.
#[tokio::test]
async fn throttled_invites_never_fail_the_run() {
    let (world, _pc) = start(json!({"throttle": ["CreateConnectionInvitation"]})).await;
    let member = world.org.account(&world.org.root_id, "member", &[]).await;
    world.set_env(&[("APNWATCH_AUTO_INVITE", Some("unlinked"))]);
    // The deployed app with the SDK giving up after two attempts instead of eight: the same
    // path, without waiting out eight backoffs (about 40 s).
    let base = sdk_config(&world.env()).await;
    let base = base
        .to_builder()
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
        .build();
    let app = App::new(world.config(), &base).await;

    let report = app
        .run(RunOptions::default())
        .await
        .expect("the run succeeds");

    assert_eq!(
        report.auto_link.unwrap().invite_failed[0].1,
        "ThrottlingException"
    );
    assert_eq!(records().await[&member].link.state, LinkState::Unlinked);
    assert_eq!(world.alerts.received().await.len(), 1);
}

/// The whole loop: a new account is invited, the invitation is accepted in the member
/// account through the accept role, and the next run records it LINKED with a RESOLVED
/// notice.
#[tokio::test]
async fn auto_accept_links_the_account_on_the_next_run() {
    let (world, pc) = start(json!({})).await;
    world.set_env(&[
        ("APNWATCH_AUTO_INVITE", Some("new")),
        ("APNWATCH_ACCEPT_ROLE_NAME", Some("apn-link-watch-accept")),
    ]);
    world.run().await;
    let member = world.org.account(&world.org.root_id, "member", &[]).await;

    let report = world.run().await;

    let auto = report.auto_link.unwrap();
    assert_eq!(
        (auto.invited.clone(), auto.accepted.clone()),
        (vec![member.clone()], vec![member.clone()])
    );
    let listed = pc.requests_of("ListConnectionInvitations");
    let receiver = listed
        .iter()
        .find(|r| r.body["ParticipantType"] == "RECEIVER")
        .expect("a RECEIVER listing");
    assert_eq!(
        receiver.caller.as_deref(),
        Some(member.as_str()),
        "signed with the member's role"
    );
    let accept = pc.requests_of("AcceptConnectionInvitation");
    assert_eq!(accept.len(), 1);
    assert_eq!(accept[0].caller.as_deref(), Some(member.as_str()));
    assert!(kinds(&member).await.contains(&ChangeKind::Accepted));

    world.run().await;

    let r = &records().await[&member];
    assert_eq!(
        (r.link.state, r.link.source),
        (LinkState::Linked, LinkSource::PartnerCentral)
    );
    let received = world.alerts.received().await;
    let last = received.last().unwrap();
    assert_eq!(last.account_ids(), vec![member.clone()]);
    assert_eq!(
        last.alert(&member)["reason"],
        AlertReason::Resolved.as_str()
    );

    // The run records counted what auto-link did, and `apnwatch report` sums them.
    let report: Value =
        serde_json::from_str(&apnwatch(&["report", "--json"]).await.unwrap()).expect("report JSON");
    assert_eq!(
        report["auto_link"],
        json!({"invitations_sent": 1, "accepted": 1, "refused": 0, "refusals": []})
    );
    // The member was linked two runs after it was first seen: the one time-to-link sample.
    assert_eq!(report["time_to_link"]["samples"], 1);
    assert_eq!(report["oldest_unlinked"], json!([]));
}

/// A member whose Partner Central refuses the accept role's calls stays PENDING with the
/// reason recorded; it is not tried again within 24 h and the run goes on.
#[tokio::test]
async fn member_without_the_role_stays_pending_with_the_reason() {
    let (world, pc, member) = start_with_member(|m| json!({"deny_accounts": [m]})).await;
    world.set_env(&[
        ("APNWATCH_AUTO_INVITE", Some("unlinked")),
        ("APNWATCH_ACCEPT_ROLE_NAME", Some("apn-link-watch-accept")),
    ]);

    let first = world.run().await;
    let second = world.run().await;

    assert_eq!(first.auto_link.unwrap().accept_failed.len(), 1);
    assert_eq!(second.auto_link.unwrap().backed_off, 1);
    assert_eq!(records().await[&member].link.state, LinkState::Pending);
    assert!(last_detail(&member, ChangeKind::AcceptFailed)
        .await
        .starts_with("ACCESS_DENIED (AccessDeniedException)"));
    assert!(pc.requests_of("AcceptConnectionInvitation").is_empty());
}

/// A member account without the accept role (STS refuses AssumeRole with AccessDenied, on
/// the wire as STS answers) stays PENDING with the reason in its history and in the alert;
/// the other member is accepted in the same run and LINKED by the next.
#[tokio::test]
async fn member_without_the_accept_role_is_refused_by_sts_and_the_run_goes_on() {
    let world = World::start().await;
    let org = &world.org;
    let [with_role, without] = org
        .accounts(&org.root_id, ["with-role", "without-role"])
        .await;
    let pc = FakePartnerCentral::start(fixture(&world, &json!({})));
    read_partner_central(&world, &pc);
    world.proxy.deny_assume_role(&format!(
        "arn:aws:iam::{without}:role/apn-link-watch-accept"
    ));
    world.set_env(&[
        ("APNWATCH_AUTO_INVITE", Some("unlinked")),
        ("APNWATCH_ACCEPT_ROLE_NAME", Some("apn-link-watch-accept")),
    ]);

    let first = world.run().await;

    let auto = first.auto_link.unwrap();
    assert_eq!(auto.accepted, vec![with_role.clone()]);
    assert_eq!(auto.accept_failed.len(), 1);
    assert_eq!(
        auto.accept_failed[0],
        (without.clone(), "AccessDenied".to_string())
    );
    let detail = last_detail(&without, ChangeKind::AcceptFailed).await;
    assert!(
        detail.starts_with("AccessDenied: ")
            && detail.contains("not authorized to perform: sts:AssumeRole")
            && detail.contains("member-accept-role.yaml"),
        "{detail}"
    );
    assert!(
        pc.requests()
            .iter()
            .all(|r| r.caller.as_deref() != Some(without.as_str())),
        "no Partner Central call with the member's credentials"
    );
    let received = world.alerts.received().await;
    assert_eq!(received.len(), 1, "one baseline message");
    let alert = received[0].alert(&without);
    assert_eq!(alert["link_state"], "PENDING");
    assert_eq!(alert["refusal"]["kind"], "ACCEPT_FAILED");
    assert!(
        alert["what_to_do"]
            .as_str()
            .unwrap()
            .contains("; auto-accept failed, so: grant the permission named in the message, or deploy infra/member-accept-role.yaml"),
        "{alert}"
    );

    let second = world.run().await;

    assert_eq!(second.auto_link.unwrap().backed_off, 1);
    let r = records().await;
    assert_eq!(r[&with_role].link.state, LinkState::Linked);
    assert_eq!(r[&without].link.state, LinkState::Pending);
}

/// A Partner Central that never answers cannot hold the alerts back: auto-link is cut
/// short at half of what the invoke had left, the run publishes and succeeds, and the
/// account is left UNLINKED for the next run.
#[tokio::test]
async fn hung_partner_central_never_holds_back_the_alerts() {
    let (world, _pc) = start(json!({"slow": {"CreateConnectionInvitation": 30}})).await;
    let member = world.org.account(&world.org.root_id, "member", &[]).await;
    world.set_env(&[("APNWATCH_AUTO_INVITE", Some("unlinked"))]);

    let report = world
        .app()
        .await
        .run(RunOptions {
            deadline: Some(Deadline::after(Duration::from_secs(10))),
            ..RunOptions::default()
        })
        .await
        .expect("the run succeeds");

    // Waiting out the hung call would have sent the invitation and reported it.
    assert!(report.auto_link.is_none(), "cut short: no report");
    let received = world.alerts.received().await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].alert(&member)["link_state"], "UNLINKED");
    assert_eq!(records().await[&member].link.state, LinkState::Unlinked);
}

/// With auto-invite off and no accept role, a run with a new account makes only Partner
/// Central's two list calls: no invitation, no accept, no member call.
#[tokio::test]
async fn no_invitation_calls_when_the_features_are_off() {
    let (world, pc) = start(json!({})).await;
    world.run().await;
    world.org.account(&world.org.root_id, "new", &[]).await;

    let report = world.run().await;

    assert!(report.auto_link.is_none());
    let targets: Vec<String> = pc.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(targets.len(), 4, "{targets:?}");
    assert!(
        targets
            .iter()
            .all(|t| t.ends_with("ListConnections") || t.ends_with("ListConnectionInvitations")),
        "{targets:?}"
    );
}
