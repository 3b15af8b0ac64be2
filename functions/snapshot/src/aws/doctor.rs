//! The doctor's AWS calls: each function makes the read-only calls of one check and turns
//! the answer, or the error, into a [`Check`] saying what it found and, when something is
//! wrong, what to do. Nothing here writes, publishes or invites; the template grants these
//! reads and nothing more (README "IAM permissions").
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
use aws_sdk_cloudtrail::types::{AdvancedEventSelector, EventSelector, ReadWriteType};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

use crate::aws::{classify, Failure};
use crate::domain::doctor::{Check, Trail};
use crate::error::Error;

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
const DOC_TTL: &str =
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/time-to-live-ttl-how-to.html";
const DOC_TABLE: &str =
    "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DescribeTable.html";
const DOC_TOPIC: &str = "https://docs.aws.amazon.com/sns/latest/dg/sns-create-topic.html";
const DOC_SUBSCRIBE: &str =
    "https://docs.aws.amazon.com/sns/latest/dg/sns-create-subscribe-endpoint-to-topic.html";
const DOC_CONFIRM: &str = "https://docs.aws.amazon.com/sns/latest/api/API_ConfirmSubscription.html";
const DOC_EMAIL: &str = "https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html";
const DOC_PARTNER_CENTRAL: &str =
    "https://docs.aws.amazon.com/partner-central/latest/APIReference/API_ListConnections.html";
const DOC_STACKSETS: &str = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-activate-trusted-access.html";
const DOC_ASSUME_ROLE: &str =
    "https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html";
/// EventBridge User Guide, "Events from AWS services": CloudTrail events reach EventBridge
/// only with a trail that is logging.
const DOC_TRAIL: &str = "https://docs.aws.amazon.com/eventbridge/latest/userguide/event-types.html";

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
        other => {
            let mut parts = vec![other.to_string()];
            let mut cur = std::error::Error::source(other);
            while let Some(e) = cur {
                parts.push(e.to_string());
                cur = e.source();
            }
            parts.join(": ")
        }
    }
}

fn code<E, R>(err: &SdkError<E, R>) -> Option<String>
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
            Check::fail(ID, found, crate::aws::preflight::FIX, DOC_CREDENTIALS),
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
            Check::fail(
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
                Check::fail(
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
                Check::warn(
                    ID,
                    "ListAccounts answers without Paths: the walk lists the accounts of every unit (one ListAccountsForParent call per unit)",
                    "nothing to fix: runs cost more Organizations calls; newer Organizations endpoints return Paths",
                    DOC_LIST_ACCOUNTS,
                )
            }
        }
        Err(e) => Check::warn(
            ID,
            format!("ListAccounts failed: {}", describe(&e)),
            "grant organizations:ListAccounts to the role that reads the organization (the stack and infra/org-reader-role.yaml do): without it the walk calls ListAccountsForParent per unit",
            DOC_LIST_ACCOUNTS,
        ),
    }
}

