//! Partner Central as a link source, end to end: the product reads SUBSIDIARY connections
//! and invitations from the fake Partner Central (`infra/fake_partner_central.py`, reached
//! through `AWS_ENDPOINT_URL_PARTNERCENTRAL_ACCOUNT`) and the caller identity from moto's STS.

use apnwatch::domain::model::{AccountRecord, ChangeKind, LinkSource, LinkState};
use apnwatch::ports::Queries;
use apnwatch::run::RunOptions;
use integration_tests::{
    app, pc_fixture as fixture, records, set_env, FakePartnerCentral, World, MOTO_ACCOUNT,
};
use serde_json::{json, Value};

/// moto, the fake with an empty fixture, and the function configured to ask Partner Central
/// first, then the tag.
async fn start() -> (World, FakePartnerCentral) {
    let world = World::start().await;
    let pc = FakePartnerCentral::start(fixture(&[], &[]));
    set_env(&[
        ("APNWATCH_LINK_SOURCES", Some("partner-central,tag")),
        ("AWS_ENDPOINT_URL_PARTNERCENTRAL_ACCOUNT", Some(&pc.url)),
    ]);
    (world, pc)
}

/// [`start`] with account `team-a` in an ACTIVE connection, after a baseline run: returns
/// its id too.
async fn start_connected() -> (World, FakePartnerCentral, String) {
    let (world, pc) = start().await;
    let a = world.org.account(&world.org.root_id, "team-a", &[]).await;
    pc.set_fixture(&fixture(&[(&a, "ACTIVE")], &[]));
    world.run_and_discard_alerts().await;
    (world, pc, a)
}

fn link(r: &AccountRecord) -> (LinkState, LinkSource) {
    (r.link.state, r.link.source)
}

/// Asserts that `r` is LINKED by partner-central, with `why` in the detail.
fn assert_linked_by_partner_central(r: &AccountRecord, why: &str) {
    let expected = (LinkState::Linked, LinkSource::PartnerCentral);
    assert_eq!(link(r), expected, "{}", r.account.id);
    assert!(r.link.detail.contains(why), "{}", r.link.detail);
}

/// Asserts the link state and source recorded for `account_id`.
async fn assert_link(account_id: &str, expected: (LinkState, LinkSource)) {
    assert_eq!(link(&records().await[account_id]), expected, "{account_id}");
}

/// An ACTIVE SUBSIDIARY connection makes the account LINKED by partner-central; with
/// partner-central listed first it also decides for an account that is tagged as well.
#[tokio::test]
async fn active_connection_links_the_account_by_partner_central() {
    let (world, pc) = start().await;
    let org = &world.org;
    let connected = org.account(&org.root_id, "connected", &[]).await;
    let both = org.linked_account(&org.root_id, "both").await;
    let other = org.account(&org.root_id, "other", &[]).await;
    pc.set_fixture(&fixture(&[(&connected, "ACTIVE"), (&both, "ACTIVE")], &[]));

    world.run().await;

    let r = records().await;
    assert_linked_by_partner_central(&r[&connected], "active SUBSIDIARY connection");
    assert_linked_by_partner_central(&r[&both], "active SUBSIDIARY connection");
    assert_eq!(link(&r[&other]), (LinkState::Unlinked, LinkSource::None));
    let received = world.alerts.received().await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].account_ids(), vec![other]);
}

/// The account the Partner Central session belongs to (moto's caller, the management
/// account) is LINKED as the primary account and left out of the baseline.
#[tokio::test]
async fn primary_account_is_linked() {
    let (world, _pc) = start().await;
    assert_eq!(world.org.management_account_id, MOTO_ACCOUNT);

    world.run().await;

    assert_linked_by_partner_central(&records().await[MOTO_ACCOUNT], "primary");
    assert!(world.alerts.received().await.is_empty(), "nothing unlinked");
}

