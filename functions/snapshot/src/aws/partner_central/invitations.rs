//! Partner Central invitation adapter: sends SUBSIDIARY connection invitations from the
//! primary account, and in a member account (through the accept role) finds the invitation
//! from our primary account and accepts it.
//!
//! Every failure comes back as an [`Refusal`] (code, Partner Central's `Reason`, message):
//! the caller records it; inviting and accepting never fail a run.
//! API pages: CreateConnectionInvitation, ListConnectionInvitations (`ParticipantType`
//! RECEIVER lists the invitations an account received), AcceptConnectionInvitation
//! (<https://docs.aws.amazon.com/partner-central/latest/APIReference/API_account_AcceptConnectionInvitation.html>),
//! and the developer guide's "Working with Partner Account Connections"
//! (<https://docs.aws.amazon.com/partner-central/latest/developer-guide/working-with-account-connections.html>).

use std::sync::OnceLock;

use aws_sdk_partnercentralaccount::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_partnercentralaccount::operation::accept_connection_invitation::AcceptConnectionInvitationError;
use aws_sdk_partnercentralaccount::operation::create_connection_invitation::CreateConnectionInvitationError;
use aws_sdk_partnercentralaccount::operation::list_connection_invitations::ListConnectionInvitationsError;
use aws_sdk_partnercentralaccount::types::{ConnectionType, ParticipantType};
use aws_sdk_partnercentralaccount::Client;
use tracing::info;

use super::pending_invitations;
use crate::aws::{self, all_pages, classify, Failure, PageError};
use crate::domain::invite::{accept_token, Accepted, Refusal, Sent};
use crate::ports::Invitations;

/// Session name in the member accounts' CloudTrail.
pub const ACCEPT_SESSION_NAME: &str = "apn-link-watch-accept";

/// What the invitation text says about the sender.
#[derive(Debug, Clone)]
pub struct Sender {
    pub name: String,
    pub email: String,
}

pub struct InvitationsAdapter {
    /// The Partner Central session of the primary account (as for reading links).
    client: Client,
    sts: aws_sdk_sts::Client,
    /// The function's own credentials: the accept role trusts the function's role.
    base: aws_config::SdkConfig,
    catalog: String,
    sender: Option<Sender>,
    accept_role_name: Option<String>,
    accept_external_id: Option<String>,
    /// (primary account id, partition), from GetCallerIdentity once.
    primary: OnceLock<(String, String)>,
}

impl InvitationsAdapter {
    pub fn new(
        (client, sts): (Client, aws_sdk_sts::Client),
        base: aws_config::SdkConfig,
        catalog: impl Into<String>,
        sender: Option<Sender>,
        accept_role_name: Option<String>,
        accept_external_id: Option<String>,
    ) -> Self {
        Self {
            client,
            sts,
            base,
            catalog: catalog.into(),
            sender,
            accept_role_name,
            accept_external_id,
            primary: OnceLock::new(),
        }
    }

    async fn primary(&self) -> Result<(String, String), Refusal> {
        if let Some(p) = self.primary.get() {
            return Ok(p.clone());
        }
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| refusal(&e, |_| None))?;
        let account = out.account.unwrap_or_default();
        // arn:<partition>:sts::<account>:assumed-role/...
        let partition = out
            .arn
            .as_deref()
            .and_then(|a| a.split(':').nth(1))
            .unwrap_or("aws")
            .to_string();
        let p = (account, partition);
        let _ = self.primary.set(p.clone());
        Ok(p)
    }

    /// A Partner Central client with the accept role's credentials in `account_id`. The
    /// role is assumed on the first call (the provider is lazy): a missing role or a trust
    /// policy that refuses us surfaces as that call's credentials failure.
    async fn member_client(&self, account_id: &str, role: &str, partition: &str) -> Client {
        let arn = format!("arn:{partition}:iam::{account_id}:role/{role}");
        let sdk = aws::assume_role_config(
            &self.base,
            &arn,
            ACCEPT_SESSION_NAME,
            self.accept_external_id.as_deref(),
            None,
        )
        .await;
        aws::partner_central_client(&sdk)
    }
}

