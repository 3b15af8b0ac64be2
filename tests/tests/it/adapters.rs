//! The AWS adapters one by one against real wire protocols: Organizations and SNS (+SQS) on
//! the harness's moto server, Partner Central on the harness's fake
//! (`infra/fake_partner_central.py`) with STS on moto. Each test starts its own servers on
//! free 127.0.0.1 ports, stopped by PID when it ends, passing or panicking.

use std::collections::BTreeMap;
use std::time::Duration;

use apnwatch::alert::{build_messages, AlertContext, SCHEMA};
use apnwatch::aws::organizations::OrganizationsSource;
use apnwatch::aws::partner_central::PartnerCentralAdapter;
use apnwatch::aws::sns::SnsNotifier;
use apnwatch::aws::{
    assume_role_config, organizations_client, partner_central_clients, ORG_SESSION_NAME,
    PARTNER_CENTRAL_SESSION_NAME,
};
use apnwatch::domain::model::{AccountState, OrgTree, PendingAlert};
use apnwatch::error::Error;
use apnwatch::ports::{Notifier, OrgSource, PartnerCentralSource};
use aws_config::retry::RetryConfig;
use aws_config::SdkConfig;
use integration_tests::{
    deployed_env, free_port, harness_sdk_config as sdk_config, pc_fixture,
    sdk_config as function_sdk_config, Alerts, FakePartnerCentral, Moto, Org, PcRequest,
};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------
// Organizations
// ---------------------------------------------------------------------------------------

/// What the seeded organization looks like, for the assertions.
struct Seeded {
    deep_ou: String,
    deep_account: String,
    prod_accounts: Vec<String>,
    tagged: String,
    suspended: String,
}

const PROD_ACCOUNTS: usize = 23;
const OU_CHAIN: [&str; 5] = ["Workloads", "Prod", "Team", "Service", "Deep"];

/// An organization with OUs nested 5 deep (plus a Sandbox OU), 23 accounts in one OU (two
/// ListAccountsForParent pages on moto), tags on some accounts and one closed account.
async fn seed(cfg: &SdkConfig) -> Seeded {
    let org = Org::create(cfg).await;
    let mut parent = org.root_id.clone();
    let mut chain = Vec::new();
    for name in OU_CHAIN {
        parent = org.ou(&parent, name).await;
        chain.push(parent.clone());
    }
    let sandbox = org.ou(&org.root_id, "Sandbox").await;

    let mut prod_accounts = Vec::new();
    for i in 0..PROD_ACCOUNTS {
        prod_accounts.push(org.account(&chain[1], &format!("prod-{i:02}"), &[]).await);
    }
    let tagged = org
        .account(
            &sandbox,
            "tagged",
            &[("apn-link", "linked"), ("team", "data")],
        )
        .await;
    let deep_account = org
        .account(&chain[4], "deep", &[("apn-link", "exempt")])
        .await;
    let suspended = org.account(&sandbox, "closing", &[]).await;
    org.close_account(&suspended).await;

    Seeded {
        deep_ou: chain[4].clone(),
        deep_account,
        prod_accounts,
        tagged,
        suspended,
    }
}

fn account<'a>(tree: &'a OrgTree, id: &str) -> &'a apnwatch::domain::model::Account {
    tree.accounts
        .iter()
        .find(|a| a.id == id)
        .unwrap_or_else(|| panic!("account {id} missing from the snapshot"))
}

