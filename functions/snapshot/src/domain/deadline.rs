//! The time a run may take: the Lambda's deadline (or the CLI's `--deadline`) minus a safety
//! margin for what comes after the walk (the commit and the publish). The walk checks it
//! before every request, so a run that cannot finish stops while it has written nothing,
//! instead of being killed by Lambda halfway through its writes.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::Error;

/// At most this much of the budget is kept for storing and publishing.
pub const MAX_MARGIN: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// When the invoke ends.
    pub at: Instant,
    /// The walk stops when less than this is left.
    pub margin: Duration,
}

impl Deadline {
    /// `budget` from now; the margin is a quarter of it, at most [`MAX_MARGIN`].
    pub fn after(budget: Duration) -> Self {
        Self {
            at: Instant::now() + budget,
            margin: (budget / 4).min(MAX_MARGIN),
        }
    }

    /// From the Lambda context's deadline, milliseconds since the Unix epoch; `None` when
    /// that is not in the future, which no real invoke has: an emulator's value (`cargo
    /// lambda watch` sends its timeout, `600000`, not an epoch time) must not fail every run.
    pub fn from_epoch_millis(deadline_ms: u64) -> Option<Self> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        (deadline_ms > now_ms).then(|| Self::after(Duration::from_millis(deadline_ms - now_ms)))
    }

    pub fn left(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Fails with [`Error::Deadline`] once less than the margin is left; `progress` says how
    /// far the run got.
    pub fn check(&self, progress: impl FnOnce() -> String) -> Result<(), Error> {
        if self.left() > self.margin {
            return Ok(());
        }
        Err(self.exceeded(progress()))
    }

    /// The [`Error::Deadline`] of a run stopped now, `progress` saying how far it got: for
    /// [`Self::check`] and for work cut off by a timeout at the margin.
    pub fn exceeded(&self, progress: String) -> Error {
        Error::Deadline {
            progress,
            left_ms: self.left().as_millis() as u64,
            margin_ms: self.margin.as_millis() as u64,
        }
    }
}

/// `None` passes: the CLI has no deadline unless `--deadline` is given.
pub fn check(deadline: Option<&Deadline>, progress: impl FnOnce() -> String) -> Result<(), Error> {
    deadline.map_or(Ok(()), |d| d.check(progress))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A generous budget passes; a spent one fails naming the progress and what to change.
    #[test]
    fn a_spent_budget_fails_with_the_progress() {
        assert!(Deadline::after(Duration::from_secs(600))
            .check(String::new)
            .is_ok());
        let e = Deadline::after(Duration::ZERO)
            .check(|| "12 units and 300 accounts listed".into())
            .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("12 units and 300 accounts listed"), "{text}");
        assert!(text.contains("nothing was written"), "{text}");
        assert!(
            text.contains("APNWATCH_LINK_SOURCES") && text.contains("MemorySize"),
            "{text}"
        );
        assert_eq!(e.kind(), "DeadlineError");
        assert_eq!(Deadline::after(Duration::from_secs(900)).margin, MAX_MARGIN);
    }

    /// An epoch deadline in the future is kept; one in the past (an emulator's) is none.
    #[test]
    fn epoch_deadlines_in_the_past_are_ignored() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let d = Deadline::from_epoch_millis(now_ms + 60_000).unwrap();
        assert!(d.left() > Duration::from_secs(50) && d.margin == Duration::from_secs(15));
        assert_eq!(Deadline::from_epoch_millis(600_000), None);
        assert_eq!(Deadline::from_epoch_millis(0), None);
    }
}