/// `table`: keys, the `by-link-state` index ACTIVE, TTL enabled on `expires_at`.
pub async fn table(client: &aws_sdk_dynamodb::Client, name: &str) -> Check {
    use aws_sdk_dynamodb::types::{IndexStatus, TimeToLiveStatus};
    const ID: &str = "table";
    let def = crate::aws::dynamodb::table_definition();
    let fix = format!(
        "deploy the stack (it creates the table), or run `apnwatch init` with APNWATCH_TABLE={name} for a table of your own"
    );
    let described = match client.describe_table().table_name(name).send().await {
        Ok(out) => out
            .table
            .unwrap_or_else(|| aws_sdk_dynamodb::types::TableDescription::builder().build()),
        Err(e) => {
            let found = match code(&e).as_deref() {
                Some("ResourceNotFoundException") => format!("table {name} does not exist"),
                _ => format!("DescribeTable {name} failed: {}", describe(&e)),
            };
            return Check::fail(ID, found, fix, DOC_TABLE);
        }
    };
    let mut missing = Vec::new();
    if let Some(m) = crate::aws::dynamodb::schema::schema_mismatch(&described, &def) {
        missing.push(m);
    }
    for index in &def.indexes {
        let status = described
            .global_secondary_indexes()
            .iter()
            .find(|i| i.index_name() == Some(index.name))
            .and_then(|i| i.index_status());
        if let Some(s) = status.filter(|s| **s != IndexStatus::Active) {
            missing.push(format!("its index {} is {}", index.name, s.as_str()));
        }
    }
    match client.describe_time_to_live().table_name(name).send().await {
        Ok(out) => {
            let ttl = out.time_to_live_description();
            let status = ttl.and_then(|t| t.time_to_live_status());
            let attribute = ttl.and_then(|t| t.attribute_name());
            let on = matches!(
                status,
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            ) && attribute == Some(def.ttl_attribute);
            if !on {
                missing.push(format!(
                    "TTL is not enabled on {} ({}{})",
                    def.ttl_attribute,
                    status.map_or("no status", |s| s.as_str()),
                    attribute.map(|a| format!(" on {a}")).unwrap_or_default()
                ));
            }
        }
        Err(e) => missing.push(format!("DescribeTimeToLive failed: {}", describe(&e))),
    }
    if missing.is_empty() {
        Check::pass(
            ID,
            format!(
                "table {name}: keys {} + {}, index {} ACTIVE, TTL on {}",
                def.hash_key, def.range_key, def.indexes[0].name, def.ttl_attribute
            ),
        )
    } else {
        let ttl_only = missing.iter().all(|m| m.starts_with("TTL"));
        let (fix, doc) = if ttl_only {
            (
                format!(
                    "run `apnwatch init` with APNWATCH_TABLE={name} (it turns TTL on), or `aws dynamodb update-time-to-live --table-name {name} --time-to-live-specification Enabled=true,AttributeName={}`",
                    def.ttl_attribute
                ),
                DOC_TTL,
            )
        } else {
            (fix, DOC_TABLE)
        };
        Check::fail(
            ID,
            format!("table {name}: {}", missing.join("; ")),
            fix,
            doc,
        )
    }
}

/// `topic`: the topic exists and is a standard topic. Returns whether it can be listed.
pub async fn topic(client: &aws_sdk_sns::Client, arn: &str) -> (Check, bool) {
    const ID: &str = "topic";
    match client.get_topic_attributes().topic_arn(arn).send().await {
        Ok(out) => {
            let attrs = out.attributes.unwrap_or_default();
            if attrs.get("FifoTopic").is_some_and(|v| v == "true") {
                return (
                    Check::fail(
                        ID,
                        format!("topic {arn} is a FIFO topic"),
                        "set APNWATCH_TOPIC_ARN to a standard topic (the stack's AlertTopic): alerts are published without a message group",
                        DOC_TOPIC,
                    ),
                    true,
                );
            }
            (
                Check::pass(ID, format!("topic {arn} exists (standard)")),
                true,
            )
        }
        Err(e) => (
            Check::fail(
                ID,
                format!("GetTopicAttributes {arn} failed: {}", describe(&e)),
                "set APNWATCH_TOPIC_ARN to the stack output AlertTopicArn, and grant sns:GetTopicAttributes on it (the stack does)",
                DOC_TOPIC,
            ),
            false,
        ),
    }
}

