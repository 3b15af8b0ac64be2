//! Partner Central adapter: reads the partner's SUBSIDIARY connections and pending
//! invitations from the Partner Central Account API into [`PartnerCentralLinks`].
//!
//! The primary account is the account the Partner Central session belongs to (STS
//! `GetCallerIdentity`). A failure fails the run: the resolver must never see "no links"
//! because Partner Central could not be read.

pub mod invitations;

use std::collections::BTreeSet;

use aws_sdk_partnercentralaccount::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_partnercentralaccount::operation::list_connection_invitations::ListConnectionInvitationsError;
use aws_sdk_partnercentralaccount::types::{
    ConnectionInvitationSummary, ConnectionSummary, ConnectionType, ConnectionTypeStatus,
    InvitationStatus, ParticipantType,
};
use aws_sdk_partnercentralaccount::Client;
use tokio::sync::OnceCell;
use tracing::{debug, info};

use crate::aws::{all_pages, classify, next_page, Failure, PageError};
use crate::domain::link::PartnerCentralLinks;
use crate::error::Error;
use crate::ports::PartnerCentralSource;

/// One page of the PENDING SUBSIDIARY invitations `client`'s account takes part in (as
/// `participant`, or either side): the primary account reads them to see PENDING links, a
/// member account to find the one it received.
pub(crate) async fn pending_invitations(
    client: &Client,
    catalog: &str,
    participant: Option<ParticipantType>,
    token: Option<String>,
) -> Result<
    (Vec<ConnectionInvitationSummary>, Option<String>),
    SdkError<ListConnectionInvitationsError>,
> {
    let request = client
        .list_connection_invitations()
        .catalog(catalog)
        .connection_type(ConnectionType::Subsidiary)
        .set_participant_type(participant)
        .status(InvitationStatus::Pending);
    next_page!(request, token, connection_invitation_summaries).await
}

pub struct PartnerCentralAdapter {
    client: Client,
    sts: aws_sdk_sts::Client,
    catalog: String,
    /// The primary account, asked of STS once per adapter (so once per warm container, as
    /// `InvitationsAdapter` does): the session's account does not change. A failed call is
    /// not kept, the next run asks again.
    primary: OnceCell<String>,
}

impl PartnerCentralAdapter {
    /// `client` and `sts` share the Partner Central session (see
    /// [`crate::aws::partner_central_clients`]); `catalog` is `AWS` or `Sandbox`.
    pub fn new(client: Client, sts: aws_sdk_sts::Client, catalog: impl Into<String>) -> Self {
        Self {
            client,
            sts,
            catalog: catalog.into(),
            primary: OnceCell::new(),
        }
    }

    async fn primary_account(&self) -> Result<String, Error> {
        self.primary
            .get_or_try_init(|| self.caller_account())
            .await
            .cloned()
    }

    async fn caller_account(&self) -> Result<String, Error> {
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| self.error("GetCallerIdentity", e))?;
        out.account.ok_or_else(|| Error::PartnerCentral {
            operation: "GetCallerIdentity",
            hint: "STS returned no account id for the Partner Central session: run again".into(),
            source: "GetCallerIdentity answered without an account".into(),
        })
    }

    async fn connections(&self) -> Result<Vec<ConnectionSummary>, Error> {
        self.pages("ListConnections", |token| {
            let request = self.client.list_connections().catalog(&self.catalog);
            let subsidiaries = request.connection_type(ConnectionType::Subsidiary.as_str());
            next_page!(subsidiaries, token, connection_summaries)
        })
        .await
    }

    async fn invitations(&self) -> Result<Vec<ConnectionInvitationSummary>, Error> {
        self.pages("ListConnectionInvitations", |token| {
            pending_invitations(&self.client, &self.catalog, None, token)
        })
        .await
    }

    /// Every page of one list operation, errors mapped once (the same shape as the
    /// Organizations adapter's).
    async fn pages<T, E, Fut>(
        &self,
        operation: &'static str,
        page: impl FnMut(Option<String>) -> Fut,
    ) -> Result<Vec<T>, Error>
    where
        Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), SdkError<E>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        all_pages(page).await.map_err(|e| match e {
            PageError::Call(e) => self.error(operation, e),
            PageError::Repeated(r) => Error::PartnerCentral {
                operation,
                hint: "Partner Central returned a pagination token twice: run again later".into(),
                source: Box::new(r),
            },
        })
    }

    /// The one mapping from an SDK error of any call to [`Error::PartnerCentral`].
    fn error<E>(&self, operation: &'static str, err: SdkError<E>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        Error::PartnerCentral {
            operation,
            hint: hint(operation, &self.catalog, &classify(&err)),
            source: Box::new(err),
        }
    }
}

