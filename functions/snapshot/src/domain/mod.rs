//! The domain: plain data and pure rules. Nothing here reads the environment, the clock or
//! an AWS SDK: every input is a value, so every rule is tested with values.
//!
//! - [`model`]: accounts, OUs, link states, change events, alerts waiting to go out.
//! - [`link`]: which source decides each account's link state.
//! - [`diff`]: previous vs. current snapshot, to records, events and alerts.
//! - [`remind`]: reminders and resolved notices, the alert policy over `diff`.
//! - [`route`]: which team an alert belongs to.
//! - [`sweep`]: which accounts' tags a run reads.
//! - [`ou_names`]: which OU names a run re-reads when the accounts come with their paths.
//! - [`trigger`]: which invoke payloads start a run, and which an earlier run covered.
//! - [`deadline`]: the time a run may take; [`timestamp`]: the stored time format.
//! - [`ids`]: account and OU id patterns.
//! - [`doctor`]: the doctor's checks as data, and the rules decided without a call.
//! - [`invite`]: who may be invited or accepted, tokens, caps, back-off, refusal advice.
//! - [`report`]: coverage, time to link, by OU, oldest unlinked, auto-link and trend.
//! - `sample` (tests, feature `test-util`): `Account::sample` and the other fixtures.

pub mod deadline;
pub mod diff;
pub mod doctor;
pub mod ids;
pub mod invite;
pub mod link;
pub mod model;
pub mod ou_names;
pub mod remind;
pub mod report;
pub mod route;
#[cfg(any(test, feature = "test-util"))]
mod sample;
pub mod summary;
pub mod sweep;
pub mod timestamp;
pub mod trigger;
