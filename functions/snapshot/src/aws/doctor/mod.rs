//! The doctor's AWS calls: each function makes the read-only calls of one check and turns
//! the answer, or the error, into a [`Check`] saying what it found and, when something is
//! wrong, what to do. Nothing here writes, publishes or invites; the template grants these
//! reads and nothing more (README "IAM permissions"). Here: who we are (`identity`) and the
//! organization (`organization`, `organizations-paths`); [`resources`]: the table, the topic
//! and its subscriptions; [`links`]: the Partner Central session and the accept role;
//! [`trails`]: CloudTrail for the change events.
//!
//! Pages the checks rely on:
//! - STS `GetCallerIdentity` needs no permission:
//!   <https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html>
//! - `ListAccounts` answers carry `Paths` (the walk's saving):
//!   <https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html>
//! - an unconfirmed subscription is listed with `SubscriptionArn` `PendingConfirmation`:
//!   <https://docs.aws.amazon.com/sns/latest/api/API_ListSubscriptionsByTopic.html>
//! - CloudTrail reads (`DescribeTrails` with shadow trails, `GetTrailStatus` and
//!   `GetEventSelectors` by trail ARN, which a shadow or organization trail needs):
//!   <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_GetTrailStatus.html>,
//!   <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudtrail.html>

use aws_config::SdkConfig;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

use crate::aws::{classify, Failure};
use crate::domain::doctor::{Check, Status};
use crate::error::Error;

pub mod links;
pub mod resources;
pub mod trails;

pub use links::{accept_role, partner_central};
pub use resources::{subscriptions, table, topic};
pub use trails::change_events;

/// The IAM actions the doctor calls beyond a run's (`tests/tests/it/template_doctor.rs`
/// holds `template.yaml` and `infra/org-reader-role.yaml` to them). `sts:GetCallerIdentity`
/// needs no permission; the Organizations reads, `partnercentral:ListConnections`,
/// `sts:AssumeRole` and `dynamodb:Query` are a run's own.
pub const TABLE_ACTIONS: [&str; 2] = ["dynamodb:DescribeTable", "dynamodb:DescribeTimeToLive"];
pub const TOPIC_ACTIONS: [&str; 2] = ["sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic"];
pub const TRAIL_ACTIONS: [&str; 3] = [
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetTrailStatus",
    "cloudtrail:GetEventSelectors",
];

/// Where change events are delivered: Organizations' CloudTrail events reach EventBridge
/// only in us-east-1.
pub const CLOUDTRAIL_REGION: &str = "us-east-1";

const DOC_CREDENTIALS: &str =
    "https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html";
const DOC_ORGANIZATION: &str =
    "https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeOrganization.html";
const DOC_LIST_ACCOUNTS: &str =
    "https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html";

/// Who the credentials are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub partition: String,
    pub arn: String,
}

/// A failure as one line: the service's code and message, or the cause chain of a call
/// that never reached the service (credentials, role assumption, network).
pub fn describe<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match err {
        SdkError::ServiceError(_) => format!(
            "{}: {}",
            err.code().unwrap_or("error"),
            err.message().unwrap_or_default()
        ),
        other => crate::aws::cause_chain(other),
    }
}

pub(super) fn code<E, R>(err: &SdkError<E, R>) -> Option<String>
where
    E: ProvideErrorMetadata,
{
    match classify(err) {
        Failure::Service(c) => Some(c),
        _ => None,
    }
}

/// `identity`: region and credentials first ([`crate::aws::preflight`]), then who they are.
pub async fn identity(base: &SdkConfig, preflight: Result<(), Error>) -> (Check, Option<Caller>) {
    const ID: &str = "identity";
    if let Err(e) = preflight {
        let found = match &e {
            Error::Credentials { .. } => "no AWS credentials could be loaded (environment, profile, web identity, container or instance metadata)".to_string(),
            _ => "no AWS region is configured (AWS_REGION, or the profile's region)".to_string(),
        };
        return (
            Check::flag(
                Status::Fail,
                ID,
                found,
                crate::aws::preflight::FIX,
                DOC_CREDENTIALS,
            ),
            None,
        );
    }
    let sts = crate::aws::sts_client(base);
    match sts.get_caller_identity().send().await {
        Ok(out) => {
            let arn = out.arn.unwrap_or_default();
            let caller = Caller {
                account: out.account.unwrap_or_default(),
                partition: arn.split(':').nth(1).unwrap_or("aws").to_string(),
                arn,
            };
            let region = base.region().map_or("none", |r| r.as_ref());
            let found = format!(
                "account {} (partition {}, region {region}) as {}",
                caller.account, caller.partition, caller.arn
            );
            (Check::pass(ID, found), Some(caller))
        }
        Err(e) => (
            Check::flag(
                Status::Fail,
                ID,
                format!("STS GetCallerIdentity failed: {}", describe(&e)),
                crate::aws::preflight::FIX,
                DOC_CREDENTIALS,
            ),
            None,
        ),
    }
}

