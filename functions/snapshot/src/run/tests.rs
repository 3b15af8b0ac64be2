//! Whole runs against the in-memory fakes: the rules of `run` without AWS.

use super::*;
use crate::domain::link::LinkRules;
use crate::domain::model::OrgTree;
use crate::fakes::{FakeNotifier, FakeOrg, FakePartnerCentral, FakeStore};

fn config() -> Config {
    Config {
        table: "t".into(),
        topic_arn: Some("arn:aws:sns:us-east-1:123456789012:t".into()),
        rules: LinkRules::default(),
        partner_central: crate::config::PartnerCentralConfig {
            catalog: "AWS".into(),
            role_arn: None,
            external_id: None,
        },
        org_role_arn: None,
        org_concurrency: 4,
        run_retention_days: 90,
        alert_policy: Default::default(),
        route_by: Default::default(),
        summary: crate::domain::summary::SummaryPeriod::Off,
        tag_sweep_above: crate::config::DEFAULT_TAG_SWEEP_ABOVE,
        tag_max_age: crate::config::DEFAULT_TAG_MAX_AGE,
        ou_max_age: crate::config::DEFAULT_OU_MAX_AGE,
        invite: Default::default(),
        change_triggers: false,
    }
}

fn account(id: &str, linked: bool) -> Account {
    let tags = if linked {
        [("apn-link".to_string(), "linked".to_string())].into()
    } else {
        Default::default()
    };
    Account {
        name: format!("team-{id}"),
        parent_id: "r-ab12".into(),
        ou_path: "Root".into(),
        ou_ids: vec!["r-ab12".into()],
        tags,
        ..Account::sample(id)
    }
}

fn tree(accounts: Vec<Account>) -> OrgTree {
    OrgTree {
        organization_id: "o-abc123def4".into(),
        management_account_id: "111111111111".into(),
        root_id: "r-ab12".into(),
        units: Vec::new(),
        accounts,
    }
}

struct World {
    org: FakeOrg,
    pc: FakePartnerCentral,
    store: FakeStore,
    sns: FakeNotifier,
}

impl World {
    fn new(accounts: Vec<Account>) -> Self {
        Self {
            org: FakeOrg::new(tree(accounts)),
            pc: FakePartnerCentral::default(),
            store: FakeStore::default(),
            sns: FakeNotifier::default(),
        }
    }

    async fn run(&self, dry_run: bool) -> Result<RunReport, Error> {
        let deps = Deps {
            org: &self.org,
            partner_central: Some(&self.pc),
            store: &self.store,
            notifier: Some(&self.sns),
        };
        run_once(
            &config(),
            deps,
            RunOptions {
                dry_run,
                ..RunOptions::default()
            },
        )
        .await
    }

    /// `account` joins the organization: the next walk finds it.
    fn joins(&self, account: Account) {
        self.org.tree.lock().unwrap().accounts.push(account);
    }

    fn published(&self) -> Vec<AlertMessage> {
        self.sns.published.lock().unwrap().clone()
    }
}

/// The first run stores every account and sends one baseline message naming the unlinked.
#[tokio::test]
async fn first_run_sends_a_baseline_of_unlinked_accounts() {
    let w = World::new(vec![
        account("111111111111", true),
        account("222222222222", false),
        account("333333333333", false),
    ]);
    let report = w.run(false).await.unwrap();
    assert_eq!(report.account_writes, 3);
    let sent = w.published();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].subject.contains("baseline: 2 unlinked"),
        "{}",
        sent[0].subject
    );
    assert_eq!(sent[0].alert_ids.len(), 2);
    assert!(
        w.store.snapshot().outbox.is_empty(),
        "published alerts leave the outbox"
    );
    assert_eq!(w.store.snapshot().runs.len(), 1);
}

/// A rerun with no change writes no account item and publishes nothing.
#[tokio::test]
async fn rerun_without_changes_publishes_nothing() {
    let w = World::new(vec![account("111111111111", false)]);
    w.run(false).await.unwrap();
    let writes = w.store.snapshot().account_writes;
    let report = w.run(false).await.unwrap();
    assert_eq!(report.account_writes, 0);
    assert_eq!(w.store.snapshot().account_writes, writes);
    assert_eq!(w.published().len(), 1, "only the first run's baseline");
}

/// A new unlinked account after the baseline alerts once, as new.
#[tokio::test]
async fn new_account_alerts_once() {
    let w = World::new(vec![account("111111111111", true)]);
    w.run(false).await.unwrap();
    assert!(
        w.published().is_empty(),
        "everything linked: no baseline message"
    );
    w.joins(account("222222222222", false));
    w.run(false).await.unwrap();
    w.run(false).await.unwrap();
    let sent = w.published();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].body.contains("NEW_ACCOUNT") && sent[0].body.contains("222222222222"));
}