impl Invitations for InvitationsAdapter {
    async fn invite(&self, account_id: &str, token: &str, message: &str) -> Result<Sent, Refusal> {
        let Some(sender) = &self.sender else {
            return Err(Refusal {
                code: "NotConfigured".into(),
                reason: None,
                message: "set APNWATCH_INVITE_NAME and APNWATCH_INVITE_EMAIL to send invitations"
                    .into(),
            });
        };
        let out = self
            .client
            .create_connection_invitation()
            .catalog(&self.catalog)
            .client_token(token)
            .connection_type(ConnectionType::Subsidiary)
            .email(&sender.email)
            .name(&sender.name)
            .message(message)
            .receiver_identifier(account_id)
            .send()
            .await
            .map_err(|e| refusal(&e, create_reason))?;
        info!(account_id, invitation_id = out.id, "invitation sent");
        Ok(Sent {
            invitation_id: out.id,
        })
    }

    async fn accept(&self, account_id: &str) -> Result<Accepted, Refusal> {
        let Some(role) = &self.accept_role_name else {
            return Err(Refusal {
                code: "NotConfigured".into(),
                reason: None,
                message: "set APNWATCH_ACCEPT_ROLE_NAME to accept invitations".into(),
            });
        };
        let (primary, partition) = self.primary().await?;
        let member = self.member_client(account_id, role, &partition).await;
        let received = all_pages(|token| {
            pending_invitations(
                &member,
                &self.catalog,
                Some(ParticipantType::Receiver),
                token,
            )
        })
        .await
        .map_err(|e| match e {
            PageError::Call(e) => refusal(&e, list_reason),
            PageError::Repeated(r) => Refusal {
                code: "RepeatedToken".into(),
                reason: None,
                message: r.to_string(),
            },
        })?;
        // From the receiver's side the other participant is the sender: our primary account.
        let Some(invitation) = received
            .into_iter()
            .find(|i| i.other_participant_identifier == primary)
        else {
            return Err(Refusal {
                code: "NoInvitation".into(),
                reason: None,
                message: format!(
                    "no PENDING SUBSIDIARY invitation from {primary} in account {account_id}"
                ),
            });
        };
        let out = member
            .accept_connection_invitation()
            .catalog(&self.catalog)
            .identifier(&invitation.id)
            .client_token(accept_token(&invitation.id))
            .send()
            .await
            .map_err(|e| refusal(&e, accept_reason))?;
        info!(
            account_id,
            invitation_id = invitation.id,
            "invitation accepted"
        );
        Ok(Accepted {
            invitation_id: invitation.id,
            connection_id: out.connection.map(|c| c.id),
        })
    }
}

/// One SDK error as data: the code (or how the call failed), Partner Central's reason as
/// `reason_of` reads it from the operation's error, and the message.
fn refusal<E, R>(err: &SdkError<E, R>, reason_of: fn(&E) -> Option<String>) -> Refusal
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let reason = err.as_service_error().and_then(reason_of);
    let code = match classify(err) {
        Failure::Service(code) => code,
        Failure::Unreachable => "Unreachable".into(),
        // For the accept role this is where AssumeRole's AccessDenied lands.
        Failure::Credentials => "AccessDenied".into(),
        Failure::Other => "Other".into(),
    };
    let message = match err {
        SdkError::ServiceError(_) => err.message().unwrap_or_default().to_string(),
        other => aws::cause_chain(other),
    };
    Refusal {
        code,
        reason,
        message,
    }
}

/// Partner Central's `Reason` of a modeled error (each operation's error enum lists the
/// exceptions that carry one).
macro_rules! reason {
    ($err:expr, $E:ident: $($variant:ident),+) => {
        match $err {
            $($E::$variant(x) => Some(x.reason.as_str().to_string()),)+
            _ => None,
        }
    };
}

fn create_reason(e: &CreateConnectionInvitationError) -> Option<String> {
    use CreateConnectionInvitationError as E;
    reason!(e, E: AccessDeniedException, ConflictException, ResourceNotFoundException, ServiceQuotaExceededException, ValidationException)
}

fn accept_reason(e: &AcceptConnectionInvitationError) -> Option<String> {
    use AcceptConnectionInvitationError as E;
    reason!(e, E: AccessDeniedException, ConflictException, ResourceNotFoundException, ServiceQuotaExceededException, ValidationException)
}

fn list_reason(e: &ListConnectionInvitationsError) -> Option<String> {
    use ListConnectionInvitationsError as E;
    reason!(e, E: AccessDeniedException, ValidationException)
}
