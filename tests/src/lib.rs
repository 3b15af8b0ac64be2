//! Harness for the end-to-end tests: a real moto server per test, the fake Partner Central,
//! an organization seeded through the Organizations API, an SNS topic with an SQS queue
//! subscribed to it (to read what subscribers receive), raw views of the DynamoDB table, and
//! a proxy in front of moto that serializes requests and injects faults.
//!
//! The product code is driven exactly as deployed: the harness points the standard SDK
//! environment (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`, static test credentials)
//! and the `APNWATCH_*` variables at the servers, then builds [`App::from_env`] like the
//! Lambda does. That needs one process per test: run the suite with
//! `cargo nextest run -p integration-tests` (see [`set_env`]).
//!
//! The harness's own clients (seeding, reading the queue and the table) carry an explicit
//! endpoint and credentials, so they never depend on, nor go through, what a test sets in the
//! environment for the product.
//!
//! Every server binds 127.0.0.1 on a free port and is stopped by its own PID on `Drop`.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use apnwatch::app::App;
use apnwatch::run::{RunOptions, RunReport};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_organizations::config::Credentials;
use aws_sdk_organizations::types::{OrganizationFeatureSet, Tag};
use serde_json::Value;

pub use apnwatch;

/// moto's default account: the caller of every unsigned-by-role request, hence the
/// organization's management account and Partner Central's primary account.
pub const MOTO_ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const TABLE: &str = "apn-link-watch-test";
pub const TOPIC: &str = "apn-link-watch";
const QUEUE: &str = "apn-link-watch-alerts";
/// How long a server may take to start answering.
const START_DEADLINE: Duration = Duration::from_secs(20);

/// The workspace root (where `.venv`, `infra/` and `target/` live).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// A port nobody listens on right now (bind :0, read it, drop the listener).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

// ---------------------------------------------------------------------------------------
// Process environment
// ---------------------------------------------------------------------------------------

/// Sets (`Some`) or removes (`None`) process environment variables.
///
/// Why this is sound here, although `set_var` is `unsafe` from edition 2024 on: the danger
/// is another thread reading the environment (e.g. libc's `getenv`) while it changes.
/// - cargo-nextest runs every test in its own process, so no other test shares this
///   environment; [`require_process_per_test`] refuses to run otherwise;
/// - tests use `#[tokio::test]`'s current-thread runtime: SDK clients, their credential
///   providers and the HTTP stack run on this very thread, and every endpoint is an IP
///   literal, so no resolver thread is looking anything up;
/// - the harness's own threads ([`Proxy`], the fake's stdout reader) only do socket and
///   pipe I/O, and child processes get a copy of the environment when spawned;
/// - callers set variables between runs, never while a request is in flight.
pub fn set_env(vars: &[(&str, Option<&str>)]) {
    require_process_per_test();
    for (key, value) in vars {
        match value {
            Some(v) => std::env::set_var(key, v),
            None => std::env::remove_var(key),
        }
    }
}

/// Panics with instructions unless each test runs in its own process.
pub fn require_process_per_test() {
    let mode = std::env::var("NEXTEST_EXECUTION_MODE").unwrap_or_default();
    assert!(
        mode == "process-per-test",
        "these tests set process environment variables and need one process per test: \
         run them with `cargo nextest run -p integration-tests` (got NEXTEST_EXECUTION_MODE={mode:?})"
    );
}

/// The environment of a deployed function, pointed at `endpoint`: every `APNWATCH_*` and
/// endpoint variable inherited from the developer's shell is cleared first, profiles and
/// IMDS are switched off so nothing but these values configures the SDK.
fn point_env_at(endpoint: &str) {
    let mut vars: Vec<(String, Option<String>)> = Vec::new();
    for key in apnwatch::config::ALL_VARS {
        vars.push((key.to_string(), None));
    }
    for (key, _) in std::env::vars() {
        if key.starts_with("AWS_") {
            vars.push((key, None));
        }
    }
    let nowhere = std::env::temp_dir().join("apnwatch-tests-no-such-aws-config");
    let nowhere = nowhere.to_string_lossy().into_owned();
    let set = [
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", REGION.into()),
        ("AWS_CONFIG_FILE", nowhere.clone()),
        ("AWS_SHARED_CREDENTIALS_FILE", nowhere),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("APNWATCH_TABLE", TABLE.into()),
        ("APNWATCH_TOPIC_ARN", topic_arn(TOPIC)),
    ];
    vars.extend(set.into_iter().map(|(k, v)| (k.to_string(), Some(v))));
    let borrowed: Vec<(&str, Option<&str>)> = vars
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_deref()))
        .collect();
    set_env(&borrowed);
}

