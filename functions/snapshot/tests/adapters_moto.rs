//! The AWS adapters against real wire protocols: Organizations and SNS (+SQS) on a moto
//! server, Partner Central on an in-test fake that speaks its JSON protocol (and STS's
//! GetCallerIdentity). Each test starts its own server on a free 127.0.0.1 port and stops
//! it by PID when it ends, passing or panicking.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apnwatch::alert::{build_messages, AlertContext, SCHEMA};
use apnwatch::aws::{
    assume_role_config, base_sdk_config, organizations_client, partner_central_clients,
    ORG_SESSION_NAME, PARTNER_CENTRAL_SESSION_NAME,
};
use apnwatch::error::Error;
use apnwatch::model::{AccountState, AlertReason, LinkSource, LinkState, OrgTree, PendingAlert};
use apnwatch::notify::SnsNotifier;
use apnwatch::org::OrganizationsSource;
use apnwatch::partner_central::PartnerCentralAdapter;
use apnwatch::ports::{Notifier, OrgSource, PartnerCentralSource};
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_organizations::config::Credentials;
use aws_sdk_organizations::types::{OrganizationFeatureSet, Tag};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

// ---------------------------------------------------------------------------------------
// moto server
// ---------------------------------------------------------------------------------------

mod common;
use common::{free_port, sdk_config, Moto};

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
    let org = aws_sdk_organizations::Client::new(cfg);
    org.create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let root = org.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_string();

    let mut parent = root.clone();
    let mut chain = Vec::new();
    for name in OU_CHAIN {
        let ou = org
            .create_organizational_unit()
            .parent_id(&parent)
            .name(name)
            .send()
            .await
            .unwrap();
        parent = ou.organizational_unit().unwrap().id().unwrap().to_string();
        chain.push(parent.clone());
    }
    let sandbox = org
        .create_organizational_unit()
        .parent_id(&root)
        .name("Sandbox")
        .send()
        .await
        .unwrap()
        .organizational_unit()
        .unwrap()
        .id()
        .unwrap()
        .to_string();

    let create = |name: String, tags: Vec<Tag>, dest: String| {
        let org = org.clone();
        let root = root.clone();
        async move {
            let out = org
                .create_account()
                .account_name(&name)
                .email(format!("{name}@example.com"))
                .set_tags(Some(tags))
                .send()
                .await
                .unwrap();
            let id = out
                .create_account_status()
                .unwrap()
                .account_id()
                .unwrap()
                .to_string();
            org.move_account()
                .account_id(&id)
                .source_parent_id(&root)
                .destination_parent_id(&dest)
                .send()
                .await
                .unwrap();
            id
        }
    };
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();

    let mut prod_accounts = Vec::new();
    for i in 0..PROD_ACCOUNTS {
        prod_accounts.push(create(format!("prod-{i:02}"), vec![], chain[1].clone()).await);
    }
    let tagged = create(
        "tagged".into(),
        vec![tag("apn-link", "linked"), tag("team", "data")],
        sandbox.clone(),
    )
    .await;
    let deep_account = create(
        "deep".into(),
        vec![tag("apn-link", "exempt")],
        chain[4].clone(),
    )
    .await;
    let suspended = create("closing".into(), vec![], sandbox).await;
    org.close_account()
        .account_id(&suspended)
        .send()
        .await
        .unwrap();

    Seeded {
        deep_ou: chain[4].clone(),
        deep_account,
        prod_accounts,
        tagged,
        suspended,
    }
}

fn account<'a>(tree: &'a OrgTree, id: &str) -> &'a apnwatch::model::Account {
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
    let tree = source.snapshot(true).await.unwrap();

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

    // DescribeOrganization + ListRoots + 2 lists per unit + the second Prod page + one
    // ListTagsForResource per account.
    let units = tree.units.len() as u64;
    let accounts = tree.accounts.len() as u64;
    assert_eq!(source.calls(), 1 + 1 + 2 * units + 1 + accounts);

    // Without tags: no ListTagsForResource at all, and the tree is otherwise the same.
    let untagged = OrganizationsSource::new(organizations_client(&cfg), 1);
    let tree2 = untagged.snapshot(false).await.unwrap();
    assert_eq!(untagged.calls(), 1 + 1 + 2 * units + 1);
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
    let cfg = aws_config::defaults(BehaviorVersion::latest())
        .region("us-east-1")
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
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
    assert_eq!(tree.accounts.len(), 2);
}