/// `subscriptions`: FAIL when none is confirmed, one WARN per `PendingConfirmation`.
pub async fn subscriptions(client: &aws_sdk_sns::Client, arn: &str) -> Vec<Check> {
    const ID: &str = "subscriptions";
    const PENDING: &str = "PendingConfirmation";
    let listed = crate::aws::all_pages(|token| async move {
        client
            .list_subscriptions_by_topic()
            .topic_arn(arn)
            .set_next_token(token)
            .send()
            .await
            .map(|out| (out.subscriptions.unwrap_or_default(), out.next_token))
    })
    .await;
    let subs = match listed {
        Ok(subs) => subs,
        Err(crate::aws::PageError::Call(e)) => {
            return vec![Check::fail(
                ID,
                format!("ListSubscriptionsByTopic failed: {}", describe(&e)),
                "grant sns:ListSubscriptionsByTopic on the topic (the stack does)",
                DOC_SUBSCRIBE,
            )]
        }
        Err(crate::aws::PageError::Repeated(r)) => {
            return vec![Check::fail(
                ID,
                r.to_string(),
                "run the doctor again",
                DOC_SUBSCRIBE,
            )]
        }
    };
    let endpoint = |s: &aws_sdk_sns::types::Subscription| {
        format!(
            "{} {}",
            s.protocol().unwrap_or("?"),
            s.endpoint().unwrap_or("?")
        )
    };
    // A confirmed subscription is listed with its ARN; an unconfirmed one with the word
    // `PendingConfirmation` (Subscribe's documentation spells it "pending confirmation"), a
    // pending one that was deleted with `Deleted`, which counts as neither.
    // <https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html>
    let is_pending = |s: &&aws_sdk_sns::types::Subscription| {
        s.subscription_arn()
            .is_some_and(|a| a.replace(' ', "").eq_ignore_ascii_case(PENDING))
    };
    let pending: Vec<_> = subs.iter().filter(is_pending).collect();
    let confirmed: Vec<_> = subs
        .iter()
        .filter(|s| s.subscription_arn().is_some_and(|a| a.starts_with("arn:")))
        .collect();
    let mut checks = vec![if confirmed.is_empty() {
        Check::fail(
            ID,
            format!(
                "no confirmed subscription ({} pending): alerts reach nobody",
                pending.len()
            ),
            "subscribe an endpoint (the stack's AlertEmail, a Slack or Teams channel, or `aws sns subscribe`) and confirm it",
            DOC_SUBSCRIBE,
        )
    } else {
        Check::pass(
            ID,
            format!(
                "{} confirmed: {}",
                confirmed.len(),
                confirmed
                    .iter()
                    .map(|s| endpoint(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    }];
    for s in pending {
        let found = format!("{} is {PENDING}: it receives nothing yet", endpoint(s));
        checks.push(if s.protocol().is_some_and(|p| p.starts_with("email")) {
            Check::warn(
                ID,
                found,
                "open the \"AWS Notification - Subscription Confirmation\" email and choose Confirm subscription; if the link expired, subscribe the address again",
                DOC_EMAIL,
            )
        } else {
            Check::warn(
                ID,
                found,
                "confirm it with the token the endpoint received: `aws sns confirm-subscription --topic-arn TOPIC --token TOKEN`",
                DOC_CONFIRM,
            )
        });
    }
    checks
}

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
            return Check::fail(
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
                Check::warn(
                    ID,
                    found,
                    "the Sandbox catalog holds test connections only: set PartnerCentralCatalog (APNWATCH_PARTNER_CENTRAL_CATALOG) to AWS for real links",
                    DOC_PARTNER_CENTRAL,
                )
            } else {
                Check::pass(ID, found)
            }
        }
        Err(e) => Check::fail(
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
            Err(e) => Check::fail(
                ID,
                format!("account {account}: cannot assume {arn}: {}", describe(&e)),
                "deploy infra/member-accept-role.yaml to the member accounts as a service-managed StackSet (trusted access for CloudFormation StackSets on: `aws cloudformation activate-organizations-access`) with FunctionRoleArn set to this function's role, the same RoleName and ExternalId",
                DOC_STACKSETS,
            ),
        });
    }
    checks
}

/// `change-events`: a trail visible in us-east-1 that is logging and records write
/// management events. `facts` says whose trails these are.
pub async fn change_events(client: &aws_sdk_cloudtrail::Client, facts: &OrgFacts) -> Check {
    const ID: &str = "change-events";
    let management = facts.session_account == facts.management_account;
    let listed = client
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await;
    let trails = match listed {
        Ok(out) => out.trail_list,
        Err(e) => {
            return Check::skip(
                ID,
                format!(
                    "cannot see the trails of account {} ({}); check in the management account {}: `aws cloudtrail describe-trails --region {CLOUDTRAIL_REGION}`",
                    facts.session_account,
                    describe(&e),
                    facts.management_account
                ),
            )
        }
    };
    let mut seen = Vec::new();
    for t in trails.unwrap_or_default() {
        let Some(arn) = t.trail_arn().map(str::to_string) else {
            continue;
        };
        let logging = match client.get_trail_status().name(&arn).send().await {
            Ok(s) => s.is_logging().unwrap_or(false),
            Err(_) => false,
        };
        let management_writes = match client.get_event_selectors().trail_name(&arn).send().await {
            Ok(s) => records_management_writes(s.event_selectors(), s.advanced_event_selectors()),
            Err(_) => None,
        };
        seen.push(Trail {
            name: t.name().unwrap_or(&arn).to_string(),
            home_region: t.home_region().unwrap_or_default().to_string(),
            multi_region: t.is_multi_region_trail().unwrap_or(false),
            organization: t.is_organization_trail().unwrap_or(false),
            logging,
            management_writes,
        });
    }
    if let Some(t) = seen.iter().find(|t| t.delivers(CLOUDTRAIL_REGION)) {
        let kind = if t.organization {
            "organization trail"
        } else {
            "trail"
        };
        return Check::pass(
            ID,
            format!(
                "{kind} {} (home {}{}) is logging management events seen in {CLOUDTRAIL_REGION}",
                t.name,
                t.home_region,
                if t.multi_region { ", multi-Region" } else { "" }
            ),
        );
    }
    let found = if seen.is_empty() {
        format!(
            "no CloudTrail trail in {CLOUDTRAIL_REGION} of account {}",
            facts.session_account
        )
    } else {
        seen.iter()
            .filter_map(|t| t.shortfall(CLOUDTRAIL_REGION))
            .collect::<Vec<_>>()
            .join("; ")
    };
    if !management {
        return Check::skip(
            ID,
            format!(
                "{found}, which is not the management account {}: its trails cannot be seen from here; check there",
                facts.management_account
            ),
        );
    }
    Check::fail(
        ID,
        format!("{found}: EventBridge receives no Organizations change events, only the schedule runs"),
        format!(
            "in the management account, log management events with a trail (an organization trail counts): `aws cloudtrail create-trail --name org-trail --s3-bucket-name BUCKET --is-multi-region-trail --is-organization-trail --region {CLOUDTRAIL_REGION}` then `aws cloudtrail start-logging --name org-trail --region {CLOUDTRAIL_REGION}`"
        ),
        DOC_TRAIL,
    )
}

