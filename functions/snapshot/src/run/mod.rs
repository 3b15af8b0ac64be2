//! One run: walk the organization, resolve link states, diff against the table, store the
//! changes together with their alerts ([`store_changes`]), then publish every queued alert
//! ([`publish`]). `App::run` puts auto-invite and auto-accept between the two halves, so the
//! alerts tell what they did.
//!
//! Order matters for the guarantees the README promises:
//! - everything is read (organization, Partner Central) before anything is written, so a
//!   failed walk changes nothing and can never look like "accounts removed";
//! - each account's record, history events and alert are written in one transaction,
//!   conditional on the revision we read, so a crashed or concurrent run can neither lose an
//!   alert nor queue it twice;
//! - alerts are published from the outbox under a lease and deleted only after SNS accepted
//!   them, so a failed publish is retried by the next run.

pub mod autolink;
mod publish;
mod summary;

pub use publish::publish;
use publish::{missing_topic, Reported};

use std::collections::{BTreeMap, BTreeSet};

use chrono::{SubsecRound, Utc};
use tracing::{info, warn};

use crate::alert::{messages, AlertContext, AlertMessage};
use crate::config::Config;
use crate::domain::deadline::{self, Deadline};
use crate::domain::diff::{diff, RunContext};
use crate::domain::link::resolve;
use crate::domain::model::{
    Account, AccountChange, ChangeEvent, LinkDecision, LinkSource, LinkState, PendingAlert,
    RunSummary,
};
use crate::domain::ou_names::OuNames;
use crate::domain::report::{records_after, RunCoverage};
use crate::domain::route;
use crate::domain::sweep::{self, SweepState};
use crate::error::Error;
use crate::ports::{AccountTable, Notifier, OrgSource, OuNameInputs, PartnerCentralSource, Store};

/// A conflicting account is re-read and re-diffed at most this often; past it, the next run
/// settles it.
const CONFLICT_ROUNDS: usize = 3;
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Read and compute everything, write and publish nothing.
    pub dry_run: bool,
    /// The invoke's deadline (Lambda) or `--deadline` (CLI): the walk stops in time to
    /// write nothing rather than be cut off halfway.
    pub deadline: Option<Deadline>,
    /// Accounts named in `TagResource`/`UntagResource` events: their tags are read this run
    /// even when the tag sweep would not read them.
    pub tagged_accounts: BTreeSet<String>,
    /// OUs named in `CreateOrganizationalUnit`/`UpdateOrganizationalUnit`/
    /// `DeleteOrganizationalUnit`/`MoveAccount` events: their names are read this run even
    /// when the OU-name rotation would not.
    pub named_units: BTreeSet<String>,
}

/// What a run did (or, dry, would do).
#[derive(Debug, Clone)]
pub struct RunReport {
    pub organization_id: String,
    pub summary: RunSummary,
    /// History events written (dry: that would be written).
    pub events: Vec<ChangeEvent>,
    /// Alerts published (dry: that would be published, queued ones included).
    pub alerts: Vec<PendingAlert>,
    /// The messages published (dry: that would be published), in order, while their bodies
    /// total at most 1 MiB; `summary.messages` counts them all. Nothing shown to users reads
    /// the bodies: the CLI and the Lambda report counts.
    pub messages: Vec<AlertMessage>,
    /// Account items written: zero when nothing changed.
    pub account_writes: usize,
    /// Accounts left to the next run because other runs kept changing them.
    pub unsettled: Vec<String>,
    /// Organizations API requests (pages included); filled in by the caller that owns the client.
    pub organizations_calls: u64,
    /// The walk found no stored account and no run: a baseline (auto-invite `new` skips it).
    pub first_run: bool,
    /// Auto-invite and auto-accept after the run; filled in by `App::run`.
    pub auto_link: Option<crate::run::autolink::AutoLinkReport>,
    /// Coverage and time to link as the run left the table (the run's metrics).
    pub coverage: crate::domain::report::RunCoverage,
}

