//! The deploy path without an AWS account: the Makefile's sam command lines keep their settings
//! in `samconfig.toml` at the repo root, a redeploy asks nothing and loads every saved
//! parameter, and `sam delete` run from the root finds the stack. sam itself (the pinned CLI in
//! `.venv-tools/sam`) reads the files; every AWS endpoint points at a closed 127.0.0.1 port, and
//! the config holds no deployment bucket, so sam stops before its first AWS call.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// `make ARGS` in the repo root, isolated from an outer `make test` (its flags and jobserver).
fn make(args: &[&str]) -> Output {
    Command::new("make")
        .args(args)
        .current_dir(repo_root())
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .output()
        .expect("make runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The one `sam deploy` line `make -n TARGET` would run.
fn sam_deploy_line(target: &str, vars: &[&str]) -> String {
    let mut args = vec!["-n", target];
    args.extend_from_slice(vars);
    let out = make(&args);
    assert!(
        out.status.success(),
        "make -n {target}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("/sam deploy "))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "make -n {target} should run sam deploy once:\n{text}"
    );
    let build = text.lines().position(|l| l.contains("/sam build "));
    let deploy = text.lines().position(|l| l.contains("/sam deploy "));
    assert!(
        build.is_some() && build < deploy,
        "make -n {target} should sam build before deploying:\n{text}"
    );
    lines[0].to_string()
}

/// Runs a sam command line as the Makefile would, offline, with `--debug` so sam reports which
/// config file and values it loaded.
fn sam_offline(line: &str, cwd: &Path) -> String {
    assert!(
        repo_root().join(".venv-tools/sam/bin/sam").exists(),
        "the pinned sam is missing: run `make setup` (once; it prepares `cargo test`)"
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("{line} --debug"))
        .current_dir(cwd)
        .env("SAM_CLI_TELEMETRY", "0")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .expect("bash runs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// What a guided first deploy saves (the answers that a defaulted redeploy used to drop).
const SAVED: &str = r#"version = 0.1
[default.deploy.parameters]
stack_name = "apn-link-watch"
region = "us-east-1"
capabilities = "CAPABILITY_IAM"
confirm_changeset = true
parameter_overrides = "LinkSources=\"partner-central,tag,list\" PartnerCentralRoleArn=\"arn:aws:iam::111122223333:role/apn-link-watch-reader\" OrgRoleArn=\"arn:aws:iam::444455556666:role/apn-link-watch-org-reader\" AlertEmail=\"ops@example.com\" SlackWorkspaceId=\"T0123ABCD\" SlackChannelId=\"C0123ABCD\" ReservedConcurrency=\"0\""
"#;

/// A scratch directory under target/ with a saved samconfig.toml and a stand-in `sam build`
/// output (the real template, its code replaced by an empty bootstrap).
fn scratch(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = repo_root().join("target/deploy-path-test").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    let build = dir.join("build");
    std::fs::create_dir_all(build.join("SnapshotFunction")).unwrap();
    std::fs::write(build.join("SnapshotFunction/bootstrap"), b"").unwrap();
    let template = std::fs::read_to_string(repo_root().join("template.yaml"))
        .unwrap()
        .replace("CodeUri: functions/snapshot", "CodeUri: SnapshotFunction");
    std::fs::write(build.join("template.yaml"), template).unwrap();
    let config = dir.join("samconfig.toml");
    std::fs::write(&config, SAVED).unwrap();
    (dir, build, config)
}

/// `make deploy` asks nothing and `make deploy-guided` asks everything; both read and write the
/// same samconfig.toml at the repo root, by absolute path, never next to the built template.
#[test]
fn deploy_targets_keep_their_config_at_the_repo_root() {
    let root_config = format!("--config-file {}/samconfig.toml", repo_root().display());

    let redeploy = sam_deploy_line("deploy", &[]);
    assert!(redeploy.contains(&root_config), "{redeploy}");
    assert!(
        redeploy.contains("--template-file target/sam/build/template.yaml"),
        "{redeploy}"
    );
    assert!(
        !redeploy.contains("--guided"),
        "make deploy must not ask again: {redeploy}"
    );

    let first = sam_deploy_line("deploy-guided", &[]);
    assert!(
        first.contains(&root_config) && first.contains("--guided"),
        "{first}"
    );

    let ignored = std::fs::read_to_string(repo_root().join(".gitignore")).unwrap();
    assert!(
        ignored.lines().any(|l| l.trim() == "samconfig.toml"),
        "samconfig.toml must stay out of git"
    );
}

/// Without a saved config, `make deploy` stops at once and points to `make deploy-guided`.
#[test]
fn deploy_without_a_saved_config_points_to_the_guided_deploy() {
    let missing = repo_root().join("target/deploy-path-test/none/samconfig.toml");
    let out = make(&["deploy", &format!("SAM_CONFIG={}", missing.display())]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("make deploy-guided"), "{err}");
    assert!(
        !stdout(&out).contains("sam build"),
        "nothing should be built: {}",
        stdout(&out)
    );
}

/// Two redeploys in a row (with `sam build` emptying the build directory in between) load every
/// saved parameter from the root config each time and leave it untouched.
#[test]
fn two_redeploys_in_a_row_keep_every_saved_parameter() {
    let (dir, build, config) = scratch("redeploy");
    let line = sam_deploy_line(
        "deploy",
        &[
            &format!("SAM_CONFIG={}", config.display()),
            &format!("SAM_BUILD={}", build.display()),
        ],
    );
    for attempt in 1..=2 {
        let log = sam_offline(&line, &repo_root());
        assert!(
            log.contains(&format!("Config file location: {}", config.display())),
            "deploy {attempt}:\n{log}"
        );
        for saved in [
            "'LinkSources': 'partner-central,tag,list'",
            "'PartnerCentralRoleArn': 'arn:aws:iam::111122223333:role/apn-link-watch-reader'",
            "'OrgRoleArn': 'arn:aws:iam::444455556666:role/apn-link-watch-org-reader'",
            "'AlertEmail': 'ops@example.com'",
            "'SlackWorkspaceId': 'T0123ABCD'",
            "'SlackChannelId': 'C0123ABCD'",
            "'ReservedConcurrency': '0'",
        ] {
            assert!(log.contains(saved), "deploy {attempt} lost {saved}:\n{log}");
        }
        assert!(
            log.contains("--stack_name=apn-link-watch"),
            "deploy {attempt}:\n{log}"
        );
        // What `sam build` does to the build directory before the next deploy.
        std::fs::remove_file(build.join("SnapshotFunction/bootstrap")).unwrap();
        std::fs::write(build.join("SnapshotFunction/bootstrap"), b"").unwrap();
        assert!(
            !build.join("samconfig.toml").exists(),
            "nothing may be saved next to the built template"
        );
    }
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        SAVED,
        "a redeploy must not rewrite the config"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// `sam delete` from the directory that holds samconfig.toml (the repo root) finds the stack name.
#[test]
fn sam_delete_from_the_root_finds_the_stack() {
    let (dir, _, _) = scratch("delete");
    let sam = repo_root().join(".venv-tools/sam/bin/sam");
    let log = sam_offline(&format!("{} delete --no-prompts", sam.display()), &dir);
    assert!(log.contains("--stack_name=apn-link-watch"), "{log}");
    assert!(
        log.contains("fetch stack information for apn-link-watch"),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// `make build` builds the Lambda's package alone: at the workspace root, cargo would resolve
/// features over every member and compile the tests crate's `cli` and `test-util` into the
/// bootstrap (`make sam-build-check` checks a built bootstrap for them).
#[test]
fn lambda_build_selects_the_lambda_package_alone() {
    let out = make(&["-n", "build"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.contains("cargo lambda build"))
        .unwrap_or_else(|| panic!("make -n build runs no cargo lambda build:\n{text}"));
    assert!(
        line.contains("--package apn-link-watch") && line.contains("--bin snapshot"),
        "{line}"
    );
    assert!(
        !line.contains("--features") && !line.contains("--workspace"),
        "{line}"
    );
}