impl PartnerCentralSource for PartnerCentralAdapter {
    async fn links(&self) -> Result<PartnerCentralLinks, Error> {
        let (primary, connections, invitations) = futures::try_join!(
            self.primary_account(),
            self.connections(),
            self.invitations()
        )?;
        let links = gather(primary, &connections, &invitations);
        info!(
            catalog = %self.catalog,
            primary_account_id = %links.primary_account_id,
            active = links.active.len(),
            canceled = links.canceled.len(),
            pending = links.pending.len(),
            "Partner Central read"
        );
        Ok(links)
    }
}

/// The sets the resolver needs, from the raw summaries; which status wins for one account is
/// decided in `link` ([`PartnerCentralLinks::new`]).
fn gather(
    primary_account_id: String,
    connections: &[ConnectionSummary],
    invitations: &[ConnectionInvitationSummary],
) -> PartnerCentralLinks {
    let mut active = BTreeSet::new();
    let mut canceled = BTreeSet::new();
    for c in connections {
        let Some(subsidiary) = c.connection_types.get(&ConnectionType::Subsidiary) else {
            continue;
        };
        match subsidiary.status {
            ConnectionTypeStatus::Active => {
                active.insert(c.other_participant_account_id.clone());
            }
            ConnectionTypeStatus::Canceled => {
                canceled.insert(c.other_participant_account_id.clone());
            }
            ref other => debug!(
                account_id = %c.other_participant_account_id,
                status = other.as_str(),
                "ignoring SUBSIDIARY connection in an unknown state"
            ),
        }
    }
    let mut pending = BTreeSet::new();
    for i in invitations {
        if i.status != InvitationStatus::Pending || i.connection_type != ConnectionType::Subsidiary
        {
            continue;
        }
        if crate::domain::ids::is_account_id(&i.other_participant_identifier) {
            pending.insert(i.other_participant_identifier.clone());
        } else {
            debug!(
                identifier = %i.other_participant_identifier,
                "ignoring pending invitation to a participant that is not an account id"
            );
        }
    }
    PartnerCentralLinks::new(primary_account_id, active, canceled, pending)
}

