//! Link-state resolution: which sources say an account is linked, pending or exempt, and
//! which of them wins. Pure: the Partner Central adapter gathers its connections first and
//! hands them in as [`PartnerCentralLinks`].
//!
//! Precedence: an exemption (exempt list, exempt OU subtree, `exempt` tag) beats everything;
//! then the first source in `APNWATCH_LINK_SOURCES` with evidence of a link decides; then a
//! pending Partner Central invitation; otherwise the account is UNLINKED.

use std::collections::BTreeSet;

use tracing::warn;

use crate::domain::model::{Account, LinkDecision, LinkSource, LinkState};

/// The tag key whose value says an account is linked (`APNWATCH_LINK_TAG_KEY`).
pub const DEFAULT_TAG_KEY: &str = "apn-link";

/// The link rules: which sources to ask, in which order, and the explicit lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRules {
    /// Ordered; the first source with evidence of a link decides. Exemptions win over all.
    pub sources: Vec<LinkSource>,
    pub tag_key: String,
    pub linked_accounts: BTreeSet<String>,
    pub exempt_accounts: BTreeSet<String>,
    pub exempt_ous: BTreeSet<String>,
}

impl LinkRules {
    pub fn uses(&self, source: LinkSource) -> bool {
        self.sources.contains(&source)
    }

    /// Tags cost one `ListTagsForResource` call per account: fetch them only when asked.
    pub fn needs_tags(&self) -> bool {
        self.uses(LinkSource::Tag)
    }
}

impl Default for LinkRules {
    fn default() -> Self {
        Self {
            sources: vec![LinkSource::Tag, LinkSource::List],
            tag_key: DEFAULT_TAG_KEY.to_string(),
            linked_accounts: BTreeSet::new(),
            exempt_accounts: BTreeSet::new(),
            exempt_ous: BTreeSet::new(),
        }
    }
}

/// What Partner Central says, gathered once per run by the adapter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerCentralLinks {
    /// The account Partner Central is tied to; always LINKED.
    pub primary_account_id: String,
    /// Accounts with an ACTIVE SUBSIDIARY connection.
    pub active: BTreeSet<String>,
    /// Accounts whose SUBSIDIARY connection was CANCELED (and that have no active one).
    pub canceled: BTreeSet<String>,
    /// Accounts with a PENDING SUBSIDIARY invitation.
    pub pending: BTreeSet<String>,
}

impl PartnerCentralLinks {
    /// The links from what Partner Central listed, with its precedence for one account:
    /// an ACTIVE connection beats a CANCELED one and a pending invitation (a re-linked
    /// account is linked, and an invitation to an account already linked is moot).
    pub fn new(
        primary_account_id: String,
        active: BTreeSet<String>,
        mut canceled: BTreeSet<String>,
        mut pending: BTreeSet<String>,
    ) -> Self {
        canceled.retain(|a| !active.contains(a));
        pending.retain(|a| !active.contains(a));
        Self {
            primary_account_id,
            active,
            canceled,
            pending,
        }
    }
}

