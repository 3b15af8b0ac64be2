//! Deterministic simulation of thousands of runs (issue 17): the real run code
//! ([`crate::app::sequence`]: walk, resolve, diff, store, auto-link, publish) against the
//! in-memory ports with injected faults and crashes, one or two runs interleaved at random
//! await points, on a random organization that keeps changing. After every step and after
//! final clean runs, [`oracle::Oracle`] checks the README's promises.
//!
//! A seed decides everything (`SIM_SEED=<n>` replays one, printing its steps); a failure is
//! shrunk to the fewest steps that still fail. Built for unit tests and with `test-util`.

pub mod faults;
pub mod faulty;
pub mod oracle;
pub mod sched;
pub mod world;

use std::sync::Mutex;

use chrono::Duration;

use crate::alert::AlertMessage;
use crate::app::sequence;
use crate::clock::simulated;
use crate::fakes::{FakeOrg, FakePartnerCentral, FakeStore};
use crate::run::{Deps, RunOptions};
use faults::Ctl;
use faulty::FaultyNotifier;
use oracle::Oracle;
use sched::{Outcome, RunFuture};
use world::{Step, World};

/// What a batch of seeds exercised.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    pub seeds: u64,
    pub steps: u64,
    pub runs: u64,
    /// Steps with two runs interleaved.
    pub interleavings: u64,
    /// Errors injected at port calls.
    pub faults: u64,
    /// Runs dropped at an await point.
    pub crashes: u64,
    /// Alerts published a second time after a crash or error between SNS accepting the
    /// message and the outbox delete (the documented window).
    pub tolerated_duplicates: u64,
    pub violations: u64,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.seeds += o.seeds;
        self.steps += o.steps;
        self.runs += o.runs;
        self.interleavings += o.interleavings;
        self.faults += o.faults;
        self.crashes += o.crashes;
        self.tolerated_duplicates += o.tolerated_duplicates;
        self.violations += o.violations;
    }
}

/// A seed that broke a promise: its steps (shrunk) and what broke.
#[derive(Debug)]
pub struct Failure {
    pub seed: u64,
    pub steps: Vec<Step>,
    pub violations: Vec<String>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "simulation seed {} failed; replay with SIM_SEED={}",
            self.seed, self.seed
        )?;
        writeln!(f, "violations:")?;
        for v in &self.violations {
            writeln!(f, "  {v}")?;
        }
        writeln!(f, "steps ({}):", self.steps.len())?;
        for (i, s) in self.steps.iter().enumerate() {
            writeln!(f, "  {i:>3}: {s:?}")?;
        }
        Ok(())
    }
}

/// Plays `seed`; on a violation, shrinks its steps and returns the failure.
pub fn check_seed(seed: u64) -> Result<Stats, Failure> {
    let (steps, stats, violations) = play(seed, None);
    if violations.is_empty() {
        return Ok(stats);
    }
    let (steps, violations) = shrink(seed, steps, violations);
    Err(Failure {
        seed,
        steps,
        violations,
    })
}

/// Drops steps one at a time while the seed still fails (a few hundred replays at most).
fn shrink(
    seed: u64,
    mut steps: Vec<Step>,
    mut violations: Vec<String>,
) -> (Vec<Step>, Vec<String>) {
    let mut budget = 300;
    let mut i = steps.len();
    while i > 0 && budget > 0 {
        i -= 1;
        budget -= 1;
        let mut fewer = steps.clone();
        fewer.remove(i);
        let (_, _, v) = play(seed, Some(&fewer));
        if !v.is_empty() {
            steps = fewer;
            violations = v;
        }
    }
    (steps, violations)
}

/// Sets the simulated clock for this thread and puts the system clock back on drop.
struct ClockGuard;

impl Drop for ClockGuard {
    fn drop(&mut self) {
        simulated::clear();
    }
}