/// A role that cannot be assumed fails the walk with the credentials hint, not a network
/// or permission one.
#[tokio::test]
async fn unassumable_org_role_says_check_the_role() {
    let port = free_port(); // STS unreachable: AssumeRole cannot succeed
    let base = aws_config::defaults(BehaviorVersion::latest())
        .region("us-east-1")
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
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
    let org = aws_sdk_organizations::Client::new(cfg);
    org.create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    org.create_account()
        .account_name("one")
        .email("one@example.com")
        .send()
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------
// SNS
// ---------------------------------------------------------------------------------------

fn pending_alert(account_id: &str) -> PendingAlert {
    PendingAlert {
        id: format!("run-1#{account_id}"),
        run_id: "run-1".into(),
        created_at: chrono::Utc::now(),
        reason: AlertReason::NewAccount,
        account_id: account_id.into(),
        name: "prod-07".into(),
        email: "prod-07@example.com".into(),
        ou_path: "Root/Workloads/Prod".into(),
        state: AccountState::Active,
        link_state: LinkState::Unlinked,
        link_source: LinkSource::None,
        link_detail: "no link evidence from tag, list".into(),
        state_since: None,
        first_seen: None,
        removed: false,
        route: None,
    }
}

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
    let sns = aws_sdk_sns::Client::new(&cfg);
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let topic = sns
        .create_topic()
        .name("apn-link-watch")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let queue_url = sqs
        .create_queue()
        .queue_name("alerts")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .send()
        .await
        .unwrap();

    let messages = build_messages(&[pending_alert("210987654321")], &ctx());
    assert_eq!(messages.len(), 1);
    let notifier = SnsNotifier::new(sns.clone(), &topic);
    let message_id = notifier.publish(&messages[0]).await.unwrap();
    assert!(!message_id.is_empty());

    let received = sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(5)
        .send()
        .await
        .unwrap();
    let received = received.messages();
    assert_eq!(received.len(), 1);
    // Without raw delivery SQS gets SNS's envelope; `Message` is the `sqs` key.
    let envelope: Value = serde_json::from_str(received[0].body().unwrap()).unwrap();
    assert_eq!(envelope["MessageId"], message_id.as_str());
    assert_eq!(envelope["Subject"], messages[0].subject.as_str());
    let alert: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
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
    let alerts = [pending_alert("210987654321"), pending_alert("210987654322")];
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
// Partner Central, on two fakes:
// - `infra/fake_partner_central.py`, the shared fake, for the fixture format, realistic
//   error answers and the deployed-like wiring;
// - an in-test fake that also answers STS GetCallerIdentity, records the SigV4 scope of
//   every request and can serve an empty first page that still carries a token.
// ---------------------------------------------------------------------------------------

/// The in-test fake's data.
#[derive(Clone)]
struct Fixture {
    page_size: usize,
    /// Serve an empty page that still carries a token before the real first page.
    leading_empty_page: bool,
    caller_account: &'static str,
    connections: Vec<(&'static str, &'static str)>,
    invitations: Vec<(&'static str, &'static str)>,
}

#[derive(Debug, Clone)]
struct Seen {
    target: String,
    body: Value,
    authorization: String,
}

struct FakePartnerCentral {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakePartnerCentral {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakePartnerCentral {
    async fn start(fixture: Fixture) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let fixture = fixture.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, fixture, log).await;
                });
            }
        });
        Self { url, seen, task }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Keep-alive HTTP/1.1: one request after another on the connection.
