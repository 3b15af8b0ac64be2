//! Timestamps as the table keeps them: RFC 3339 UTC with milliseconds. Fixed width, so string
//! order is time order in sort keys and in the lease condition. The domain owns the format
//! because the outbox's alert subject ([`AlertSubject`](super::model::AlertSubject)) and a
//! refusal ([`LinkRefusal`](super::model::LinkRefusal)) are stored with their own serde shape.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

/// `2026-11-28T10:00:00.000Z`.
pub fn format(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `2026-11-28T10:00:00Z`: whole seconds, for what people read (views, CLI output, messages).
pub fn format_secs(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `#[serde(with = "timestamp")]`: written as [`format()`]; any RFC 3339 form is read back.
pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(t))
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let s = String::deserialize(d)?;
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| D::Error::custom(format!("timestamp {s:?}: {e}")))
}

/// `#[serde(with = "timestamp::option")]`, for optional timestamps.
pub mod option {
    use chrono::{DateTime, Utc};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        super::deserialize(d).map(Some)
    }
}
