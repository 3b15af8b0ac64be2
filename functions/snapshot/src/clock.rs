//! The run's clock and run ids. The product reads the system clock and a UUIDv7; the
//! simulator (`sim`, feature `test-util`) replaces both on its thread with a simulated clock
//! and a counter, so a seed replays exactly and "a week later" takes no time.

use chrono::{DateTime, Utc};

/// Now, as the run sees it.
pub fn now() -> DateTime<Utc> {
    #[cfg(any(test, feature = "test-util"))]
    if let Some(now) = simulated::now() {
        return now;
    }
    Utc::now()
}

/// A new run id: a UUIDv7, so ids sort by start time.
pub fn run_id() -> String {
    #[cfg(any(test, feature = "test-util"))]
    if let Some(id) = simulated::run_id() {
        return id;
    }
    uuid::Uuid::now_v7().to_string()
}

/// The simulated clock: thread-local, so tests running in parallel never see each other's.
#[cfg(any(test, feature = "test-util"))]
pub mod simulated {
    use std::cell::RefCell;

    use chrono::{DateTime, Utc};

    struct Sim {
        now: DateTime<Utc>,
        ids: u64,
    }

    thread_local! {
        static SIM: RefCell<Option<Sim>> = const { RefCell::new(None) };
    }

    /// From now on this thread's clock reads `at` (until [`set`] again or [`clear`]) and run
    /// ids count up from 1.
    pub fn set(at: DateTime<Utc>) {
        SIM.with(|s| {
            let mut s = s.borrow_mut();
            let ids = s.as_ref().map_or(0, |s| s.ids);
            *s = Some(Sim { now: at, ids });
        });
    }

    /// Moves this thread's simulated clock on by `d` (time passing during a run).
    pub fn advance(d: chrono::Duration) {
        SIM.with(|s| {
            if let Some(sim) = s.borrow_mut().as_mut() {
                sim.now += d;
            }
        });
    }

    /// Back to the system clock and UUIDs; the id counter restarts.
    pub fn clear() {
        SIM.with(|s| *s.borrow_mut() = None);
    }

    pub(crate) fn now() -> Option<DateTime<Utc>> {
        SIM.with(|s| s.borrow().as_ref().map(|s| s.now))
    }

    pub(crate) fn run_id() -> Option<String> {
        SIM.with(|s| {
            let mut s = s.borrow_mut();
            let sim = s.as_mut()?;
            sim.ids += 1;
            // UUID-shaped and sorting in creation order, like a v7.
            Some(format!("00000000-0000-7000-8000-{:012}", sim.ids))
        })
    }
}
