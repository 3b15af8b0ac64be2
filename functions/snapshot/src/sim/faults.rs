//! Fault injection around the in-memory ports: every port call is an await point where the
//! scheduler may switch to the other run or crash this one (drop its future, like kill -9),
//! and where an error may be returned instead of the answer (throttled, denied, timeout).
//! A write may also time out after it took effect, as a lost response does.
//!
//! The wrappers in [`super::faulty`] ask [`Ctl`] at each call; it also keeps what the oracle
//! needs: every alert written to the outbox, every message SNS accepted, every ack.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use crate::domain::model::PendingAlert;
use crate::error::Error;

/// The kinds of error injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Throttled,
    Denied,
    Timeout,
}

/// Where one run stands, as the scheduler sees it.
#[derive(Debug, Default, Clone)]
pub struct TaskState {
    /// Await points reached.
    pub yields: u32,
    /// Paused at one of our await points (not in a timer).
    pub at_yield: bool,
    /// The last point, e.g. `after sns.publish`.
    pub point: String,
}

/// What the runs did to the ports, for the oracle.
#[derive(Debug, Default)]
pub struct Record {
    /// Each alert id ever written to the outbox, with its last content.
    pub queued: BTreeMap<String, PendingAlert>,
    /// Each alert id SNS accepted, how often.
    pub published: BTreeMap<String, u32>,
    /// Alerts SNS accepted and the outbox still holds (the documented duplicate window).
    pub unacked: BTreeSet<String>,
    /// Alerts deleted from the outbox after SNS accepted them.
    pub acked: BTreeSet<String>,
    /// Publications of an alert already published and never acked: tolerated.
    pub tolerated_duplicates: u64,
    /// Broken promises seen at the ports (an acked alert published or queued again).
    pub violations: Vec<String>,
}

/// The fault plan and the run bookkeeping shared by the wrappers and the scheduler.
pub struct Ctl {
    inner: Mutex<CtlState>,
    pub record: Mutex<Record>,
}

struct CtlState {
    rng: fastrand::Rng,
    /// Probability that a port call fails.
    fault_rate: f64,
    current: usize,
    tasks: Vec<TaskState>,
    faults: u64,
}

impl Default for Ctl {
    fn default() -> Self {
        Self {
            inner: Mutex::new(CtlState {
                rng: fastrand::Rng::with_seed(0),
                fault_rate: 0.0,
                current: 0,
                tasks: Vec::new(),
                faults: 0,
            }),
            record: Mutex::new(Record::default()),
        }
    }
}

impl Ctl {
    /// Starts a step: `tasks` runs, faults drawn from `seed` at `fault_rate` per call.
    pub fn begin(&self, seed: u64, fault_rate: f64, tasks: usize) {
        let mut s = self.inner.lock().unwrap();
        s.rng = fastrand::Rng::with_seed(seed);
        s.fault_rate = fault_rate;
        s.current = 0;
        s.tasks = vec![TaskState::default(); tasks];
    }

    pub fn set_current(&self, task: usize) {
        self.inner.lock().unwrap().current = task;
    }

    pub fn task(&self, task: usize) -> TaskState {
        self.inner.lock().unwrap().tasks[task].clone()
    }

    /// Errors injected so far.
    pub fn faults(&self) -> u64 {
        self.inner.lock().unwrap().faults
    }

    fn mark(&self, point: String) {
        let mut s = self.inner.lock().unwrap();
        let i = s.current;
        if let Some(t) = s.tasks.get_mut(i) {
            t.yields += 1;
            t.at_yield = true;
            t.point = point;
        }
    }

    fn resumed(&self) {
        let mut s = self.inner.lock().unwrap();
        let i = s.current;
        if let Some(t) = s.tasks.get_mut(i) {
            t.at_yield = false;
        }
    }

    /// An await point: the scheduler may switch runs or crash this one here.
    async fn point(&self, label: String) {
        // Time passes during a run: a second per call, so runs that overlap start at
        // different times, as they do in Lambda.
        crate::clock::simulated::advance(chrono::Duration::seconds(1));
        self.mark(label);
        YieldOnce(false).await;
        self.resumed();
    }

    fn draw(&self) -> Option<Fault> {
        let mut s = self.inner.lock().unwrap();
        if s.fault_rate <= 0.0 || s.rng.f64() >= s.fault_rate {
            return None;
        }
        s.faults += 1;
        Some(match s.rng.u8(..3) {
            0 => Fault::Throttled,
            1 => Fault::Denied,
            _ => Fault::Timeout,
        })
    }

    fn coin(&self) -> bool {
        self.inner.lock().unwrap().rng.bool()
    }

    /// How many accounts of a commit go in the next transaction.
    pub(super) fn chunk(&self, n: usize) -> usize {
        self.inner.lock().unwrap().rng.usize(1..=n.max(1))
    }

    /// Before a call: an await point, then maybe an error instead of the call.
    pub(super) async fn before(&self, op: &'static str) -> Option<Fault> {
        self.point(format!("before {op}")).await;
        self.draw()
    }

    /// After a call took effect: an await point, then (writes only) maybe a timeout that
    /// hides the effect from the caller.
    pub(super) async fn after(&self, op: &'static str, write: bool) -> Option<Fault> {
        self.point(format!("after {op}")).await;
        if write && self.draw().is_some() {
            // Half of the drawn faults on a write hit after the effect: a lost response.
            return self.coin().then_some(Fault::Timeout);
        }
        None
    }
}

/// Returns `Pending` once (waking itself at once), so the scheduler regains control.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

pub(super) fn cause(f: Fault) -> crate::error::BoxError {
    Box::new(std::io::Error::other(match f {
        Fault::Throttled => "ThrottlingException: Rate exceeded (injected)",
        Fault::Denied => "AccessDeniedException (injected)",
        Fault::Timeout => "timed out (injected)",
    }))
}

pub(super) fn store_error(op: &'static str, f: Fault) -> Error {
    Error::Store {
        table: "sim".into(),
        operation: op,
        hint: "injected fault".into(),
        source: cause(f),
    }
}
