//! The `apnwatch` command against moto: the JSON shapes users and scripts rely on, dry runs,
//! errors, and the real binary's exit status and stderr.

use std::process::Command;

use apnwatch::cli::Cli;
use apnwatch::config::ALL_VARS;
use clap::Parser;
use integration_tests::{apnwatch_binary, run_cli, scrub_aws_env, set_env, World};
use serde_json::Value;

/// [`run_cli`] for `--json` commands, parsed.
async fn apnwatch(args: &[&str]) -> Result<Value, apnwatch::Error> {
    let out = run_cli(args).await?;
    Ok(serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("{args:?} printed non-JSON ({e}): {out}")))
}

async fn ok(args: &[&str]) -> Value {
    apnwatch(args)
        .await
        .unwrap_or_else(|e| panic!("apnwatch {args:?}: {}", e.one_line()))
}

fn is_timestamp(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

/// `accounts --json` lists every account with the documented field names and values;
/// `--unlinked` only the unlinked ones.
#[tokio::test]
async fn accounts_json_has_the_documented_fields() {
    let (world, workloads) = World::start_with_ou("Workloads").await;
    let org = &world.org;
    let linked = org.linked_account(&workloads, "linked").await;
    let unlinked = org.account(&workloads, "unlinked", &[]).await;
    ok(&["snapshot", "--json"]).await;

    let out = ok(&["accounts", "--json"]).await;

    let accounts = out["accounts"].as_array().expect("accounts array");
    assert_eq!(accounts.len(), 3);
    // Every account carries exactly the columns `accounts --csv` prints (the same facts in
    // both formats), the documented ones among them.
    let csv = run_cli(&["accounts", "--csv"]).await.unwrap();
    let mut columns: Vec<&str> = csv.lines().next().expect("CSV header").split(',').collect();
    columns.sort_unstable();
    let documented =
        "account_id name email state ou_path link_state link_source first_seen removed";
    for field in documented.split(' ') {
        assert!(columns.contains(&field), "{field} missing in {columns:?}");
    }
    for a in accounts {
        let mut fields: Vec<&str> = a.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(fields, columns, "{a}");
        assert!(is_timestamp(&a["first_seen"]), "{a}");
    }
    let a = accounts
        .iter()
        .find(|a| a["account_id"] == linked.as_str())
        .unwrap();
    assert_eq!(a["name"], "linked");
    assert_eq!(a["email"], "linked@example.com");
    assert_eq!(a["state"], "ACTIVE");
    assert_eq!(a["ou_path"], "Root/Workloads");
    assert_eq!(a["link_state"], "LINKED");
    assert_eq!(a["link_source"], "tag");
    assert_eq!(a["removed"], false);

    let only = ok(&["accounts", "--unlinked", "--json"]).await;
    let mut ids: Vec<&str> = only["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account_id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![org.management_account_id.as_str(), unlinked.as_str()];
    expected.sort();
    assert_eq!(ids, expected);

    // Without --json: a table with the same accounts and a count.
    let table = run_cli(&["accounts"]).await.unwrap();
    assert!(
        table.contains(&linked) && table.contains("Root/Workloads"),
        "{table}"
    );
    assert!(table.trim_end().ends_with("3 account(s)"), "{table}");
}

/// `history --json` lists an account's events oldest first, with at, kind, before and after.
#[tokio::test]
async fn history_json_is_oldest_first() {
    let world = World::start().await;
    let a = world.org.linked_account(&world.org.root_id, "team-a").await;
    ok(&["snapshot", "--json"]).await;
    world.org.untag(&a, "apn-link").await;
    ok(&["snapshot", "--json"]).await;

    let out = ok(&["history", &a, "--json"]).await;

    let events = out["history"].as_array().expect("history array");
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["DISCOVERED", "UNLINKED"]);
    assert_eq!(events[0]["before"], Value::Null);
    assert_eq!(events[0]["after"], "LINKED");
    assert_eq!(events[1]["before"], "LINKED");
    assert_eq!(events[1]["after"], "UNLINKED");
    assert!(events.iter().all(|e| is_timestamp(&e["at"])));
    assert!(events[0]["at"].as_str() <= events[1]["at"].as_str());
}

/// `runs --json` lists runs newest first with their counts.
#[tokio::test]
async fn runs_json_counts_each_run_newest_first() {
    let (world, _) = World::start_with_account("team-a").await;
    let first = ok(&["snapshot", "--json"]).await;
    world.org.linked_account(&world.org.root_id, "linked").await;
    let second = ok(&["snapshot", "--json"]).await;

    let out = ok(&["runs", "--json"]).await;

    let runs = out["runs"].as_array().expect("runs array");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["run_id"], second["run_id"]);
    assert_eq!(runs[1]["run_id"], first["run_id"]);
    assert_eq!(
        (
            &runs[1]["accounts"],
            &runs[1]["unlinked"],
            &runs[1]["alerts"]
        ),
        (&2.into(), &2.into(), &2.into())
    );
    assert_eq!(
        (&runs[0]["accounts"], &runs[0]["linked"], &runs[0]["alerts"]),
        (&3.into(), &1.into(), &1.into())
    );
    assert!(is_timestamp(&runs[0]["started_at"]));
    let limited = ok(&["runs", "--limit", "1", "--json"]).await;
    assert_eq!(limited["runs"].as_array().unwrap().len(), 1);
}