/// The ARN moto gives a topic named `name`.
pub fn topic_arn(name: &str) -> String {
    format!("arn:aws:sns:{REGION}:{MOTO_ACCOUNT}:{name}")
}

// ---------------------------------------------------------------------------------------
// Temporary directory
// ---------------------------------------------------------------------------------------

/// A directory under the system temp dir, removed on `Drop`.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("apnwatch-{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Stops a child by its own PID and reaps it.
fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

// ---------------------------------------------------------------------------------------
// moto
// ---------------------------------------------------------------------------------------

/// One moto server for the whole test.
pub struct Moto {
    child: Child,
    pub port: u16,
    pub url: String,
    /// Holds moto's output, shown when it fails to start.
    dir: TempDir,
}

impl Moto {
    /// Starts `<workspace>/.venv/bin/moto_server` (or `$MOTO_SERVER`) on a free port and
    /// waits until it accepts connections.
    pub fn start() -> Moto {
        let bin = std::env::var_os("MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_dir().join(".venv/bin/moto_server"));
        assert!(
            bin.exists(),
            "moto_server not found at {}: run `make venv` (or set MOTO_SERVER)",
            bin.display()
        );
        let dir = TempDir::new("moto");
        let log = std::fs::File::create(dir.path().join("moto.log")).expect("moto log");
        let port = free_port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("moto log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        // Owned from here on: Drop stops it even if the wait below panics.
        let mut moto = Moto {
            child,
            port,
            url: format!("http://127.0.0.1:{port}"),
            dir,
        };
        moto.wait_until_listening();
        moto
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "moto_server exited with {status} before listening:\n{}",
                    self.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on port {} within {START_DEADLINE:?}:\n{}",
                self.port,
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What moto printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("moto.log")).unwrap_or_default()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// SDK configuration for the harness's own clients: explicit endpoint and credentials, so
/// that nothing a test puts in the environment reroutes them.
pub async fn harness_sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "harness"))
        .load()
        .await
}

// ---------------------------------------------------------------------------------------
// The world of one test
// ---------------------------------------------------------------------------------------

/// moto with an organization (management account only), the alert topic with a queue
/// subscribed, the table created through the product's `init` code, and the process
/// environment of a deployed function pointing at all of it (through [`Proxy`]).
pub struct World {
    pub org: Org,
    pub alerts: Alerts,
    pub table: Table,
    /// What the product talks to; see [`Proxy`].
    pub proxy: Proxy,
    pub moto: Moto,
}

impl World {
    pub async fn start() -> World {
        let moto = Moto::start();
        let proxy = Proxy::start(moto.port);
        point_env_at(&proxy.url);
        let cfg = harness_sdk_config(&moto.url).await;
        let org = Org::create(&cfg).await;
        let alerts = Alerts::create(&cfg).await;
        let table = Table {
            client: aws_sdk_dynamodb::Client::new(&cfg),
            name: TABLE.to_string(),
        };
        app()
            .await
            .store()
            .create_table()
            .await
            .expect("create the table through DynamoStore::create_table");
        World {
            org,
            alerts,
            table,
            proxy,
            moto,
        }
    }

    /// One real run of a freshly built app, which must succeed.
    pub async fn run(&self) -> RunReport {
        match app().await.run(RunOptions::default()).await {
            Ok(report) => report,
            Err(e) => panic!("run failed: {}", e.one_line()),
        }
    }
}