/// Decides one account's link state. `partner_central` must be `Some` when the rules use
/// that source: the run fails before resolving if it could not be read, so that an outage
/// never turns every account UNLINKED.
pub fn resolve(
    account: &Account,
    rules: &LinkRules,
    partner_central: Option<&PartnerCentralLinks>,
) -> LinkDecision {
    let tag = if rules.uses(LinkSource::Tag) {
        tag_verdict(account, &rules.tag_key)
    } else {
        None
    };

    if rules.exempt_accounts.contains(&account.id) {
        return decision(
            LinkState::Exempt,
            LinkSource::List,
            "listed in APNWATCH_EXEMPT_ACCOUNTS".into(),
        );
    }
    if let Some(ou) = account
        .ou_ids
        .iter()
        .find(|ou| rules.exempt_ous.contains(*ou))
    {
        return decision(
            LinkState::Exempt,
            LinkSource::ExemptOu,
            format!("below exempt OU {ou}"),
        );
    }
    if tag == Some(TagVerdict::Exempt) {
        return decision(
            LinkState::Exempt,
            LinkSource::Tag,
            format!("tag {}=exempt", rules.tag_key),
        );
    }

    for source in &rules.sources {
        match source {
            LinkSource::PartnerCentral => {
                let Some(pc) = partner_central else { continue };
                if account.id == pc.primary_account_id {
                    return decision(
                        LinkState::Linked,
                        LinkSource::PartnerCentral,
                        "Partner Central primary account".into(),
                    );
                }
                if pc.active.contains(&account.id) {
                    return decision(
                        LinkState::Linked,
                        LinkSource::PartnerCentral,
                        "active SUBSIDIARY connection in Partner Central".into(),
                    );
                }
            }
            LinkSource::Tag if tag == Some(TagVerdict::Linked) => {
                return decision(
                    LinkState::Linked,
                    LinkSource::Tag,
                    format!("tag {}=linked", rules.tag_key),
                );
            }
            LinkSource::List if rules.linked_accounts.contains(&account.id) => {
                return decision(
                    LinkState::Linked,
                    LinkSource::List,
                    "listed in APNWATCH_LINKED_ACCOUNTS".into(),
                );
            }
            _ => {}
        }
    }

    if let Some(pc) = partner_central.filter(|_| rules.uses(LinkSource::PartnerCentral)) {
        if pc.pending.contains(&account.id) {
            return pending_invitation();
        }
        if pc.canceled.contains(&account.id) {
            return decision(
                LinkState::Unlinked,
                LinkSource::PartnerCentral,
                LINK_CANCELED.into(),
            );
        }
    }
    let asked: Vec<&str> = rules.sources.iter().map(|s| s.as_str()).collect();
    decision(
        LinkState::Unlinked,
        LinkSource::None,
        format!("no link evidence from {}", asked.join(", ")),
    )
}

/// The detail recorded when Partner Central shows a canceled connection.
pub const LINK_CANCELED: &str = "link canceled in Partner Central";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagVerdict {
    Linked,
    Exempt,
}

fn tag_verdict(account: &Account, key: &str) -> Option<TagVerdict> {
    let value = account.tags.get(key)?;
    match value.trim().to_ascii_lowercase().as_str() {
        "linked" => Some(TagVerdict::Linked),
        "exempt" => Some(TagVerdict::Exempt),
        _ => {
            warn!(account_id = %account.id, tag_key = key, tag_value = %value, "ignoring link tag: expected 'linked' or 'exempt'");
            None
        }
    }
}

fn decision(state: LinkState, source: LinkSource, detail: String) -> LinkDecision {
    LinkDecision {
        state,
        source,
        detail,
    }
}

