//! Which OU names one run re-reads (pure, unit tested).
//!
//! When `ListAccounts` answers with `Paths` (`o-…/r-…/ou-…/ou-…/111122223333/`), every
//! account's OU ids, and so every OU's parent, come with the accounts; only the OU **names**
//! need another call, and they almost never change. So the names are kept in the table
//! ([`OuNames`], one item like the tag sweep's) with when each was read, and a run reads the
//! name (`DescribeOrganizationalUnit`, one call per OU) only of:
//! - OUs it has not seen (an id on a path that the stored names do not hold);
//! - OUs named in the `CreateOrganizationalUnit` / `UpdateOrganizationalUnit` /
//!   `DeleteOrganizationalUnit` / `MoveAccount` events that triggered the run;
//! - a rotating slice of the others, the least recently read first, sized like the tag slice
//!   ([`sweep::slice_len`]): the share of the OUs that the time since the previous stored run
//!   is of `APNWATCH_OU_MAX_AGE`, rounded up, so every name is re-read at least once per max
//!   age (a rename without an event shows within it);
//! - any name already older than the max age (runs that failed or ran without paths).
//!
//! The stored names cover exactly the OUs on the accounts' paths: an OU no path names any
//! more (deleted, or emptied) is dropped, and read again if an account lands in it later.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};

use crate::domain::sweep;

/// One OU's name, its parent (an OU or the root) and when the name was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OuName {
    pub name: String,
    pub parent_id: String,
    pub read_at: DateTime<Utc>,
}

/// The stored OU names of one organization.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OuNames {
    /// The organization the names belong to: names stored for another are not used.
    pub organization_id: Option<String>,
    /// When the last stored run that used them started (sizes the next slice).
    pub planned_at: Option<DateTime<Utc>>,
    /// By OU id.
    pub units: BTreeMap<String, OuName>,
}

impl OuNames {
    /// Names usable for `organization_id`: stored for it, and at least one.
    pub fn usable_for(&self, organization_id: &str) -> bool {
        self.organization_id.as_deref() == Some(organization_id) && !self.units.is_empty()
    }

    /// The names of a walk that read every OU at `now` (the listing walk), kept for the OUs on
    /// the accounts' paths (`on_paths`: OU id → parent id).
    pub fn read_all(
        organization_id: &str,
        names: &BTreeMap<String, String>,
        on_paths: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Self {
        OuNames {
            organization_id: Some(organization_id.to_string()),
            planned_at: Some(now),
            units: on_paths
                .iter()
                .filter_map(|(id, parent)| {
                    let name = names.get(id)?;
                    Some((
                        id.clone(),
                        OuName {
                            name: name.clone(),
                            parent_id: parent.clone(),
                            read_at: now,
                        },
                    ))
                })
                .collect(),
        }
    }
}

/// Which names a run reads, and why (for the log).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OuPlan {
    pub read: BTreeSet<String>,
    /// On a path but not stored (or stored under another parent).
    pub new: usize,
    /// Named in an event that triggered the run.
    pub forced: usize,
    /// The rotating slice and names past the max age.
    pub slice: usize,
}

/// Plans the name reads of a run: `on_paths` (OU id → parent id from the paths), the stored
/// names, the OU ids the triggering events named, the run's start and the max age.
pub fn plan(
    on_paths: &BTreeMap<String, String>,
    previous: &OuNames,
    forced: &BTreeSet<String>,
    now: DateTime<Utc>,
    max_age: Duration,
) -> OuPlan {
    let mut out = OuPlan::default();
    let mut rest: Vec<(DateTime<Utc>, &String)> = Vec::new();
    for (id, parent) in on_paths {
        match previous.units.get(id) {
            // An OU cannot move (Organizations has no such call): another parent means the
            // id is not what was stored, so it is read as new.
            Some(stored) if &stored.parent_id == parent => {
                if forced.contains(id) {
                    out.forced += 1;
                    out.read.insert(id.clone());
                } else {
                    rest.push((stored.read_at, id));
                }
            }
            _ => {
                out.new += 1;
                out.read.insert(id.clone());
            }
        }
    }
    let elapsed = previous.planned_at.map(|t| (now - t).max(Duration::zero()));
    let len = sweep::slice_len(on_paths.len(), elapsed, max_age);
    // Least recently read first; ties (names read by the same run) in id order.
    rest.sort();
    for (i, (read_at, id)) in rest.into_iter().enumerate() {
        if i < len || now - read_at >= max_age {
            out.slice += 1;
            out.read.insert(id.clone());
        }
    }
    out
}

