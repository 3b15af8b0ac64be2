//! Which accounts' tags one run reads (pure, unit tested).
//!
//! Organizations has no batch tag read: one `ListTagsForResource` per account. Up to
//! `APNWATCH_TAG_SWEEP_ABOVE` accounts every run reads every account's tags. Above it, a run
//! reads tags for new accounts, for accounts named in `TagResource`/`UntagResource` events,
//! and for a rotating slice of the others, in account-id order, sized from the time since the
//! previous sweep so that the rotation goes once round the organization every
//! `APNWATCH_TAG_MAX_AGE`. The function does not know its schedule; measuring the time since
//! the last sweep that was stored adapts to any schedule, to extra event-driven runs (each
//! reads a smaller slice) and to failed runs (their slice is not stored, so the next run's
//! elapsed time, and slice, is larger).
//!
//! The position of the rotation and when each part of it was read live in one table item
//! ([`SweepState`]), so an unchanged run writes that one item and no account.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

/// Below this elapsed time a run still reads a slice sized for it: two runs seconds apart
/// (an event right after the schedule) each read at least this share.
pub const MIN_ELAPSED: Duration = Duration::seconds(60);

/// One slice of the rotation a run read: the accounts from `first` through `last` in id
/// order, wrapping past the end when `last < first`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweptRange {
    pub first: String,
    pub last: String,
    pub at: DateTime<Utc>,
}

impl SweptRange {
    pub fn covers(&self, id: &str) -> bool {
        if self.first <= self.last {
            self.first.as_str() <= id && id <= self.last.as_str()
        } else {
            id >= self.first.as_str() || id <= self.last.as_str()
        }
    }
}

/// The stored sweep: where the rotation stands and which slices were read when.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepState {
    /// The last account id the rotation read; the next slice starts after it.
    pub cursor: Option<String>,
    /// When the last stored sweep ran (the start of that run).
    pub swept_at: Option<DateTime<Utc>>,
    /// Slices read within the last two max ages, newest last (single accounts read because
    /// they were new or named in a tag event are ranges of one).
    pub ranges: Vec<SweptRange>,
}

impl SweepState {
    /// When `id`'s tags were last read, as far as the sweep knows.
    pub fn tags_read_at(&self, id: &str) -> Option<DateTime<Utc>> {
        self.ranges
            .iter()
            .filter(|r| r.covers(id))
            .map(|r| r.at)
            .max()
    }
}

/// How many accounts the rotating slice reads: the share of `n` that `elapsed` is of
/// `max_age`, rounded up (so the rotation is never slower than the max age), at least one,
/// at most all. Without a previous sweep every account is read.
pub fn slice_len(n: usize, elapsed: Option<Duration>, max_age: Duration) -> usize {
    let Some(elapsed) = elapsed else { return n };
    if n == 0 || elapsed >= max_age || max_age <= Duration::zero() {
        return n;
    }
    let elapsed = elapsed.max(MIN_ELAPSED).num_milliseconds() as u128;
    let max_age = max_age.num_milliseconds() as u128;
    let len = (n as u128 * elapsed).div_ceil(max_age);
    (len as usize).clamp(1, n)
}

/// The next `len` ids after `cursor` in `sorted` (ascending), wrapping round; the new cursor
/// is the last id taken. A cursor whose account is gone still marks a position.
pub fn rotate<'a>(
    sorted: &'a [String],
    cursor: Option<&str>,
    len: usize,
) -> (Vec<&'a String>, Option<String>) {
    if sorted.is_empty() || len == 0 {
        return (Vec::new(), cursor.map(str::to_string));
    }
    let start = cursor.map_or(0, |c| sorted.partition_point(|id| id.as_str() <= c)) % sorted.len();
    let taken: Vec<&String> = sorted
        .iter()
        .cycle()
        .skip(start)
        .take(len.min(sorted.len()))
        .collect();
    let next = taken.last().map(|id| id.to_string());
    (taken, next)
}

/// What one run reads, and the sweep to store after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPlan {
    pub read: BTreeSet<String>,
    pub sweep: SweepState,
    /// Accounts read because they are new or named in a tag event (outside the slice).
    pub forced: usize,
    pub slice: usize,
}

