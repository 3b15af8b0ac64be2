//! Harness for the end-to-end tests: a real moto server per test, the fake Partner Central,
//! an organization seeded through the Organizations API, an SNS topic with an SQS queue
//! subscribed to it (to read what subscribers receive), raw views of the DynamoDB table, and
//! a proxy in front of moto that serializes requests and injects faults.
//!
//! The product code is driven as deployed: each [`World`] keeps the environment of a
//! deployed function (the standard SDK variables `AWS_ENDPOINT_URL`,
//! `AWS_ENDPOINT_URL_<SERVICE>`, static test credentials, and the `APNWATCH_*` variables)
//! pointed at its servers, and builds the app from it with [`Config::from_lookup`] and
//! [`App::new`], the SDK reading the same map. The process environment is never changed, so
//! tests share a process: `cargo test` works, and `make test` uses cargo-nextest for speed.
//! Child processes (the CLI binary, the Lambda) get the map as their environment.
//!
//! [`Config::from_lookup`]: apnwatch::config::Config::from_lookup
//! [`App::new`]: apnwatch::app::App::new
//!
//! The harness's own clients (seeding, reading the queue and the table) carry an explicit
//! endpoint and credentials, so they never depend on, nor go through, what a test sets in the
//! environment for the product.
//!
//! Every server binds 127.0.0.1 on a free port and is stopped by its own PID on `Drop`.
//!
//! # Layout
//!
//! - [`env`]: the workspace directory, free ports, [`set_env`], [`cargo_build`], [`TempDir`],
//!   and the start deadline and stop helper the servers share.
//! - [`moto`]: [`Moto`], moto's account, region and ARNs ([`topic_arn`]), and
//!   [`harness_sdk_config`] for the harness's own clients.
//! - [`http`]: the one piece of hand-written HTTP/1.1 (proxying, invoking the emulator).
//! - [`proxy`]: the [`Proxy`] in front of moto (one request at a time, fault injection).
//! - [`partner_central`]: [`FakePartnerCentral`] and the requests it received.
//! - [`org`]: [`Org`], the organization seeded through the Organizations API.
//! - [`fake_org`]: [`FakeOrganizations`], `infra/fake_organizations.py` (a generated
//!   organization, `Paths`, throttling, latency) and its request counts.
//! - [`alerts`]: [`Alerts`] (the topic and its subscribed queue) and what arrived
//!   ([`Received`]).
//! - [`table`]: raw [`Table`] views, [`Item`] and [`s`].
//! - [`cli`]: [`run_cli`] and [`cli_ok`], the `apnwatch` command run in the test's process.
//! - [`world`]: the [`World`] of one test, the product's environment pointed at it
//!   ([`World::set_env`], [`World::config`], [`World::app`], [`World::app_with`],
//!   [`World::command`]), [`app`] and [`apnwatch_binary`].
//!
//! Everything a test uses is re-exported here, so tests import from the crate root.
//!
//! [`env`]: mod@env

pub mod alerts;
pub mod cli;
pub mod env;
pub mod fake_org;
pub mod http;
pub mod moto;
pub mod org;
pub mod partner_central;
pub mod proxy;
pub mod table;
pub mod template;
pub mod world;

pub use apnwatch;

pub use alerts::{Alerts, Queue, Received, TOPIC};
pub use cli::{cli_ok, run_cli};
pub use env::{
    cargo_build, first_line, free_port, set_env, wait_until_listening, workspace_dir, TempDir,
};
pub use fake_org::FakeOrganizations;
pub use moto::{harness_sdk_config, topic_arn, Moto, MOTO_ACCOUNT, REGION};
pub use org::Org;
pub use partner_central::{pc_fixture, FakePartnerCentral, PcRequest};
pub use proxy::Proxy;
pub use table::{s, Item, Table};
pub use template::{function_environment, parse_yaml};
pub use world::{
    apnwatch_binary, app, deployed_env, records, scrub_aws_env, sdk_config, World, TABLE,
};
