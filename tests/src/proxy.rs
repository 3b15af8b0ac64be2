//! The HTTP proxy in front of moto that the product's clients talk to: it forwards one
//! request at a time (so conditional writes are atomic as on DynamoDB), can fail one
//! Organizations operation after some calls (so a walk fails midway), can refuse STS
//! AssumeRole of chosen roles (moto never refuses one) and can rewrite text in moto's
//! answers (moto confirms every SNS subscription at once; a rewrite shows one pending).

use std::io::{Read, Write};

use crate::http::{find, header, read_request, with_connection_close};
use std::collections::BTreeMap;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Requests of one `X-Amz-Target` and the bytes of their response bodies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    pub requests: usize,
    pub response_bytes: usize,
}

/// An HTTP proxy in front of moto that the product's clients talk to (`AWS_ENDPOINT_URL`).
///
/// It forwards one request at a time. moto's server handles requests on parallel threads
/// and evaluates a conditional write and applies it in separate steps, so two runs racing
/// for the same item (the publish lease, a new account) could both succeed; on DynamoDB a
/// single request is atomic. Serializing requests restores that guarantee, which the
/// concurrency tests depend on, without hiding anything else: requests of concurrent runs
/// still interleave freely.
///
/// [`Proxy::fail`] arms a fault: from then on one Organizations operation is answered with
/// `AccessDeniedException` (which the SDK does not retry) after a number of calls went
/// through, so a walk fails midway.
pub struct Proxy {
    pub url: String,
    port: u16,
    rule: Arc<Mutex<Option<Fault>>>,
    /// Role ARNs whose AssumeRole is answered with STS's AccessDenied.
    denied_roles: Arc<Mutex<Vec<String>>>,
    /// `(from, to)`: text replaced in every response body from moto.
    rewrites: Arc<Mutex<Vec<(String, String)>>>,
    /// Organizations requests seen on the wire, for tests that assert "no walk".
    org_calls: Arc<AtomicUsize>,
    /// Requests and response bytes by `X-Amz-Target`, e.g. `DynamoDB_20120810.Query`.
    traffic: Arc<Mutex<BTreeMap<String, Traffic>>>,
    stopping: Arc<AtomicBool>,
    accept: Option<std::thread::JoinHandle<()>>,
}

struct Fault {
    /// `X-Amz-Target`, e.g. `AWSOrganizationsV20161128.ListAccountsForParent`.
    target: String,
    let_through: usize,
    seen: AtomicUsize,
}

impl Proxy {
    pub fn start(upstream_port: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let rule: Arc<Mutex<Option<Fault>>> = Arc::new(Mutex::new(None));
        let denied_roles: Arc<Mutex<Vec<String>>> = Arc::default();
        let rewrites: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let org_calls = Arc::new(AtomicUsize::new(0));
        let traffic: Arc<Mutex<BTreeMap<String, Traffic>>> = Arc::default();
        let stopping = Arc::new(AtomicBool::new(false));
        let upstream_lock = Arc::new(Mutex::new(()));
        let accept = {
            let rule = rule.clone();
            let denied_roles = denied_roles.clone();
            let rewrites = rewrites.clone();
            let org_calls = org_calls.clone();
            let traffic = traffic.clone();
            let stopping = stopping.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(conn) = conn else { continue };
                    let faults = Faults {
                        rule: rule.clone(),
                        denied_roles: denied_roles.clone(),
                        rewrites: rewrites.clone(),
                        org_calls: org_calls.clone(),
                        traffic: traffic.clone(),
                    };
                    let upstream_lock = upstream_lock.clone();
                    std::thread::spawn(move || {
                        let _ = proxy_one(conn, upstream_port, &faults, &upstream_lock);
                    });
                }
            })
        };
        Proxy {
            url: format!("http://127.0.0.1:{port}"),
            port,
            rule,
            denied_roles,
            rewrites,
            org_calls,
            traffic,
            stopping,
            accept: Some(accept),
        }
    }

    /// From now on, answer Organizations `operation` with AccessDeniedException once
    /// `let_through` more calls of it went through.
    pub fn fail(&self, operation: &str, let_through: usize) {
        *self.rule.lock().unwrap() = Some(Fault {
            target: format!("AWSOrganizationsV20161128.{operation}"),
            let_through,
            seen: AtomicUsize::new(0),
        });
    }

    /// From now on, refuse STS AssumeRole of `role_arn` as STS refuses a caller that the
    /// role's trust policy does not admit, or a role that does not exist: `AccessDenied`.
    pub fn deny_assume_role(&self, role_arn: &str) {
        self.denied_roles.lock().unwrap().push(role_arn.to_string());
    }

    /// From now on, replace `from` with `to` in every answer from moto (e.g. a subscription
    /// ARN with `PendingConfirmation`, as SNS lists an unconfirmed subscription).
    pub fn rewrite(&self, from: &str, to: &str) {
        self.rewrites
            .lock()
            .unwrap()
            .push((from.to_string(), to.to_string()));
    }

    /// Organizations requests forwarded or refused so far (pages and retries included).
    pub fn organizations_calls(&self) -> usize {
        self.org_calls.load(Ordering::SeqCst)
    }

    /// Requests by `X-Amz-Target` since the proxy started (or [`Proxy::reset_traffic`]),
    /// e.g. `DynamoDB_20120810.Query`: what a command really read.
    pub fn traffic(&self) -> BTreeMap<String, Traffic> {
        self.traffic.lock().unwrap().clone()
    }

    pub fn reset_traffic(&self) {
        self.traffic.lock().unwrap().clear();
    }

    /// Forward everything again.
    pub fn heal(&self) {
        *self.rule.lock().unwrap() = None;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// What one connection's thread consults.
struct Faults {
    rule: Arc<Mutex<Option<Fault>>>,
    denied_roles: Arc<Mutex<Vec<String>>>,
    rewrites: Arc<Mutex<Vec<(String, String)>>>,
    org_calls: Arc<AtomicUsize>,
    traffic: Arc<Mutex<BTreeMap<String, Traffic>>>,
}

/// The role an STS AssumeRole request (awsQuery: a form-encoded body with `Action` and
/// `RoleArn`) asks for; `None` for any other request.
fn assume_role_arn(body: &[u8]) -> Option<String> {
    let form = String::from_utf8_lossy(body);
    let field = |name: &str| {
        form.split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .map(percent_decode)
    };
    (field("Action")? == "AssumeRole").then(|| field("RoleArn"))?
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
                continue;
            }
            (b'+', _) => out.push(b' '),
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// STS's refusal in its awsQuery error shape, with the message STS writes for a role whose
/// trust policy does not admit the caller (the same code when the role does not exist).
fn sts_access_denied(role_arn: &str) -> String {
    let payload = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
         <Error><Type>Sender</Type><Code>AccessDenied</Code>\
         <Message>User: arn:aws:sts::123456789012:assumed-role/apn-link-watch/function \
         is not authorized to perform: sts:AssumeRole on resource: {role_arn}</Message></Error>\
         <RequestId>injected-by-the-test-proxy</RequestId></ErrorResponse>"
    );
    format!(
        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\n\
         x-amzn-RequestId: injected\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    )
}