/// The names to store after a run: every OU on the paths, with the name read this run (at
/// `now`) or the stored one. `None` when an OU on the paths has neither (a read is missing).
pub fn after_reads(
    organization_id: &str,
    on_paths: &BTreeMap<String, String>,
    previous: &OuNames,
    reads: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Option<OuNames> {
    let mut units = BTreeMap::new();
    for (id, parent) in on_paths {
        let unit = match (reads.get(id), previous.units.get(id)) {
            (Some(name), _) => OuName {
                name: name.clone(),
                parent_id: parent.clone(),
                read_at: now,
            },
            (None, Some(stored)) if &stored.parent_id == parent => stored.clone(),
            _ => return None,
        };
        units.insert(id.clone(), unit);
    }
    Some(OuNames {
        organization_id: Some(organization_id.to_string()),
        planned_at: Some(now),
        units,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + h * 3600, 0).unwrap()
    }

    /// `n` OUs under the root, `ou-ab12-00000000` …
    fn tree(n: usize) -> BTreeMap<String, String> {
        (0..n)
            .map(|i| (format!("ou-ab12-{i:08}"), "r-ab12".to_string()))
            .collect()
    }

    fn names(on_paths: &BTreeMap<String, String>, when: DateTime<Utc>) -> OuNames {
        let names = on_paths
            .keys()
            .map(|id| (id.clone(), format!("name-{id}")))
            .collect();
        OuNames::read_all("o-abc123def4", &names, on_paths, when)
    }

    /// An hourly run with a 24 h max age reads a 24th of 1,000 OUs and nothing else.
    #[test]
    fn an_unchanged_hourly_run_reads_a_24th() {
        let ous = tree(1000);
        let stored = names(&ous, at(0));
        let p = plan(&ous, &stored, &BTreeSet::new(), at(1), Duration::hours(24));
        assert_eq!((p.new, p.forced, p.slice), (0, 0, 42));
        assert_eq!(p.read.len(), 42);
    }

    /// Hourly runs over two days: every name is re-read within every 24 h, each run reads at
    /// most the slice.
    #[test]
    fn every_name_is_read_within_the_max_age() {
        let ous = tree(300);
        let day = Duration::hours(24);
        let mut stored = names(&ous, at(0));
        for h in 1..=48 {
            let p = plan(&ous, &stored, &BTreeSet::new(), at(h), day);
            assert!(p.read.len() <= 13, "hour {h}: {} reads", p.read.len());
            let reads = p
                .read
                .iter()
                .map(|id| (id.clone(), format!("name-{id}")))
                .collect();
            stored = after_reads("o-abc123def4", &ous, &stored, &reads, at(h)).unwrap();
            for (id, unit) in &stored.units {
                assert!(
                    at(h) - unit.read_at < day,
                    "hour {h}: {id} read {}",
                    unit.read_at
                );
            }
        }
    }

    /// New OUs (a new path) and OUs named in an event are read on top of the slice; an event
    /// naming an OU on no path (deleted, or empty) reads nothing.
    #[test]
    fn new_and_event_named_ous_are_read() {
        let mut ous = tree(100);
        let stored = names(&ous, at(0));
        ous.insert("ou-ab12-99999999".into(), "ou-ab12-00000001".into());
        let forced = BTreeSet::from(["ou-ab12-00000050".to_string(), "ou-ab12-gone0000".into()]);
        let p = plan(&ous, &stored, &forced, at(0), Duration::hours(24));
        assert_eq!((p.new, p.forced), (1, 1));
        assert!(p.read.contains("ou-ab12-99999999") && p.read.contains("ou-ab12-00000050"));
        assert!(!p.read.contains("ou-ab12-gone0000"));
    }

    /// A name older than the max age is read whatever the slice (runs failed or went
    /// without paths meanwhile).
    #[test]
    fn names_past_the_max_age_are_read() {
        let ous = tree(10);
        let mut stored = names(&ous, at(0));
        stored.planned_at = Some(at(29));
        stored.units.get_mut("ou-ab12-00000007").unwrap().read_at = at(-1);
        for id in ["ou-ab12-00000001", "ou-ab12-00000002"] {
            stored.units.get_mut(id).unwrap().read_at = at(28);
        }
        // Elapsed 1 h of 24 h: a slice of one, the least recently read (hour -1).
        let p = plan(&ous, &stored, &BTreeSet::new(), at(30), Duration::hours(24));
        assert!(p.read.contains("ou-ab12-00000007"));
        // Every other name but the two read at hour 28 is 30 h old: past the max age.
        assert_eq!(p.read.len(), 8);
    }

    /// After the reads, a deleted (or emptied) OU is dropped, a renamed one carries its new
    /// name and read time, the others keep theirs; a missing read gives no names at all.
    #[test]
    fn stored_names_follow_the_paths() {
        let ous = tree(3);
        let stored = names(&ous, at(0));
        let mut now_on_paths = ous.clone();
        now_on_paths.remove("ou-ab12-00000002");
        let reads = BTreeMap::from([("ou-ab12-00000001".to_string(), "Renamed".to_string())]);
        let next = after_reads("o-abc123def4", &now_on_paths, &stored, &reads, at(5)).unwrap();
        assert_eq!(next.units.len(), 2);
        assert_eq!(next.units["ou-ab12-00000001"].name, "Renamed");
        assert_eq!(next.units["ou-ab12-00000001"].read_at, at(5));
        assert_eq!(next.units["ou-ab12-00000000"].read_at, at(0));
        assert_eq!(next.planned_at, Some(at(5)));

        let mut with_new = ous.clone();
        with_new.insert("ou-ab12-77777777".into(), "r-ab12".into());
        assert_eq!(
            after_reads("o-abc123def4", &with_new, &stored, &reads, at(5)),
            None
        );
    }

    /// Names stored for another organization, or none, are not used.
    #[test]
    fn names_of_another_organization_are_not_used() {
        let stored = names(&tree(2), at(0));
        assert!(stored.usable_for("o-abc123def4"));
        assert!(!stored.usable_for("o-zzz999zzz9"));
        assert!(!OuNames::default().usable_for("o-abc123def4"));
    }
}