/// What the user should do, by what failed.
fn hint(operation: &str, catalog: &str, failure: &Failure) -> String {
    match failure {
        Failure::Service(code) => match code.as_str() {
            "AccessDeniedException" | "AccessDenied" => format!(
                "grant partnercentral:{operation} on the Partner Central role, and check APNWATCH_PARTNER_CENTRAL_ROLE_ARN"
            ),
            "ThrottlingException" | "Throttling" => {
                "Partner Central kept throttling after retries: run less often".into()
            }
            "ResourceNotFoundException" | "ValidationException" => format!(
                "Partner Central rejected catalog {catalog}: set APNWATCH_PARTNER_CENTRAL_CATALOG to the catalog the partner is registered in (AWS or Sandbox)"
            ),
            "InternalServerException" => {
                "Partner Central had an internal error after retries: run again later".into()
            }
            other => format!("Partner Central answered {other}: see the cause"),
        },
        Failure::Unreachable => "could not reach the Partner Central endpoint (us-east-1): check network access (NAT), or AWS_ENDPOINT_URL_PARTNERCENTRAL_ACCOUNT".into(),
        Failure::Credentials => "could not get credentials for Partner Central: check APNWATCH_PARTNER_CENTRAL_ROLE_ARN, its trust policy and APNWATCH_PARTNER_CENTRAL_EXTERNAL_ID".into(),
        Failure::Other => "the Partner Central call failed: see the cause".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_partnercentralaccount::primitives::DateTime;
    use aws_sdk_partnercentralaccount::types::{ConnectionTypeSummary, ParticipantType};

    fn connection(account: &str, status: ConnectionTypeStatus) -> ConnectionSummary {
        ConnectionSummary::builder()
            .catalog("AWS")
            .id(format!("conn-{account}"))
            .arn(format!(
                "arn:aws:partnercentral:us-east-1::connection/{account}"
            ))
            .other_participant_account_id(account)
            .updated_at(DateTime::from_secs(0))
            .connection_types(
                ConnectionType::Subsidiary,
                ConnectionTypeSummary::builder()
                    .status(status)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    fn invitation(identifier: &str) -> ConnectionInvitationSummary {
        ConnectionInvitationSummary::builder()
            .catalog("AWS")
            .id(format!("inv-{identifier}"))
            .arn("arn:aws:partnercentral:us-east-1::invitation/x")
            .connection_type(ConnectionType::Subsidiary)
            .created_at(DateTime::from_secs(0))
            .updated_at(DateTime::from_secs(0))
            .other_participant_identifier(identifier)
            .participant_type(ParticipantType::Receiver)
            .status(InvitationStatus::Pending)
            .build()
            .unwrap()
    }

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    /// ACTIVE links, CANCELED unlinks unless an ACTIVE one exists, and a pending
    /// invitation only counts for an account that is not already active.
    #[test]
    fn active_wins_over_canceled_and_pending() {
        let links = gather(
            "999999999999".into(),
            &[
                connection("111111111111", ConnectionTypeStatus::Active),
                connection("222222222222", ConnectionTypeStatus::Canceled),
                connection("111111111111", ConnectionTypeStatus::Canceled),
            ],
            &[invitation("333333333333"), invitation("111111111111")],
        );
        assert_eq!(links.primary_account_id, "999999999999");
        assert_eq!(links.active, set(&["111111111111"]));
        assert_eq!(links.canceled, set(&["222222222222"]));
        assert_eq!(links.pending, set(&["333333333333"]));
    }

    /// Invitations addressed to something other than an account id (e.g. an email) are
    /// skipped.
    #[test]
    fn non_account_invitations_are_skipped() {
        let links = gather(
            "999999999999".into(),
            &[],
            &[invitation("ops@example.com"), invitation("12345")],
        );
        assert!(links.pending.is_empty());
    }

    /// Hints name the permission, the catalog setting or the network, by failure.
    #[test]
    fn hints_say_what_to_fix() {
        let h = |op, code: &str| hint(op, "Sandbox", &Failure::Service(code.into()));
        assert_eq!(
            h("ListConnections", "AccessDeniedException"),
            "grant partnercentral:ListConnections on the Partner Central role, and check APNWATCH_PARTNER_CENTRAL_ROLE_ARN"
        );
        assert!(h("ListConnectionInvitations", "AccessDeniedException")
            .contains("partnercentral:ListConnectionInvitations"));
        assert!(h("ListConnections", "ValidationException").contains("catalog Sandbox"));
        assert!(h("ListConnections", "ThrottlingException").contains("throttling"));
        assert!(hint("ListConnections", "AWS", &Failure::Unreachable)
            .contains("could not reach the Partner Central endpoint"));
        assert!(hint("GetCallerIdentity", "AWS", &Failure::Credentials)
            .contains("APNWATCH_PARTNER_CENTRAL_ROLE_ARN"));
    }
}
