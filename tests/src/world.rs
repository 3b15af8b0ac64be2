//! The world of one test: moto behind the [`Proxy`], the organization, the alert topic and
//! queue and the table, and the environment a deployed function would have, pointed at
//! them; and the product as a test drives it: the app built from that environment
//! ([`World::app`], [`app`]) and the CLI binary ([`World::command`], [`apnwatch_binary`]).
//!
//! The environment is a map owned by the world, never the process environment: the
//! product's [`Config`] is read from it with [`Config::from_lookup`] and the SDK
//! configuration with [`apnwatch::aws::sdk_loader`] given the same map, so the SDK resolves
//! region, credentials and `AWS_ENDPOINT_URL[_<SERVICE>]` exactly as it would from a real
//! environment. Tests therefore share a process and plain `cargo test` runs them. Only a
//! child process (the CLI binary, the Lambda under `cargo lambda watch`) gets the map as its
//! real environment, through [`World::command`] / [`World::env`].

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use apnwatch::app::App;
use apnwatch::config::Config;
use apnwatch::domain::model::AccountRecord;
use apnwatch::ports::Queries;
use apnwatch::run::{RunOptions, RunReport};
use aws_types::os_shim_internal::Env;

use crate::alerts::{Alerts, TOPIC};
use crate::moto::{harness_sdk_config, topic_arn, Moto, REGION};
use crate::org::Org;
use crate::proxy::Proxy;
use crate::table::{Item, Table};

pub const TABLE: &str = "apn-link-watch-test";

/// The environment of the function under test: variable name to value.
type Vars = Arc<Mutex<BTreeMap<String, String>>>;

thread_local! {
    /// The environment of the world started last on this thread, for [`set_env`] and
    /// [`app`]. libtest runs each test on its own thread, and `#[tokio::test]` polls the
    /// test body on that thread.
    ///
    /// [`set_env`]: crate::set_env
    static CURRENT: std::cell::RefCell<Option<Vars>> = const { std::cell::RefCell::new(None) };
}

/// moto with an organization (management account only), the alert topic with a queue
/// subscribed, the table created through the product's `init` code, and the environment of
/// a deployed function pointing at all of it (through [`Proxy`]).
pub struct World {
    pub org: Org,
    pub alerts: Alerts,
    pub table: Table,
    /// What the product talks to; see [`Proxy`].
    pub proxy: Proxy,
    pub moto: Moto,
    vars: Vars,
}

impl World {
    pub async fn start() -> World {
        let moto = Moto::start();
        let proxy = Proxy::start(moto.port);
        let vars: Vars = Arc::new(Mutex::new(deployed_env(&proxy.url)));
        CURRENT.with(|c| *c.borrow_mut() = Some(vars.clone()));
        let cfg = harness_sdk_config(&moto.url).await;
        let org = Org::create(&cfg).await;
        let alerts = Alerts::create(&cfg).await;
        let table = Table {
            client: aws_sdk_dynamodb::Client::new(&cfg),
            name: TABLE.to_string(),
        };
        let world = World {
            org,
            alerts,
            table,
            proxy,
            moto,
            vars,
        };
        world
            .app()
            .await
            .store()
            .create_table()
            .await
            .expect("create the table through DynamoStore::create_table");
        world
    }

    /// [`World::start`] with one untagged member account `name` at the root; returns its id
    /// too.
    pub async fn start_with_account(name: &str) -> (World, String) {
        let world = World::start().await;
        let id = world.org.account(&world.org.root_id, name, &[]).await;
        (world, id)
    }

    /// [`World::start`] with one OU named `name` under the root; returns its id too.
    pub async fn start_with_ou(name: &str) -> (World, String) {
        let world = World::start().await;
        let ou = world.org.ou(&world.org.root_id, name).await;
        (world, ou)
    }

    /// Sets (`Some`) or removes (`None`) variables of the function's environment; the next
    /// [`World::app`] (or [`World::run`], or child process) sees them.
    pub fn set_env(&self, vars: &[(&str, Option<&str>)]) {
        set_vars(&self.vars, vars);
    }

    /// The function's environment, as a child process gets it.
    pub fn env(&self) -> BTreeMap<String, String> {
        self.vars.lock().unwrap().clone()
    }

    /// The configuration the function reads from its environment at cold start.
    pub fn config(&self) -> Config {
        self.try_config()
            .unwrap_or_else(|e| panic!("the test's environment is not a valid configuration: {e}"))
    }

    /// [`World::config`], or the start-up error the function would stop with.
    pub fn try_config(&self) -> Result<Config, apnwatch::config::ConfigError> {
        let vars = self.env();
        Config::from_lookup(|k| vars.get(k).cloned())
    }

    /// The app exactly as the Lambda builds it at cold start, from this environment.
    pub async fn app(&self) -> App {
        self.app_with(|_| {}).await
    }

    /// [`World::app`] with `tweak` applied to the configuration first.
    pub async fn app_with(&self, tweak: impl FnOnce(&mut Config)) -> App {
        app_from(self.env(), tweak).await
    }

    /// One real run of a freshly built app, which must succeed.
    pub async fn run(&self) -> RunReport {
        match self.app().await.run(RunOptions::default()).await {
            Ok(report) => report,
            Err(e) => panic!("run failed: {}", e.one_line()),
        }
    }

