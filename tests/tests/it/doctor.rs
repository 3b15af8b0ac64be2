//! `apnwatch doctor` and the `{"apnwatch": "doctor"}` invoke against moto (STS,
//! Organizations, DynamoDB, SNS, CloudTrail) and the fake Partner Central: each check's PASS
//! and its FAIL or WARN paths, through the CLI (the library call and the real binary's exit
//! status) and through the Lambda handler; and the one-line preflight of every other
//! command when the credentials or the region are missing.

use std::io::{Read, Write};
use std::process::Command;

use apnwatch::cli::{execute, Cli};
use apnwatch::domain::doctor::Status;
use apnwatch::lambda::handler;
use clap::Parser;
use integration_tests::{
    apnwatch_binary, app, deployed_env, harness_sdk_config, pc_fixture, scrub_aws_env, sdk_config,
    FakeOrganizations, FakePartnerCentral, World, MOTO_ACCOUNT, TABLE,
};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const ACCEPT_ROLE: &str = "apn-link-watch-accept";
const BUCKET: &str = "org-trail-logs";

/// `apnwatch --json doctor ARGS` through the library: the JSON and whether it exited 0.
async fn doctor_json(args: &[&str]) -> (Value, bool) {
    let argv = ["apnwatch", "--json", "doctor"]
        .into_iter()
        .chain(args.iter().copied());
    let cli = Cli::try_parse_from(argv).expect("doctor parses");
    let (out, ok) = match execute(&app().await, &cli).await {
        Ok(out) => (out, true),
        Err(apnwatch::Error::Unhealthy { output, .. }) => (output, false),
        Err(e) => panic!("doctor failed outright: {}", e.one_line()),
    };
    (serde_json::from_str(&out).unwrap(), ok)
}

/// The `{"apnwatch": "doctor"}` invoke's result.
async fn doctor_invoke() -> Value {
    handler(
        &app().await,
        LambdaEvent::new(json!({"apnwatch": "doctor"}), Context::default()),
    )
    .await
    .unwrap_or_else(|e| panic!("the doctor invoke failed: {}", e.one_line()))
}

/// The checks with `id`.
fn checks<'a>(report: &'a Value, id: &str) -> Vec<&'a Value> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == id)
        .collect()
}

/// The one check with `id`, which must have `status`.
fn check<'a>(report: &'a Value, id: &str, status: &str) -> &'a Value {
    let found = checks(report, id);
    assert_eq!(found.len(), 1, "{id}: {report:#}");
    assert_eq!(found[0]["status"], status, "{id}: {:#}", found[0]);
    found[0]
}

fn found(c: &Value) -> &str {
    c["found"].as_str().unwrap()
}

fn fix(c: &Value) -> &str {
    c["what_to_do"].as_str().expect("what_to_do on WARN/FAIL")
}

/// An S3 bucket in moto (CloudTrail refuses a trail without one), by one plain request:
/// the harness has no S3 client, and moto does not check signatures.
fn create_bucket(world: &World) {
    let port = world.moto.port;
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "PUT /{BUCKET} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Connection: close\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).unwrap();
    let mut out = String::new();
    conn.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "CreateBucket: {out}");
}

/// A multi-Region organization trail in us-east-1 of the management account; logging when
/// `logging`.
async fn trail(world: &World, logging: bool) {
    create_bucket(world);
    let ct = aws_sdk_cloudtrail::Client::new(&harness_sdk_config(&world.moto.url).await);
    ct.create_trail()
        .name("org-trail")
        .s3_bucket_name(BUCKET)
        .is_multi_region_trail(true)
        .is_organization_trail(true)
        .send()
        .await
        .expect("CreateTrail");
    if logging {
        ct.start_logging()
            .name("org-trail")
            .send()
            .await
            .expect("StartLogging");
    }
}

/// Partner Central read from the fake, as the primary account.
fn read_partner_central(world: &World, pc: &FakePartnerCentral) {
    world.set_env(&[
        ("APNWATCH_LINK_SOURCES", Some("partner-central,tag")),
        ("AWS_ENDPOINT_URL_PARTNERCENTRAL_ACCOUNT", Some(&pc.url)),
    ]);
}

fn pc(world: &World, fail: Option<&str>) -> FakePartnerCentral {
    let mut fx = pc_fixture(&[], &[]);
    fx["sts_url"] = json!(world.moto.url);
    if let Some(code) = fail {
        fx["fail"] = json!(code);
    }
    FakePartnerCentral::start(fx)
}

/// `apnwatch doctor` as a user runs it, in the world's environment: its exit code, and
/// what it printed on stdout and on stderr.
fn doctor_binary(world: &World) -> (Option<i32>, String, String) {
    let out = world
        .command(apnwatch_binary())
        .arg("doctor")
        .output()
        .unwrap();
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("doctor prints UTF-8");
    (out.status.code(), text(out.stdout), text(out.stderr))
}

