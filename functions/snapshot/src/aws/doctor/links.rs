//! The doctor's checks of the sessions auto-link and Partner Central links need: the
//! Partner Central session (`partner-central`) and the accept role in member accounts
//! (`accept-role`).

use super::describe;
use crate::domain::doctor::{Check, Status};

const DOC_PARTNER_CENTRAL: &str =
    "https://docs.aws.amazon.com/partner-central/latest/APIReference/API_ListConnections.html";
const DOC_STACKSETS: &str = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-activate-trusted-access.html";
const DOC_ASSUME_ROLE: &str =
    "https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html";

/// `partner-central`: the session's account (the primary account) and one `ListConnections`
/// page in the catalog.
pub async fn partner_central(
    client: &aws_sdk_partnercentralaccount::Client,
    sts: &aws_sdk_sts::Client,
    catalog: &str,
    role_arn: Option<&str>,
) -> Check {
    use aws_sdk_partnercentralaccount::types::ConnectionType;
    const ID: &str = "partner-central";
    let through = role_arn
        .map(|r| format!(" through APNWATCH_PARTNER_CENTRAL_ROLE_ARN {r}"))
        .unwrap_or_default();
    let fix = match role_arn {
        Some(_) => "deploy infra/partner-central-role.yaml in the primary (Partner Central) account with FunctionRoleArn set to this function's role (and the same ExternalId), and set PartnerCentralRoleArn to its RoleArn",
        None => "grant partnercentral:ListConnections and partnercentral:ListConnectionInvitations (the stack does when LinkSources names partner-central), or deploy infra/partner-central-role.yaml in the primary account trusting this function's role and set PartnerCentralRoleArn",
    };
    let primary = match sts.get_caller_identity().send().await {
        Ok(out) => out.account.unwrap_or_default(),
        Err(e) => {
            return Check::flag(
                Status::Fail,
                ID,
                format!(
                    "cannot open the Partner Central session{through}: {}",
                    describe(&e)
                ),
                fix,
                DOC_ASSUME_ROLE,
            )
        }
    };
    let page = client
        .list_connections()
        .catalog(catalog)
        .connection_type(ConnectionType::Subsidiary.as_str())
        .send()
        .await;
    match page {
        Ok(out) => {
            let found = format!(
                "primary account {primary}{through}; catalog {catalog}: ListConnections read ({} SUBSIDIARY connection(s) on the first page)",
                out.connection_summaries().len()
            );
            if catalog == "Sandbox" {
                Check::flag(Status::Warn,
                    ID,
                    found,
                    "the Sandbox catalog holds test connections only: set PartnerCentralCatalog (APNWATCH_PARTNER_CENTRAL_CATALOG) to AWS for real links",
                    DOC_PARTNER_CENTRAL,
                )
            } else {
                Check::pass(ID, found)
            }
        }
        Err(e) => Check::flag(
            Status::Fail,
            ID,
            format!(
                "primary account {primary}{through}; catalog {catalog}: ListConnections failed: {}",
                describe(&e)
            ),
            fix,
            DOC_PARTNER_CENTRAL,
        ),
    }
}

/// `accept-role`: `AssumeRole` of the accept role in each sampled account, one check per
/// account. The session is not used: only whether STS admits us.
pub async fn accept_role(
    sts: &aws_sdk_sts::Client,
    partition: &str,
    role_name: &str,
    external_id: Option<&str>,
    accounts: &[&str],
) -> Vec<Check> {
    const ID: &str = "accept-role";
    let mut checks = Vec::new();
    for account in accounts {
        let arn = format!("arn:{partition}:iam::{account}:role/{role_name}");
        let out = sts
            .assume_role()
            .role_arn(&arn)
            .role_session_name("apn-link-watch-doctor")
            .set_external_id(external_id.map(str::to_string))
            .duration_seconds(900)
            .send()
            .await;
        checks.push(match out {
            Ok(_) => Check::pass(ID, format!("account {account}: assumed {arn}")),
            Err(e) => Check::flag(Status::Fail,
                ID,
                format!("account {account}: cannot assume {arn}: {}", describe(&e)),
                "deploy infra/member-accept-role.yaml to the member accounts as a service-managed StackSet (trusted access for CloudFormation StackSets on: `aws cloudformation activate-organizations-access`) with FunctionRoleArn set to this function's role, the same RoleName and ExternalId",
                DOC_STACKSETS,
            ),
        });
    }
    checks
}
