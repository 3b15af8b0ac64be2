//! `infra/fake_organizations.py` as a test drives it: a generated organization (from a seed,
//! so two fakes with the same arguments serve the same tree) on a kernel-chosen port,
//! optionally with `Paths` in `ListAccounts`, throttling or latency; its request counts;
//! accounts added and tags changed between runs. Stopped by its own PID on `Drop`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::time::Duration;

use serde_json::{json, Value};

use crate::env::{first_line, spawn_python_fake, stop, TempDir, START_DEADLINE};
use crate::http::{parse_response, post};

pub struct FakeOrganizations {
    child: Child,
    pub port: u16,
    /// For `AWS_ENDPOINT_URL_ORGANIZATIONS`.
    pub url: String,
    _dir: TempDir,
}

const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);

impl FakeOrganizations {
    /// `--accounts`, `--ous` and any further flags (`--paths`, `--rate 5`, `--latency-ms 50`).
    pub fn start(accounts: usize, ous: usize, flags: &[&str]) -> FakeOrganizations {
        let dir = TempDir::new("fake-organizations");
        let port_file = dir.path().join("port");
        let (accounts, ous) = (accounts.to_string(), ous.to_string());
        let sizes = ["--accounts", &accounts, "--ous", &ous];
        let child = spawn_python_fake(
            "fake_organizations.py",
            &port_file,
            sizes.iter().chain(flags),
        );
        let mut fake = FakeOrganizations {
            child,
            port: 0,
            url: String::new(),
            _dir: dir,
        };
        match first_line(&mut fake.child, START_DEADLINE) {
            Some(line) if line.starts_with("ready") => {}
            other => panic!("fake Organizations did not start (printed {other:?})"),
        }
        let port = std::fs::read_to_string(&port_file).expect("port file");
        fake.port = port.trim().parse().expect("port number");
        fake.url = format!("http://127.0.0.1:{}", fake.port);
        fake
    }

    /// `GET /_stats`: request counts by operation, `throttled`, the organization's ids.
    pub fn stats(&self) -> Value {
        let mut conn = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the fake");
        conn.set_read_timeout(Some(CONTROL_TIMEOUT)).unwrap();
        write!(
            conn,
            "GET /_stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = Vec::new();
        conn.read_to_end(&mut raw).expect("read /_stats");
        let (_, body) = parse_response(&raw).expect("an HTTP response");
        serde_json::from_slice(&body).expect("stats JSON")
    }

    /// Requests of one operation since the last reset.
    pub fn requests(&self, operation: &str) -> u64 {
        self.stats()["requests"][operation].as_u64().unwrap_or(0)
    }

    /// Every Organizations request since the last reset.
    pub fn total_requests(&self) -> u64 {
        let stats = self.stats();
        stats["requests"]
            .as_object()
            .map(|m| m.values().filter_map(Value::as_u64).sum())
            .unwrap_or(0)
    }

    pub fn reset(&self) {
        self.control("/_stats/reset", json!({}));
    }

    pub fn root_id(&self) -> String {
        self.stats()["root_id"]
            .as_str()
            .expect("root id")
            .to_string()
    }

    /// Adds an account under `parent_id`; returns its id.
    pub fn add_account(&self, parent_id: &str, name: &str, tags: Value) -> String {
        let v = self.control(
            "/_accounts",
            json!({"parent_id": parent_id, "name": name, "tags": tags}),
        );
        v["account_id"].as_str().expect("account id").to_string()
    }

    /// Replaces an account's tags, as `TagResource`/`UntagResource` would.
    pub fn set_tags(&self, account_id: &str, tags: Value) {
        self.control("/_tags", json!({"account_id": account_id, "tags": tags}));
    }

    /// Creates an OU under `parent_id`; returns its id.
    pub fn add_ou(&self, parent_id: &str, name: &str) -> String {
        let v = self.control("/_ous", json!({"parent_id": parent_id, "name": name}));
        v["ou_id"].as_str().expect("OU id").to_string()
    }

    /// Renames an OU, as `UpdateOrganizationalUnit` would.
    pub fn rename_ou(&self, ou_id: &str, name: &str) {
        self.control("/_ous/rename", json!({"ou_id": ou_id, "name": name}));
    }

    /// Deletes an empty OU, as `DeleteOrganizationalUnit` would.
    pub fn delete_ou(&self, ou_id: &str) {
        self.control("/_ous/delete", json!({"ou_id": ou_id}));
    }

    /// From now on `ListAccounts` shows `account_id` under an OU that no listing has, as when
    /// its OU was deleted between the walk's `ListAccounts` and its OU listing.
    pub fn stale_path(&self, account_id: &str) {
        self.control("/_config", json!({"stale_path": account_id}));
    }

    /// Moves an account under `parent_id`, as `MoveAccount` would.
    pub fn move_account(&self, account_id: &str, parent_id: &str) {
        self.control(
            "/_move",
            json!({"account_id": account_id, "parent_id": parent_id}),
        );
    }

    fn control(&self, path: &str, body: Value) -> Value {
        let raw = post(
            self.port,
            path,
            body.to_string().as_bytes(),
            CONTROL_TIMEOUT,
        )
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let (status, body) = parse_response(&raw).expect("an HTTP response");
        assert_eq!(
            status,
            200,
            "POST {path}: {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).expect("JSON")
    }
}

impl Drop for FakeOrganizations {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}