/// The decision for an account with a pending invitation from the primary account; `invite`
/// records the same one after sending an invitation, so the next run sees no change.
pub fn pending_invitation() -> LinkDecision {
    decision(
        LinkState::Pending,
        LinkSource::PartnerCentral,
        "Partner Central invitation waits for the account to accept it".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, tags: &[(&str, &str)], ou_ids: &[&str]) -> Account {
        Account {
            parent_id: ou_ids.last().unwrap_or(&"r-ab12").to_string(),
            ou_path: "Root".into(),
            ou_ids: ou_ids.iter().map(|s| s.to_string()).collect(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Account::sample(id)
        }
    }

    fn rules() -> LinkRules {
        LinkRules::default()
    }

    const A: &str = "111111111111";

    /// No evidence at all leaves the account UNLINKED, decided by no source.
    #[test]
    fn no_evidence_is_unlinked() {
        let d = resolve(&account(A, &[], &["r-ab12"]), &rules(), None);
        assert_eq!((d.state, d.source), (LinkState::Unlinked, LinkSource::None));
    }

    /// The tag is case-insensitive; an unknown value is ignored rather than guessed at.
    #[test]
    fn tag_values_are_case_insensitive_and_unknown_ignored() {
        let d = resolve(&account(A, &[("apn-link", "LINKED")], &[]), &rules(), None);
        assert_eq!((d.state, d.source), (LinkState::Linked, LinkSource::Tag));
        let d = resolve(&account(A, &[("apn-link", "Exempt")], &[]), &rules(), None);
        assert_eq!((d.state, d.source), (LinkState::Exempt, LinkSource::Tag));
        let d = resolve(&account(A, &[("apn-link", "yes")], &[]), &rules(), None);
        assert_eq!(d.state, LinkState::Unlinked);
    }

    /// A custom tag key is honoured and the default one then means nothing.
    #[test]
    fn custom_tag_key() {
        let mut r = rules();
        r.tag_key = "partner".into();
        assert_eq!(
            resolve(&account(A, &[("partner", "linked")], &[]), &r, None).state,
            LinkState::Linked
        );
        assert_eq!(
            resolve(&account(A, &[("apn-link", "linked")], &[]), &r, None).state,
            LinkState::Unlinked
        );
    }

    /// Exemption beats linked evidence from every source.
    #[test]
    fn exemption_beats_linked_evidence() {
        let mut r = rules();
        r.linked_accounts.insert(A.into());
        r.exempt_accounts.insert(A.into());
        let d = resolve(&account(A, &[("apn-link", "linked")], &[]), &r, None);
        assert_eq!((d.state, d.source), (LinkState::Exempt, LinkSource::List));
    }

    /// An exempt OU covers every account in its subtree, however deep.
    #[test]
    fn exempt_ou_covers_subtree() {
        let mut r = rules();
        r.exempt_ous.insert("ou-ab12-sandbox1".into());
        let deep = account(
            A,
            &[("apn-link", "linked")],
            &[
                "r-ab12",
                "ou-ab12-sandbox1",
                "ou-ab12-child111",
                "ou-ab12-child222",
            ],
        );
        let d = resolve(&deep, &r, None);
        assert_eq!(
            (d.state, d.source),
            (LinkState::Exempt, LinkSource::ExemptOu)
        );
        let outside = account(A, &[], &["r-ab12", "ou-ab12-other111"]);
        assert_eq!(resolve(&outside, &r, None).state, LinkState::Unlinked);
    }

    /// The explicit linked list decides when the tag says nothing.
    #[test]
    fn linked_list() {
        let mut r = rules();
        r.linked_accounts.insert(A.into());
        let d = resolve(&account(A, &[], &[]), &r, None);
        assert_eq!((d.state, d.source), (LinkState::Linked, LinkSource::List));
    }

    /// The first source in the configured order that has evidence is the one recorded.
    #[test]
    fn source_order_decides_which_source_is_recorded() {
        let mut r = rules();
        r.linked_accounts.insert(A.into());
        let tagged = account(A, &[("apn-link", "linked")], &[]);
        assert_eq!(resolve(&tagged, &r, None).source, LinkSource::Tag);
        r.sources = vec![LinkSource::List, LinkSource::Tag];
        assert_eq!(resolve(&tagged, &r, None).source, LinkSource::List);
        r.sources = vec![LinkSource::List];
        let only_tag = account("222222222222", &[("apn-link", "linked")], &[]);
        assert_eq!(
            resolve(&only_tag, &r, None).state,
            LinkState::Unlinked,
            "tag source is off"
        );
    }

    /// Partner Central: active connection and primary account are LINKED; a pending
    /// invitation is PENDING; a canceled connection is UNLINKED with the reason.
    #[test]
    fn partner_central_states() {
        let mut r = rules();
        r.sources = vec![LinkSource::PartnerCentral, LinkSource::Tag];
        let pc = PartnerCentralLinks {
            primary_account_id: "999999999999".into(),
            active: ["111111111111".to_string()].into(),
            canceled: ["222222222222".to_string()].into(),
            pending: ["333333333333".to_string()].into(),
        };
        let state =
            |id: &str, tags: &[(&str, &str)]| resolve(&account(id, tags, &[]), &r, Some(&pc));
        assert_eq!(state("999999999999", &[]).state, LinkState::Linked);
        assert_eq!(
            state("111111111111", &[]).source,
            LinkSource::PartnerCentral
        );
        let pending = state("333333333333", &[]);
        assert_eq!(
            (pending.state, pending.source),
            (LinkState::Pending, LinkSource::PartnerCentral)
        );
        let canceled = state("222222222222", &[]);
        assert_eq!(
            (canceled.state, canceled.detail.as_str()),
            (LinkState::Unlinked, LINK_CANCELED)
        );
        // A tag still links an account Partner Central does not know; the source says which.
        let tagged = state("444444444444", &[("apn-link", "linked")]);
        assert_eq!(
            (tagged.state, tagged.source),
            (LinkState::Linked, LinkSource::Tag)
        );
        // Tag linked beats a pending invitation: any linked evidence wins over PENDING.
        assert_eq!(
            state("333333333333", &[("apn-link", "linked")]).state,
            LinkState::Linked
        );
    }
}