    /// One run whose alerts the test does not look at (a baseline, say): the queue then
    /// holds only what the runs after it publish.
    pub async fn run_and_discard_alerts(&self) -> RunReport {
        let report = self.run().await;
        self.alerts.received().await;
        report
    }

    /// One more run, which must publish nothing (`why` says what that means here).
    pub async fn assert_quiet_run(&self, why: &str) {
        self.run().await;
        let received = self.alerts.received().await;
        assert!(received.is_empty(), "{why}: {received:?}");
    }

    /// Neither the table nor the topic changed since the table held `before`: `what`
    /// (e.g. "a dry run") wrote and published nothing.
    pub async fn assert_untouched(&self, before: &BTreeMap<(String, String), Item>, what: &str) {
        assert_eq!(&self.table.items().await, before, "{what} wrote");
        let received = self.alerts.received().await;
        assert!(received.is_empty(), "{what} published {received:?}");
    }

    /// `program` with exactly the function's environment: every inherited `AWS_*` and
    /// `APNWATCH_*` variable is removed first, so the developer's shell cannot reroute it.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        scrub_aws_env(&mut command);
        command.envs(self.env());
        command
    }
}

/// Removes every inherited `AWS_*` and `APNWATCH_*` variable from `command`.
pub fn scrub_aws_env(command: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("AWS_") || name.starts_with("APNWATCH_") {
            command.env_remove(&key);
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        CURRENT.with(|c| {
            let mut current = c.borrow_mut();
            if current.as_ref().is_some_and(|v| Arc::ptr_eq(v, &self.vars)) {
                *current = None;
            }
        });
    }
}

/// [`World::app`] of the world started last on this thread, so that `set_env(..)` then
/// `app()` reads as it always did.
pub async fn app() -> App {
    let env = with_current(|vars| vars.lock().unwrap().clone());
    app_from(env, |_| {}).await
}

async fn app_from(env: BTreeMap<String, String>, tweak: impl FnOnce(&mut Config)) -> App {
    let mut config = Config::from_lookup(|k| env.get(k).cloned())
        .unwrap_or_else(|e| panic!("the test's environment is not a valid configuration: {e}"));
    tweak(&mut config);
    App::new(config, &sdk_config(&env).await).await
}

/// Current account records by id, as `apnwatch accounts` reads them (through the product's
/// store, from the world started last on this thread).
pub async fn records() -> BTreeMap<String, AccountRecord> {
    app()
        .await
        .store()
        .accounts(None)
        .await
        .expect("read accounts")
        .into_iter()
        .map(|r| (r.account.id.clone(), r))
        .collect()
}

/// Runs `f` on the environment of the world started last on this thread.
pub(crate) fn with_current<T>(f: impl FnOnce(&Vars) -> T) -> T {
    CURRENT.with(|c| match c.borrow().as_ref() {
        Some(vars) => f(vars),
        None => panic!("no World on this thread: start one with `World::start().await` first"),
    })
}

pub(crate) fn set_vars(vars: &Vars, changes: &[(&str, Option<&str>)]) {
    let mut vars = vars.lock().unwrap();
    for (key, value) in changes {
        match value {
            Some(v) => vars.insert(key.to_string(), v.to_string()),
            None => vars.remove(*key),
        };
    }
}

/// What [`apnwatch::aws::base_sdk_config`] loads, read from `env` instead of the process
/// environment.
pub async fn sdk_config(env: &BTreeMap<String, String>) -> aws_config::SdkConfig {
    let env: HashMap<String, String> = env.clone().into_iter().collect();
    apnwatch::aws::sdk_loader().env(Env::from(env)).load().await
}

/// The environment of a deployed function, pointed at `endpoint`. Profiles and IMDS are
/// switched off so nothing but these values configures the SDK.
pub fn deployed_env(endpoint: &str) -> BTreeMap<String, String> {
    let nowhere = std::env::temp_dir().join("apnwatch-tests-no-such-aws-config");
    let nowhere = nowhere.to_string_lossy().into_owned();
    [
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", REGION.into()),
        ("AWS_CONFIG_FILE", nowhere.clone()),
        ("AWS_SHARED_CREDENTIALS_FILE", nowhere),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("APNWATCH_TABLE", TABLE.into()),
        ("APNWATCH_TOPIC_ARN", topic_arn(TOPIC)),
        // The periodic summary is an extra message per period: the tests that count
        // messages predate it; the summary's own tests turn it on.
        ("APNWATCH_SUMMARY", "off".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// `target/<profile>/apnwatch`, next to this test's `deps/` directory, built once per test
/// process with `cargo build` (a no-op when fresh): another package's binary is not built
/// by `cargo test` of this one, and a stale binary would test old code.
pub fn apnwatch_binary() -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executables live in target/<profile>/deps");
    let bin = profile_dir.join(format!("apnwatch{}", std::env::consts::EXE_SUFFIX));
    BUILT.get_or_init(|| {
        // The workspace's own feature set (the tests crate enables `cli` and `test-util`),
        // so the library this links is the one the test binaries already compiled; building
        // `-p apn-link-watch --features cli` alone would compile the library once more.
        crate::env::cargo_build(&["--workspace", "--bins"]);
    });
    assert!(
        bin.exists(),
        "{} is missing after cargo build",
        bin.display()
    );
    bin
}
