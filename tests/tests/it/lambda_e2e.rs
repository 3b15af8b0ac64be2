//! The Lambda itself, end to end: the `snapshot` binary runs under `cargo lambda watch` (the
//! Lambda runtime API emulator) with a deployed function's environment pointed at moto, and
//! is invoked over HTTP with the payloads in `infra/events/`, exactly as EventBridge or a
//! person would invoke it. What is checked is what users see: the invoke result, the table,
//! the alert a subscriber receives, the error a bad payload gets, the JSON logs.
//!
//! Needs cargo-lambda (`make setup` installs the pinned one into
//! `<workspace>/.venv-tools/cargo-lambda/bin/cargo-lambda`; or set `$CARGO_LAMBDA`) and moto
//! (also `make setup`).
//!
//! `cargo lambda watch` runs the function in a session of its own, so it is started through
//! `infra/lambda_e2e_support/watch_supervisor.py`, which stops the watcher and everything it
//! started when this test drops its handle, panics, or dies.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::{
    cargo_build, first_line, free_port, http, s, scrub_aws_env, wait_until_listening,
    workspace_dir, Item, TempDir, World, MOTO_ACCOUNT,
};
use serde_json::Value;

/// The function's name in the emulator: the binary's name.
const FUNCTION: &str = "snapshot";
const PACKAGE: &str = "apn-link-watch";
/// The watcher answering on its port.
const LISTEN_DEADLINE: Duration = Duration::from_secs(60);
/// One invoke, including the watcher's own `cargo run` freshness check and the cold start.
const INVOKE_DEADLINE: Duration = Duration::from_secs(300);

/// One function under the watcher, its organization and what a scheduled run found.
struct Scenario {
    world: World,
    watch: Watch,
    management: String,
    linked: String,
    prod_api: String,
    sandbox: String,
    sandbox_dev: String,
    unlinked: BTreeSet<String>,
}