#[cfg(any(test, feature = "test-util"))]
impl RunReport {
    /// A run of `run_id` in `o-abc123def4` that found and did nothing: the fixture tests and the
    /// benchmark vary (`RunReport { account_writes: 3, ..RunReport::sample("r") }`).
    pub fn sample(run_id: &str) -> Self {
        Self {
            organization_id: "o-abc123def4".into(),
            summary: RunSummary {
                run_id: run_id.into(),
                ..RunSummary::default()
            },
            events: vec![],
            alerts: vec![],
            messages: vec![],
            account_writes: 0,
            unsettled: vec![],
            organizations_calls: 0,
            first_run: false,
            auto_link: None,
            coverage: Default::default(),
        }
    }
}

/// The systems one run talks to. `partner_central` is needed only when the rules use it;
/// `notifier` only for a real run.
pub struct Deps<'a, O, P, S, N> {
    pub org: &'a O,
    pub partner_central: Option<&'a P>,
    pub store: &'a S,
    pub notifier: Option<&'a N>,
}

/// A whole run: [`store_changes`], then [`publish`].
pub async fn run_once<O, P, S, N>(
    config: &Config,
    deps: Deps<'_, O, P, S, N>,
    options: RunOptions,
) -> Result<RunReport, Error>
where
    O: OrgSource,
    P: PartnerCentralSource,
    S: Store,
    N: Notifier,
{
    match store_changes(config, &deps, options).await? {
        Stage::Dry(report) => Ok(report),
        Stage::Stored(stored) => publish(stored, &deps).await,
    }
}

/// How far [`store_changes`] went.
pub enum Stage {
    /// A dry run: everything computed, nothing written; the report is final.
    Dry(RunReport),
    /// The changes and their alerts are in the table; [`publish`] sends the alerts.
    Stored(Stored),
}

/// A run between storing its changes and publishing: what [`publish`] needs to finish it
/// and what auto-link needs in between.
pub struct Stored {
    pub run_id: String,
    pub organization_id: String,
    pub first_run: bool,
    /// History events written.
    pub events: Vec<ChangeEvent>,
    /// Each account's route (`APNWATCH_ROUTE_BY`), empty without routing.
    pub routes: BTreeMap<String, String>,
    summary: RunSummary,
    alert_ctx: AlertContext,
    account_writes: usize,
    unsettled: Vec<String>,
    organizations_calls: u64,
    sweep_state: Option<SweepState>,
    ou_names: Option<OuNames>,
    coverage: crate::domain::report::RunCoverage,
}

impl Stored {
    /// Counts auto-link's outcome into the run record, which `apnwatch report` sums: sent,
    /// accepted, and refusals by kind and reason.
    pub fn record_auto_link(&mut self, report: &crate::run::autolink::AutoLinkReport) {
        use crate::domain::model::{
            refusal_label,
            ChangeKind::{AcceptFailed, InviteFailed},
        };
        self.summary.invited = report.invited.len();
        self.summary.accepted = report.accepted.len();
        let invite = report
            .invite_failed
            .iter()
            .map(|(_, r)| refusal_label(InviteFailed, r));
        let accept = report
            .accept_failed
            .iter()
            .map(|(_, r)| refusal_label(AcceptFailed, r));
        for label in invite.chain(accept) {
            *self.summary.refusals.entry(label).or_default() += 1;
        }
    }

    /// The accounts this run discovered; none for a first run's baseline (auto-invite
    /// `new` leaves the baseline alone).
    pub fn discovered(&self) -> BTreeSet<String> {
        if self.first_run {
            return BTreeSet::new();
        }
        self.events
            .iter()
            .filter(|e| e.kind == crate::domain::model::ChangeKind::Discovered)
            .map(|e| e.account_id.clone())
            .collect()
    }
}

