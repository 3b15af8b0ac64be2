//! What Partner Central answered: an invitation sent, an acceptance, or a refusal with the
//! advice a person can act on.

/// What Partner Central (or STS) answered instead of doing it: data to record, never a crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The error code, e.g. `ResourceNotFoundException`, `AccessDenied`.
    pub code: String,
    /// Partner Central's `Reason`, e.g. `RECEIVER_PROFILE_NOT_FOUND`.
    pub reason: Option<String>,
    pub message: String,
}

impl Refusal {
    /// The daily quota and throttling hit every further call too: stop this run's batch.
    pub fn stops_batch(&self) -> bool {
        self.code.contains("Throttl")
            || self.reason.as_deref()
                == Some("LIMIT_EXCEEDED_NUMBER_OF_CONNECTION_INVITATION_PER_DAY")
    }

    /// `REASON (Code)` or the code alone.
    pub fn label(&self) -> String {
        match &self.reason {
            Some(r) => format!("{r} ({})", self.code),
            None => self.code.clone(),
        }
    }

    /// What a user can do about it.
    pub fn advice(&self) -> &'static str {
        match (self.reason.as_deref(), self.code.as_str()) {
            (Some("RECEIVER_PROFILE_NOT_FOUND"), _) | (Some("INCOMPATIBLE_CONNECTION_INVITATION_RECEIVER"), _) => {
                "the account cannot receive a SUBSIDIARY invitation yet: register it in Partner Central (or link it by tag), then run `apnwatch invite` again"
            }
            (Some("LIMIT_EXCEEDED_NUMBER_OF_CONNECTION_INVITATION_PER_DAY"), _) => {
                "the partner's daily invitation quota is used up: the next day's runs continue"
            }
            (Some("LIMIT_EXCEEDED_NUMBER_OF_OPEN_CONNECTION_INVITATION"), _) => {
                "too many open invitations: wait for accounts to accept, or cancel stale invitations in Partner Central"
            }
            (Some("DUPLICATE_CONNECTION_INVITATION"), _) => {
                "an invitation is already open: accept it in the member account"
            }
            (_, c) if c.contains("Throttl") => "Partner Central throttled the calls: the next run continues",
            (_, c) if c.starts_with("AccessDenied") => {
                "grant the permission named in the message, or deploy infra/member-accept-role.yaml to the account (StackSet)"
            }
            _ => "see the message; the account is tried again after 24 h",
        }
    }
}

/// A sent invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub invitation_id: String,
}

/// An accepted invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub invitation_id: String,
    pub connection_id: Option<String>,
}