/// A deployment with every prerequisite in place passes every check (moto's ListAccounts
/// carries no Paths: that one WARNs), exits 0 and prints one line per check; the invoke
/// returns the same JSON.
#[tokio::test]
async fn a_complete_deployment_passes() {
    let world = World::start().await;
    let member = world.org.account(&world.org.root_id, "member", &[]).await;
    let pc = pc(&world, None);
    read_partner_central(&world, &pc);
    world.set_env(&[
        ("APNWATCH_ACCEPT_ROLE_NAME", Some(ACCEPT_ROLE)),
        ("APNWATCH_CHANGE_TRIGGERS", Some("true")),
    ]);
    trail(&world, true).await;
    world.run().await;

    let (report, ok) = doctor_json(&[]).await;

    assert!(ok, "{report:#}");
    assert_eq!(report["ok"], true);
    let ids: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, apnwatch::domain::doctor::CHECK_IDS);
    assert!(found(check(&report, "identity", "PASS")).contains(MOTO_ACCOUNT));
    assert!(
        found(check(&report, "organization", "PASS")).contains("which is the management account")
    );
    check(&report, "organizations-paths", "WARN");
    assert!(found(check(&report, "table", "PASS")).contains("TTL on expires_at"));
    check(&report, "topic", "PASS");
    assert!(found(check(&report, "subscriptions", "PASS")).starts_with("1 confirmed: sqs "));
    assert!(found(check(&report, "partner-central", "PASS"))
        .contains(&format!("primary account {MOTO_ACCOUNT}")));
    assert!(found(check(&report, "accept-role", "PASS"))
        .starts_with(&format!("account {member}: assumed")));
    assert!(
        found(check(&report, "change-events", "PASS")).starts_with("organization trail org-trail")
    );
    check(&report, "last-run", "PASS");
    for c in report["checks"].as_array().unwrap() {
        if c["status"] == "PASS" {
            assert!(c["what_to_do"].is_null() && c["doc"].is_null(), "{c}");
        }
    }
    // The same JSON from the invoke, but for the latest run's age, a second older.
    let age = |mut r: Value| {
        r["checks"][9]["found"] = json!("");
        r
    };
    assert_eq!(
        age(doctor_invoke().await),
        age(report),
        "the invoke returns the same JSON"
    );

    let (code, text, _) = doctor_binary(&world);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.starts_with("PASS  identity  "), "{text}");
    assert!(
        text.contains("\nWARN  organizations-paths  ListAccounts answers without Paths"),
        "{text}"
    );
    assert!(text.contains("      what to do: "), "{text}");
    assert!(
        text.ends_with("ok: 0 failed, 1 warning(s), 10 check(s)\n"),
        "{text}"
    );
    println!("{text}");
}

/// An Organizations endpoint whose `ListAccounts` carries `Paths` passes
/// `organizations-paths`; a denied `ListAccounts` is a WARN naming the permission, and the
/// doctor still exits 0.
#[tokio::test]
async fn organizations_paths_pass_with_paths_and_warn_when_denied() {
    let fake = FakeOrganizations::start(5, 2, &["--paths"]);
    let mut env = deployed_env("http://127.0.0.1:9");
    env.insert("AWS_ENDPOINT_URL_ORGANIZATIONS".into(), fake.url.clone());
    let client = apnwatch::aws::organizations_client(&sdk_config(&env).await);

    let paths = apnwatch::aws::doctor::organizations_paths(&client).await;

    assert_eq!(paths.status, Status::Pass, "{paths:?}");
    assert!(
        paths.found.starts_with("ListAccounts answers carry Paths"),
        "{paths:?}"
    );

    let world = World::start().await;
    world.proxy.fail("ListAccounts", 0);
    let (report, ok) = doctor_json(&[]).await;
    assert!(ok, "a WARN is no failure: {report:#}");
    let c = check(&report, "organizations-paths", "WARN");
    assert!(found(c).contains("AccessDeniedException"), "{c}");
    assert!(fix(c).contains("organizations:ListAccounts"), "{c}");
}