/// One request per connection (`Connection: close` both ways keeps the framing trivial).
fn proxy_one(
    mut client: TcpStream,
    upstream_port: u16,
    faults: &Faults,
    upstream_lock: &Mutex<()>,
) -> std::io::Result<()> {
    let (head, body) = read_request(&mut client)?;
    let target = header(&head, "x-amz-target").unwrap_or_default();
    if target.starts_with("AWSOrganizationsV20161128.") {
        faults.org_calls.fetch_add(1, Ordering::SeqCst);
    }
    if let Some(arn) = assume_role_arn(&body) {
        if faults.denied_roles.lock().unwrap().contains(&arn) {
            client.write_all(sts_access_denied(&arn).as_bytes())?;
            return client.shutdown(Shutdown::Both);
        }
    }
    let inject = match &*faults.rule.lock().unwrap() {
        Some(f) if f.target == target => f.seen.fetch_add(1, Ordering::SeqCst) >= f.let_through,
        _ => false,
    };
    if inject {
        let payload = format!(
            r#"{{"__type":"AccessDeniedException","Message":"injected by the test proxy for {target}"}}"#
        );
        let response = format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\n\
             x-amzn-RequestId: injected\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
            payload.len()
        );
        client.write_all(response.as_bytes())?;
        return client.shutdown(Shutdown::Both);
    }
    let response = {
        let _one_at_a_time = upstream_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port))?;
        upstream.write_all(with_connection_close(&head).as_bytes())?;
        upstream.write_all(&body)?;
        let mut response = Vec::new();
        upstream.read_to_end(&mut response)?;
        response
    };
    let split = find(&response, b"\r\n\r\n").map_or(response.len(), |i| i + 4);
    if !target.is_empty() {
        let mut traffic = faults.traffic.lock().unwrap_or_else(|e| e.into_inner());
        let t = traffic.entry(target.to_string()).or_default();
        t.requests += 1;
        t.response_bytes += response.len() - split;
    }
    let mut head = String::from_utf8_lossy(&response[..split]).into_owned();
    let mut body = response[split..].to_vec();
    let rewrites = faults.rewrites.lock().unwrap().clone();
    if !rewrites.is_empty() && header(&head, "content-length").is_some() {
        let mut text = String::from_utf8_lossy(&body).into_owned();
        for (from, to) in &rewrites {
            text = text.replace(from, to);
        }
        if text.len() != body.len() || text.as_bytes() != body.as_slice() {
            head = head
                .split("\r\n")
                .map(|line| match line.split_once(':') {
                    Some((name, _)) if name.eq_ignore_ascii_case("content-length") => {
                        format!("{name}: {}", text.len())
                    }
                    _ => line.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\r\n");
            body = text.into_bytes();
        }
    }
    client.write_all(with_connection_close(&head).as_bytes())?;
    client.write_all(&body)?;
    client.shutdown(Shutdown::Both)
}
