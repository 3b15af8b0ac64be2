//! Fixtures: one ready-made value per model type that tests and the benchmark start from and
//! vary (`Account { tags, ..Account::sample(id) }`), so a field added to the model is filled
//! in here once instead of in every test file. Compiled for unit tests and with the
//! `test-util` feature (integration tests, benchmark), never into the Lambda.

use chrono::{DateTime, Utc};

use super::model::{
    Account, AccountRecord, AccountState, AlertReason, LinkDecision, LinkSource, LinkState,
    PendingAlert,
};

/// When every sample was seen, changed and queued: 2026-11-27 12:00 UTC.
fn sample_time() -> DateTime<Utc> {
    "2026-11-27T12:00:00Z".parse().expect("valid timestamp")
}

impl Account {
    /// An active member account in `Root/Workloads/Prod`, without tags: the one fixture unit
    /// tests start from (`Account { tags, ..Account::sample(id) }` for a variation).
    pub fn sample(id: &str) -> Account {
        Account {
            id: id.into(),
            name: format!("acct-{id}"),
            email: format!("{id}@example.com"),
            state: AccountState::Active,
            joined_method: Some("CREATED".into()),
            joined_at: None,
            parent_id: "ou-ab12-prod1234".into(),
            ou_path: "Root/Workloads/Prod".into(),
            ou_ids: vec![
                "r-ab12".into(),
                "ou-ab12-work1234".into(),
                "ou-ab12-prod1234".into(),
            ],
            tags: Default::default(),
            is_management: false,
        }
    }
}

impl AccountRecord {
    /// [`Account::sample`] as stored: UNLINKED with no link evidence since 2026-11-27 12:00
    /// UTC, revision 1, never alerted.
    pub fn sample(id: &str) -> AccountRecord {
        let at = sample_time();
        AccountRecord {
            account: Account::sample(id),
            link: LinkDecision {
                state: LinkState::Unlinked,
                source: LinkSource::None,
                detail: "no link evidence".into(),
            },
            first_seen: at,
            last_changed: at,
            removed: false,
            rev: 1,
            state_since: at,
            last_alerted_at: None,
            refusal: None,
        }
    }
}

impl PendingAlert {
    /// The NEW_ACCOUNT alert about [`AccountRecord::sample`] queued by `run-1`, unrouted.
    pub fn sample(id: &str) -> PendingAlert {
        let record = AccountRecord::sample(id);
        PendingAlert::about(
            &record,
            AlertReason::NewAccount,
            "run-1",
            sample_time(),
            None,
        )
    }
}