/// A connection CANCELED after being ACTIVE turns the account UNLINKED with a history event
/// saying the link was canceled, and alerts it as LINK_LOST.
#[tokio::test]
async fn canceled_connection_unlinks_with_link_canceled_and_alerts() {
    let (world, pc, a) = start_connected().await;

    pc.set_fixture(&fixture(&[(&a, "CANCELED")], &[]));
    world.run().await;

    let record = &records().await[&a];
    assert_eq!(
        link(record),
        (LinkState::Unlinked, LinkSource::PartnerCentral)
    );
    let events = app().await.store().history(&a).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.kind, ChangeKind::Unlinked);
    assert_eq!(
        (last.before.as_deref(), last.after.as_deref()),
        (Some("LINKED"), Some("UNLINKED"))
    );
    assert!(last.detail.contains("link canceled"), "{}", last.detail);
    let received = world.alerts.received().await;
    assert_eq!(received.len(), 1);
    let alert = received[0].alert(&a);
    assert_eq!(alert["reason"], "LINK_LOST");
    assert!(
        alert["link_detail"]
            .as_str()
            .unwrap()
            .contains("link canceled"),
        "{alert}"
    );
}

/// A PENDING invitation makes the account PENDING and sends an alert telling to accept it.
#[tokio::test]
async fn pending_invitation_is_pending_and_the_alert_says_accept() {
    let (world, pc) = start().await;
    let a = world.org.account(&world.org.root_id, "team-a", &[]).await;
    world.run_and_discard_alerts().await;

    pc.set_fixture(&fixture(&[], &[(&a, "PENDING")]));
    let report = world.run().await;

    assert_link(&a, (LinkState::Pending, LinkSource::PartnerCentral)).await;
    let received = world.alerts.received().await;
    assert_eq!(received.len(), 1);
    let alert = received[0].alert(&a);
    assert_eq!(alert["reason"], "LINK_PENDING");
    assert_eq!(alert["link_state"], "PENDING");
    received[0].assert_subject_contains("1 pending");
    // The email and Slack formats of the same publish tell what to do.
    let body: Value = serde_json::from_str(&report.messages[0].body).unwrap();
    let email = body["email"].as_str().unwrap();
    assert!(
        email.contains(&format!(
            "invitation sent on {}: accept it in account {a}",
            chrono::Utc::now().format("%Y-%m-%d")
        )),
        "{email}"
    );
    assert!(body["https"]
        .as_str()
        .unwrap()
        .contains("Accept pending connection invitations"));
}

/// An account Partner Central does not know is still LINKED by its tag, the next source.
#[tokio::test]
async fn tag_links_an_account_partner_central_does_not_know() {
    let (world, _pc) = start().await;
    let tagged = world.org.linked_account(&world.org.root_id, "tagged").await;

    world.run().await;

    assert_link(&tagged, (LinkState::Linked, LinkSource::Tag)).await;
}

/// With sources `tag,partner-central` an account both tagged and connected records `tag`.
#[tokio::test]
async fn tag_listed_first_decides_for_a_tagged_and_connected_account() {
    let (world, pc) = start().await;
    set_env(&[("APNWATCH_LINK_SOURCES", Some("tag,partner-central"))]);
    let both = world.org.linked_account(&world.org.root_id, "both").await;
    pc.set_fixture(&fixture(&[(&both, "ACTIVE")], &[]));

    world.run().await;

    assert_link(&both, (LinkState::Linked, LinkSource::Tag)).await;
}

/// Partner Central denying access fails the run with PartnerCentralError, and nothing in the
/// table or on the topic changes, although the organization did.
#[tokio::test]
async fn partner_central_failure_fails_the_run_and_changes_nothing() {
    let (world, pc, a) = start_connected().await;
    world.org.account(&world.org.root_id, "team-new", &[]).await;
    let mut failing = fixture(&[(&a, "ACTIVE")], &[]);
    failing["fail"] = json!("AccessDeniedException");
    pc.set_fixture(&failing);
    let before = world.table.items().await;

    let err = app().await.run(RunOptions::default()).await.unwrap_err();

    assert_eq!(err.kind(), "PartnerCentralError", "{}", err.one_line());
    assert_eq!(world.table.items().await, before, "nothing written");
    assert!(
        world.alerts.received().await.is_empty(),
        "nothing published"
    );
}