/// No trail, then a trail that is not logging: `change-events` FAILs naming the trail and
/// the EventBridge page, and the CLI exits 1; with change triggers off it is a SKIP.
#[tokio::test]
async fn change_events_fail_without_a_logging_trail() {
    let world = World::start().await;
    world.set_env(&[("APNWATCH_CHANGE_TRIGGERS", Some("true"))]);

    let (report, ok) = doctor_json(&[]).await;

    assert!(!ok);
    let c = check(&report, "change-events", "FAIL");
    assert!(
        found(c).starts_with("no CloudTrail trail in us-east-1"),
        "{c}"
    );
    assert!(fix(c).contains("--is-organization-trail"), "{c}");
    assert_eq!(
        c["doc"],
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/event-types.html"
    );

    trail(&world, false).await;
    let report = doctor_invoke().await;
    assert_eq!(report["ok"], false);
    assert!(found(check(&report, "change-events", "FAIL"))
        .starts_with("trail org-trail is not logging"));

    let (code, text, stderr) = doctor_binary(&world);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("FAIL  change-events        trail org-trail is not logging"),
        "{text}"
    );
    assert_eq!(stderr, "apnwatch: DoctorFailed: doctor: failed check(s): change-events; see `what to do` under each\n");

    world.set_env(&[("APNWATCH_CHANGE_TRIGGERS", Some("false"))]);
    let (report, _) = doctor_json(&[]).await;
    check(&report, "change-events", "SKIP");
}

/// A table without TTL, an email subscription pending and none confirmed, Partner Central
/// denying access, a member account without the accept role and no run yet: each is a FAIL
/// or WARN with what to do, through the invoke and the CLI, and the doctor writes and
/// publishes nothing.
#[tokio::test]
async fn a_broken_deployment_says_what_to_do() {
    let world = World::start().await;
    let cfg = harness_sdk_config(&world.moto.url).await;
    let org = &world.org;
    let [with_role, without] = org
        .accounts(&org.root_id, ["with-role", "without-role"])
        .await;
    // Accounts in the table to sample, then the run record removed: "no run yet".
    world.run().await;
    let ddb = aws_sdk_dynamodb::Client::new(&cfg);
    for ((pk, sk), _) in world.table.items().await {
        if pk.starts_with("RUN") || pk.starts_with("run") {
            ddb.delete_item()
                .table_name(TABLE)
                .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
                .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(sk))
                .send()
                .await
                .unwrap();
        }
    }
    ddb.update_time_to_live()
        .table_name(TABLE)
        .time_to_live_specification(
            aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                .enabled(false)
                .attribute_name("expires_at")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("TTL off");
    let sns = aws_sdk_sns::Client::new(&cfg);
    let email = sns
        .subscribe()
        .topic_arn(&world.alerts.topic_arn)
        .protocol("email")
        .endpoint("ops@example.com")
        .return_subscription_arn(true)
        .send()
        .await
        .unwrap()
        .subscription_arn
        .unwrap();
    // moto confirms at once; SNS lists an unconfirmed subscription as PendingConfirmation.
    let listed = sns
        .list_subscriptions_by_topic()
        .topic_arn(&world.alerts.topic_arn)
        .send()
        .await
        .unwrap();
    for s in listed.subscriptions() {
        world
            .proxy
            .rewrite(s.subscription_arn().unwrap(), "PendingConfirmation");
    }
    assert!(!email.is_empty());
    let pc = pc(&world, Some("AccessDeniedException"));
    read_partner_central(&world, &pc);
    world.set_env(&[("APNWATCH_ACCEPT_ROLE_NAME", Some(ACCEPT_ROLE))]);
    world
        .proxy
        .deny_assume_role(&format!("arn:aws:iam::{without}:role/{ACCEPT_ROLE}"));
    world.alerts.received().await;
    let before = world.table.items().await;

    let report = doctor_invoke().await;

    assert_eq!(report["ok"], false);
    let table = check(&report, "table", "FAIL");
    assert!(
        found(table).contains("TTL is not enabled on expires_at"),
        "{table}"
    );
    assert!(fix(table).contains("apnwatch init"), "{table}");
    let subs = checks(&report, "subscriptions");
    assert_eq!(subs.len(), 3, "{subs:?}");
    assert_eq!(subs[0]["status"], "FAIL");
    assert!(
        found(subs[0]).contains("alerts reach nobody"),
        "{}",
        subs[0]
    );
    assert!(subs[1..].iter().all(|s| s["status"] == "WARN"));
    assert!(subs.iter().any(
        |s| found(s) == "email ops@example.com is PendingConfirmation: it receives nothing yet"
    ));
    let pcc = check(&report, "partner-central", "FAIL");
    assert!(found(pcc).contains("AccessDeniedException"), "{pcc}");
    assert!(
        fix(pcc).contains("infra/partner-central-role.yaml"),
        "{pcc}"
    );
    let accept = checks(&report, "accept-role");
    assert_eq!(accept.len(), 2, "{accept:?}");
    let denied = accept
        .iter()
        .find(|c| found(c).starts_with(&format!("account {without}")))
        .unwrap();
    assert_eq!(denied["status"], "FAIL");
    assert!(found(denied).contains("AccessDenied: User: "), "{denied}");
    assert!(
        fix(denied).contains("StackSet") && fix(denied).contains("activate-organizations-access"),
        "{denied}"
    );
    let allowed = accept
        .iter()
        .find(|c| found(c).starts_with(&format!("account {with_role}")))
        .unwrap();
    assert_eq!(allowed["status"], "PASS");
    let last = check(&report, "last-run", "WARN");
    assert_eq!(found(last), "no run recorded in the table yet");

    let (code, text, _) = doctor_binary(&world);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("FAIL  table  ") || text.contains("FAIL  table       "),
        "{text}"
    );
    assert_eq!(text.matches("what to do: ").count(), 8, "{text}");
    println!("{text}");

    assert_eq!(
        world.table.items().await,
        before,
        "the doctor writes nothing"
    );
    assert!(
        world.alerts.received().await.is_empty(),
        "the doctor publishes nothing"
    );
    assert!(pc.requests_of("CreateConnectionInvitation").is_empty());
}

