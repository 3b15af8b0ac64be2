//! Bad input, generated (issue 17): property-based tests of every parser of outside input.
//! Invoke payloads (random JSON, and the sample events of `infra/events/` with fields
//! removed, retyped or changed) never panic and never start a walk unless the payload is an
//! accepted event; every `APNWATCH_*` value parses or is refused with a message, never a
//! panic, and valid ones mean what they say; the account, OU and ARN validators match their
//! documented patterns; names with commas, quotes, line breaks and non-ASCII round-trip
//! through the JSON and CSV outputs.

mod outputs;
mod settings;
mod trigger;