/// Plans the tag reads of a run above the sweep threshold: the slice, every account not
/// in `known` (new), and every account in `forced` that still exists.
pub fn plan(
    sorted: &[String],
    known: &BTreeSet<String>,
    forced: &BTreeSet<String>,
    previous: &SweepState,
    now: DateTime<Utc>,
    max_age: Duration,
) -> TagPlan {
    let elapsed = previous.swept_at.map(|t| (now - t).max(Duration::zero()));
    let len = slice_len(sorted.len(), elapsed, max_age);
    let (slice, cursor) = rotate(sorted, previous.cursor.as_deref(), len);
    let mut ranges: Vec<SweptRange> = previous
        .ranges
        .iter()
        .filter(|r| now - r.at <= max_age * 2)
        .cloned()
        .collect();
    if let (Some(first), Some(last)) = (slice.first(), slice.last()) {
        ranges.push(SweptRange {
            first: first.to_string(),
            last: last.to_string(),
            at: now,
        });
    }
    let mut read: BTreeSet<String> = slice.iter().map(|id| id.to_string()).collect();
    let slice_count = read.len();
    let extra: Vec<&String> = sorted
        .iter()
        .filter(|id| !read.contains(*id) && (!known.contains(*id) || forced.contains(*id)))
        .collect();
    for id in &extra {
        ranges.push(SweptRange {
            first: id.to_string(),
            last: id.to_string(),
            at: now,
        });
        read.insert(id.to_string());
    }
    TagPlan {
        forced: extra.len(),
        slice: slice_count,
        read,
        sweep: SweepState {
            cursor,
            swept_at: Some(now),
            ranges,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("{:012}", 100_000_000_000 + i))
            .collect()
    }

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + h * 3600, 0).unwrap()
    }

    /// An hourly schedule with a 24 h max age reads a 24th of the accounts, rounded up.
    #[test]
    fn hourly_runs_read_a_24th() {
        let day = Duration::hours(24);
        assert_eq!(slice_len(300, Some(Duration::hours(1)), day), 13);
        assert_eq!(slice_len(10_000, Some(Duration::hours(1)), day), 417);
        assert_eq!(slice_len(10_000, None, day), 10_000, "no previous sweep");
        assert_eq!(
            slice_len(10, Some(Duration::days(3)), day),
            10,
            "a long gap"
        );
        assert_eq!(
            slice_len(10, Some(Duration::zero()), day),
            1,
            "at least one"
        );
    }

    /// The rotation goes on after the cursor and wraps past the last id.
    #[test]
    fn rotation_wraps() {
        let all = ids(5);
        let (s, c) = rotate(&all, None, 2);
        assert_eq!(s, vec![&all[0], &all[1]]);
        let (s, c) = rotate(&all, c.as_deref(), 2);
        assert_eq!(s, vec![&all[2], &all[3]]);
        let (s, c) = rotate(&all, c.as_deref(), 2);
        assert_eq!(s, vec![&all[4], &all[0]]);
        assert_eq!(c.as_deref(), Some(all[0].as_str()));
        // A removed cursor account still marks the position.
        let (s, _) = rotate(&all[..2], Some(&all[4]), 1);
        assert_eq!(s, vec![&all[0]]);
    }

    /// Hourly runs over two days: every account's tags are read within every 24 h window,
    /// and `tags_read_at` says so.
    #[test]
    fn every_account_is_read_within_the_max_age() {
        let all = ids(300);
        let known: BTreeSet<String> = all.iter().cloned().collect();
        let day = Duration::hours(24);
        let mut sweep = SweepState {
            cursor: None,
            swept_at: Some(at(0)),
            ranges: all
                .iter()
                .map(|id| SweptRange {
                    first: id.clone(),
                    last: id.clone(),
                    at: at(0),
                })
                .collect(),
        };
        let mut last_read = std::collections::BTreeMap::new();
        for h in 1..=48 {
            let p = plan(&all, &known, &BTreeSet::new(), &sweep, at(h), day);
            assert!(p.read.len() <= 13, "hour {h}: {} reads", p.read.len());
            for id in &p.read {
                last_read.insert(id.clone(), h);
            }
            sweep = p.sweep;
            if h >= 24 {
                for id in &all {
                    let read = last_read.get(id).copied().unwrap_or(0);
                    assert!(h - read < 24, "{id} last read at hour {read}, now {h}");
                    let stored = sweep.tags_read_at(id).unwrap();
                    assert!(at(h) - stored < day, "{id}: tags_read_at {stored}");
                }
            }
        }
    }

    /// New accounts and accounts named in tag events are read on top of the slice.
    #[test]
    fn new_and_tagged_accounts_are_read() {
        let all = ids(100);
        let known: BTreeSet<String> = all[..99].iter().cloned().collect();
        let forced = BTreeSet::from([all[50].clone(), "999999999999".to_string()]);
        let sweep = SweepState {
            cursor: Some(all[9].clone()),
            swept_at: Some(at(0)),
            ranges: Vec::new(),
        };
        let p = plan(&all, &known, &forced, &sweep, at(1), Duration::hours(24));
        assert_eq!(p.slice, 5);
        assert_eq!(
            p.forced, 2,
            "the gone account named in an event is not read"
        );
        assert!(p.read.contains(&all[99]) && p.read.contains(&all[50]));
        assert!(p.read.contains(&all[10]) && p.read.contains(&all[14]));
        assert_eq!(p.sweep.cursor.as_deref(), Some(all[14].as_str()));
        assert_eq!(p.sweep.tags_read_at(&all[50]), Some(at(1)));
        assert_eq!(p.sweep.tags_read_at(&all[60]), None);
    }
}
