//! The periodic coverage summary (`APNWATCH_SUMMARY`): which period a run falls in, and what
//! the outbox keeps of a queued summary. Pure; the numbers are [`crate::domain::report`]'s.
//!
//! A period is a UTC day (`2026-12-07`) or an ISO week starting Monday 00:00 UTC
//! (`2026-W50`); both keys sort as strings in time order, so the newest period marker of a
//! kind is the last key with its prefix.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Utc};

/// How often a summary goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SummaryPeriod {
    Off,
    Daily,
    #[default]
    Weekly,
}

impl SummaryPeriod {
    /// Parses `off`, `daily` or `weekly`; the error is a hint for the user.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "off" => Ok(Self::Off),
            "daily" => Ok(Self::Daily),
            "weekly" => Ok(Self::Weekly),
            _ => Err(
                "use off, daily (each UTC day) or weekly (each ISO week, from Monday 00:00 UTC)"
                    .into(),
            ),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Daily => "daily",
            Self::Weekly => "weekly",
        }
    }

    /// The key of the period `at` falls in (`2026-12-07`, `2026-W50`); `None` when off.
    pub fn period_key(self, at: DateTime<Utc>) -> Option<String> {
        match self {
            Self::Off => None,
            Self::Daily => Some(at.format("%Y-%m-%d").to_string()),
            Self::Weekly => {
                let week = at.iso_week();
                Some(format!("{:04}-W{:02}", week.year(), week.week()))
            }
        }
    }
}

/// The marker of a period whose summary is queued: written once, conditionally, together with
/// the summaries, so only the first run of the period queues them. Keeps each route's
/// coverage so the next summary can say how it changed.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryMark {
    pub period: SummaryPeriod,
    pub key: String,
    pub run_id: String,
    pub queued_at: DateTime<Utc>,
    /// Coverage percent by published route (`all` and, with routing, each route).
    pub percent: BTreeMap<String, Option<f64>>,
}

/// One rendered summary waiting in the outbox until SNS accepts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedSummary {
    /// `SUMMARY#<period>#<key>#<route>`: unique per period and route.
    pub id: String,
    pub run_id: String,
    pub created_at: DateTime<Utc>,
    /// The published route: `all`, or one route's name.
    pub route: String,
    pub subject: String,
    /// The `MessageStructure=json` document.
    pub body: String,
    /// The link states the summary counts (the `link_states` attribute).
    pub link_states: BTreeSet<String>,
    pub organization_id: String,
}

/// The outbox id of the summary of `route` for a period.
pub fn summary_id(period: SummaryPeriod, key: &str, route: &str) -> String {
    format!("SUMMARY#{}#{key}#{route}", period.as_str())
}

/// Percentage points from `before` to `now`, one decimal; `None` without both.
pub fn change(before: Option<f64>, now: Option<f64>) -> Option<f64> {
    // `+ 0.0` turns a rounded -0.0 into 0.0: "no change", never "-0.0".
    Some(((now? - before?) * 10.0).round() / 10.0 + 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented values parse, anything else is refused with a hint.
    #[test]
    fn parses_the_documented_values() {
        assert_eq!(SummaryPeriod::parse("off"), Ok(SummaryPeriod::Off));
        assert_eq!(SummaryPeriod::parse(" Daily "), Ok(SummaryPeriod::Daily));
        assert_eq!(SummaryPeriod::parse("weekly"), Ok(SummaryPeriod::Weekly));
        assert!(SummaryPeriod::parse("monthly").is_err());
    }

    /// Weeks start Monday 00:00 UTC and take the ISO year; days are UTC days.
    #[test]
    fn periods_are_utc_days_and_iso_weeks() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let week = |s| SummaryPeriod::Weekly.period_key(at(s)).unwrap();
        assert_eq!(week("2026-12-06T23:59:59Z"), "2026-W49");
        assert_eq!(week("2026-12-07T00:00:00Z"), "2026-W50");
        assert_eq!(week("2027-01-01T12:00:00Z"), "2026-W53");
        assert_eq!(
            SummaryPeriod::Daily.period_key(at("2026-12-07T23:59:59Z")),
            Some("2026-12-07".into())
        );
        assert_eq!(
            SummaryPeriod::Off.period_key(at("2026-12-07T00:00:00Z")),
            None
        );
        assert_eq!(change(Some(85.0), Some(87.5)), Some(2.5));
        assert_eq!(change(None, Some(87.5)), None);
        assert!(change(Some(50.04), Some(50.0)).unwrap().is_sign_positive());
    }
}
