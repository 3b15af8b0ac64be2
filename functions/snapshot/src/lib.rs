//! APN Link Watch: snapshots an AWS Organization, decides which member accounts are linked
//! to the partner's APN Partner Central, keeps their state and history in DynamoDB and
//! alerts through SNS when an account is new or loses its link.
//!
//! # Layout
//! Read top to bottom, the modules tell the story of one run:
//! - [`config`]: every `APNWATCH_*` setting, validated once.
//! - [`model`]: accounts, OUs, link states, change events: plain data.
//! - [`org`]: Organizations adapter, the tree walk.
//! - [`partner_central`]: Partner Central adapter, SUBSIDIARY connections and invitations.
//! - [`link`]: which source decides each account's link state (pure).
//! - [`diff`]: previous vs. current snapshot, to records, events and alerts (pure).
//! - [`store`]: DynamoDB adapter: schema, conditional writes, outbox, queries.
//! - [`alert`]: the alert text in every subscriber's format (pure).
//! - [`notify`]: SNS adapter; [`metrics`]: the run's CloudWatch metrics (EMF).
//! - [`run`]: one run: walk, resolve, diff, store, notify.
//! - [`ports`]: the traits the run needs; [`fakes`] implements them in memory.
//! - [`aws`]: SDK configuration, role assumption and client construction; [`app`] wires it.
//! - [`views`]: the JSON and table shapes users read; [`csv_view`]: `accounts --csv`.
//! - [`lambda`]: the Lambda handler; [`cli`]: the `apnwatch` command.

pub mod alert;
pub mod app;
pub mod aws;
pub mod cli;
pub mod config;
pub mod csv_view;
pub mod diff;
pub mod error;
pub mod fakes;
pub mod lambda;
pub mod link;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod org;
pub mod partner_central;
pub mod ports;
pub mod run;
pub mod store;
pub mod views;

pub use config::Config;
pub use error::Error;
