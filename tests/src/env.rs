//! The test's surroundings: the workspace directory, free ports, changing the process
//! environment (and the one-process-per-test guard that makes that sound), temporary
//! directories, and the start deadline and stop helper every server shares.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// Sets (`Some`) or removes (`None`) process environment variables.
///
/// Why this is sound here, although `set_var` is `unsafe` from edition 2024 on: the danger
/// is another thread reading the environment (e.g. libc's `getenv`) while it changes.
/// - cargo-nextest runs every test in its own process, so no other test shares this
///   environment; [`require_process_per_test`] refuses to run otherwise;
/// - tests use `#[tokio::test]`'s current-thread runtime: SDK clients, their credential
///   providers and the HTTP stack run on this very thread, and every endpoint is an IP
///   literal, so no resolver thread is looking anything up;
/// - the harness's own threads ([`Proxy`](crate::Proxy), the fake's stdout reader) only do
///   socket and pipe I/O, and child processes get a copy of the environment when spawned;
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
pub(crate) fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// How long a server may take to start answering.
pub(crate) const START_DEADLINE: Duration = Duration::from_secs(20);