/// The app exactly as the Lambda builds it at cold start, from the current environment.
pub async fn app() -> App {
    match App::from_env().await {
        Ok(app) => app,
        Err(e) => panic!("App::from_env failed: {}", e.one_line()),
    }
}

// ---------------------------------------------------------------------------------------
// Organizations seeding
// ---------------------------------------------------------------------------------------

/// The organization on moto, seeded through the Organizations API.
pub struct Org {
    pub client: aws_sdk_organizations::Client,
    pub id: String,
    pub root_id: String,
    pub management_account_id: String,
}

impl Org {
    /// `CreateOrganization` with all features; moto makes the caller the management account.
    pub async fn create(cfg: &SdkConfig) -> Org {
        let client = aws_sdk_organizations::Client::new(cfg);
        let org = client
            .create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await
            .expect("CreateOrganization")
            .organization
            .expect("organization");
        let root_id = client.list_roots().send().await.expect("ListRoots").roots()[0]
            .id()
            .expect("root id")
            .to_string();
        Org {
            id: org.id.expect("organization id"),
            management_account_id: org.master_account_id.expect("management account id"),
            client,
            root_id,
        }
    }

    /// Creates an OU under `parent` and returns its id.
    pub async fn ou(&self, parent: &str, name: &str) -> String {
        self.client
            .create_organizational_unit()
            .parent_id(parent)
            .name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateOrganizationalUnit {name}: {e:?}"))
            .organizational_unit
            .and_then(|ou| ou.id)
            .expect("OU id")
    }

    /// Creates an account named `name` (email `<name>@example.com`) with `tags` and moves it
    /// under `parent`. moto creates accounts synchronously, so the id is known at once.
    pub async fn account(&self, parent: &str, name: &str, tags: &[(&str, &str)]) -> String {
        let tags: Vec<Tag> = tags.iter().map(|(k, v)| tag(k, v)).collect();
        let id = self
            .client
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateAccount {name}: {e:?}"))
            .create_account_status
            .and_then(|s| s.account_id)
            .expect("moto returns the new account id at once");
        if parent != self.root_id {
            self.move_account(&id, &self.root_id, parent).await;
        }
        id
    }

    pub async fn move_account(&self, account_id: &str, from: &str, to: &str) {
        self.client
            .move_account()
            .account_id(account_id)
            .source_parent_id(from)
            .destination_parent_id(to)
            .send()
            .await
            .unwrap_or_else(|e| panic!("MoveAccount {account_id}: {e:?}"));
    }

    pub async fn tag(&self, account_id: &str, key: &str, value: &str) {
        self.client
            .tag_resource()
            .resource_id(account_id)
            .tags(tag(key, value))
            .send()
            .await
            .unwrap_or_else(|e| panic!("TagResource {account_id}: {e:?}"));
    }

    pub async fn untag(&self, account_id: &str, key: &str) {
        self.client
            .untag_resource()
            .resource_id(account_id)
            .tag_keys(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("UntagResource {account_id}: {e:?}"));
    }

    /// moto moves a closed account straight to State `SUSPENDED` (AWS passes through
    /// `PENDING_CLOSURE`).
    pub async fn close_account(&self, account_id: &str) {
        self.client
            .close_account()
            .account_id(account_id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CloseAccount {account_id}: {e:?}"));
    }

    pub async fn remove_account(&self, account_id: &str) {
        self.client
            .remove_account_from_organization()
            .account_id(account_id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("RemoveAccountFromOrganization {account_id}: {e:?}"));
    }
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .expect("key and value are set")
}

// ---------------------------------------------------------------------------------------
// Alerts: SNS topic -> SQS queue
// ---------------------------------------------------------------------------------------

/// The alert topic and a queue subscribed to it, standing in for every subscriber.
pub struct Alerts {
    sqs: aws_sdk_sqs::Client,
    pub topic_arn: String,
    queue_url: String,
}

/// One message as an SQS subscriber got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub subject: String,
    /// The `sqs` key of the published document: schema `apn-link-watch/alert/v1`.
    pub message: Value,
}

