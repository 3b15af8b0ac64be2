//! The test's surroundings: the workspace directory, free ports, [`set_env`] (the
//! product's environment, kept per test rather than in the process), temporary directories,
//! and the start deadline and stop helper every server shares.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// Sets (`Some`) or removes (`None`) variables in the environment the current test's
/// [`World`](crate::World) gives the product (see [`World::set_env`](crate::World::set_env)).
///
/// The process environment is never touched, so tests can share a process: `cargo test`
/// and cargo-nextest both work. Kept as a free function so tests written as
/// `set_env(&[..]); app().await` read as before; it needs a `World` started on this thread.
pub fn set_env(vars: &[(&str, Option<&str>)]) {
    crate::world::with_current(|env| crate::world::set_vars(env, vars));
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

/// `python3 infra/<script> --port 0 --port-file <port_file> <args>`: one of the Python
/// fakes on a kernel-chosen port (it writes the port to `port_file`), its stdout piped for
/// [`first_line`], where it says it is ready.
pub(crate) fn spawn_python_fake<A: AsRef<OsStr>>(
    script: &str,
    port_file: &Path,
    args: impl IntoIterator<Item = A>,
) -> Child {
    let path = workspace_dir().join("infra").join(script);
    assert!(path.exists(), "{} is missing", path.display());
    Command::new("python3")
        .arg(&path)
        .args(["--port", "0", "--port-file"])
        .arg(port_file)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("start python3 infra/{script}: {e}"))
}

/// How long a server may take to start answering.
pub(crate) const START_DEADLINE: Duration = Duration::from_secs(20);

/// Waits until something accepts connections on 127.0.0.1:`port`. Panics, with `output()`
/// (what the server printed), when `child` exits first or `within` passes.
pub fn wait_until_listening(
    what: &str,
    child: &mut Child,
    port: u16,
    within: Duration,
    output: impl Fn() -> String,
) {
    let deadline = Instant::now() + within;
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited with {status} before listening:\n{}",
                output()
            );
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on 127.0.0.1:{port} within {within:?}:\n{}",
            output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The first line `child` prints on its (piped) stdout, or `None` when it prints none
/// within `within`: how a server started on port 0 says it is ready.
pub fn first_line(child: &mut Child, within: Duration) -> Option<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    rx.recv_timeout(within).ok()
}

/// Building a binary (`cargo build`) on a cold target directory.
const BUILD_DEADLINE: Duration = Duration::from_secs(900);

/// `cargo build <args>` in the workspace, for the binaries tests run as child processes: a
/// compile error fails here with cargo's output rather than as a child that never answers.
pub fn cargo_build(args: &[&str]) {
    let started = Instant::now();
    let mut child = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .arg("build")
        .args(args)
        .current_dir(workspace_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cargo build");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stderr.read_to_string(&mut out);
        let _ = tx.send(out);
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for cargo build") {
            break status;
        }
        if started.elapsed() > BUILD_DEADLINE {
            stop(&mut child);
            panic!("cargo build {args:?} took over {BUILD_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = rx.recv().unwrap_or_default();
    assert!(
        status.success(),
        "cargo build {args:?} failed ({status}):\n{output}"
    );
}
