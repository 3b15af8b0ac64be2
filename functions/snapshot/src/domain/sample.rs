//! Fixtures: one ready-made value per model type that tests and the benchmark start from and
//! vary (`Account { tags, ..Account::sample(id) }`), so a field added to the model is filled
//! in here once instead of in every test file. Compiled for unit tests and with the
//! `test-util` feature (integration tests, benchmark), never into the Lambda.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use super::model::{
    Account, AccountRecord, AccountState, AlertReason, LinkDecision, LinkSource, LinkState,
    PendingAlert, RunSummary,
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

    /// [`AccountRecord::sample`] in link `state`, with no evidence and an empty detail.
    pub fn sample_in_state(id: &str, state: LinkState) -> AccountRecord {
        AccountRecord {
            link: LinkDecision {
                state,
                source: LinkSource::None,
                detail: String::new(),
            },
            ..AccountRecord::sample(id)
        }
    }

    /// [`AccountRecord::sample_in_state`] in `ou_path`, first seen at `first_seen` and in
    /// that state since `since` (both RFC 3339): the accounts of a report or summary over a
    /// hand-made table.
    pub fn sample_at(
        id: &str,
        ou_path: &str,
        state: LinkState,
        first_seen: &str,
        since: &str,
    ) -> AccountRecord {
        let at = |s: &str| -> DateTime<Utc> { s.parse().expect("valid timestamp") };
        let mut record = AccountRecord::sample_in_state(id, state);
        record.account.ou_path = ou_path.into();
        record.first_seen = at(first_seen);
        record.last_changed = at(since);
        record.state_since = at(since);
        record
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

impl RunSummary {
    /// Run `id` of `organization_id`, started at `started` and finished five seconds later,
    /// with the link state counts `[linked, pending, unlinked, exempt]`.
    pub fn sample(
        id: &str,
        organization_id: &str,
        started: DateTime<Utc>,
        [linked, pending, unlinked, exempt]: [usize; 4],
    ) -> RunSummary {
        RunSummary {
            run_id: id.into(),
            started_at: started,
            finished_at: started + Duration::seconds(5),
            accounts: linked + pending + unlinked + exempt,
            linked,
            pending,
            unlinked,
            exempt,
            organization_id: organization_id.into(),
            ..RunSummary::default()
        }
    }

    /// Five run records of `organization_id` that a report's auto-link and trend numbers are
    /// worked out from by hand: r1 at `before` (a window's start, so ignored; 9 invited, of
    /// another organization); on `day_a`, r2 at 06:00 (2 invited, 1 `INVITE_FAILED: X`) and r3
    /// at 18:00 (1 accepted; the day's last run: its trend point); on `day_b`, r4 at 12:00 (a
    /// dry run: counts for nothing) and r5 at 06:00 (1 invited, 1 `INVITE_FAILED: X`, 2
    /// `ACCEPT_FAILED: AccessDenied`).
    pub fn sample_history(
        organization_id: &str,
        before: DateTime<Utc>,
        day_a: NaiveDate,
        day_b: NaiveDate,
    ) -> Vec<RunSummary> {
        let at = |day: NaiveDate, hour: u32| {
            let time = NaiveTime::from_hms_opt(hour, 0, 0).expect("a whole hour");
            day.and_time(time).and_utc()
        };
        let run = |id, started, counts| RunSummary::sample(id, organization_id, started, counts);
        vec![
            RunSummary {
                invited: 9,
                organization_id: "o-old".into(),
                ..run("r1", before, [1, 0, 9, 1])
            },
            RunSummary {
                invited: 2,
                refusals: [("INVITE_FAILED: X".to_string(), 1)].into(),
                ..run("r2", at(day_a, 6), [3, 0, 5, 1])
            },
            RunSummary {
                accepted: 1,
                ..run("r3", at(day_a, 18), [4, 1, 3, 1])
            },
            RunSummary {
                invited: 5,
                dry_run: true,
                ..run("r4", at(day_b, 12), [0, 0, 9, 0])
            },
            RunSummary {
                invited: 1,
                refusals: [
                    ("INVITE_FAILED: X".to_string(), 1),
                    ("ACCEPT_FAILED: AccessDenied".to_string(), 2),
                ]
                .into(),
                ..run("r5", at(day_b, 6), [5, 1, 2, 1])
            },
        ]
    }
}