/// Whether event selectors record write management events; `None` when the trail answers
/// with no selectors at all (nothing to judge by).
/// <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_GetEventSelectors.html>
fn records_management_writes(
    basic: &[EventSelector],
    advanced: &[AdvancedEventSelector],
) -> Option<bool> {
    if basic.is_empty() && advanced.is_empty() {
        return None;
    }
    let basic_ok = basic.iter().any(|s| {
        s.include_management_events() != Some(false)
            && !matches!(s.read_write_type(), Some(ReadWriteType::ReadOnly))
    });
    let advanced_ok = advanced.iter().any(|s| {
        let fields = s.field_selectors();
        let management = fields
            .iter()
            .any(|f| f.field() == "eventCategory" && f.equals().iter().any(|v| v == "Management"));
        let reads_only = fields
            .iter()
            .any(|f| f.field() == "readOnly" && f.equals().iter().all(|v| v == "true"));
        management && !reads_only
    });
    Some(basic_ok || advanced_ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudtrail::types::AdvancedFieldSelector;

    fn field(name: &str, equals: &str) -> AdvancedFieldSelector {
        AdvancedFieldSelector::builder()
            .field(name)
            .equals(equals)
            .build()
            .unwrap()
    }

    fn advanced(fields: Vec<AdvancedFieldSelector>) -> AdvancedEventSelector {
        AdvancedEventSelector::builder()
            .set_field_selectors(Some(fields))
            .build()
            .unwrap()
    }

    /// Basic selectors record writes unless management events are off or read-only.
    #[test]
    fn basic_selectors_record_management_writes_unless_read_only() {
        let sel = |rw, mgmt| {
            EventSelector::builder()
                .read_write_type(rw)
                .include_management_events(mgmt)
                .build()
        };
        assert_eq!(
            records_management_writes(&[sel(ReadWriteType::All, true)], &[]),
            Some(true)
        );
        assert_eq!(
            records_management_writes(&[sel(ReadWriteType::WriteOnly, true)], &[]),
            Some(true)
        );
        assert_eq!(
            records_management_writes(&[sel(ReadWriteType::ReadOnly, true)], &[]),
            Some(false)
        );
        assert_eq!(
            records_management_writes(&[sel(ReadWriteType::All, false)], &[]),
            Some(false)
        );
        assert_eq!(records_management_writes(&[], &[]), None);
    }

    /// Advanced selectors record writes with eventCategory Management not limited to reads.
    #[test]
    fn advanced_selectors_need_management_not_read_only() {
        let mgmt = advanced(vec![field("eventCategory", "Management")]);
        assert_eq!(records_management_writes(&[], &[mgmt]), Some(true));
        let reads = advanced(vec![
            field("eventCategory", "Management"),
            field("readOnly", "true"),
        ]);
        assert_eq!(records_management_writes(&[], &[reads]), Some(false));
        let data = advanced(vec![field("eventCategory", "Data")]);
        assert_eq!(records_management_writes(&[], &[data]), Some(false));
    }
}