/// The first half of a run: read everything, then store the changes with their alerts (or,
/// dry, report what would be stored and published).
pub async fn store_changes<O, P, S, N>(
    config: &Config,
    deps: &Deps<'_, O, P, S, N>,
    options: RunOptions,
) -> Result<Stage, Error>
where
    O: OrgSource,
    P: PartnerCentralSource,
    S: Store,
    N: Notifier,
{
    // The table keeps milliseconds; a report with the same precision matches what is stored.
    let started_at = crate::clock::now().trunc_subsecs(3);
    let run_id = crate::clock::run_id();
    if !options.dry_run && deps.notifier.is_none() {
        return Err(missing_topic().into());
    }

    let previous = deps.store.load().await?;
    let deadline = options.deadline.as_ref();
    // Stored OU names spare the OU listing when the accounts come with their paths.
    let names = OuNameInputs {
        previous: &previous.ou_names,
        named: &options.named_units,
        now: started_at,
        max_age: config.ou_max_age,
    };
    let walk = deps.org.walk_reusing_names(names, deadline).await?;
    let ou_names = walk.ou_names;
    let mut tree = walk.tree;
    let mut organizations_calls = walk.calls;
    let mut sweep_state = None;
    if config.needs_tags() {
        let (calls, sweep) =
            read_tags(config, deps, &options, &previous, &mut tree, started_at).await?;
        organizations_calls += calls;
        sweep_state = sweep;
    }
    let partner_central = if config.rules.uses(LinkSource::PartnerCentral) {
        // A wiring bug, not a setting a user could fix: `App::new` builds the client
        // whenever the rules name the source.
        let pc = deps
            .partner_central
            .expect("the rules use partner-central but no Partner Central client was wired");
        Some(pc.links().await?)
    } else {
        None
    };
    // The last point where stopping leaves the table as it was.
    deadline::check(deadline, || {
        format!(
            "reading the organization ({} accounts, {organizations_calls} Organizations calls) and the link sources",
            tree.accounts.len()
        )
    })?;

    let routes = routes(config, &tree, &previous.records);
    // The walked accounts move into `resolved` rather than being copied: at 10,000 accounts
    // a second copy of the tree is megabytes the run never reads again.
    let organization_id = tree.organization_id;
    let resolved: Vec<(Account, LinkDecision)> = tree
        .accounts
        .into_iter()
        .map(|a| {
            let decision = resolve(&a, &config.rules, partner_central.as_ref());
            (a, decision)
        })
        .collect();
    let ctx = RunContext {
        run_id: run_id.clone(),
        now: started_at,
        first_run: previous.first_run,
        policy: config.alert_policy.clone(),
        routes,
    };
    let changes = diff(&previous.records, &resolved, &ctx);
    let after = records_after(previous.records.values(), changes.iter().map(|c| &c.record));
    let coverage = RunCoverage::of(&after, started_at);
    let alert_ctx = AlertContext {
        organization_id: organization_id.clone(),
        run_id: run_id.clone(),
        tag_key: config.rules.tag_key.clone(),
        routing: !config.route_by.is_none(),
    };
    let mut summary = count(&resolved, &run_id, started_at, options.dry_run);
    summary.organization_id = organization_id.clone();
    info!(
        run_id,
        accounts = summary.accounts,
        unlinked = summary.unlinked,
        changed = changes.len(),
        first_run = previous.first_run,
        "snapshot taken"
    );

    if options.dry_run {
        let mut alerts: Vec<PendingAlert> = deps.store.pending_alerts().await?;
        alerts.extend(changes.iter().filter_map(|c| c.alert.clone()));
        let mut kept = Reported::default();
        messages(&alerts, &alert_ctx).for_each(|m| kept.push(m));
        let events: Vec<ChangeEvent> = changes.iter().flat_map(|c| c.events.clone()).collect();
        summary.changes = events.len();
        summary.alerts = alerts.len();
        summary.messages = kept.count;
        let messages = kept.messages;
        summary.finished_at = crate::clock::now().trunc_subsecs(3);
        return Ok(Stage::Dry(RunReport {
            organization_id,
            summary,
            events,
            alerts,
            messages,
            account_writes: 0,
            unsettled: Vec::new(),
            organizations_calls,
            first_run: previous.first_run,
            auto_link: None,
            coverage,
        }));
    }

    // Only the first run of a summary period summarizes the accounts, rendered while the run
    // still holds them (borrowed: no copy of every record), queued once the changes are stored.
    let rendered = summary::due(config, deps.store, started_at)
        .await?
        .map(|due| summary::render(due, &after, &ctx.routes, &alert_ctx, started_at));
    drop(after);
    let (written, unsettled) = commit_all(deps.store, changes, &resolved, &ctx).await?;
    if let Some(rendered) = rendered {
        summary::queue(deps.store, rendered).await?;
    }
    // The walked accounts are in the table now; the alerts are read back from the outbox.
    drop(resolved);
    let Written {
        accounts: account_writes,
        events,
    } = written;
    summary.changes = events.len();
    info!(
        run_id,
        account_writes,
        events = events.len(),
        unsettled = unsettled.len(),
        "changes stored"
    );

    Ok(Stage::Stored(Stored {
        run_id,
        organization_id,
        first_run: previous.first_run,
        events,
        routes: ctx.routes,
        summary,
        alert_ctx,
        account_writes,
        unsettled,
        organizations_calls,
        sweep_state,
        ou_names,
        coverage,
    }))
}