impl Scenario {
    /// An organization of four accounts (one tagged linked) and the function watching it.
    async fn start() -> Self {
        let cargo_lambda = cargo_lambda();
        build_function();
        let world = World::start().await;
        let org = &world.org;
        let workloads = org.ou(&org.root_id, "Workloads").await;
        let prod = org.ou(&workloads, "Prod").await;
        let sandbox = org.ou(&org.root_id, "Sandbox").await;
        let linked = org
            .account(&prod, "prod-linked", &[("apn-link", "linked")])
            .await;
        let prod_api = org.account(&prod, "prod-api", &[("team", "api")]).await;
        let sandbox_dev = org.account(&sandbox, "sandbox-dev", &[]).await;
        let management = org.management_account_id.clone();
        assert_eq!(management, MOTO_ACCOUNT);
        let unlinked: BTreeSet<String> = [&management, &prod_api, &sandbox_dev]
            .into_iter()
            .cloned()
            .collect();

        let watch = Watch::start(
            &cargo_lambda,
            &[
                ("AWS_ENDPOINT_URL", world.moto.url.as_str()),
                ("AWS_REGION", "us-east-1"),
                ("AWS_DEFAULT_REGION", "us-east-1"),
                // What Lambda gives a function: its role's session credentials as variables.
                ("AWS_ACCESS_KEY_ID", "test"),
                ("AWS_SECRET_ACCESS_KEY", "test"),
                ("AWS_SESSION_TOKEN", "test"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
                ("AWS_CONFIG_FILE", "/dev/null"),
                ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
                ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
                ("APNWATCH_TABLE", world.table.name.as_str()),
                ("APNWATCH_TOPIC_ARN", world.alerts.topic_arn.as_str()),
                ("APNWATCH_SUMMARY", "off"),
            ],
        );
        Self {
            world,
            watch,
            management,
            linked,
            prod_api,
            sandbox,
            sandbox_dev,
            unlinked,
        }
    }

    /// The schedule's own event, invoked over the Lambda API; returns the result document.
    fn scheduled_run(&self) -> Value {
        let (status, result) = self.watch.invoke(&event_file("scheduled-event.json"));
        assert_eq!(status, 200, "scheduled invoke failed: {result}");
        result
    }

    /// After a baseline run (its one alert read off the test's queue); returns its run id.
    async fn after_baseline() -> (Self, String) {
        let scenario = Self::start().await;
        let result = scenario.scheduled_run();
        assert_eq!(scenario.world.alerts.received().await.len(), 1);
        let run_id = result["run_id"].as_str().expect("run_id").to_string();
        (scenario, run_id)
    }
}

/// A scheduled run invoked over the Lambda API stores every account with where it sits and
/// why it is (un)linked, publishes one alert naming the unlinked ones, logs JSON, and listens
/// on loopback only.
#[tokio::test]
async fn scheduled_event_stores_the_organization_and_alerts_the_unlinked_once() {
    let Scenario {
        world,
        watch,
        management,
        linked,
        prod_api,
        sandbox_dev,
        unlinked,
        ..
    } = Scenario::start().await;
    let org = &world.org;
    // --- The schedule's own event.
    let (status, result) = watch.invoke(&event_file("scheduled-event.json"));
    assert_eq!(status, 200, "scheduled invoke failed: {result}");
    let run_id = result["run_id"].as_str().expect("run_id").to_string();
    assert!(!run_id.is_empty(), "{result}");
    assert_eq!(result["organization_id"], org.id.as_str(), "{result}");
    assert_eq!(result["dry_run"], false, "{result}");
    assert_eq!(result["accounts"], 4, "{result}");
    assert_eq!(result["linked"], 1, "{result}");
    assert_eq!(result["unlinked"], 3, "{result}");
    assert_eq!(result["pending"], 0, "{result}");
    assert_eq!(result["exempt"], 0, "{result}");
    assert_eq!(result["alerts"], 3, "{result}");
    assert_eq!(result["messages"], 1, "{result}");
    let alerted: BTreeSet<String> = result["alerted"]
        .as_array()
        .expect("alerted")
        .iter()
        .map(|a| a["account_id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(alerted, unlinked, "{result}");

    // Nothing the watcher or the function opened listens beyond loopback.
    let listening = watch.listening_sockets();
    assert!(
        listening.iter().any(|l| l.port == watch.port),
        "the invoke port {} is not among the watcher's sockets {listening:?}",
        watch.port
    );
    for l in &listening {
        assert!(
            l.loopback,
            "{} socket bound to {} (hex, /proc/net) port {} listens beyond loopback",
            l.protocol, l.address, l.port
        );
    }

    // The table: one current item per account, with where it sits and why it is (un)linked.
    let items = world.table.items().await;
    let accounts: BTreeMap<String, &Item> = items
        .iter()
        .filter(|((pk, _), _)| pk == "ACCOUNTS")
        .map(|(_, item)| (s(item, "account_id"), item))
        .collect();
    let ids: BTreeSet<&str> = accounts.keys().map(String::as_str).collect();
    let expected_ids: BTreeSet<&str> = [&management, &linked, &prod_api, &sandbox_dev]
        .into_iter()
        .map(String::as_str)
        .collect();
    assert_eq!(ids, expected_ids);
    let linked_item = accounts[&linked];
    assert_eq!(s(linked_item, "sk"), format!("ACCOUNT#{linked}"));
    assert_eq!(s(linked_item, "name"), "prod-linked");
    assert_eq!(s(linked_item, "email"), "prod-linked@example.com");
    assert_eq!(s(linked_item, "ou_path"), "Root/Workloads/Prod");
    assert_eq!(s(linked_item, "link_state"), "LINKED");
    assert_eq!(s(linked_item, "link_source"), "tag");
    assert_eq!(s(linked_item, "gsi1pk"), "LINK#LINKED");
    for id in &unlinked {
        let item = accounts[id];
        assert_eq!(s(item, "link_state"), "UNLINKED", "{id}: {item:?}");
        assert_eq!(s(item, "gsi1pk"), "LINK#UNLINKED", "{id}: {item:?}");
        assert_eq!(item.get("removed"), Some(&AttributeValue::Bool(false)));
        let history = format!("HISTORY#{id}");
        assert!(
            items.keys().any(|(pk, _)| *pk == history),
            "no history for {id}"
        );
    }
    assert_eq!(s(accounts[&sandbox_dev], "ou_path"), "Root/Sandbox");
    assert_eq!(
        accounts[&management].get("is_management"),
        Some(&AttributeValue::Bool(true))
    );
    let runs: Vec<&String> = items
        .keys()
        .filter(|(pk, _)| pk == "RUNS")
        .map(|(_, sk)| sk)
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(runs[0].ends_with(&format!("#{run_id}")), "{runs:?}");
    assert!(
        !items.keys().any(|(pk, _)| pk == "OUTBOX"),
        "alerts stayed queued after a successful publish"
    );

    // The alert, as the SQS subscriber got it.
    let received = world.alerts.received().await;
    assert_eq!(received.len(), 1, "{received:?}");
    let message = &received[0];
    assert_eq!(
        message.subject,
        format!(
            "APN Link Watch: baseline: 3 unlinked accounts in {}",
            org.id
        )
    );
    assert_eq!(message.message["schema"], "apn-link-watch/alert/v1");
    assert_eq!(message.message["run_id"], run_id.as_str());
    assert_eq!(message.message["organization_id"], org.id.as_str());
    let in_message: BTreeSet<String> = message.account_ids().into_iter().collect();
    assert_eq!(in_message, unlinked);
    let api_alert = message.alert(&prod_api);
    assert_eq!(api_alert["reason"], "BASELINE", "{api_alert}");
    assert_eq!(api_alert["link_state"], "UNLINKED", "{api_alert}");
    assert_eq!(api_alert["name"], "prod-api", "{api_alert}");
    assert_eq!(api_alert["ou_path"], "Root/Workloads/Prod", "{api_alert}");

    // AWS_LAMBDA_LOG_FORMAT=JSON reached the function: its log lines are JSON.
    let log = watch.output();
    assert!(
        log.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|l| l["fields"]["message"] == "invoked"),
        "no JSON `invoked` log line from the function:\n{log}"
    );
}

/// A payload that is no EventBridge event is refused as BadEvent before any read or write.
#[tokio::test]
async fn malformed_payload_is_refused_as_bad_event_and_writes_nothing() {
    let (Scenario { world, watch, .. }, _) = Scenario::after_baseline().await;
    // --- A payload that is no EventBridge event: refused before any read or write.
    let before = world.table.items().await;
    let (status, error) = watch.invoke(&event_file("malformed.json"));
    // The emulator answers a function error with 500 and the runtime's error document.
    assert_eq!(status, 500, "malformed payload was not refused: {error}");
    assert_eq!(error["errorType"], "BadEvent", "{error}");
    let text = error["errorMessage"].as_str().unwrap_or_default();
    assert!(text.contains("EventBridge event"), "{error}");
    assert!(text.contains("{}"), "{error}");
    assert_eq!(world.table.items().await, before, "a refused invoke wrote");
    assert!(world.alerts.received().await.is_empty());
}

/// A manual `{}` rerun of an unchanged organization writes no account and publishes nothing.
#[tokio::test]
async fn manual_rerun_of_an_unchanged_organization_writes_and_publishes_nothing() {
    let (Scenario { world, watch, .. }, run_id) = Scenario::after_baseline().await;
    // --- A manual run by hand: nothing changed, so no history and no alert.
    let (status, rerun) = watch.invoke(&event_file("manual.json"));
    assert_eq!(status, 200, "manual invoke failed: {rerun}");
    assert_ne!(rerun["run_id"], run_id.as_str());
    assert_eq!(rerun["accounts"], 4, "{rerun}");
    assert_eq!(rerun["changes"], 0, "{rerun}");
    assert_eq!(rerun["messages"], 0, "{rerun}");
    assert_eq!(
        rerun["account_writes"], 0,
        "an unchanged organization rewrites no account: {rerun}"
    );
    assert!(world.alerts.received().await.is_empty());
}

/// A `CreateAccountResult` event runs at once and alerts the new account (its detection
/// latency is printed).
#[tokio::test]
async fn create_account_event_alerts_the_new_account_at_once() {
    let (
        Scenario {
            world,
            watch,
            sandbox,
            ..
        },
        _,
    ) = Scenario::after_baseline().await;
    let org = &world.org;
    // --- An account is created: its CloudTrail `CreateAccountResult` event, invoked as
    // EventBridge would (here directly; in AWS through the debounce queue), runs at once.
    // Detection latency: from the invoke to the alert in the queue subscribed to the topic.
    let factory_new = org.account(&sandbox, "sandbox-new", &[]).await;
    let mut created: Value =
        serde_json::from_slice(&event_file("organizations-create-account-result.json"))
            .expect("sample event");
    created["time"] = Value::String(chrono::Utc::now().to_rfc3339());
    let payload = serde_json::to_vec(&created).expect("event");
    let started = Instant::now();
    let (status, result) = watch.invoke(&payload);
    let received = world.alerts.received().await;
    let latency = started.elapsed();
    assert_eq!(status, 200, "change event invoke failed: {result}");
    assert_eq!(result["trigger"]["kind"], "organizations", "{result}");
    assert_eq!(
        result["trigger"]["event_name"], "CreateAccountResult",
        "{result}"
    );
    assert_eq!(result["skipped"], false, "{result}");
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].account_ids(), vec![factory_new.clone()]);
    assert_eq!(received[0].alert(&factory_new)["reason"], "NEW_ACCOUNT");
    eprintln!(
        "detection latency (CreateAccountResult invoke -> alert in the subscribed queue): {} ms",
        latency.as_millis()
    );
}

