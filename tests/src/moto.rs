//! One moto server per test (started on a free port, stopped by its PID), what moto's
//! default account and region make of names (ARNs), and the SDK configuration the
//! harness's own clients use to reach it directly.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_organizations::config::Credentials;

use crate::env::{free_port, stop, wait_until_listening, workspace_dir, TempDir, START_DEADLINE};

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
        let dir = self.dir.path().to_path_buf();
        wait_until_listening(
            "moto_server",
            &mut self.child,
            self.port,
            START_DEADLINE,
            || std::fs::read_to_string(dir.join("moto.log")).unwrap_or_default(),
        );
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
