//! APN Link Watch: snapshots an AWS Organization, decides which member accounts are linked
//! to the partner's APN Partner Central, keeps their state and history in DynamoDB and
//! alerts through SNS when an account is new or loses its link, reminds until it is dealt
//! with and says when it is resolved, optionally routed to each team.
//!
//! # Layout
//! Read top to bottom, the modules tell the story of one run:
//! - [`config`]: every `APNWATCH_*` setting, validated once.
//! - [`model`]: accounts, OUs, link states, change events: plain data.
//! - [`org`]: Organizations adapter, the tree walk; [`sweep`]: which accounts' tags a run
//!   reads (pure); [`deadline`]: the time a run may take.
//! - [`partner_central`]: Partner Central adapter, SUBSIDIARY connections and invitations.
//! - [`link`]: which source decides each account's link state (pure).
//! - [`diff`]: previous vs. current snapshot, to records, events and alerts (pure).
//! - [`store`]: DynamoDB adapter: schema, conditional writes, outbox, queries.
//! - [`remind`]: reminders and resolved notices, the alert policy over `diff` (pure).
//! - [`alert`]: the alert text in every subscriber's format (pure).
//! - [`route`]: which team an alert belongs to, and the SNS message attributes (pure).
//! - [`notify`]: SNS adapter; [`metrics`]: the run's CloudWatch metrics (EMF).
//! - [`run`]: one run: walk, resolve, diff, store, notify.
//! - [`ports`]: the traits the run needs; [`fakes`] implements them in memory.
//! - [`aws`]: SDK configuration, role assumption and client construction; [`app`] wires it.
//! - [`views`]: the JSON and table shapes users read; `csv_view` (feature `cli`): `accounts --csv`.
//! - [`trigger`]: which invoke payloads start a run, and which an earlier run covered (pure);
//!   [`invoke`]: one invoke, for the Lambda and `snapshot --event`.
//! - [`invite`]: who may be invited or accepted, tokens, caps, back-off (pure);
//!   [`invitations`]: the Partner Central invitation calls; [`autolink`]: invite and accept
//!   after a run and for `apnwatch invite`.
//! - [`lambda`]: the Lambda handler; `cli` (feature `cli`): the `apnwatch` command.

pub mod alert;
pub mod app;
pub mod autolink;
pub mod aws;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
#[cfg(feature = "cli")]
pub mod csv_view;
pub mod deadline;
pub mod diff;
pub mod error;
#[cfg(any(test, feature = "test-util"))]
pub mod fakes;
pub mod invitations;
pub mod invite;
pub mod invoke;
pub mod lambda;
pub mod link;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod org;
pub mod partner_central;
pub mod ports;
pub mod remind;
pub mod route;
pub mod run;
pub mod store;
pub mod sweep;
pub mod trigger;
pub mod views;

pub use config::Config;
pub use error::Error;