/// The walk returns every unit and account of a 5-deep organization with paths, depths,
/// State, tags and the management flag, sorted by id, in a predictable number of calls.
#[tokio::test]
async fn snapshot_walks_a_five_level_organization_with_tags() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.url).await;
    let seeded = seed(&cfg).await;

    let source = OrganizationsSource::new(organizations_client(&cfg), 4);
    let walk = source.snapshot(true).await.unwrap();
    let tree = walk.tree;

    // management + 23 prod + tagged + deep + closing
    assert_eq!(tree.accounts.len(), 1 + PROD_ACCOUNTS + 3);
    assert_eq!(tree.units.len(), 1 + OU_CHAIN.len() + 1);
    assert!(tree.organization_id.starts_with("o-"));
    assert!(tree.root_id.starts_with("r-"));

    let deep_unit = tree.units.iter().find(|u| u.id == seeded.deep_ou).unwrap();
    assert_eq!(deep_unit.depth, 5);
    assert_eq!(deep_unit.path, "Root/Workloads/Prod/Team/Service/Deep");
    let root = tree.units.iter().find(|u| u.id == tree.root_id).unwrap();
    assert_eq!(
        (root.depth, root.parent_id.as_deref(), root.path.as_str()),
        (0, None, "Root")
    );

    let deep = account(&tree, &seeded.deep_account);
    assert_eq!(deep.ou_path, "Root/Workloads/Prod/Team/Service/Deep");
    assert_eq!(deep.ou_ids.len(), 6);
    assert_eq!(deep.ou_ids[0], tree.root_id);
    assert_eq!(deep.ou_ids[5], seeded.deep_ou);
    assert_eq!(deep.parent_id, seeded.deep_ou);
    assert_eq!(
        deep.tags.get("apn-link").map(String::as_str),
        Some("exempt")
    );

    for id in &seeded.prod_accounts {
        let a = account(&tree, id);
        assert_eq!(a.ou_path, "Root/Workloads/Prod");
        assert!(a.tags.is_empty());
        assert_eq!(a.state, AccountState::Active);
        assert_eq!(a.joined_method.as_deref(), Some("CREATED"));
        assert!(a.joined_at.is_some());
    }

    let tagged = account(&tree, &seeded.tagged);
    assert_eq!(
        tagged.tags,
        BTreeMap::from([
            ("apn-link".to_string(), "linked".to_string()),
            ("team".to_string(), "data".to_string())
        ])
    );
    assert_eq!(tagged.ou_path, "Root/Sandbox");
    assert_eq!(
        account(&tree, &seeded.suspended).state,
        AccountState::Suspended
    );

    let management: Vec<_> = tree.accounts.iter().filter(|a| a.is_management).collect();
    assert_eq!(management.len(), 1);
    assert_eq!(management[0].id, tree.management_account_id);
    assert_eq!(management[0].ou_path, "Root");
    assert_eq!(management[0].email, "master@example.com");

    let ids: Vec<&str> = tree.accounts.iter().map(|a| a.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "accounts sorted by id");
    let unit_ids: Vec<&str> = tree.units.iter().map(|u| u.id.as_str()).collect();
    let mut sorted = unit_ids.clone();
    sorted.sort();
    assert_eq!(unit_ids, sorted, "units sorted by id");

    // DescribeOrganization + ListRoots + the ListAccounts page that shows moto returns no
    // paths + 2 lists per unit + the second Prod page + one ListTagsForResource per account.
    let units = tree.units.len() as u64;
    let accounts = tree.accounts.len() as u64;
    assert_eq!(walk.calls, 1 + 1 + 1 + 2 * units + 1 + accounts);

    // Without tags: no ListTagsForResource at all, and the tree is otherwise the same.
    let untagged = OrganizationsSource::new(organizations_client(&cfg), 1);
    let walk2 = untagged.snapshot(false).await.unwrap();
    let tree2 = walk2.tree;
    assert_eq!(walk2.calls, 1 + 1 + 1 + 2 * units + 1);
    assert!(tree2.accounts.iter().all(|a| a.tags.is_empty()));
    assert_eq!(tree2.units, tree.units);
    assert_eq!(
        tree2
            .accounts
            .iter()
            .map(|a| &a.ou_path)
            .collect::<Vec<_>>(),
        tree.accounts.iter().map(|a| &a.ou_path).collect::<Vec<_>>()
    );
}

