//! APN Link Watch: snapshots an AWS Organization, decides which member accounts are linked
//! to the partner's APN Partner Central, keeps their state and history in DynamoDB and
//! alerts through SNS when an account is new or loses its link, reminds until it is dealt
//! with and says when it is resolved, optionally routed to each team.
//!
//! # Layout
//! The folders are the layers; an import only ever points down this list (the README's
//! "Architecture" section draws it):
//! - `sim` (tests, feature `test-util`): the deterministic simulation of many runs with
//!   faults, crashes and interleavings over [`app::sequence`]; `contract`: the store contract
//!   the fakes and the DynamoDB adapter both keep.
//! - [`lambda`], `cli` (feature `cli`): the entry points. Parse input, hand off, print.
//! - [`app`]: the composition root (SDK clients, adapters, one [`app::App`]) and one invoke.
//! - [`views`]: the JSON and table shapes users read, apart from the model (`views::report`
//!   for `apnwatch report`, `views::doctor` for the doctor).
//! - [`run`]: the use cases: one run (walk, resolve, diff, store, publish) and auto-link.
//! - [`aws`]: the adapters, one per AWS service; `fakes` (tests, feature `test-util`):
//!   the same ports in memory.
//! - [`ports`]: one small trait per outside system, split by concern.
//! - [`alert`]: what a message says, in each subscriber's format.
//! - [`config`]: every `APNWATCH_*` setting, parsed once into domain types.
//! - [`domain`]: plain data and pure rules: no SDK, no environment, no clock.
//! - [`error`]: the one error type (a leaf); [`clock`]: the run's clock and run ids (a leaf,
//!   simulated in tests).

pub mod alert;
pub mod app;
pub mod aws;
#[cfg(feature = "cli")]
pub mod cli;
pub mod clock;
pub mod config;
#[cfg(any(test, feature = "test-util"))]
pub mod contract;
pub mod domain;
pub mod error;
#[cfg(any(test, feature = "test-util"))]
pub mod fakes;
#[cfg(test)]
mod golden;
pub mod lambda;
pub mod ports;
#[cfg(test)]
mod props;
pub mod run;
#[cfg(any(test, feature = "test-util"))]
pub mod sim;
pub mod views;

pub use config::Config;
pub use error::Error;
