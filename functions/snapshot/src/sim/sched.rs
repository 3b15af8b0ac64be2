//! The deterministic scheduler: polls one or two run futures by hand, choosing with a seeded
//! generator which one goes on at each await point, and crashes a run by dropping its
//! future at the await point chosen for it. Timers (the publish lease's back-off, the
//! auto-link budget) run on tokio's paused clock, which only moves when both runs wait on
//! one, so the whole step is a pure function of its seed.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use crate::error::Error;
use crate::run::RunReport;
use crate::sim::faults::Ctl;

pub type RunFuture<'a> = Pin<Box<dyn Future<Output = Result<RunReport, Error>> + 'a>>;

/// How one run ended.
#[derive(Debug)]
pub enum Outcome {
    Done(Box<Result<RunReport, Error>>),
    /// Dropped at this await point.
    Crashed(String),
}

/// Set when the run it belongs to can go on; wakes the scheduler.
#[derive(Default)]
struct Flag {
    woken: AtomicBool,
    outer: Mutex<Option<Waker>>,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        if let Some(w) = self.outer.lock().unwrap().as_ref() {
            w.wake_by_ref();
        }
    }
}

/// Runs `runs` to their end (or crash): `crash_at[i]` is the await point (counted from 1)
/// where run `i` dies, if it gets that far.
pub async fn interleave(
    ctl: &Ctl,
    runs: Vec<RunFuture<'_>>,
    crash_at: &[Option<u32>],
    rng: &mut fastrand::Rng,
) -> Vec<Outcome> {
    let n = runs.len();
    let mut slots: Vec<Option<RunFuture<'_>>> = runs.into_iter().map(Some).collect();
    let mut outcomes: Vec<Option<Outcome>> = (0..n).map(|_| None).collect();
    let flags: Vec<Arc<Flag>> = (0..n)
        .map(|_| {
            let f = Arc::new(Flag::default());
            f.woken.store(true, Ordering::SeqCst);
            f
        })
        .collect();
    std::future::poll_fn(|cx| loop {
        let runnable: Vec<usize> = (0..n)
            .filter(|&i| slots[i].is_some() && flags[i].woken.load(Ordering::SeqCst))
            .collect();
        if runnable.is_empty() {
            if slots.iter().all(Option::is_none) {
                return Poll::Ready(());
            }
            for f in &flags {
                *f.outer.lock().unwrap() = Some(cx.waker().clone());
            }
            if (0..n).any(|i| slots[i].is_some() && flags[i].woken.load(Ordering::SeqCst)) {
                continue;
            }
            return Poll::Pending;
        }
        let i = runnable[rng.usize(..runnable.len())];
        flags[i].woken.store(false, Ordering::SeqCst);
        ctl.set_current(i);
        let waker = Waker::from(flags[i].clone());
        let fut = slots[i].as_mut().expect("runnable");
        match fut.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(r) => {
                outcomes[i] = Some(Outcome::Done(Box::new(r)));
                slots[i] = None;
            }
            Poll::Pending => {
                let t = ctl.task(i);
                if t.at_yield && crash_at[i] == Some(t.yields) {
                    slots[i] = None;
                    outcomes[i] = Some(Outcome::Crashed(t.point));
                }
            }
        }
    })
    .await;
    outcomes
        .into_iter()
        .map(|o| o.expect("every run ends"))
        .collect()
}
