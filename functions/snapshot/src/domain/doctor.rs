//! `apnwatch doctor` as data: one [`Check`] per prerequisite with its status, what it found
//! and, when something is wrong, what to do and the AWS page that says how. The checks
//! themselves call AWS (`aws::doctor`, composed in `app::doctor`); what is decided from
//! their answers without a call lives here, so it is tested without AWS: which accounts
//! the accept-role check samples, how old a run may be, whether a trail records the
//! management events change triggers need, and which payload asks for the doctor.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::domain::model::{AccountRecord, AccountState, LinkState};

/// The check ids, in the order they run and print: a public contract (README, `--json`).
pub const CHECK_IDS: [&str; 10] = [
    "identity",
    "organization",
    "organizations-paths",
    "table",
    "topic",
    "subscriptions",
    "partner-central",
    "accept-role",
    "change-events",
    "last-run",
];

/// Member accounts whose accept role is tried by default (`--sample-accounts`).
pub const DEFAULT_SAMPLE_ACCOUNTS: usize = 3;
/// A latest run older than this is a WARN by default (`--max-run-age`): the schedule runs
/// hourly by default, so two hours without a run means at least one was missed.
pub const DEFAULT_MAX_RUN_AGE: Duration = Duration::hours(2);

/// The invoke payload that asks the Lambda for the doctor instead of a run:
/// `{"apnwatch": "doctor"}`.
pub const PAYLOAD_KEY: &str = "apnwatch";
pub const PAYLOAD_DOCTOR: &str = "doctor";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    /// Not applicable here (a source not used, a setting not set) or not checkable with
    /// these credentials; `found` says which.
    Skip,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Warn => "WARN",
            Self::Fail => "FAIL",
            Self::Skip => "SKIP",
        }
    }
}

/// One line of the doctor's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// One of [`CHECK_IDS`].
    pub id: &'static str,
    pub status: Status,
    pub found: String,
    /// The fix, for WARN and FAIL.
    pub what_to_do: Option<String>,
    /// The AWS (or README) page that explains the fix, for WARN and FAIL.
    pub doc: Option<String>,
}

impl Check {
    pub fn pass(id: &'static str, found: impl Into<String>) -> Self {
        Self::new(id, Status::Pass, found, None, None)
    }

    pub fn skip(id: &'static str, found: impl Into<String>) -> Self {
        Self::new(id, Status::Skip, found, None, None)
    }

    /// A WARN or a FAIL, with the fix and the page that explains it.
    pub fn flag(
        status: Status,
        id: &'static str,
        found: impl Into<String>,
        what_to_do: impl Into<String>,
        doc: &str,
    ) -> Self {
        debug_assert!(matches!(status, Status::Warn | Status::Fail));
        Self::new(id, status, found, Some(what_to_do.into()), Some(doc.into()))
    }

    fn new(
        id: &'static str,
        status: Status,
        found: impl Into<String>,
        what_to_do: Option<String>,
        doc: Option<String>,
    ) -> Self {
        Self {
            id,
            status,
            found: found.into(),
            what_to_do,
            doc,
        }
    }
}

/// Every check, in [`CHECK_IDS`] order (`accept-role` may hold one line per account).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    /// No check FAILed: the exit status is 0.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }
}

/// How the doctor is asked to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Member accounts whose accept role is assumed; 0 skips the check.
    pub sample_accounts: usize,
    pub max_run_age: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            sample_accounts: DEFAULT_SAMPLE_ACCOUNTS,
            max_run_age: DEFAULT_MAX_RUN_AGE,
        }
    }
}

/// Whether `payload` is `{"apnwatch": "doctor"}`, checked before the trigger parser so the
/// doctor is never a `BadEvent` and never starts a run.
pub fn requested(payload: &Value) -> bool {
    payload
        .as_object()
        .is_some_and(|m| m.len() == 1 && m.get(PAYLOAD_KEY) == Some(&Value::from(PAYLOAD_DOCTOR)))
}