async fn serve(
    stream: tokio::net::TcpStream,
    fixture: Fixture,
    log: Arc<Mutex<Vec<Seen>>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut headers = BTreeMap::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).await?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body).await?;
        let body = String::from_utf8_lossy(&body).to_string();
        let target = headers.get("x-amz-target").cloned().unwrap_or_default();
        let (status, content_type, payload) = respond(&fixture, &target, &body);
        log.lock().unwrap().push(Seen {
            target: if target.is_empty() {
                body.clone()
            } else {
                target
            },
            body: serde_json::from_str(&body).unwrap_or(Value::Null),
            authorization: headers.get("authorization").cloned().unwrap_or_default(),
        });
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n{payload}",
            payload.len()
        );
        reader.get_mut().write_all(response.as_bytes()).await?;
    }
}

fn respond(f: &Fixture, target: &str, body: &str) -> (&'static str, &'static str, String) {
    if target.is_empty() {
        if !body.contains("Action=GetCallerIdentity") {
            return ("400 Bad Request", "text/xml", String::new());
        }
        let xml = format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
             <Arn>arn:aws:sts::{a}:assumed-role/pc/{PARTNER_CENTRAL_SESSION_NAME}</Arn><UserId>AROA:x</UserId><Account>{a}</Account>\
             </GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
            a = f.caller_account
        );
        return ("200 OK", "text/xml", xml);
    }
    const JSON: &str = "application/x-amz-json-1.0";
    let req: Value = serde_json::from_str(body).unwrap();
    let token = req["NextToken"].as_str();
    let (items, key): (Vec<Value>, &str) = match target {
        "PartnerCentralAccount.ListConnections" => (
            f.connections
                .iter()
                .map(|(acct, status)| {
                    json!({"Catalog": req["Catalog"], "Id": format!("conn-{acct}"),
                           "Arn": format!("arn:aws:partnercentral:us-east-1:000000000000:catalog/AWS/connection/conn-{acct}"),
                           "OtherParticipantAccountId": acct, "UpdatedAt": "2023-11-14T22:13:20Z",
                           "ConnectionTypes": {"SUBSIDIARY": {"Status": status}}})
                })
                .collect(),
            "ConnectionSummaries",
        ),
        "PartnerCentralAccount.ListConnectionInvitations" => (
            f.invitations
                .iter()
                .filter(|(_, status)| req["Status"].as_str().is_none_or(|s| s == *status))
                .map(|(acct, status)| {
                    json!({"Catalog": req["Catalog"], "Id": format!("inv-{acct}"),
                           "Arn": format!("arn:aws:partnercentral:us-east-1:000000000000:catalog/AWS/invitation/inv-{acct}"),
                           "ConnectionType": "SUBSIDIARY", "CreatedAt": "2023-11-14T22:13:20Z", "UpdatedAt": "2023-11-14T22:13:20Z",
                           "OtherParticipantIdentifier": acct, "ParticipantType": "SENDER", "Status": status})
                })
                .collect(),
            "ConnectionInvitationSummaries",
        ),
        _ => {
            return (
                "400 Bad Request",
                JSON,
                json!({"__type": "UnknownOperationException"}).to_string(),
            )
        }
    };
    // Token "empty" is the optional leading empty page; "p<N>" starts at item N.
    let start = match token {
        None if f.leading_empty_page => {
            return (
                "200 OK",
                JSON,
                json!({key: [], "NextToken": "empty"}).to_string(),
            )
        }
        None | Some("empty") => 0,
        Some(t) => t.trim_start_matches('p').parse().unwrap(),
    };
    let end = (start + f.page_size).min(items.len());
    let mut out = json!({key: items[start..end]});
    if end < items.len() {
        out["NextToken"] = json!(format!("p{end}"));
    }
    ("200 OK", JSON, out.to_string())
}

fn fixture() -> Fixture {
    Fixture {
        page_size: 2,
        leading_empty_page: true,
        caller_account: "999988887777",
        connections: vec![
            ("111111111111", "ACTIVE"),
            ("222222222222", "CANCELED"),
            ("333333333333", "ACTIVE"),
            ("333333333333", "CANCELED"),
            ("444444444444", "ACTIVE"),
        ],
        invitations: vec![
            ("555555555555", "PENDING"),
            ("444444444444", "PENDING"),
            ("666666666666", "EXPIRED"),
            ("partner@example.com", "PENDING"),
        ],
    }
}

