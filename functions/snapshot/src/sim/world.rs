//! The simulated world: a random organization (up to ~50 accounts under up to three OU
//! levels, with tags and exemptions), Partner Central's links, the settings, and the steps
//! that change them. The truth the oracle checks against is computed here, independently of
//! the resolver: exempt (list, OU subtree, `exempt` tag) beats linked (primary account,
//! active connection, `linked` tag), then a pending invitation, else unlinked.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};

use crate::config::Config;
use crate::domain::link::PartnerCentralLinks;
use crate::domain::model::{Account, AccountState, LinkState, OrgTree, OrgUnit};

pub const TAG_KEY: &str = "apn-link";
const ROOT: &str = "r-sim1";

/// One step of a scenario. Steps name accounts by id; one about an account that is gone
/// does nothing, so a shrunk list still replays.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Create {
        id: String,
        parent: String,
        tag: Option<String>,
    },
    Move {
        id: String,
        to: String,
    },
    Close {
        id: String,
        state: AccountState,
    },
    Remove {
        id: String,
    },
    Tag {
        id: String,
        value: String,
    },
    Untag {
        id: String,
    },
    Connect {
        id: String,
    },
    Cancel {
        id: String,
    },
    Invite {
        id: String,
    },
    Accept {
        id: String,
    },
    Reject {
        id: String,
    },
    Expire {
        id: String,
    },
    Advance {
        seconds: i64,
    },
    /// One run, or two interleaved; faults at `fault_rate` per port call; `crash[i]`: the
    /// await point where run `i` dies (if it gets there). `seed` drives the step's choices.
    Run {
        seed: u64,
        runs: usize,
        fault_rate: f64,
        crash: [Option<u32>; 2],
    },
}

/// What the truth says about one account at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truth {
    pub in_org: bool,
    pub earns_credit: bool,
    pub exempt: bool,
}

/// Settings of one seed, as `APNWATCH_*` values.
#[derive(Debug, Clone)]
pub struct Settings {
    pub env: BTreeMap<&'static str, String>,
    pub remind_after: Option<Duration>,
    pub notify_resolved: bool,
}

impl Settings {
    pub fn config(&self) -> Config {
        Config::from_lookup(|k| self.env.get(k).cloned()).expect("simulated settings parse")
    }
}

/// The organization and Partner Central as they are now.
#[derive(Debug, Clone)]
pub struct World {
    pub tree: OrgTree,
    pub links: PartnerCentralLinks,
    pub now: DateTime<Utc>,
    pub exempt_accounts: BTreeSet<String>,
    pub exempt_ous: BTreeSet<String>,
    next: u64,
}

fn account_id(n: u64) -> String {
    format!("{:012}", 100_000_000_000 + n)
}

/// Names with commas, quotes, line breaks and non-ASCII, as real ones have.
fn name(n: u64) -> String {
    match n % 5 {
        0 => format!("acct-{n}, \"prod\""),
        1 => format!("Zürich-{n}\nteam"),
        _ => format!("acct-{n}"),
    }
}

