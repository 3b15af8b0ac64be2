//! Whole runs against the in-memory fakes: reminders keep the outbox guarantees.

use chrono::{Duration, Utc};

use crate::config::Config;
use crate::domain::model::{Account, AccountRecord, AlertReason, LinkDecision, OrgTree};
use crate::fakes::{FakeNotifier, FakeOrg, FakePartnerCentral, FakeStore};
use crate::run::{run_once, Deps, RunOptions};

fn config() -> Config {
    let get = |k: &str| match k {
        "APNWATCH_TABLE" => Some("t".to_string()),
        "APNWATCH_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:123456789012:t".to_string()),
        "APNWATCH_SUMMARY" => Some("off".to_string()),
        _ => None,
    };
    Config::from_lookup(get).unwrap()
}

fn account() -> Account {
    Account {
        name: "team-b".into(),
        parent_id: "r-ab12".into(),
        ou_path: "Root".into(),
        ou_ids: vec!["r-ab12".into()],
        ..Account::sample("222222222222")
    }
}

/// The account as stored: unlinked, alerted `days` ago.
fn alerted(days: i64) -> AccountRecord {
    let then = Utc::now() - Duration::days(days);
    let sample = AccountRecord::sample("222222222222");
    AccountRecord {
        account: account(),
        link: LinkDecision {
            detail: "no link evidence from tag, list".into(),
            ..sample.link
        },
        first_seen: then,
        last_changed: then,
        state_since: then,
        last_alerted_at: Some(then),
        ..sample
    }
}

/// Another run sends the due reminder between our read and our write: our conditional
/// write loses, the re-read shows the reminder is no longer due, and exactly one
/// reminder is published.
#[tokio::test]
async fn a_raced_reminder_is_sent_once() {
    let org = FakeOrg::new(OrgTree {
        organization_id: "o-abc123def4".into(),
        accounts: vec![account()],
        ..OrgTree::default()
    });
    let store = FakeStore::default();
    let sns = FakeNotifier::default();
    store
        .table
        .lock()
        .unwrap()
        .accounts
        .insert(account().id, alerted(10));
    // The other run: the same reminder, written and queued first.
    let theirs = {
        let previous = [(account().id, alerted(10))].into();
        let ctx = crate::domain::diff::RunContext {
            run_id: "other-run".into(),
            now: Utc::now(),
            ..Default::default()
        };
        let current = [(account(), alerted(10).link)];
        crate::domain::diff::diff(&previous, &current, &ctx).remove(0)
    };
    assert_eq!(theirs.alert.as_ref().unwrap().reason, AlertReason::Reminder);
    *store.before_commit.lock().unwrap() = Some(Box::new(move |t| {
        t.accounts
            .insert(theirs.record.account.id.clone(), theirs.record.clone());
        let alert = theirs.alert.clone().unwrap();
        t.outbox.insert(alert.id.clone(), alert);
    }));

    let deps = Deps {
        org: &org,
        partner_central: None::<&FakePartnerCentral>,
        store: &store,
        notifier: Some(&sns),
    };
    let report = run_once(&config(), deps, RunOptions::default())
        .await
        .unwrap();

    assert_eq!(report.account_writes, 0, "the other run's reminder stands");
    let sent = sns.published.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].alert_ids,
        vec!["other-run#222222222222".to_string()]
    );
    assert!(
        sent[0].subject.contains("1 still unlinked"),
        "{}",
        sent[0].subject
    );
}
