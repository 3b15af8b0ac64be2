//! The world of one test: moto behind the [`Proxy`], the organization, the alert topic and
//! queue and the table, with the process environment of a deployed function pointing at
//! them; and the product as a test drives it, the app built like the Lambda's ([`app`]) and
//! the CLI binary ([`apnwatch_binary`]).

use std::path::{Path, PathBuf};

use apnwatch::app::App;
use apnwatch::run::{RunOptions, RunReport};

use crate::alerts::{Alerts, TOPIC};
use crate::env::set_env;
use crate::moto::{harness_sdk_config, topic_arn, Moto, REGION};
use crate::org::Org;
use crate::proxy::Proxy;
use crate::table::Table;

pub const TABLE: &str = "apn-link-watch-test";

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
/// The environment of a deployed function, pointed at `endpoint`: every `APNWATCH_*` and
/// endpoint variable inherited from the developer's shell is cleared first, profiles and
/// IMDS are switched off so nothing but these values configures the SDK.
pub(crate) fn point_env_at(endpoint: &str) {
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