/// An account outside any organization gets the "deploy in the management account" hint.
#[tokio::test]
async fn account_without_organization_fails_with_deploy_hint() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.url).await;
    let err = OrganizationsSource::new(organizations_client(&cfg), 4)
        .snapshot(false)
        .await
        .unwrap_err();
    match &err {
        Error::Organizations {
            operation, hint, ..
        } => {
            assert_eq!(*operation, "DescribeOrganization");
            assert!(hint.contains("not in an organization"), "{hint}");
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(err.kind(), "OrganizationsError");
}

/// A closed endpoint fails the walk with the network hint, and the SDK error kept as cause.
#[tokio::test]
async fn unreachable_organizations_endpoint_says_check_network() {
    let port = free_port(); // nothing listens there
    let cfg = no_retries(sdk_config(&format!("http://127.0.0.1:{port}")).await);
    let err = OrganizationsSource::new(organizations_client(&cfg), 4)
        .snapshot(false)
        .await
        .unwrap_err();
    let Error::Organizations { hint, .. } = &err else {
        panic!("unexpected error {err:?}")
    };
    assert!(
        hint.contains("could not reach the Organizations endpoint"),
        "{hint}"
    );
    assert!(std::error::Error::source(&err).is_some());
}

/// With an organization role, the walk runs on the assumed session, named for CloudTrail.
#[tokio::test]
async fn org_role_is_assumed_with_its_session_name() {
    let moto = Moto::start();
    let base = sdk_config(&moto.url).await;
    seed_small(&base).await;
    let role = "arn:aws:iam::123456789012:role/apn-link-watch-org-reader";
    let assumed = assume_role_config(&base, role, ORG_SESSION_NAME, Some("ext-1"), None).await;

    let who = aws_sdk_sts::Client::new(&assumed)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        who.arn(),
        Some("arn:aws:sts::123456789012:assumed-role/apn-link-watch-org-reader/apn-link-watch-org")
    );
    let tree = OrganizationsSource::new(organizations_client(&assumed), 2)
        .snapshot(false)
        .await
        .unwrap();
    assert_eq!(tree.tree.accounts.len(), 2);
}

/// A role that cannot be assumed fails the walk with the credentials hint, not a network
/// or permission one.
#[tokio::test]
async fn unassumable_org_role_says_check_the_role() {
    let port = free_port(); // STS unreachable: AssumeRole cannot succeed
    let base = no_retries(sdk_config(&format!("http://127.0.0.1:{port}")).await);
    let role = "arn:aws:iam::123456789012:role/missing";
    let assumed = assume_role_config(&base, role, ORG_SESSION_NAME, None, None).await;
    let err = OrganizationsSource::new(organizations_client(&assumed), 4)
        .snapshot(false)
        .await
        .unwrap_err();
    let Error::Organizations {
        operation, hint, ..
    } = &err
    else {
        panic!("unexpected error {err:?}")
    };
    assert_eq!(*operation, "DescribeOrganization");
    assert!(hint.contains("APNWATCH_ORG_ROLE_ARN"), "{hint}");
}

async fn seed_small(cfg: &SdkConfig) {
    let org = Org::create(cfg).await;
    org.account(&org.root_id, "one", &[]).await;
}

fn no_retries(cfg: SdkConfig) -> SdkConfig {
    cfg.to_builder()
        .retry_config(RetryConfig::disabled())
        .build()
}

// ---------------------------------------------------------------------------------------
// SNS
// ---------------------------------------------------------------------------------------

fn ctx() -> AlertContext {
    AlertContext {
        organization_id: "o-abcdefghij".into(),
        run_id: "run-1".into(),
        tag_key: "apn-link".into(),
        routing: false,
    }
}

/// A published alert reaches an SQS subscriber as the machine-readable `sqs` format, with
/// the subject, and the call returns SNS's message id.
#[tokio::test]
async fn published_alert_reaches_sqs_subscriber_as_json() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.url).await;
    let alerts = Alerts::create(&cfg).await;
    let sns = aws_sdk_sns::Client::new(&cfg);
    let topic = alerts.topic_arn.clone();

    let messages = build_messages(&[PendingAlert::sample("210987654321")], &ctx());
    assert_eq!(messages.len(), 1);
    let notifier = SnsNotifier::new(sns.clone(), &topic);
    let message_id = notifier.publish(&messages[0]).await.unwrap();
    assert!(!message_id.is_empty());

    let received = alerts.received().await;
    assert_eq!(received.len(), 1);
    // Without raw delivery SQS gets SNS's envelope; `Message` is the `sqs` key.
    assert_eq!(received[0].message_id, message_id);
    assert_eq!(received[0].subject, messages[0].subject);
    let alert = &received[0].message;
    assert_eq!(alert["schema"], SCHEMA);
    assert_eq!(alert["alerts"][0]["account_id"], "210987654321");
    assert_eq!(alert["alerts"][0]["link_state"], "UNLINKED");
}

/// Publishing to a missing topic says to check the topic setting and that the alerts stay
/// queued.
#[tokio::test]
async fn missing_topic_keeps_alerts_queued_with_hint() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.url).await;
    let topic = "arn:aws:sns:us-east-1:123456789012:does-not-exist";
    let notifier = SnsNotifier::new(aws_sdk_sns::Client::new(&cfg), topic);
    let alerts = [
        PendingAlert::sample("210987654321"),
        PendingAlert::sample("210987654322"),
    ];
    let messages = build_messages(&alerts, &ctx());
    let err = notifier.publish(&messages[0]).await.unwrap_err();
    let Error::Notify {
        topic: t,
        hint,
        queued,
        ..
    } = &err
    else {
        panic!("unexpected error {err:?}")
    };
    assert_eq!(t, topic);
    assert_eq!(hint, "the topic does not exist: check APNWATCH_TOPIC_ARN");
    assert_eq!(*queued, 2);
    assert!(err.to_string().contains("2 alert(s) stay queued"));
}