/// A walk that fails changes nothing in the table and publishes nothing.
#[tokio::test]
async fn failed_walk_changes_nothing() {
    let w = World::new(vec![account("111111111111", false)]);
    w.run(false).await.unwrap();
    let before = w.store.snapshot();
    *w.org.fail.lock().unwrap() = true;
    let err = w.run(false).await.unwrap_err();
    assert_eq!(err.kind(), "OrganizationsError");
    let after = w.store.snapshot();
    assert_eq!(after.accounts, before.accounts);
    assert_eq!(after.runs.len(), before.runs.len());
    assert_eq!(w.published().len(), 1);
}

/// Partner Central failing as a configured source fails the run and leaves every account as it was.
#[tokio::test]
async fn partner_central_failure_changes_nothing() {
    let w = World::new(vec![account("111111111111", false)]);
    let mut cfg = config();
    cfg.rules.sources = vec![LinkSource::PartnerCentral, LinkSource::Tag];
    *w.pc.fail.lock().unwrap() = true;
    let deps = Deps {
        org: &w.org,
        partner_central: Some(&w.pc),
        store: &w.store,
        notifier: Some(&w.sns),
    };
    let err = run_once(&cfg, deps, RunOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "PartnerCentralError");
    assert!(w.store.snapshot().accounts.is_empty());
    assert!(w.published().is_empty());
}

/// A failed publish keeps the alert queued; the next run sends it, once.
#[tokio::test]
async fn failed_publish_is_sent_by_the_next_run() {
    let w = World::new(vec![account("111111111111", false)]);
    *w.sns.fail.lock().unwrap() = true;
    let err = w.run(false).await.unwrap_err();
    assert_eq!(err.kind(), "NotifyError");
    assert_eq!(
        w.store.snapshot().accounts.len(),
        1,
        "state is stored before publishing"
    );
    assert_eq!(w.store.snapshot().outbox.len(), 1);
    *w.sns.fail.lock().unwrap() = false;
    w.run(false).await.unwrap();
    w.run(false).await.unwrap();
    assert_eq!(w.published().len(), 1);
    assert!(w.published()[0].subject.contains("baseline"));
    assert!(w.store.snapshot().outbox.is_empty());
}

/// A run racing another that recorded the same new account first neither rewrites it nor
/// queues a second alert.
#[tokio::test]
async fn concurrent_run_does_not_duplicate_the_alert() {
    let w = World::new(vec![account("111111111111", true)]);
    w.run(false).await.unwrap();
    w.joins(account("222222222222", false));
    // The other run stores the new account and its alert between our read and our write.
    let id = "222222222222";
    let ctx = RunContext {
        run_id: "other-run".into(),
        now: Utc::now(),
        first_run: false,
        ..RunContext::default()
    };
    let current = vec![(
        account(id, false),
        resolve(&account(id, false), &config().rules, None),
    )];
    let theirs = diff(&BTreeMap::new(), &current, &ctx).remove(0);
    let record = (
        theirs.record,
        theirs.alert.expect("a new unlinked account alerts"),
    );
    *w.store.before_commit.lock().unwrap() = Some(Box::new(move |t| {
        t.accounts
            .insert(record.0.account.id.clone(), record.0.clone());
        t.outbox.insert(record.1.id.clone(), record.1.clone());
    }));
    let report = w.run(false).await.unwrap();
    assert_eq!(report.account_writes, 0, "the other run's record stands");
    let sent = w.published();
    assert_eq!(sent.len(), 1, "one message");
    assert_eq!(
        sent[0].alert_ids.len(),
        1,
        "one alert for the new account, not two"
    );
}

/// A dry run computes the alert but writes and publishes nothing.
#[tokio::test]
async fn dry_run_writes_nothing() {
    let w = World::new(vec![account("111111111111", false)]);
    let report = w.run(true).await.unwrap();
    assert_eq!(report.alerts.len(), 1);
    assert_eq!(report.messages.len(), 1);
    assert!(w.store.snapshot().accounts.is_empty());
    assert!(w.store.snapshot().runs.is_empty());
    assert!(w.published().is_empty());
}

/// A real run without a topic is a configuration error naming the variable.
#[tokio::test]
async fn real_run_needs_a_topic() {
    let w = World::new(vec![]);
    let deps = Deps {
        org: &w.org,
        partner_central: Some(&w.pc),
        store: &w.store,
        notifier: None::<&FakeNotifier>,
    };
    let err = run_once(&config(), deps, RunOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("APNWATCH_TOPIC_ARN"), "{err}");
}

/// While another run holds the publish lease, this run leaves its alert queued for it.
#[tokio::test(start_paused = true)]
async fn held_lease_defers_publishing() {
    let w = World::new(vec![account("111111111111", false)]);
    w.store.table.lock().unwrap().lease =
        Some(("other".into(), Utc::now() + chrono::Duration::minutes(5)));
    let report = w.run(false).await.unwrap();
    assert!(report.alerts.is_empty());
    assert!(w.published().is_empty());
    assert_eq!(w.store.snapshot().outbox.len(), 1, "still queued");
}