/// A throttled first request is retried by the SDK and the run succeeds.
#[tokio::test]
async fn throttled_partner_central_is_retried() {
    let (world, pc) = start().await;
    let a = world.org.account(&world.org.root_id, "team-a", &[]).await;
    let mut throttled = fixture(&[(&a, "ACTIVE")], &[]);
    throttled["fail"] = json!("ThrottlingException");
    throttled["fail_count"] = json!(1);
    pc.set_fixture(&throttled);

    world.run().await;

    assert_link(&a, (LinkState::Linked, LinkSource::PartnerCentral)).await;
    // One page of each list, plus the throttled request sent again.
    assert_eq!(pc.requests().len(), 3, "{:?}", pc.requests());
}

/// Seven connections served two per page are all read (four or more ListConnections calls,
/// each for the AWS catalog and SUBSIDIARY connections) and all seven accounts are LINKED.
#[tokio::test]
async fn connections_are_read_across_every_page() {
    let (world, pc) = start().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(
            world
                .org
                .account(&world.org.root_id, &format!("sub-{i}"), &[])
                .await,
        );
    }
    let active: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), "ACTIVE")).collect();
    pc.set_fixture(&fixture(&active, &[]));

    world.run().await;

    let r = records().await;
    for id in &ids {
        assert_eq!(
            link(&r[id]),
            (LinkState::Linked, LinkSource::PartnerCentral),
            "{id}"
        );
    }
    let calls = pc.requests_of("ListConnections");
    assert!(calls.len() >= 4, "{} ListConnections calls", calls.len());
    for call in &calls {
        assert_eq!(call.body["Catalog"], "AWS");
        assert_eq!(call.body["ConnectionType"], "SUBSIDIARY");
    }
    assert!(calls[1..].iter().all(|c| c.body["NextToken"].is_string()));
}

/// APNWATCH_PARTNER_CENTRAL_CATALOG=Sandbox reads the Sandbox catalog.
#[tokio::test]
async fn sandbox_catalog_reaches_partner_central() {
    let (world, pc) = start().await;
    set_env(&[("APNWATCH_PARTNER_CENTRAL_CATALOG", Some("Sandbox"))]);
    let a = world.org.account(&world.org.root_id, "trial", &[]).await;
    let mut sandbox = fixture(&[(&a, "ACTIVE")], &[]);
    sandbox["catalog"] = json!("Sandbox");
    pc.set_fixture(&sandbox);

    world.run().await;

    assert_link(&a, (LinkState::Linked, LinkSource::PartnerCentral)).await;
    let requests = pc.requests();
    assert!(!requests.is_empty());
    assert!(
        requests.iter().all(|r| r.body["Catalog"] == "Sandbox"),
        "{requests:?}"
    );
}

/// With APNWATCH_PARTNER_CENTRAL_ROLE_ARN the Partner Central calls run on the assumed role:
/// the role's account becomes the primary account.
#[tokio::test]
async fn partner_central_role_is_assumed() {
    let (world, pc) = start().await;
    let partner = world.org.account(&world.org.root_id, "partner", &[]).await;
    let connected = world
        .org
        .account(&world.org.root_id, "connected", &[])
        .await;
    pc.set_fixture(&fixture(&[(&connected, "ACTIVE")], &[]));
    let role = format!("arn:aws:iam::{partner}:role/apn-link-watch-partner-central");
    set_env(&[("APNWATCH_PARTNER_CENTRAL_ROLE_ARN", Some(&role))]);

    world.run().await;

    let r = records().await;
    assert_linked_by_partner_central(&r[&partner], "primary");
    assert_linked_by_partner_central(&r[&connected], "active SUBSIDIARY connection");
    // The function's own account is no longer Partner Central's primary account.
    assert_eq!(
        link(&r[MOTO_ACCOUNT]),
        (LinkState::Unlinked, LinkSource::None)
    );
}