/// Up to `n` ACTIVE, non-removed member accounts to try the accept role in: the ones
/// auto-accept would act on (UNLINKED, then PENDING) first, then the others, each group by
/// id so that a rerun samples the same accounts. The management account and `own` (the
/// account the doctor runs as) are left out: neither accepts its own invitation.
pub fn sample_accounts<'a>(
    records: &'a [AccountRecord],
    own: Option<&str>,
    n: usize,
) -> Vec<&'a AccountRecord> {
    let rank = |r: &AccountRecord| match r.link.state {
        LinkState::Unlinked => 0,
        LinkState::Pending => 1,
        _ => 2,
    };
    let mut candidates: Vec<&AccountRecord> = records
        .iter()
        .filter(|r| {
            !r.removed
                && !r.account.is_management
                && r.account.state == AccountState::Active
                && Some(r.account.id.as_str()) != own
        })
        .collect();
    candidates.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then_with(|| a.account.id.cmp(&b.account.id))
    });
    candidates.truncate(n);
    candidates
}

/// `last-run`: the latest run record's age against `max_age`.
pub fn last_run(
    latest: Option<(&str, DateTime<Utc>)>,
    now: DateTime<Utc>,
    max_age: Duration,
) -> Check {
    const ID: &str = "last-run";
    const FIX: &str = "the schedule never ran or keeps failing: check the schedule rule (ScheduleExpression), the function's log group and the ErrorsAlarm; start a run by hand with `apnwatch snapshot` or the console's Test button and the event {}";
    const DOC: &str = "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html";
    let Some((run_id, started)) = latest else {
        return Check::flag(
            Status::Warn,
            ID,
            "no run recorded in the table yet",
            FIX,
            DOC,
        );
    };
    let age = now - started;
    let found = format!(
        "latest run {run_id} started {} ago ({})",
        human(age),
        super::timestamp::format_secs(&started)
    );
    if age > max_age {
        Check::flag(
            Status::Warn,
            ID,
            format!("{found}, older than {}", human(max_age)),
            FIX,
            DOC,
        )
    } else {
        Check::pass(ID, found)
    }
}

/// A duration as a person reads it: `45s`, `12m`, `3h 5m`, `2d 4h`.
pub fn human(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 if s % 3600 / 60 == 0 => format!("{}h", s / 3600),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ if s % 86_400 / 3600 == 0 => format!("{}d", s / 86_400),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// One trail as the doctor sees it, from `DescribeTrails`, `GetTrailStatus` and
/// `GetEventSelectors`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trail {
    pub name: String,
    pub home_region: String,
    pub multi_region: bool,
    pub organization: bool,
    pub logging: bool,
    /// The selectors record write management events (basic: `IncludeManagementEvents`
    /// with `ReadWriteType` All or WriteOnly; advanced: an `eventCategory` = Management
    /// selector not limited to `readOnly` = true). `None` when the selectors could not be
    /// read.
    pub management_writes: Option<bool>,
}

impl Trail {
    /// Delivers the Organizations calls to EventBridge in us-east-1: logging, recording
    /// write management events (or selectors unknown), and covering us-east-1.
    pub fn delivers(&self, region: &str) -> bool {
        self.shortfall(region).is_none()
    }

    /// Why it does not, in words.
    pub fn shortfall(&self, region: &str) -> Option<String> {
        if !self.logging {
            Some(format!("trail {} is not logging", self.name))
        } else if self.management_writes == Some(false) {
            Some(format!(
                "trail {} does not record write management events",
                self.name
            ))
        } else if !(self.multi_region || self.home_region == region) {
            Some(format!(
                "trail {} records only {}, not {region}",
                self.name, self.home_region
            ))
        } else {
            None
        }
    }
}

#[cfg(test)]
#[path = "doctor_tests.rs"]
mod tests;