// ---------------------------------------------------------------------------------------
// Partner Central: the harness's fake, STS on moto
// ---------------------------------------------------------------------------------------

/// The account whose role the Partner Central session assumes: Partner Central's primary
/// account in these tests.
const PRIMARY: &str = "999988887777";

/// What every Partner Central test reads: active, canceled (and re-activated), pending,
/// expired and rejected SUBSIDIARY links, two per page.
fn fixture() -> Value {
    pc_fixture(
        &[
            ("111111111111", "ACTIVE"),
            ("222222222222", "CANCELED"),
            ("333333333333", "ACTIVE"),
            ("333333333333", "CANCELED"),
            ("444444444444", "ACTIVE"),
        ],
        &[
            ("555555555555", "PENDING"),
            ("444444444444", "PENDING"),
            ("666666666666", "EXPIRED"),
            ("777777777777", "REJECTED"),
        ],
    )
}

/// Wired as deployed, from a function environment in `region`: every endpoint is moto
/// except `AWS_ENDPOINT_URL_PARTNERCENTRAL_ACCOUNT`, the fake; the Partner Central role of
/// [`PRIMARY`] is assumed (with its external id) through moto's STS.
async fn partner_central(
    moto: &Moto,
    fake: &FakePartnerCentral,
    region: &str,
    retry: Option<RetryConfig>,
    catalog: &str,
) -> PartnerCentralAdapter {
    let base = base_config(moto, fake, region).await;
    let base = match retry {
        Some(retry) => base.to_builder().retry_config(retry).build(),
        None => base,
    };
    let (pc, sts) = primary_session_clients(&base).await;
    PartnerCentralAdapter::new(pc, sts, catalog)
}

/// The Partner Central clients of a session on the role of [`PRIMARY`] (with its external
/// id), assumed with `base`'s credentials through STS.
async fn primary_session_clients(
    base: &SdkConfig,
) -> (aws_sdk_partnercentralaccount::Client, aws_sdk_sts::Client) {
    let assumed = assume_role_config(
        base,
        &format!("arn:aws:iam::{PRIMARY}:role/partner-central-reader"),
        PARTNER_CENTRAL_SESSION_NAME,
        Some("apn-link-watch"),
        None,
    )
    .await;
    partner_central_clients(&assumed)
}

async fn base_config(moto: &Moto, fake: &FakePartnerCentral, region: &str) -> SdkConfig {
    let mut env = deployed_env(&moto.url);
    env.insert("AWS_REGION".into(), region.into());
    env.insert(
        "AWS_ENDPOINT_URL_PARTNERCENTRAL_ACCOUNT".into(),
        fake.url.clone(),
    );
    function_sdk_config(&env).await
}

fn set(ids: &[&str]) -> std::collections::BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// What the fixture means once read: the caller is the primary account, ACTIVE wins over
/// CANCELED for the same account, and only PENDING invitations count.
fn assert_fixture_links(links: &apnwatch::domain::link::PartnerCentralLinks) {
    assert_eq!(links.primary_account_id, PRIMARY);
    assert_eq!(
        links.active,
        set(&["111111111111", "333333333333", "444444444444"])
    );
    assert_eq!(links.canceled, set(&["222222222222"]));
    assert_eq!(links.pending, set(&["555555555555"]));
}