/// Plays one seed: its own steps, or `given` ones (replaying a shrunk list). Returns the
/// steps played, the figures and the violations.
pub fn play(seed: u64, given: Option<&[Step]>) -> (Vec<Step>, Stats, Vec<String>) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let (mut world, settings) = World::generate(&mut rng);
    let config = settings.config();
    let org = FakeOrg::new(world.tree.clone());
    let pc = FakePartnerCentral::default();
    let store = FakeStore::default();
    let published: Mutex<Vec<AlertMessage>> = Mutex::default();
    let ctl = Ctl::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    let _clock = ClockGuard;
    simulated::set(world.now);

    let (f_org, f_pc, f_store) = (ctl.wrap(&org), ctl.wrap(&pc), ctl.wrap(&store));
    let f_sns = FaultyNotifier {
        ctl: &ctl,
        published: &published,
    };
    let deps = Deps {
        org: &f_org,
        partner_central: Some(&f_pc),
        store: &f_store,
        notifier: Some(&f_sns),
    };

    let mut stats = Stats {
        seeds: 1,
        ..Stats::default()
    };
    let mut oracle = Oracle::default();
    let mut played = Vec::new();
    let count = given.map_or_else(|| rng.usize(10..=40), <[Step]>::len);
    for n in 0..count {
        let step = match given {
            Some(steps) => steps[n].clone(),
            None => next_step(&mut rng, &mut world),
        };
        world.apply(&step);
        oracle.begin_step(&world);
        if let Step::Run {
            seed,
            runs,
            fault_rate,
            crash,
        } = &step
        {
            *org.tree.lock().unwrap() = world.tree.clone();
            *pc.links.lock().unwrap() = world.links.clone();
            simulated::set(world.now);
            ctl.begin(*seed, *fault_rate, *runs);
            let mut step_rng = fastrand::Rng::with_seed(*seed);
            let futures: Vec<RunFuture<'_>> = (0..*runs)
                .map(|_| {
                    Box::pin(sequence(&config, &deps, Some(&f_pc), RunOptions::default()))
                        as RunFuture<'_>
                })
                .collect();
            let outcomes = rt.block_on(sched::interleave(
                &ctl,
                futures,
                &crash[..*runs],
                &mut step_rng,
            ));
            world.links = pc.links.lock().unwrap().clone();
            world.now = crate::clock::now();
            stats.runs += *runs as u64;
            stats.interleavings += u64::from(*runs > 1);
            stats.crashes += outcomes
                .iter()
                .filter(|o| matches!(o, Outcome::Crashed(_)))
                .count() as u64;
        }
        stats.steps += 1;
        played.push(step);
        let mut record = ctl.record.lock().unwrap();
        oracle.after_step(&store.snapshot(), &mut record, &settings);
    }

    // The final clean runs: faults off, the clock past any lease a crash left, until a run
    // changes nothing (auto-link may need a run to see what it did).
    world.now += Duration::minutes(10);
    simulated::set(world.now);
    *org.tree.lock().unwrap() = world.tree.clone();
    *pc.links.lock().unwrap() = world.links.clone();
    oracle.begin_step(&world);
    for _ in 0..6 {
        ctl.begin(0, 0.0, 1);
        let run: RunFuture<'_> =
            Box::pin(sequence(&config, &deps, Some(&f_pc), RunOptions::default()));
        let outcome = rt.block_on(sched::interleave(&ctl, vec![run], &[None], &mut rng));
        stats.runs += 1;
        world.links = pc.links.lock().unwrap().clone();
        world.now = crate::clock::now();
        let quiet = match &outcome[0] {
            Outcome::Done(done) => match done.as_ref() {
                Ok(report) => {
                    let linked = report
                        .auto_link
                        .as_ref()
                        .is_some_and(|a| !a.invited.is_empty() || !a.accepted.is_empty());
                    report.account_writes == 0 && !linked
                }
                Err(e) => {
                    oracle
                        .violations
                        .push(format!("a clean run failed: {}", e.one_line()));
                    true
                }
            },
            Outcome::Crashed(_) => true,
        };
        if quiet && store.snapshot().outbox.is_empty() {
            break;
        }
    }
    {
        let mut record = ctl.record.lock().unwrap();
        let table = store.snapshot();
        oracle.after_step(&table, &mut record, &settings);
        oracle.at_end(&world, &table, &record);
        // `SIM_DUMP=<account id>`: what the table and the outbox said about one account.
        if let (Ok(id), None) = (std::env::var("SIM_DUMP"), given) {
            for e in table.history.iter().filter(|e| e.account_id == id) {
                println!(
                    "event {} {} {:?} -> {:?} {} {}",
                    e.run_id, e.kind, e.before, e.after, e.at, e.detail
                );
            }
            for a in record
                .queued
                .values()
                .filter(|a| a.subject.account_id == id)
            {
                println!(
                    "alert {} {} {} {}",
                    a.id,
                    a.reason.as_str(),
                    a.subject.link_state,
                    a.created_at
                );
            }
        }
        stats.tolerated_duplicates = record.tolerated_duplicates;
    }
    stats.faults = ctl.faults();
    stats.violations = oracle.violations.len() as u64;
    (played, stats, oracle.violations)
}

/// A random step: a change to the organization or Partner Central, a clock advance, or one
/// or two runs with faults.
fn next_step(rng: &mut fastrand::Rng, world: &mut World) -> Step {
    match rng.u8(..100) {
        0..=44 => world.random_change(rng),
        45..=54 => Step::Advance {
            seconds: [600, 3600, 6 * 3600, 86_400, 3 * 86_400, 8 * 86_400][rng.usize(..6)],
        },
        _ => {
            let crash = |rng: &mut fastrand::Rng| (rng.u8(..4) == 0).then(|| rng.u32(1..=60));
            Step::Run {
                seed: rng.u64(..),
                runs: if rng.u8(..3) == 0 { 2 } else { 1 },
                fault_rate: [0.0, 0.02, 0.05, 0.15][rng.usize(..4)],
                crash: [crash(rng), crash(rng)],
            }
        }
    }
}

#[cfg(test)]
mod tests;