impl World {
    /// A random organization and settings for `seed`.
    pub fn generate(rng: &mut fastrand::Rng) -> (World, Settings) {
        let mut units = vec![OrgUnit {
            id: ROOT.into(),
            name: "Root".into(),
            parent_id: None,
            depth: 0,
            path: "Root".into(),
        }];
        for n in 0..rng.usize(1..=6) {
            let parent = units[rng.usize(..units.len())].clone();
            if parent.depth >= 3 {
                continue;
            }
            units.push(OrgUnit {
                id: format!("ou-sim1-{n:08}"),
                name: format!("OU{n}"),
                parent_id: Some(parent.id.clone()),
                depth: parent.depth + 1,
                path: format!("{}/OU{n}", parent.path),
            });
        }
        let management = account_id(0);
        let mut world = World {
            tree: OrgTree {
                organization_id: "o-sim1234567".into(),
                management_account_id: management.clone(),
                root_id: ROOT.into(),
                units,
                accounts: Vec::new(),
            },
            links: PartnerCentralLinks {
                primary_account_id: management,
                ..Default::default()
            },
            now: "2026-11-02T09:00:00Z".parse().expect("timestamp"),
            exempt_accounts: BTreeSet::new(),
            exempt_ous: BTreeSet::new(),
            next: 0,
        };
        for _ in 0..rng.usize(1..=50) {
            let parent = world.random_unit(rng);
            let tag = world.random_tag(rng);
            let id = world.fresh_id();
            world.create(&id, &parent, tag);
        }
        world.tree.accounts[0].is_management = true;
        for a in world.tree.accounts.iter().skip(1) {
            match rng.u8(..10) {
                0..=2 => world.links.active.insert(a.id.clone()),
                3 => world.links.pending.insert(a.id.clone()),
                4 => world.links.canceled.insert(a.id.clone()),
                _ => false,
            };
            if rng.u8(..15) == 0 {
                world.exempt_accounts.insert(a.id.clone());
            }
        }
        if world.tree.units.len() > 1 && rng.bool() {
            let ou = world.tree.units[rng.usize(1..world.tree.units.len())]
                .id
                .clone();
            world.exempt_ous.insert(ou);
        }

        let mut env: BTreeMap<&'static str, String> = BTreeMap::new();
        env.insert("APNWATCH_TABLE", "sim".into());
        env.insert(
            "APNWATCH_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:sim".into(),
        );
        env.insert("APNWATCH_LINK_SOURCES", "partner-central,tag".into());
        let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(",");
        if !world.exempt_accounts.is_empty() {
            env.insert("APNWATCH_EXEMPT_ACCOUNTS", join(&world.exempt_accounts));
        }
        if !world.exempt_ous.is_empty() {
            env.insert("APNWATCH_EXEMPT_OUS", join(&world.exempt_ous));
        }
        let remind = ["1d", "3d", "7d", "off"][rng.usize(..4)];
        env.insert("APNWATCH_REMIND_AFTER", remind.into());
        let notify_resolved = rng.u8(..4) != 0;
        env.insert("APNWATCH_NOTIFY_RESOLVED", notify_resolved.to_string());
        match rng.u8(..4) {
            0 => {
                env.insert("APNWATCH_AUTO_INVITE", "new".into());
            }
            1 => {
                env.insert("APNWATCH_AUTO_INVITE", "unlinked".into());
            }
            _ => {}
        }
        env.insert("APNWATCH_INVITE_NAME", "Partner Ops".into());
        env.insert("APNWATCH_INVITE_EMAIL", "ops@example.com".into());
        if rng.bool() {
            env.insert("APNWATCH_ACCEPT_ROLE_NAME", "ApnLinkAccept".into());
        }
        let settings = Settings {
            remind_after: crate::domain::remind::parse_remind_after(remind).expect("valid"),
            notify_resolved,
            env,
        };
        (world, settings)
    }

    fn fresh_id(&mut self) -> String {
        let id = account_id(self.next);
        self.next += 1;
        id
    }

    fn random_unit(&self, rng: &mut fastrand::Rng) -> String {
        self.tree.units[rng.usize(..self.tree.units.len())]
            .id
            .clone()
    }

    fn random_tag(&self, rng: &mut fastrand::Rng) -> Option<String> {
        match rng.u8(..8) {
            0 => Some("linked".into()),
            1 => Some("exempt".into()),
            2 => Some("maybe".into()),
            _ => None,
        }
    }

    fn unit(&self, id: &str) -> Option<&OrgUnit> {
        self.tree.units.iter().find(|u| u.id == id)
    }

    fn place(&self, a: &mut Account, parent: &str) {
        let mut ids = vec![parent.to_string()];
        let mut at = self.unit(parent).expect("known unit");
        while let Some(p) = &at.parent_id {
            ids.push(p.clone());
            at = self.unit(p).expect("known unit");
        }
        ids.reverse();
        a.parent_id = parent.to_string();
        a.ou_path = self.unit(parent).expect("known unit").path.clone();
        a.ou_ids = ids;
    }

    fn create(&mut self, id: &str, parent: &str, tag: Option<String>) {
        let n: u64 = id.parse().unwrap_or_default();
        let mut a = Account {
            id: id.to_string(),
            name: name(n),
            email: format!("{id}@example.com"),
            state: AccountState::Active,
            joined_method: Some("CREATED".into()),
            joined_at: None,
            parent_id: String::new(),
            ou_path: String::new(),
            ou_ids: Vec::new(),
            tags: tag
                .map(|v| [(TAG_KEY.to_string(), v)].into())
                .unwrap_or_default(),
            is_management: false,
        };
        self.place(&mut a, parent);
        self.tree.accounts.push(a);
    }

    fn member(&self, rng: &mut fastrand::Rng) -> Option<String> {
        let members: Vec<&Account> = self
            .tree
            .accounts
            .iter()
            .filter(|a| !a.is_management)
            .collect();
        (!members.is_empty()).then(|| members[rng.usize(..members.len())].id.clone())
    }