/// Active, canceled and pending SUBSIDIARY links are read across every page (empty first
/// pages included), with the catalog and filters sent, in us-east-1 whatever the region.
#[tokio::test]
async fn partner_central_links_follow_every_page() {
    let moto = Moto::start();
    let mut fx = fixture();
    fx["catalog"] = json!("Sandbox");
    fx["leading_empty_page"] = json!(true);
    // An invitation to an email address (not an account yet) is not an account's link.
    fx["invitations"]
        .as_array_mut()
        .unwrap()
        .push(json!({"account_id": "partner@example.com", "status": "PENDING"}));
    let fake = FakePartnerCentral::start(fx);
    let adapter = partner_central(&moto, &fake, "eu-west-1", None, "Sandbox").await;

    let links = adapter.links().await.unwrap();

    assert_fixture_links(&links);
    let connections = fake.requests_of("ListConnections");
    // empty page, then 5 connections 2 by 2
    assert_eq!(connections.len(), 4);
    for r in &connections {
        assert_eq!(r.body["Catalog"], "Sandbox");
        assert_eq!(r.body["ConnectionType"], "SUBSIDIARY");
        assert!(
            r.authorization.contains("/us-east-1/"),
            "{}",
            r.authorization
        );
    }
    let invitations = fake.requests_of("ListConnectionInvitations");
    // empty page, then 3 pending 2 by 2
    assert_eq!(invitations.len(), 3);
    for r in &invitations {
        assert_eq!(r.body["Status"], "PENDING");
        assert_eq!(r.body["ConnectionType"], "SUBSIDIARY");
    }
}

/// Each failure the fake injects maps to a hint that says what to fix; throttling that
/// stops within the SDK's retries is not a failure at all.
#[tokio::test]
async fn partner_central_failures_have_hints() {
    let quick_retries = || {
        RetryConfig::standard()
            .with_max_attempts(2)
            .with_initial_backoff(Duration::from_millis(1))
    };
    let cases = [
        ("AccessDeniedException", "AWS", "grant partnercentral:List"),
        ("ThrottlingException", "AWS", "kept throttling"),
        ("InternalServerException", "AWS", "internal error"),
        // The fake rejects a catalog the partner is not registered in.
        ("", "Sandbox", "APNWATCH_PARTNER_CENTRAL_CATALOG"),
    ];
    let moto = Moto::start();
    for (fail, catalog, expect) in cases {
        let mut fx = fixture();
        if !fail.is_empty() {
            fx["fail"] = json!(fail);
        }
        let fake = FakePartnerCentral::start(fx);
        let adapter =
            partner_central(&moto, &fake, "us-east-1", Some(quick_retries()), catalog).await;
        let err = adapter.links().await.unwrap_err();
        let Error::PartnerCentral {
            operation, hint, ..
        } = &err
        else {
            panic!("unexpected error {err:?}")
        };
        assert!(operation.starts_with("ListConnection"), "{operation}");
        assert!(hint.contains(expect), "{fail}: {hint}");
        assert_eq!(err.kind(), "PartnerCentralError");
    }

    let mut fx = fixture();
    fx["fail"] = json!("ThrottlingException");
    fx["fail_count"] = json!(1);
    let fake = FakePartnerCentral::start(fx);
    let adapter = partner_central(&moto, &fake, "us-east-1", Some(quick_retries()), "AWS").await;
    let links = adapter.links().await.unwrap();
    assert_eq!(links.active.len(), 3);
}

/// Wired as deployed: the base configuration comes from the environment (standard retries,
/// 8 attempts), the Partner Central role is assumed with its external id,
/// `AWS_ENDPOINT_URL_PARTNERCENTRAL_ACCOUNT` redirects the client despite its forced
/// us-east-1, STS stays in the configured region, and the session's account is the primary
/// account.
#[tokio::test]
async fn partner_central_session_wired_from_environment() {
    let moto = Moto::start();
    let fake = FakePartnerCentral::start(fixture());
    let base = base_config(&moto, &fake, "ap-southeast-2").await;
    assert_eq!(base.retry_config().unwrap().max_attempts(), 8);
    let (pc, sts) = primary_session_clients(&base).await;

    assert_eq!(
        sts.config().region().map(|r| r.as_ref()),
        Some("ap-southeast-2")
    );
    let who = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(
        who.arn(),
        Some("arn:aws:sts::999988887777:assumed-role/partner-central-reader/apn-link-watch-partner-central")
    );
    let links = PartnerCentralAdapter::new(pc, sts, "AWS")
        .links()
        .await
        .unwrap();
    assert_fixture_links(&links);

    let requests: Vec<PcRequest> = fake.requests();
    // 5 connections and 2 pending invitations, 2 per page.
    assert_eq!(fake.requests_of("ListConnections").len(), 3);
    assert_eq!(fake.requests_of("ListConnectionInvitations").len(), 1);
    assert!(requests
        .iter()
        .all(|r| r.body["Catalog"] == "AWS" && r.body["ConnectionType"] == "SUBSIDIARY"));
}
