//! Invite and accept rules (pure): which accounts may be sent a Partner Central SUBSIDIARY
//! connection invitation, the idempotency tokens, the per-run cap, the 24 h back-off after a
//! refusal, the invite settings (read by `config`), and the records and history events an outcome writes.
//!
//! This file holds the settings and tokens; `eligibility`, `refusal` and `changes` the
//! rest. The calls themselves are in `aws::partner_central::invitations` (adapter) and the
//! orchestration in `run::autolink`.
//! API shapes: CreateConnectionInvitation
//! (<https://docs.aws.amazon.com/partner-central/latest/APIReference/API_account_CreateConnectionInvitation.html>:
//! Name ≤ 80, Email ≤ 320, Message ≤ 256 characters, ClientToken 1 to 64 of `[A-Za-z0-9-_]`)
//! and AcceptConnectionInvitation
//! (<https://docs.aws.amazon.com/partner-central/latest/APIReference/API_account_AcceptConnectionInvitation.html>).

pub mod already;
mod changes;
mod eligibility;
mod refusal;

pub use changes::{accept_failed, accepted, invite_failed, invited, tell, Notice, Stamp};
pub use eligibility::{
    accept_candidates, auto_candidates, backed_off, eligible, may_accept, recent_refusal,
    Ineligible,
};
pub use refusal::{Accepted, Refusal, Sent};

use chrono::{DateTime, Utc};

/// An account whose invitation (or acceptance) was refused is not tried again for this long:
/// a refusal such as `RECEIVER_PROFILE_NOT_FOUND` does not go away by itself within a run
/// interval, and every try costs one of the partner's daily invitations.
pub const BACKOFF_HOURS: i64 = 24;
pub const DEFAULT_MAX_PER_RUN: usize = 25;
/// CreateConnectionInvitation's limits on the inviter's name, email and message.
pub const MAX_NAME: usize = 80;
pub const MAX_EMAIL: usize = 320;
pub const MAX_MESSAGE: usize = 256;

/// `APNWATCH_AUTO_INVITE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoInvite {
    #[default]
    Off,
    /// Accounts discovered by a run (not the first run's baseline).
    New,
    /// Every eligible UNLINKED account.
    Unlinked,
}

impl AutoInvite {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::New => "new",
            Self::Unlinked => "unlinked",
        }
    }
}

/// The invite and accept settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteConfig {
    pub auto: AutoInvite,
    pub max_per_run: usize,
    /// The inviter's name and email Partner Central shows the receiver; required to invite.
    pub name: Option<String>,
    pub email: Option<String>,
    /// `None`: [`message_for`] writes one naming the organization.
    pub message: Option<String>,
    /// The role assumed in member accounts to accept; `None` = accepting is off.
    pub accept_role_name: Option<String>,
    pub accept_external_id: Option<String>,
}

impl Default for InviteConfig {
    fn default() -> Self {
        Self {
            auto: AutoInvite::Off,
            max_per_run: DEFAULT_MAX_PER_RUN,
            name: None,
            email: None,
            message: None,
            accept_role_name: None,
            accept_external_id: None,
        }
    }
}

impl InviteConfig {
    pub fn accepts(&self) -> bool {
        self.accept_role_name.is_some()
    }
}

/// The invitation text: the configured message, or one naming the organization (`org`: a
/// noun phrase, e.g. `organization o-abc123def4`).
pub fn message_for(config: &InviteConfig, org: &str) -> String {
    config.message.clone().unwrap_or_else(|| {
        format!(
            "Please accept: this connects your account, a member of {org}, to our Partner Central as a subsidiary account (sent by APN Link Watch)."
        )
    })
}

/// `ClientToken` for inviting `account_id` on `day`: a retried call (a crashed run, a
/// repeated `apnwatch invite`) on the same day sends no second invitation, and the next day
/// a new invitation is possible once the old one lapsed.
pub fn invite_token(account_id: &str, now: DateTime<Utc>) -> String {
    format!("apnwatch-invite-{account_id}-{}", now.format("%Y%m%d"))
}

/// `ClientToken` for accepting one invitation: one invitation is accepted once.
pub fn accept_token(invitation_id: &str) -> String {
    format!("apnwatch-accept-{invitation_id}")
}

#[cfg(test)]
mod tests;
