//! `infra/fake_partner_central.py` as a test drives it: started from a fixture on a
//! kernel-chosen port, the fixture replaced between runs, and the requests it received.

use std::ffi::OsStr;
use std::process::Child;

use serde_json::{json, Value};

use crate::env::{first_line, spawn_python_fake, stop, TempDir, START_DEADLINE};

/// `infra/fake_partner_central.py` on a kernel-chosen port. It re-reads its fixture on every
/// request, so [`FakePartnerCentral::set_fixture`] takes effect on the next run.
pub struct FakePartnerCentral {
    child: Child,
    pub url: String,
    dir: TempDir,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct PcRequest {
    /// `PartnerCentralAccount.<Operation>`.
    pub target: String,
    pub body: Value,
    /// The SigV4 `Authorization` header: its scope names the region the request was signed for.
    pub authorization: String,
    /// The account the fake attributed the request to (by its access key, through moto's
    /// STS when the fixture names `sts_url`); `None` for the primary's own key before any
    /// lookup.
    pub caller: Option<String>,
}

impl FakePartnerCentral {
    pub fn start(fixture: Value) -> FakePartnerCentral {
        let dir = TempDir::new("partner-central");
        let port_file = dir.path().join("port");
        write_fixture(&dir, &fixture);
        let files = [
            ("--fixture", dir.path().join("fixture.json")),
            ("--log", dir.path().join("requests.jsonl")),
        ];
        let args = files
            .iter()
            .flat_map(|(flag, path)| [OsStr::new(flag), path.as_os_str()]);
        let child = spawn_python_fake("fake_partner_central.py", &port_file, args);
        // Owned from here on: Drop stops it even if the wait below panics.
        let mut fake = FakePartnerCentral {
            child,
            url: String::new(),
            dir,
        };
        match first_line(&mut fake.child, START_DEADLINE) {
            Some(line) if line.trim() == "ready" => {}
            Some(line) => panic!("fake Partner Central did not start (printed {line:?})"),
            None => panic!("fake Partner Central not ready within {START_DEADLINE:?}"),
        }
        let port = std::fs::read_to_string(&port_file).expect("port file");
        fake.url = format!("http://127.0.0.1:{}", port.trim());
        fake
    }

    /// Replaces the fixture (atomically: the fake may be reading it).
    pub fn set_fixture(&self, fixture: &Value) {
        write_fixture(&self.dir, fixture);
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<PcRequest> {
        let log =
            std::fs::read_to_string(self.dir.path().join("requests.jsonl")).unwrap_or_default();
        log.lines()
            .map(|line| {
                let v: Value = serde_json::from_str(line).expect("request log line");
                PcRequest {
                    target: v["target"].as_str().unwrap_or_default().to_string(),
                    body: v["body"].clone(),
                    authorization: v["authorization"].as_str().unwrap_or_default().to_string(),
                    caller: v["caller"].as_str().map(str::to_string),
                }
            })
            .collect()
    }

    /// Requests of one operation, e.g. `ListConnections`.
    pub fn requests_of(&self, operation: &str) -> Vec<PcRequest> {
        let target = format!("PartnerCentralAccount.{operation}");
        self.requests()
            .into_iter()
            .filter(|r| r.target == target)
            .collect()
    }
}

impl Drop for FakePartnerCentral {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// The fake's fixture (see `infra/fake_partner_central.py`): catalog `AWS`, two entries per
/// page, no injected failure, and these `(account id, status)` SUBSIDIARY connections and
/// invitations. Tests adjust the JSON for the rest (`fail`, `catalog`, ...).
pub fn pc_fixture(connections: &[(&str, &str)], invitations: &[(&str, &str)]) -> Value {
    let entries = |list: &[(&str, &str)]| {
        list.iter()
            .map(|(id, status)| json!({"account_id": id, "status": status}))
            .collect::<Vec<_>>()
    };
    json!({"catalog": "AWS", "page_size": 2, "fail": null,
           "connections": entries(connections), "invitations": entries(invitations)})
}

fn write_fixture(dir: &TempDir, fixture: &Value) {
    let tmp = dir.path().join("fixture.json.tmp");
    std::fs::write(&tmp, fixture.to_string()).expect("write fixture");
    std::fs::rename(&tmp, dir.path().join("fixture.json")).expect("replace fixture");
}