/// An event a run already covered, in an SQS batch beside a body that is no event: no run,
/// and the bad body is handed back for retry.
#[tokio::test]
async fn covered_event_in_an_sqs_batch_skips_the_run_and_returns_the_bad_body() {
    let (Scenario { world, watch, .. }, _) = Scenario::after_baseline().await;
    let created: Value =
        serde_json::from_slice(&event_file("organizations-create-account-result.json"))
            .expect("sample event");
    // --- The same event again, now inside an SQS batch with a body that is no event: the
    // run above covers it (no run), and the bad body is handed back for retry.
    let before = world.table.items().await;
    let batch = serde_json::json!({"Records": [
        {"messageId": "ok", "eventSource": "aws:sqs", "body": created.to_string()},
        {"messageId": "bad", "eventSource": "aws:sqs", "body": "not an event"}
    ]});
    // Older than the run's start minus the margin: covered.
    let mut old = created.clone();
    old["time"] = Value::String((chrono::Utc::now() - chrono::Duration::minutes(10)).to_rfc3339());
    let batch = {
        let mut b = batch;
        b["Records"][0]["body"] = Value::String(old.to_string());
        b
    };
    let (status, result) = watch.invoke(&serde_json::to_vec(&batch).expect("batch"));
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["skipped"], true, "{result}");
    assert_eq!(
        result["batchItemFailures"],
        serde_json::json!([{"itemIdentifier": "bad"}]),
        "{result}"
    );
    assert_eq!(world.table.items().await, before, "a covered batch wrote");
}