/// `snapshot --json` reports the run: id, counts, changes and alerts.
#[tokio::test]
async fn snapshot_json_reports_the_run() {
    let world = World::start().await;
    let org = &world.org;
    org.account(&org.root_id, "team-a", &[]).await;
    org.linked_account(&org.root_id, "linked").await;
    org.account(&org.root_id, "lab", &[("apn-link", "exempt")])
        .await;

    let out = ok(&["snapshot", "--json"]).await;

    assert!(
        out["run_id"].as_str().is_some_and(|s| !s.is_empty()),
        "{out}"
    );
    assert_eq!(out["organization_id"], org.id.as_str());
    assert_eq!(out["dry_run"], false);
    assert_eq!(out["accounts"], 4);
    assert_eq!(out["linked"], 1);
    assert_eq!(out["unlinked"], 2);
    assert_eq!(out["exempt"], 1);
    assert_eq!(out["changes"], 4, "one DISCOVERED event per account");
    assert_eq!(out["alerts"], 2);
    assert_eq!(world.alerts.received().await.len(), 1);
}

/// `snapshot --dry-run` (which needs no topic) shows what would change and alert, and
/// writes and publishes nothing.
#[tokio::test]
async fn snapshot_dry_run_writes_nothing() {
    let (world, _) = World::start_with_account("team-a").await;
    set_env(&[("APNWATCH_TOPIC_ARN", None)]);
    let before = world.table.items().await;

    let out = ok(&["snapshot", "--dry-run", "--json"]).await;

    assert_eq!(out["dry_run"], true);
    assert_eq!(out["accounts"], 2);
    assert_eq!(out["changes"], 2);
    assert_eq!(out["alerts"], 2, "what would be alerted");
    world.assert_untouched(&before, "a dry run").await;
}

/// `history` of an account the table does not know fails with an error naming the id.
#[tokio::test]
async fn history_of_unknown_account_names_it() {
    let _world = World::start().await;
    ok(&["snapshot", "--json"]).await;

    let err = apnwatch(&["history", "999988887777"]).await.unwrap_err();

    assert_eq!(err.kind(), "NotFound");
    assert!(
        err.one_line().contains("999988887777"),
        "{}",
        err.one_line()
    );
}

/// `init` creates a missing table and leaves an existing one as it is.
#[tokio::test]
async fn init_creates_the_table_once() {
    let world = World::start().await;
    set_env(&[("APNWATCH_TABLE", Some("apn-link-watch-other"))]);

    let first = ok(&["init", "--json"]).await;
    let second = ok(&["init", "--json"]).await;

    assert_eq!(first["table"], "apn-link-watch-other");
    assert_eq!(first["created"], true);
    assert_eq!(second["created"], false);
    let tables = world.table.client.list_tables().send().await.unwrap();
    assert!(tables
        .table_names()
        .iter()
        .any(|t| t == "apn-link-watch-other"));
}

/// The binary without APNWATCH_TABLE exits non-zero with one line on stderr naming the
/// variable, and prints nothing on stdout.
#[tokio::test]
async fn binary_without_table_fails_with_one_line() {
    let mut cmd = Command::new(apnwatch_binary());
    cmd.args(["accounts", "--json"]);
    scrub_aws_env(&mut cmd);
    for var in ALL_VARS {
        cmd.env_remove(var);
    }

    let out = cmd.output().expect("run apnwatch");

    assert!(!out.status.success(), "{:?}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("APNWATCH_TABLE"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// The binary runs a snapshot and lists the unlinked accounts as JSON on stdout.
#[tokio::test]
async fn binary_snapshot_then_accounts_print_json() {
    let (world, a) = World::start_with_account("team-a").await;
    let run = |args: &[&str]| {
        // The world's environment (endpoints, credentials, table, topic), as deployed.
        let out = world
            .command(apnwatch_binary())
            .args(args)
            .output()
            .expect("run apnwatch");
        assert!(
            out.status.success(),
            "apnwatch {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).expect("JSON on stdout")
    };

    let snapshot = run(&["snapshot", "--json"]);
    let accounts = run(&["accounts", "--unlinked", "--json"]);

    assert_eq!(snapshot["accounts"], 2);
    assert!(accounts["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["account_id"] == a.as_str()));
    assert_eq!(world.alerts.received().await.len(), 1);
}

/// `history` with something that is not a 12-digit account id is a usage error from the
/// argument parser, before any table is read.
#[test]
fn history_of_a_malformed_id_is_a_usage_error() {
    let err = Cli::try_parse_from(["apnwatch", "history", "12345"]).unwrap_err();

    assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
    assert!(
        err.to_string().contains("\"12345\" is not an account id"),
        "{err}"
    );
}