/// `apnwatch` with no region, then with no credentials: one line on stderr naming the fix,
/// no SDK warnings and no colour codes, before any AWS call; the doctor reports the same
/// as its `identity` FAIL and skips the rest.
#[tokio::test]
async fn missing_region_or_credentials_is_told_once() {
    let nowhere = std::env::temp_dir().join("apnwatch-tests-no-such-aws-config");
    let run = |args: &[&str], extra: &[(&str, &str)]| {
        let mut cmd = Command::new(apnwatch_binary());
        scrub_aws_env(&mut cmd);
        cmd.env_remove("RUST_LOG")
            .env_remove("NO_COLOR")
            .env("APNWATCH_TABLE", "t")
            .env("AWS_CONFIG_FILE", &nowhere)
            .env("AWS_SHARED_CREDENTIALS_FILE", &nowhere)
            // IMDS answers nothing here, as on a laptop: the SDK's probe fails and warns.
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")
            .envs(extra.iter().copied())
            .args(args);
        cmd.output().unwrap()
    };

    let out = run(&["accounts"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("apnwatch: ConfigError: configuration: AWS_REGION is not set: "),
        "{stderr}"
    );

    let out = run(&["accounts"], &[("AWS_REGION", "eu-west-1")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("apnwatch: CredentialsError: no AWS credentials: set AWS_PROFILE"),
        "{stderr}"
    );
    assert!(stderr.contains("aws sso login"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no colour codes: {stderr}");

    let out = run(&["--json", "doctor"], &[("AWS_REGION", "eu-west-1")]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let identity = check(&report, "identity", "FAIL");
    assert!(
        found(identity).starts_with("no AWS credentials"),
        "{identity}"
    );
    assert!(fix(identity).contains("AWS_PROFILE"), "{identity}");
    assert_eq!(
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "SKIP")
            .count(),
        9
    );
}

/// The organization denied, a topic that does not exist and the Sandbox catalog: the
/// organization and topic FAIL with their fixes, the checks that need them SKIP saying so,
/// and Sandbox is a WARN.
#[tokio::test]
async fn unreadable_organization_missing_topic_and_sandbox() {
    let world = World::start().await;
    let mut fx = pc_fixture(&[], &[]);
    fx["sts_url"] = json!(world.moto.url);
    fx["catalog"] = json!("Sandbox");
    let pc = FakePartnerCentral::start(fx);
    read_partner_central(&world, &pc);
    let gone = integration_tests::topic_arn("no-such-topic");
    world.set_env(&[
        ("APNWATCH_PARTNER_CENTRAL_CATALOG", Some("Sandbox")),
        ("APNWATCH_TOPIC_ARN", Some(&gone)),
        ("APNWATCH_CHANGE_TRIGGERS", Some("true")),
    ]);
    world.proxy.fail("DescribeOrganization", 0);

    let (report, ok) = doctor_json(&[]).await;

    assert!(!ok);
    let org = check(&report, "organization", "FAIL");
    assert!(found(org).contains("AccessDeniedException"), "{org}");
    assert!(fix(org).contains("infra/org-reader-role.yaml"), "{org}");
    assert_eq!(
        found(check(&report, "organizations-paths", "SKIP")),
        "needs a readable organization"
    );
    assert_eq!(
        found(check(&report, "change-events", "SKIP")),
        "needs a readable organization"
    );
    let topic = check(&report, "topic", "FAIL");
    assert!(found(topic).contains("no-such-topic"), "{topic}");
    assert!(fix(topic).contains("AlertTopicArn"), "{topic}");
    assert_eq!(
        found(check(&report, "subscriptions", "SKIP")),
        "needs the topic"
    );
    let sandbox = check(&report, "partner-central", "WARN");
    assert!(found(sandbox).contains("catalog Sandbox"), "{sandbox}");
    assert!(fix(sandbox).contains("to AWS"), "{sandbox}");
}