    /// A random next step that is not a run (runs are drawn by the caller).
    pub fn random_change(&mut self, rng: &mut fastrand::Rng) -> Step {
        let Some(id) = self.member(rng) else {
            let parent = self.random_unit(rng);
            return Step::Create {
                id: self.fresh_id(),
                parent,
                tag: None,
            };
        };
        match rng.u8(..14) {
            0 | 1 => {
                let parent = self.random_unit(rng);
                let tag = self.random_tag(rng);
                Step::Create {
                    id: self.fresh_id(),
                    parent,
                    tag,
                }
            }
            2 => Step::Move {
                id,
                to: self.random_unit(rng),
            },
            3 => Step::Close {
                id,
                state: [
                    AccountState::Suspended,
                    AccountState::PendingClosure,
                    AccountState::Closed,
                ][rng.usize(..3)]
                .clone(),
            },
            4 => Step::Remove { id },
            5 => Step::Tag {
                id,
                value: self.random_tag(rng).unwrap_or_else(|| "linked".into()),
            },
            6 => Step::Untag { id },
            7 => Step::Connect { id },
            8 => Step::Cancel { id },
            9 | 10 => Step::Invite { id },
            11 => Step::Accept { id },
            12 => Step::Reject { id },
            _ => Step::Expire { id },
        }
    }

    /// Applies a change (not a run); a step about an account that is gone does nothing.
    pub fn apply(&mut self, step: &Step) {
        let links = &mut self.links;
        match step {
            Step::Create { id, parent, tag } => {
                if self.unit(parent).is_some() && !self.tree.accounts.iter().any(|a| &a.id == id) {
                    self.create(id, parent, tag.clone());
                }
            }
            Step::Move { id, to } => {
                let Some(i) = self.tree.accounts.iter().position(|a| &a.id == id) else {
                    return;
                };
                let mut a = self.tree.accounts[i].clone();
                if self.unit(to).is_some() {
                    self.place(&mut a, to);
                    self.tree.accounts[i] = a;
                }
            }
            Step::Close { id, state } => {
                if let Some(a) = self.tree.accounts.iter_mut().find(|a| &a.id == id) {
                    a.state = state.clone();
                }
            }
            Step::Remove { id } => self.tree.accounts.retain(|a| &a.id != id),
            Step::Tag { id, value } => {
                if let Some(a) = self.tree.accounts.iter_mut().find(|a| &a.id == id) {
                    a.tags.insert(TAG_KEY.into(), value.clone());
                }
            }
            Step::Untag { id } => {
                if let Some(a) = self.tree.accounts.iter_mut().find(|a| &a.id == id) {
                    a.tags.remove(TAG_KEY);
                }
            }
            Step::Connect { id } => {
                links.pending.remove(id);
                links.canceled.remove(id);
                links.active.insert(id.clone());
            }
            Step::Cancel { id } => {
                if links.active.remove(id) {
                    links.canceled.insert(id.clone());
                }
            }
            Step::Invite { id } => {
                if !links.active.contains(id) {
                    links.pending.insert(id.clone());
                }
            }
            Step::Accept { id } => {
                if links.pending.remove(id) {
                    links.canceled.remove(id);
                    links.active.insert(id.clone());
                }
            }
            Step::Reject { id } | Step::Expire { id } => {
                links.pending.remove(id);
            }
            Step::Advance { seconds } => self.now += Duration::seconds(*seconds),
            Step::Run { .. } => {}
        }
    }

    /// What the truth says about every account in the organization now.
    pub fn truths(&self) -> BTreeMap<String, Truth> {
        self.tree
            .accounts
            .iter()
            .map(|a| {
                (
                    a.id.clone(),
                    Truth {
                        in_org: true,
                        earns_credit: a.state.earns_credit(),
                        exempt: self.is_exempt(a),
                    },
                )
            })
            .collect()
    }

    fn is_exempt(&self, a: &Account) -> bool {
        self.exempt_accounts.contains(&a.id)
            || a.ou_ids.iter().any(|ou| self.exempt_ous.contains(ou))
            || a.tags.get(TAG_KEY).is_some_and(|v| v == "exempt")
    }

    /// The link state the table should hold for `a`.
    pub fn expected_link(&self, a: &Account) -> LinkState {
        if self.is_exempt(a) {
            LinkState::Exempt
        } else if a.id == self.links.primary_account_id
            || self.links.active.contains(&a.id)
            || a.tags.get(TAG_KEY).is_some_and(|v| v == "linked")
        {
            LinkState::Linked
        } else if self.links.pending.contains(&a.id) {
            LinkState::Pending
        } else {
            LinkState::Unlinked
        }
    }
}
