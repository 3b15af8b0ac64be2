//! One moto server per test (started on a free port, stopped by its PID), what moto's
//! default account and region make of names (ARNs), and the SDK configuration the
//! harness's own clients use to reach it directly.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_organizations::config::Credentials;

use crate::env::{stop, wait_until_listening, workspace_dir, TempDir, START_DEADLINE};

/// moto's default account: the caller of every unsigned-by-role request, hence the
/// organization's management account and Partner Central's primary account.
pub const MOTO_ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// The ARN moto gives a topic named `name`.
pub fn topic_arn(name: &str) -> String {
    format!("arn:aws:sns:{REGION}:{MOTO_ACCOUNT}:{name}")
}

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
            "moto_server not found at {}: run `make setup` (or set MOTO_SERVER)",
            bin.display()
        );
        let dir = TempDir::new("moto");
        let log = std::fs::File::create(dir.path().join("moto.log")).expect("moto log");
        // Port 0: the OS picks a port no other process holds and moto prints it. A port chosen
        // here and handed over could be taken by a parallel test's server in between, and this
        // test would then talk to that server's state.
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("moto log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        // Owned from here on: Drop stops it even if the wait below panics.
        let mut moto = Moto {
            child,
            port: 0,
            url: String::new(),
            dir,
        };
        moto.port = moto.announced_port();
        moto.url = format!("http://127.0.0.1:{}", moto.port);
        let dir = moto.dir.path().to_path_buf();
        wait_until_listening(
            "moto_server",
            &mut moto.child,
            moto.port,
            START_DEADLINE,
            || std::fs::read_to_string(dir.join("moto.log")).unwrap_or_default(),
        );
        moto
    }

    /// The port moto bound, from its ` * Running on http://127.0.0.1:PORT` line.
    fn announced_port(&mut self) -> u16 {
        const BANNER: &str = "Running on http://127.0.0.1:";
        let deadline = std::time::Instant::now() + START_DEADLINE;
        loop {
            let log = self.output();
            if let Some(port) = log.split(BANNER).nth(1).and_then(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            }) {
                return port;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("moto_server exited with {status} before listening:\n{log}");
            }
            assert!(
                std::time::Instant::now() < deadline,
                "moto_server named no port within {START_DEADLINE:?}:\n{log}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
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