/// Fills in the accounts' tags: every account's while the organization has at most
/// `APNWATCH_TAG_SWEEP_ABOVE` accounts, otherwise new accounts', tag-event accounts' and the
/// sweep's slice ([`sweep::plan`]). An account whose tags were not read keeps its stored
/// tags, so the diff never sees them removed. Returns the calls made and the sweep to store.
async fn read_tags<O, P, S, N>(
    config: &Config,
    deps: &Deps<'_, O, P, S, N>,
    options: &RunOptions,
    previous: &crate::ports::StoredState,
    tree: &mut crate::domain::model::OrgTree,
    now: chrono::DateTime<Utc>,
) -> Result<(u64, Option<SweepState>), Error>
where
    O: OrgSource,
{
    let ids: Vec<String> = tree.accounts.iter().map(|a| a.id.clone()).collect();
    let (read, sweep) = if ids.len() <= config.tag_sweep_above {
        (ids, None)
    } else {
        let mut sorted = ids;
        sorted.sort_unstable();
        let known: BTreeSet<String> = previous
            .records
            .values()
            .filter(|r| !r.removed)
            .map(|r| r.account.id.clone())
            .collect();
        let plan = sweep::plan(
            &sorted,
            &known,
            &options.tagged_accounts,
            &previous.sweep,
            now,
            config.tag_max_age,
        );
        info!(
            accounts = sorted.len(),
            slice = plan.slice,
            new_or_tagged = plan.forced,
            "tag reads spread"
        );
        (plan.read.into_iter().collect(), Some(plan.sweep))
    };
    let mut reads = deps.org.tags(&read, options.deadline.as_ref()).await?;
    for a in &mut tree.accounts {
        a.tags = match reads.tags.remove(&a.id) {
            Some(tags) => tags,
            None => previous
                .records
                .get(&a.id)
                .map(|r| r.account.tags.clone())
                .unwrap_or_default(),
        };
    }
    Ok((reads.calls, sweep))
}

/// Each account's route under `APNWATCH_ROUTE_BY`, for the walked accounts and for stored
/// ones (a removed account's resolved notice goes to the team it belonged to).
pub(super) fn routes(
    config: &Config,
    tree: &crate::domain::model::OrgTree,
    previous: &BTreeMap<String, crate::domain::model::AccountRecord>,
) -> BTreeMap<String, String> {
    if config.route_by.is_none() {
        return BTreeMap::new();
    }
    let names = route::unit_names(&tree.units);
    let route_of = |a: &crate::domain::model::Account| route::route_of(a, &config.route_by, &names);
    let mut routes: BTreeMap<String, String> = previous
        .values()
        .filter_map(|r| Some((r.account.id.clone(), route_of(&r.account)?)))
        .collect();
    // The walk's view of a current account wins, also when it no longer has a route.
    for account in &tree.accounts {
        match route_of(account) {
            Some(r) => routes.insert(account.id.clone(), r),
            None => routes.remove(&account.id),
        };
    }
    routes
}