async fn fake_config(url: &str, retry: RetryConfig) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region("eu-west-1")
        .endpoint_url(url)
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .retry_config(retry)
        .load()
        .await
}

fn set(ids: &[&str]) -> std::collections::BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// What the Partner Central fixtures of these tests mean once read: the caller is the primary
/// account, ACTIVE wins over CANCELED for the same account, and only PENDING invitations count.
fn assert_fixture_links(links: &apnwatch::link::PartnerCentralLinks) {
    assert_eq!(links.primary_account_id, "999988887777");
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
    let fake = FakePartnerCentral::start(fixture()).await;
    let cfg = fake_config(&fake.url, RetryConfig::standard()).await;
    let (pc, sts) = partner_central_clients(&cfg);
    let links = PartnerCentralAdapter::new(pc, sts, "Sandbox")
        .links()
        .await
        .unwrap();

    assert_fixture_links(&links);

    let seen = fake.seen();
    let connections: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.target == "PartnerCentralAccount.ListConnections")
        .collect();
    // empty page, then 5 connections 2 by 2
    assert_eq!(connections.len(), 4);
    for s in &connections {
        assert_eq!(s.body["Catalog"], "Sandbox");
        assert_eq!(s.body["ConnectionType"], "SUBSIDIARY");
        assert!(
            s.authorization.contains("/us-east-1/"),
            "{}",
            s.authorization
        );
    }
    let invitations: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.target == "PartnerCentralAccount.ListConnectionInvitations")
        .collect();
    // empty page, then 3 pending 2 by 2
    assert_eq!(invitations.len(), 3);
    for s in &invitations {
        assert_eq!(s.body["Status"], "PENDING");
        assert_eq!(s.body["ConnectionType"], "SUBSIDIARY");
    }
    // STS stays in the configured region.
    let sts_call = seen
        .iter()
        .find(|s| s.target.contains("GetCallerIdentity"))
        .unwrap();
    assert!(
        sts_call.authorization.contains("/eu-west-1/sts/"),
        "{}",
        sts_call.authorization
    );
}

/// `infra/fake_partner_central.py` on a kernel-chosen 127.0.0.1 port, stopped by PID.
struct PyFake {
    child: Child,
    url: String,
    dir: PathBuf,
}