fn event_file(name: &str) -> Vec<u8> {
    let path = workspace_dir().join("infra/events").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `$CARGO_LAMBDA`, else `<workspace>/.venv-tools/cargo-lambda/bin/cargo-lambda`, where the
/// Makefile installs the pinned cargo-lambda.
fn cargo_lambda() -> PathBuf {
    if let Some(path) = std::env::var_os("CARGO_LAMBDA") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "CARGO_LAMBDA={} is not a file",
            path.display()
        );
        return path;
    }
    let path = workspace_dir().join(".venv-tools/cargo-lambda/bin/cargo-lambda");
    assert!(
        path.is_file(),
        "cargo-lambda not found at {}: run `make setup` once (or set CARGO_LAMBDA)",
        path.display()
    );
    path
}

/// Builds the function before the watcher starts, so a compile error fails here with
/// cargo's output rather than as an invoke that never answers. The watcher's own
/// `cargo run` then finds it fresh.
fn build_function() {
    cargo_build(&["--package", PACKAGE, "--bin", FUNCTION]);
}

// ---------------------------------------------------------------------------------------
// cargo lambda watch
// ---------------------------------------------------------------------------------------

/// `cargo lambda watch` on 127.0.0.1, behind the supervisor. Dropping it closes the
/// supervisor's stdin, which stops the watcher and the function.
struct Watch {
    supervisor: Child,
    /// Closed on drop: the supervisor's signal to stop everything.
    stdin: Option<ChildStdin>,
    port: u16,
    dir: TempDir,
}