/// What `organization` learned for the later checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgFacts {
    pub management_account: String,
    /// The account the Organizations session runs in: the reader role's, or the caller's.
    pub session_account: String,
}

/// `organization`: `DescribeOrganization` through the same session as the walk.
pub async fn organization(
    client: &aws_sdk_organizations::Client,
    caller: &Caller,
    role_arn: Option<&str>,
) -> (Check, Option<OrgFacts>) {
    const ID: &str = "organization";
    // arn:<partition>:iam::<account>:role/<name>
    let session_account = role_arn
        .and_then(|arn| arn.split(':').nth(4))
        .unwrap_or(&caller.account)
        .to_string();
    let through = match role_arn {
        Some(arn) => format!(" through APNWATCH_ORG_ROLE_ARN {arn}"),
        None => String::new(),
    };
    match client.describe_organization().send().await {
        Ok(out) => {
            let org = out
                .organization
                .unwrap_or_else(|| aws_sdk_organizations::types::Organization::builder().build());
            let management = org.master_account_id().unwrap_or_default().to_string();
            let whose = if session_account == management {
                "which is the management account".to_string()
            } else {
                format!("which is not the management account ({management})")
            };
            let found = format!(
                "organization {} readable{through} from account {session_account}, {whose}",
                org.id().unwrap_or("?")
            );
            (
                Check::pass(ID, found),
                Some(OrgFacts {
                    management_account: management,
                    session_account,
                }),
            )
        }
        Err(e) => {
            let fix = match code(&e).as_deref() {
                Some("AWSOrganizationsNotInUseException") => "deploy in the organization's management account or a delegated administrator, or set OrgRoleArn (APNWATCH_ORG_ROLE_ARN) to infra/org-reader-role.yaml's RoleArn in the management account".to_string(),
                _ if role_arn.is_some() => "deploy infra/org-reader-role.yaml in the management account with FunctionRoleArn set to this function's role, and set OrgRoleArn to its RoleArn".to_string(),
                _ => "grant organizations:DescribeOrganization (the stack does), or set OrgRoleArn (APNWATCH_ORG_ROLE_ARN) to infra/org-reader-role.yaml's RoleArn".to_string(),
            };
            (
                Check::flag(
                    Status::Fail,
                    ID,
                    format!("DescribeOrganization{through} failed: {}", describe(&e)),
                    fix,
                    DOC_ORGANIZATION,
                ),
                None,
            )
        }
    }
}

/// `organizations-paths`: one `ListAccounts` page; PASS when every account in it carries
/// `Paths`.
pub async fn organizations_paths(client: &aws_sdk_organizations::Client) -> Check {
    const ID: &str = "organizations-paths";
    match client.list_accounts().max_results(20).send().await {
        Ok(out) => {
            let accounts = out.accounts();
            if !accounts.is_empty() && accounts.iter().all(|a| !a.paths().is_empty()) {
                Check::pass(
                    ID,
                    format!(
                        "ListAccounts answers carry Paths ({} account(s) on the first page): the walk lists every account in one paged call",
                        accounts.len()
                    ),
                )
            } else {
                Check::flag(Status::Warn,
                    ID,
                    "ListAccounts answers without Paths: the walk lists the accounts of every unit (one ListAccountsForParent call per unit)",
                    "nothing to fix: runs cost more Organizations calls; newer Organizations endpoints return Paths",
                    DOC_LIST_ACCOUNTS,
                )
            }
        }
        Err(e) => Check::flag(Status::Warn,
            ID,
            format!("ListAccounts failed: {}", describe(&e)),
            "grant organizations:ListAccounts to the role that reads the organization (the stack and infra/org-reader-role.yaml do): without it the walk calls ListAccountsForParent per unit",
            DOC_LIST_ACCOUNTS,
        ),
    }
}
