//! Timestamps as the table keeps them: RFC 3339 UTC with milliseconds. Fixed width, so string
//! order is time order in sort keys and in the lease condition. The domain owns the format
//! because the outbox's alert subject ([`AlertSubject`](super::model::AlertSubject)) and a
//! refusal ([`LinkRefusal`](super::model::LinkRefusal)) are stored with their own serde shape.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

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
    parse(&String::deserialize(d)?)
}

fn parse<E: serde::de::Error>(s: &str) -> Result<DateTime<Utc>, E> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| E::custom(format!("timestamp {s:?}: {e}")))
}

/// `#[serde(with = "timestamp::option")]`, for optional timestamps: `None` is written as a
/// null (unless the field skips it) and a null or absent value reads back as `None`.
pub mod option {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| super::parse(&s))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Item {
        #[serde(with = "super::option", default)]
        at: Option<DateTime<Utc>>,
    }

    /// An optional timestamp is written with milliseconds or as a null, and reads back from
    /// either, and from an absent attribute.
    #[test]
    fn optional_timestamps_read_back_from_a_null_and_from_absence() {
        let at: DateTime<Utc> = "2026-11-28T10:00:00Z".parse().unwrap();
        let some = Item { at: Some(at) };
        let none = Item { at: None };
        assert_eq!(
            serde_json::to_value(&some).unwrap(),
            json!({"at": "2026-11-28T10:00:00.000Z"})
        );
        assert_eq!(serde_json::to_value(&none).unwrap(), json!({"at": null}));
        for (stored, read) in [
            (json!({"at": "2026-11-28T10:00:00.000Z"}), &some),
            (json!({"at": null}), &none),
            (json!({}), &none),
        ] {
            assert_eq!(&serde_json::from_value::<Item>(stored).unwrap(), read);
        }
        let bad = serde_json::from_value::<Item>(json!({"at": "yesterday"})).unwrap_err();
        assert!(bad.to_string().contains("timestamp \"yesterday\""), "{bad}");
    }
}