impl PyFake {
    fn start(fixture: Value) -> PyFake {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/fake_partner_central.py");
        let dir = std::env::temp_dir().join(format!(
            "apnwatch-fake-pc-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("fixture.json"), fixture.to_string()).unwrap();
        let child = Command::new("python3")
            .arg(&script)
            .args(["--port", "0", "--fixture"])
            .arg(dir.join("fixture.json"))
            .arg("--log")
            .arg(dir.join("requests.jsonl"))
            .arg("--port-file")
            .arg(dir.join("port"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start fake_partner_central.py");
        let mut fake = PyFake {
            child,
            url: String::new(),
            dir,
        };
        let mut ready = String::new();
        std::io::BufReader::new(fake.child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(ready.trim(), "ready", "fake Partner Central did not start");
        let port = std::fs::read_to_string(fake.dir.join("port")).unwrap();
        fake.url = format!("http://127.0.0.1:{}", port.trim());
        fake
    }

    /// Every request the fake received: `{"target": ..., "body": ...}`.
    fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("requests.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for PyFake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn shared_fixture() -> Value {
    json!({
        "catalog": "AWS",
        "page_size": 2,
        "fail": null,
        "connections": [
            {"account_id": "111111111111", "status": "ACTIVE"},
            {"account_id": "222222222222", "status": "CANCELED"},
            {"account_id": "333333333333", "status": "ACTIVE"},
            {"account_id": "333333333333", "status": "CANCELED"},
            {"account_id": "444444444444", "status": "ACTIVE"}
        ],
        "invitations": [
            {"account_id": "555555555555", "status": "PENDING"},
            {"account_id": "444444444444", "status": "PENDING"},
            {"account_id": "666666666666", "status": "EXPIRED"},
            {"account_id": "777777777777", "status": "REJECTED"}
        ]
    })
}

/// Each failure the shared fake injects maps to a hint that says what to fix; throttling
/// that stops within the SDK's retries is not a failure at all.
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
    let sts_fake = FakePartnerCentral::start(fixture()).await;
    for (fail, catalog, expect) in cases {
        let mut fx = shared_fixture();
        if !fail.is_empty() {
            fx["fail"] = json!(fail);
        }
        let fake = PyFake::start(fx);
        let (pc, _) = partner_central_clients(&fake_config(&fake.url, quick_retries()).await);
        let (_, sts) = partner_central_clients(&fake_config(&sts_fake.url, quick_retries()).await);
        let err = PartnerCentralAdapter::new(pc, sts, catalog)
            .links()
            .await
            .unwrap_err();
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

    let mut fx = shared_fixture();
    fx["fail"] = json!("ThrottlingException");
    fx["fail_count"] = json!(1);
    let fake = PyFake::start(fx);
    let (pc, _) = partner_central_clients(&fake_config(&fake.url, quick_retries()).await);
    let (_, sts) = partner_central_clients(&fake_config(&sts_fake.url, quick_retries()).await);
    let links = PartnerCentralAdapter::new(pc, sts, "AWS")
        .links()
        .await
        .unwrap();
    assert_eq!(links.active.len(), 3);
}

/// Sets environment variables for one test and removes them when it ends, even by panic.
struct EnvGuard(Vec<&'static str>);

impl EnvGuard {
    fn set(vars: &[(&'static str, &str)]) -> EnvGuard {
        for (k, v) in vars {
            std::env::set_var(k, v);
        }
        EnvGuard(vars.iter().map(|(k, _)| *k).collect())
    }
}

impl Drop for EnvGuard {
    fn drop(&mut self) {
        for k in &self.0 {
            std::env::remove_var(k);
        }
    }
}

/// Wired as deployed: the base configuration comes from the environment, the Partner
/// Central role is assumed with its external id, `AWS_ENDPOINT_URL_PARTNERCENTRAL_ACCOUNT`
/// redirects the client despite its forced us-east-1, and the session's account is the
/// primary account.
#[tokio::test]
async fn partner_central_session_wired_from_environment() {
    let moto = Moto::start();
    let fake = PyFake::start(shared_fixture());
    // Only this test sets these, for its whole run: the credentials chain reads them
    // lazily, at the first call. Every other test sets region, credentials and endpoint in
    // code, which win over the environment. IMDS is off so that nothing leaves the machine.
    let _env = EnvGuard::set(&[
        ("AWS_REGION", "ap-southeast-2"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL_STS", &moto.url),
        ("AWS_ENDPOINT_URL_PARTNERCENTRAL_ACCOUNT", &fake.url),
    ]);
    let base = base_sdk_config().await;
    assert_eq!(base.retry_config().unwrap().max_attempts(), 8);
    let assumed = assume_role_config(
        &base,
        "arn:aws:iam::999988887777:role/partner-central-reader",
        PARTNER_CENTRAL_SESSION_NAME,
        Some("apn-link-watch"),
        None,
    )
    .await;
    let (pc, sts) = partner_central_clients(&assumed);

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

    let requests = fake.requests();
    let count = |target: &str| requests.iter().filter(|r| r["target"] == target).count();
    // 5 connections and 2 pending invitations, 2 per page.
    assert_eq!(count("PartnerCentralAccount.ListConnections"), 3);
    assert_eq!(count("PartnerCentralAccount.ListConnectionInvitations"), 1);
    assert!(requests
        .iter()
        .all(|r| r["body"]["Catalog"] == "AWS" && r["body"]["ConnectionType"] == "SUBSIDIARY"));
}