fn count(
    resolved: &[(Account, LinkDecision)],
    run_id: &str,
    started_at: chrono::DateTime<Utc>,
    dry_run: bool,
) -> RunSummary {
    let n = |s: LinkState| resolved.iter().filter(|(_, d)| d.state == s).count();
    RunSummary {
        run_id: run_id.to_string(),
        started_at,
        finished_at: started_at,
        accounts: resolved.len(),
        linked: n(LinkState::Linked),
        pending: n(LinkState::Pending),
        unlinked: n(LinkState::Unlinked),
        exempt: n(LinkState::Exempt),
        dry_run,
        ..RunSummary::default()
    }
}

/// What [`commit_all`] wrote: the number of accounts and their events, nothing more (each
/// written change's record and alert are dropped as soon as it is written).
#[derive(Default)]
struct Written {
    accounts: usize,
    events: Vec<ChangeEvent>,
}

/// Whether `record` was written at a time later than `now` (a change, an alert, a refusal).
fn written_after(record: &crate::domain::model::AccountRecord, now: chrono::DateTime<Utc>) -> bool {
    record.last_changed > now
        || record.state_since > now
        || record.last_alerted_at.is_some_and(|t| t > now)
        || record.refusal.as_ref().is_some_and(|r| r.at > now)
}

/// Writes `changes`; an account another run changed since we read it is re-read and
/// re-diffed against this snapshot, since the other run usually recorded the same thing.
async fn commit_all<S: AccountTable>(
    store: &S,
    mut changes: Vec<AccountChange>,
    resolved: &[(Account, LinkDecision)],
    ctx: &RunContext,
) -> Result<(Written, Vec<String>), Error> {
    let mut written = Written::default();
    for round in 0..CONFLICT_ROUNDS {
        if changes.is_empty() {
            return Ok((written, Vec::new()));
        }
        let outcome = store.commit(&changes).await?;
        let conflicts: BTreeSet<String> = outcome.conflicts.into_iter().collect();
        let (lost, won): (Vec<_>, Vec<_>) = changes
            .into_iter()
            .partition(|c| conflicts.contains(&c.record.account.id));
        written.accounts += won.len();
        written
            .events
            .extend(won.into_iter().flat_map(|c| c.events));
        if lost.is_empty() {
            return Ok((written, Vec::new()));
        }
        warn!(
            round,
            accounts = lost.len(),
            "another run changed these accounts first; re-reading them"
        );
        let mut previous = BTreeMap::new();
        for id in &conflicts {
            if let Some(record) = store.account(id).await? {
                // Written from a newer view than this snapshot (a run that started later, or
                // auto-link after it): re-diffing ours would undo it, e.g. record an invitation
                // sent meanwhile as lapsed and alert INVITATION_LAPSED (found by the simulator;
                // its regression seed is in `sim/tests.rs`).
                if written_after(&record, ctx.now) {
                    continue;
                }
                previous.insert(id.clone(), record);
            }
        }
        let current: Vec<(Account, LinkDecision)> = resolved
            .iter()
            .filter(|(a, _)| previous.contains_key(&a.id))
            .cloned()
            .collect();
        changes = diff(&previous, &current, ctx);
    }
    let unsettled: Vec<String> = changes
        .iter()
        .map(|c| c.record.account.id.clone())
        .collect();
    if !unsettled.is_empty() {
        warn!(accounts = ?unsettled, "accounts still contended; the next run records them");
    }
    Ok((written, unsettled))
}

#[cfg(test)]
mod remind_tests;
#[cfg(test)]
mod summary_tests;
#[cfg(test)]
mod tests;