/// A socket some process of the watcher's tree listens on.
#[derive(Debug)]
struct Listening {
    protocol: &'static str,
    address: String,
    port: u16,
    loopback: bool,
}

impl Watch {
    /// Starts the watcher with exactly `env` as the function's configuration: every
    /// inherited `AWS_*` and `APNWATCH_*` variable is removed, so the developer's shell
    /// cannot reroute the function.
    fn start(cargo_lambda: &PathBuf, env: &[(&str, &str)]) -> Watch {
        let dir = TempDir::new("lambda-watch");
        let env_file = dir.path().join("function.env");
        let lines: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        std::fs::write(&env_file, lines).expect("write the env file");
        let log = dir.path().join("watch.log");
        let port = free_port();

        let mut command = Command::new("python3");
        command
            .arg(workspace_dir().join("infra/lambda_e2e_support/watch_supervisor.py"))
            .arg("--log")
            .arg(&log)
            .arg("--")
            .arg(cargo_lambda)
            .args(["lambda", "watch", "--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &port.to_string()])
            .arg("--env-file")
            .arg(&env_file)
            .args(["--ignore-changes", "--package", PACKAGE, "--bin", FUNCTION])
            .current_dir(workspace_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        scrub_aws_env(&mut command);
        let mut supervisor = command
            .spawn()
            .expect("start python3 infra/lambda_e2e_support/watch_supervisor.py");
        let stdin = supervisor.stdin.take();
        // Owned from here on: Drop stops it even if a wait below panics.
        let mut watch = Watch {
            supervisor,
            stdin,
            port,
            dir,
        };

        match first_line(&mut watch.supervisor, LISTEN_DEADLINE) {
            Some(line) if line.starts_with("started ") => {}
            Some(line) => panic!(
                "the watch supervisor did not start cargo-lambda (printed {line:?}):\n{}",
                watch.output()
            ),
            None => panic!("the watch supervisor printed nothing in {LISTEN_DEADLINE:?}"),
        }
        watch.wait_until_listening();
        watch
    }

    fn wait_until_listening(&mut self) {
        let log = self.dir.path().join("watch.log");
        wait_until_listening(
            "cargo lambda watch",
            &mut self.supervisor,
            self.port,
            LISTEN_DEADLINE,
            || std::fs::read_to_string(&log).unwrap_or_default(),
        );
    }

    /// Invokes the function through the Lambda Invoke API path and returns the HTTP status
    /// and the JSON document it answered (the result, or the runtime's error document).
    fn invoke(&self, payload: &[u8]) -> (u16, Value) {
        let path = format!("/2015-03-31/functions/{FUNCTION}/invocations");
        let response = match http::post(self.port, &path, payload, INVOKE_DEADLINE) {
            Ok(response) => response,
            Err(e) => panic!(
                "no answer to the invoke within {INVOKE_DEADLINE:?} ({e}):\n{}",
                self.output()
            ),
        };
        let (status, body) = http::parse_response(&response).unwrap_or_else(|| {
            panic!(
                "not an HTTP response: {}",
                String::from_utf8_lossy(&response)
            )
        });
        let document = serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!(
                "invoke answered {status} with a body that is not JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&body),
                self.output()
            )
        });
        (status, document)
    }

    /// What the watcher and the function printed so far.
    fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("watch.log")).unwrap_or_default()
    }

    /// Every listening TCP socket and unconnected UDP socket held by a process below the
    /// supervisor (the watcher and the function it spawned), read from /proc.
    fn listening_sockets(&self) -> Vec<Listening> {
        let mut inodes = HashSet::new();
        for pid in descendants(self.supervisor.id()) {
            let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
                continue;
            };
            for fd in fds.flatten() {
                let Ok(target) = std::fs::read_link(fd.path()) else {
                    continue;
                };
                let target = target.to_string_lossy().into_owned();
                if let Some(inode) = target
                    .strip_prefix("socket:[")
                    .and_then(|t| t.strip_suffix(']'))
                {
                    inodes.insert(inode.to_string());
                }
            }
        }
        let mut out = Vec::new();
        for (protocol, table) in [
            ("tcp", "/proc/net/tcp"),
            ("tcp6", "/proc/net/tcp6"),
            ("udp", "/proc/net/udp"),
            ("udp6", "/proc/net/udp6"),
        ] {
            let text = std::fs::read_to_string(table).unwrap_or_default();
            for row in text.lines().skip(1) {
                let f: Vec<&str> = row.split_whitespace().collect();
                if f.len() < 10 || !inodes.contains(f[9]) {
                    continue;
                }
                let (local, remote, state) = (f[1], f[2], f[3]);
                let listens = if protocol.starts_with("tcp") {
                    state == "0A"
                } else {
                    remote
                        .split(':')
                        .next()
                        .is_some_and(|a| a.bytes().all(|b| b == b'0'))
                };
                if !listens {
                    continue;
                }
                let (address, port) = local.split_once(':').expect("address:port");
                out.push(Listening {
                    protocol,
                    loopback: is_loopback(address),
                    address: address.to_string(),
                    port: u16::from_str_radix(port, 16).expect("hex port"),
                });
            }
        }
        out
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- cargo lambda watch output ---\n{}", self.output());
        }
        // EOF on its stdin: the supervisor stops the watcher and the function, then exits.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.supervisor.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.supervisor.kill();
        let _ = self.supervisor.wait();
    }
}

/// PIDs of every live process below `root`, from /proc.
fn descendants(root: u32) -> Vec<u32> {
    let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name may hold spaces and parentheses: parse after the last ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut todo = vec![root];
    while let Some(pid) = todo.pop() {
        for &child in children.get(&pid).map(Vec::as_slice).unwrap_or_default() {
            found.push(child);
            todo.push(child);
        }
    }
    found
}

/// /proc/net address (hex, in host byte order per 32-bit word) on the loopback interface:
/// 127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104.
fn is_loopback(hex: &str) -> bool {
    let words: Vec<[u8; 4]> = (0..hex.len() / 8)
        .map(|i| {
            u32::from_str_radix(&hex[i * 8..i * 8 + 8], 16)
                .expect("hex address")
                .to_le_bytes()
        })
        .collect();
    match words.as_slice() {
        [v4] => v4[0] == 127,
        [a, b, c, d] => {
            let bytes: Vec<u8> = [a, b, c, d]
                .iter()
                .flat_map(|w| w.iter().copied())
                .collect();
            let v6 = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).expect("16 bytes"));
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        _ => false,
    }
}
