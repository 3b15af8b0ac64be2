//! Reminders and resolved notices: the alert policy on top of the change rules in `diff`.
//! An account alerted as UNLINKED or PENDING has an open alert (`last_alerted_at` on its
//! record) until it is linked, exempt, closed or gone; while open, it is alerted again with
//! reason `REMINDER` every `APNWATCH_REMIND_AFTER`, and when it closes a `RESOLVED` notice
//! says so once (`APNWATCH_NOTIFY_RESOLVED`). Pure: parsing and the words, no AWS.

use chrono::{DateTime, Duration, Utc};

use crate::domain::model::{AccountRecord, LinkState};

/// `APNWATCH_REMIND_AFTER` when unset: a week is long enough for a team to act on an alert
/// and short enough that a forgotten account costs one week of credit, not a quarter.
pub const DEFAULT_REMIND_AFTER: Duration = Duration::days(7);

/// What the run does about open alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertPolicy {
    /// `None`: reminders are off.
    pub remind_after: Option<Duration>,
    pub notify_resolved: bool,
}

impl Default for AlertPolicy {
    fn default() -> Self {
        Self {
            remind_after: Some(DEFAULT_REMIND_AFTER),
            notify_resolved: true,
        }
    }
}

/// Parses a duration like `7d`, `12h`, `30m` or `45s`; `0` and `off` turn reminders off
/// (`None`). The error is a hint for the user.
pub fn parse_remind_after(value: &str) -> Result<Option<Duration>, String> {
    let v = value.trim();
    if v == "0" || v.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    const HINT: &str = "a whole number with a unit s, m, h or d (e.g. 7d, 12h, 30m), or 0 / off to turn reminders off";
    let unit = v.chars().last().ok_or(HINT)?;
    let number = v[..v.len() - unit.len_utf8()].trim();
    let n: i64 = number
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| HINT.to_string())?;
    // Ten years is far past any useful reminder and keeps the arithmetic far from overflow.
    let max_seconds = 3650 * 86_400;
    let seconds = match unit {
        's' => Some(n),
        'm' => n.checked_mul(60),
        'h' => n.checked_mul(3600),
        'd' => n.checked_mul(86_400),
        _ => return Err(HINT.to_string()),
    }
    .filter(|s| *s <= max_seconds)
    .ok_or_else(|| "at most 3650d".to_string())?;
    Ok(Some(Duration::seconds(seconds)))
}

/// The account has an open alert about being UNLINKED or PENDING.
pub fn is_open(record: &AccountRecord) -> bool {
    record.last_alerted_at.is_some() && needs_action(record.link.state, record)
}

fn needs_action(state: LinkState, record: &AccountRecord) -> bool {
    matches!(state, LinkState::Unlinked | LinkState::Pending)
        && record.account.state.earns_credit()
        && !record.removed
}

/// Whether `record`, unchanged in this run, is due a reminder at `now`.
pub fn reminder_due(record: &AccountRecord, policy: &AlertPolicy, now: DateTime<Utc>) -> bool {
    match (policy.remind_after, record.last_alerted_at) {
        (Some(after), Some(last)) => is_open(record) && now - last >= after,
        _ => false,
    }
}

/// "9 days", "5 hours", "3 minutes", "12 seconds": the largest whole unit.
pub fn age(d: Duration) -> String {
    let (n, unit) = if d.num_days() >= 1 {
        (d.num_days(), "day")
    } else if d.num_hours() >= 1 {
        (d.num_hours(), "hour")
    } else if d.num_minutes() >= 1 {
        (d.num_minutes(), "minute")
    } else {
        (d.num_seconds().max(0), "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Units s, m, h, d parse; 0 and off disable; anything else is refused.
    #[test]
    fn remind_after_parses_units_and_off() {
        assert_eq!(parse_remind_after("7d"), Ok(Some(Duration::days(7))));
        assert_eq!(parse_remind_after("12h"), Ok(Some(Duration::hours(12))));
        assert_eq!(parse_remind_after("30m"), Ok(Some(Duration::minutes(30))));
        assert_eq!(parse_remind_after("1s"), Ok(Some(Duration::seconds(1))));
        assert_eq!(parse_remind_after("0"), Ok(None));
        assert_eq!(parse_remind_after("OFF"), Ok(None));
        for bad in ["7", "d", "-1d", "1w", "1.5d", "0d", "99999d", ""] {
            assert!(parse_remind_after(bad).is_err(), "{bad} should be refused");
        }
    }

    /// Ages read in the largest whole unit.
    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(Duration::days(9) + Duration::hours(3)), "9 days");
        assert_eq!(age(Duration::days(1)), "1 day");
        assert_eq!(age(Duration::hours(5)), "5 hours");
        assert_eq!(age(Duration::seconds(2)), "2 seconds");
    }
}