impl Received {
    pub fn alerts(&self) -> &[Value] {
        self.message["alerts"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Account ids in the message, in its order.
    pub fn account_ids(&self) -> Vec<String> {
        self.alerts()
            .iter()
            .map(|a| a["account_id"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// The alert entry for one account.
    pub fn alert(&self, account_id: &str) -> &Value {
        self.alerts()
            .iter()
            .find(|a| a["account_id"] == account_id)
            .unwrap_or_else(|| panic!("no alert for {account_id} in {}", self.message))
    }
}

impl Alerts {
    async fn create(cfg: &SdkConfig) -> Alerts {
        let sns = aws_sdk_sns::Client::new(cfg);
        let sqs = aws_sdk_sqs::Client::new(cfg);
        let topic_arn = sns
            .create_topic()
            .name(TOPIC)
            .send()
            .await
            .expect("CreateTopic")
            .topic_arn
            .expect("topic ARN");
        assert_eq!(topic_arn, self::topic_arn(TOPIC), "moto's topic ARN format");
        let queue_url = sqs
            .create_queue()
            .queue_name(QUEUE)
            .send()
            .await
            .expect("CreateQueue")
            .queue_url
            .expect("queue URL");
        let queue_arn = format!("arn:aws:sqs:{REGION}:{MOTO_ACCOUNT}:{QUEUE}");
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .expect("Subscribe");
        Alerts {
            sqs,
            topic_arn,
            queue_url,
        }
    }

    /// Every message delivered since the last call, removed from the queue. moto delivers
    /// to SQS inside `Publish`, so whatever a finished run published is already there.
    pub async fn received(&self) -> Vec<Received> {
        let mut out = Vec::new();
        loop {
            let batch = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .expect("ReceiveMessage");
            let messages = batch.messages.unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                // Without raw delivery the body is SNS's envelope; `Message` is our `sqs` key.
                let envelope: Value =
                    serde_json::from_str(m.body().unwrap_or_default()).expect("SNS envelope");
                let message: Value =
                    serde_json::from_str(envelope["Message"].as_str().expect("envelope Message"))
                        .expect("the sqs key is JSON");
                out.push(Received {
                    subject: envelope["Subject"].as_str().unwrap_or_default().to_string(),
                    message,
                });
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().expect("receipt handle"))
                    .send()
                    .await
                    .expect("DeleteMessage");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Raw table views
// ---------------------------------------------------------------------------------------

pub type Item = HashMap<String, AttributeValue>;

/// The DynamoDB table read raw (Scan), to see exactly what a run wrote.
pub struct Table {
    pub client: aws_sdk_dynamodb::Client,
    pub name: String,
}

impl Table {
    /// Every item by (pk, sk): equal before and after means nothing was written.
    pub async fn items(&self) -> BTreeMap<(String, String), Item> {
        let mut items = BTreeMap::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.name)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .expect("Scan");
            for item in out.items.unwrap_or_default() {
                items.insert((s(&item, "pk"), s(&item, "sk")), item);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return items,
            }
        }
    }

    /// Items whose `pk` starts with `prefix` (`ACCOUNTS`, `HISTORY#`, `OUTBOX`, `RUNS`).
    pub async fn count(&self, prefix: &str) -> usize {
        self.items()
            .await
            .keys()
            .filter(|(pk, _)| pk.starts_with(prefix))
            .count()
    }

    /// Each account item's `rev`, by account id: any write to an account bumps it.
    pub async fn account_revs(&self) -> BTreeMap<String, u64> {
        self.items()
            .await
            .into_iter()
            .filter(|((pk, _), _)| pk == "ACCOUNTS")
            .map(|(_, item)| {
                let rev = match item.get("rev") {
                    Some(AttributeValue::N(n)) => n.parse().expect("rev is a number"),
                    other => panic!("account item without numeric rev: {other:?}"),
                };
                (s(&item, "account_id"), rev)
            })
            .collect()
    }
}

/// A string attribute, or "" when absent.
pub fn s(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => String::new(),
    }
}

// ---------------------------------------------------------------------------------------
// Fake Partner Central
// ---------------------------------------------------------------------------------------

/// `infra/fake_partner_central.py` on a kernel-chosen port. It re-reads its fixture on every
/// request, so [`FakePartnerCentral::set_fixture`] takes effect on the next run.
pub struct FakePartnerCentral {
    child: Child,
    pub url: String,
    dir: TempDir,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct PcRequest {
    /// `PartnerCentralAccount.<Operation>`.
    pub target: String,
    pub body: Value,
}

impl FakePartnerCentral {
    pub fn start(fixture: Value) -> FakePartnerCentral {
        let script = workspace_dir().join("infra/fake_partner_central.py");
        assert!(script.exists(), "{} is missing", script.display());
        let dir = TempDir::new("partner-central");
        let port_file = dir.path().join("port");
        write_fixture(&dir, &fixture);
        let child = Command::new("python3")
            .arg(&script)
            .args(["--port", "0", "--port-file"])
            .arg(&port_file)
            .arg("--fixture")
            .arg(dir.path().join("fixture.json"))
            .arg("--log")
            .arg(dir.path().join("requests.jsonl"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start python3 infra/fake_partner_central.py");
        // Owned from here on: Drop stops it even if the wait below panics.
        let mut fake = FakePartnerCentral {
            child,
            url: String::new(),
            dir,
        };
        let stdout = fake.child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        match rx.recv_timeout(START_DEADLINE) {
            Ok(line) if line.trim() == "ready" => {}
            Ok(line) => panic!("fake Partner Central did not start (printed {line:?})"),
            Err(_) => panic!("fake Partner Central not ready within {START_DEADLINE:?}"),
        }
        let port = std::fs::read_to_string(&port_file).expect("port file");
        fake.url = format!("http://127.0.0.1:{}", port.trim());
        fake
    }

    /// Replaces the fixture (atomically: the fake may be reading it).
    pub fn set_fixture(&self, fixture: &Value) {
        write_fixture(&self.dir, fixture);
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<PcRequest> {
        let log =
            std::fs::read_to_string(self.dir.path().join("requests.jsonl")).unwrap_or_default();
        log.lines()
            .map(|line| {
                let v: Value = serde_json::from_str(line).expect("request log line");
                PcRequest {
                    target: v["target"].as_str().unwrap_or_default().to_string(),
                    body: v["body"].clone(),
                }
            })
            .collect()
    }

    /// Requests of one operation, e.g. `ListConnections`.
    pub fn requests_of(&self, operation: &str) -> Vec<PcRequest> {
        let target = format!("PartnerCentralAccount.{operation}");
        self.requests()
            .into_iter()
            .filter(|r| r.target == target)
            .collect()
    }
}

impl Drop for FakePartnerCentral {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

fn write_fixture(dir: &TempDir, fixture: &Value) {
    let tmp = dir.path().join("fixture.json.tmp");
    std::fs::write(&tmp, fixture.to_string()).expect("write fixture");
    std::fs::rename(&tmp, dir.path().join("fixture.json")).expect("replace fixture");
}

// ---------------------------------------------------------------------------------------
// Proxy in front of moto: one request at a time, and fault injection
// ---------------------------------------------------------------------------------------

/// An HTTP proxy in front of moto that the product's clients talk to (`AWS_ENDPOINT_URL`).
///
/// It forwards one request at a time. moto's server handles requests on parallel threads
/// and evaluates a conditional write and applies it in separate steps, so two runs racing
/// for the same item (the publish lease, a new account) could both succeed; on DynamoDB a
/// single request is atomic. Serializing requests restores that guarantee, which the
/// concurrency tests depend on, without hiding anything else: requests of concurrent runs
/// still interleave freely.
///
/// [`Proxy::fail`] arms a fault: from then on one Organizations operation is answered with
/// `AccessDeniedException` (which the SDK does not retry) after a number of calls went
/// through, so a walk fails midway.
pub struct Proxy {
    pub url: String,
    port: u16,
    rule: Arc<Mutex<Option<Fault>>>,
    stopping: Arc<AtomicBool>,
    accept: Option<std::thread::JoinHandle<()>>,
}

struct Fault {
    /// `X-Amz-Target`, e.g. `AWSOrganizationsV20161128.ListAccountsForParent`.
    target: String,
    let_through: usize,
    seen: AtomicUsize,
}

impl Proxy {
    pub fn start(upstream_port: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let rule: Arc<Mutex<Option<Fault>>> = Arc::new(Mutex::new(None));
        let stopping = Arc::new(AtomicBool::new(false));
        let upstream_lock = Arc::new(Mutex::new(()));
        let accept = {
            let rule = rule.clone();
            let stopping = stopping.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(conn) = conn else { continue };
                    let rule = rule.clone();
                    let upstream_lock = upstream_lock.clone();
                    std::thread::spawn(move || {
                        let _ = proxy_one(conn, upstream_port, &rule, &upstream_lock);
                    });
                }
            })
        };
        Proxy {
            url: format!("http://127.0.0.1:{port}"),
            port,
            rule,
            stopping,
            accept: Some(accept),
        }
    }

    /// From now on, answer Organizations `operation` with AccessDeniedException once
    /// `let_through` more calls of it went through.
    pub fn fail(&self, operation: &str, let_through: usize) {
        *self.rule.lock().unwrap() = Some(Fault {
            target: format!("AWSOrganizationsV20161128.{operation}"),
            let_through,
            seen: AtomicUsize::new(0),
        });
    }

    /// Forward everything again.
    pub fn heal(&self) {
        *self.rule.lock().unwrap() = None;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// One request per connection (`Connection: close` both ways keeps the framing trivial).
fn proxy_one(
    mut client: TcpStream,
    upstream_port: u16,
    rule: &Mutex<Option<Fault>>,
    upstream_lock: &Mutex<()>,
) -> std::io::Result<()> {
    let (head, body) = read_request(&mut client)?;
    let target = header(&head, "x-amz-target").unwrap_or_default();
    let inject = match &*rule.lock().unwrap() {
        Some(f) if f.target == target => f.seen.fetch_add(1, Ordering::SeqCst) >= f.let_through,
        _ => false,
    };
    if inject {
        let payload = format!(
            r#"{{"__type":"AccessDeniedException","Message":"injected by the test proxy for {target}"}}"#
        );
        let response = format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\n\
             x-amzn-RequestId: injected\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
            payload.len()
        );
        client.write_all(response.as_bytes())?;
        return client.shutdown(Shutdown::Both);
    }
    let response = {
        let _one_at_a_time = upstream_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port))?;
        upstream.write_all(with_connection_close(&head).as_bytes())?;
        upstream.write_all(&body)?;
        let mut response = Vec::new();
        upstream.read_to_end(&mut response)?;
        response
    };
    let split = find(&response, b"\r\n\r\n").map_or(response.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    client.write_all(with_connection_close(&head).as_bytes())?;
    client.write_all(&response[split..])?;
    client.shutdown(Shutdown::Both)
}

/// Reads one request: the head (through the blank line) and a `Content-Length` body.
fn read_request(conn: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let length: usize = header(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[end..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok((head, body))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// `head` (ending in a blank line) without its `Connection` header, plus `Connection: close`.
fn with_connection_close(head: &str) -> String {
    let mut out = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        let is_connection = line
            .split_once(':')
            .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("connection"));
        if !is_connection {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    out
}

// ---------------------------------------------------------------------------------------
// The CLI binary
// ---------------------------------------------------------------------------------------

/// `target/<profile>/apnwatch`, next to this test's `deps/` directory. cargo-nextest builds
/// only test targets of this package, so the binary comes from `make test` (or
/// `cargo build --bin apnwatch`); a missing one fails with that instruction.
pub fn apnwatch_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executables live in target/<profile>/deps");
    let bin = profile_dir.join(format!("apnwatch{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build --bin apnwatch` (`make test` does)",
        bin.display()
    );
    bin
}
