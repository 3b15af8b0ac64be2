//! Auto-link against the in-memory fakes: who is invited and accepted, and what the outbox then says.

use super::*;
use crate::domain::invite::{Accepted, Sent};
use crate::domain::model::{AlertReason, LinkState};
use crate::fakes::FakeStore;
use chrono::Utc;

/// Partner Central answering every invitation with `outcome`.
struct Answer(Result<Sent, Refusal>);

impl Invitations for Answer {
    async fn invite(&self, _: &str, _: &str, _: &str) -> Result<Sent, Refusal> {
        self.0.clone()
    }
    async fn accept(&self, _: &str) -> Result<Accepted, Refusal> {
        unreachable!("accepting is off")
    }
}

fn config() -> Config {
    let get = |k: &str| {
        let v = match k {
            "APNWATCH_TABLE" => "t",
            "APNWATCH_TOPIC_ARN" => "arn:aws:sns:us-east-1:123456789012:t",
            "APNWATCH_LINK_SOURCES" => "partner-central,tag",
            "APNWATCH_AUTO_INVITE" => "unlinked",
            "APNWATCH_INVITE_NAME" => "Ops",
            "APNWATCH_INVITE_EMAIL" => "ops@example.com",
            "APNWATCH_SUMMARY" => "off",
            _ => return None,
        };
        Some(v.to_string())
    };
    Config::from_lookup(get).unwrap()
}

/// An UNLINKED account whose NEW_ACCOUNT alert from `run-1` waits in the outbox; with
/// `published_meanwhile`, another run publishes (deletes) it just before our write.
fn store(published_meanwhile: bool) -> (FakeStore, String) {
    let store = FakeStore::default();
    let now = Utc::now().trunc_subsecs(3);
    let record = AccountRecord {
        first_seen: now,
        last_changed: now,
        state_since: now,
        last_alerted_at: Some(now),
        ..AccountRecord::sample("111122223333")
    };
    let queued = PendingAlert::about(&record, AlertReason::NewAccount, "run-1", now, None);
    let id = queued.id.clone();
    {
        let mut t = store.table.lock().unwrap();
        t.accounts.insert(record.account.id.clone(), record);
        t.outbox.insert(id.clone(), queued);
    }
    if published_meanwhile {
        let gone = id.clone();
        *store.before_commit.lock().unwrap() = Some(Box::new(move |t| {
            t.outbox.remove(&gone);
        }));
    }
    (store, id)
}

async fn after(store: &FakeStore, answer: Result<Sent, Refusal>) -> AutoLinkReport {
    let none = BTreeSet::new();
    let routes = BTreeMap::new();
    let facts = RunFacts {
        run_id: "run-2",
        organization_id: "o-abc123def4",
        discovered: &none,
        routes: &routes,
    };
    after_run(&config(), store, &Answer(answer), facts).await
}

/// Partner Central's answer to an invitation it sent.
fn sent() -> Result<Sent, Refusal> {
    Ok(Sent {
        invitation_id: "pacinv-1".into(),
    })
}

fn refusal() -> Refusal {
    Refusal {
        code: "ResourceNotFoundException".into(),
        reason: Some("RECEIVER_PROFILE_NOT_FOUND".into()),
        message: "no profile".into(),
    }
}

/// The queued alert is rewritten in place: one alert about the account, now PENDING.
#[tokio::test]
async fn sent_invitation_rewrites_the_queued_alert() {
    let (store, id) = store(false);

    let report = after(&store, sent()).await;

    assert_eq!(report.invited, vec!["111122223333".to_string()]);
    let t = store.snapshot();
    assert_eq!(t.outbox.keys().collect::<Vec<_>>(), vec![&id]);
    assert_eq!(t.outbox[&id].subject.link_state, LinkState::Pending);
    assert_eq!(t.outbox[&id].reason, AlertReason::NewAccount);
}

/// Auto-link after a run reads its candidates from the link-state index and each one by
/// key, never the whole accounts partition the run has just read.
#[tokio::test]
async fn auto_link_never_reads_the_whole_accounts_partition() {
    let (store, _) = store(false);

    let report = after(&store, sent()).await;

    assert_eq!(report.invited.len(), 1);
    assert_eq!(store.snapshot().full_reads, 0);
}

/// Another run published the queued alert between our read and our write: the outcome
/// is still recorded, and the published alert is not queued a second time.
#[tokio::test]
async fn an_alert_published_meanwhile_is_not_queued_again() {
    let (store, _) = store(true);

    after(&store, sent()).await;

    let t = store.snapshot();
    assert!(t.outbox.is_empty(), "{:?}", t.outbox.keys());
    assert_eq!(t.accounts["111122223333"].link.state, LinkState::Pending);
    assert_eq!(t.history.last().unwrap().kind, ChangeKind::Invited);
}

/// The same race with a refusal: the account gets its own INVITE_FAILED alert, since
/// the one that went out did not say it.
#[tokio::test]
async fn a_refusal_after_the_alert_went_out_gets_its_own_alert() {
    let (store, _) = store(true);

    after(&store, Err(refusal())).await;

    let t = store.snapshot();
    let alerts: Vec<(&str, AlertReason)> = t
        .outbox
        .values()
        .map(|a| (a.id.as_str(), a.reason))
        .collect();
    assert_eq!(
        alerts,
        vec![(
            "run-2#111122223333#INVITE_FAILED",
            AlertReason::InviteFailed
        )]
    );
}
