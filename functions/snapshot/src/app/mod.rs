//! The wired application: configuration read once and every AWS client built once, at cold
//! start or CLI start, then lent to each run.

pub mod doctor;
pub mod invoke;

use std::time::Duration;

use tracing::{info, warn};

use crate::aws;
use crate::aws::dynamodb::DynamoStore;
use crate::aws::organizations::OrganizationsSource;
use crate::aws::partner_central::invitations::{InvitationsAdapter, Sender};
use crate::aws::partner_central::PartnerCentralAdapter;
use crate::aws::sns::SnsNotifier;
use crate::config::{Config, PartnerCentralConfig};
use crate::domain::invite::AutoInvite;
use crate::domain::model::LinkSource;
use crate::error::Error;
use crate::ports::{Invitations, Notifier, OrgSource, PartnerCentralSource, Queries, Store};
use crate::run::autolink;
use crate::run::{self, Deps, RunOptions, RunReport, Stage};

/// The most auto-invite and auto-accept may take in one run before the alerts are
/// published: 25 invitations and 25 acceptances take seconds; this leaves room for the SDK's
/// retries of a throttled call without letting a hung endpoint delay the alerts for long.
pub const AUTO_LINK_BUDGET: Duration = Duration::from_secs(120);

pub struct App {
    pub config: Config,
    pub org: OrganizationsSource,
    /// `None` unless `partner-central` is among `APNWATCH_LINK_SOURCES`.
    pub partner_central: Option<PartnerCentral>,
    pub store: DynamoStore,
    /// `None` without `APNWATCH_TOPIC_ARN`: only dry runs and queries are possible.
    pub notifier: Option<SnsNotifier>,
    /// The SDK configuration every client was built from (region, credentials, endpoints):
    /// the doctor builds its own read-only clients from it.
    pub sdk: aws_config::SdkConfig,
}

/// The SDK configuration of the Organizations session: the configured role assumed, or the
/// function's own credentials.
pub(crate) async fn org_sdk(
    config: &Config,
    base: &aws_config::SdkConfig,
) -> aws_config::SdkConfig {
    match &config.org_role_arn {
        Some(arn) => aws::assume_role_config(base, arn, aws::ORG_SESSION_NAME, None, None).await,
        None => base.clone(),
    }
}

/// The SDK configuration of the Partner Central session: the configured role assumed, or the
/// function's own credentials.
pub(crate) async fn partner_central_sdk(
    pc: &PartnerCentralConfig,
    base: &aws_config::SdkConfig,
) -> aws_config::SdkConfig {
    match &pc.role_arn {
        Some(arn) => {
            aws::assume_role_config(
                base,
                arn,
                aws::PARTNER_CENTRAL_SESSION_NAME,
                pc.external_id.as_deref(),
                None,
            )
            .await
        }
        None => base.clone(),
    }
}

/// Partner Central's two sides on one session: the links a run reads and the invitation
/// calls (auto-link, `apnwatch invite`); one is never built without the other.
pub struct PartnerCentral {
    pub links: PartnerCentralAdapter,
    pub invitations: InvitationsAdapter,
}

impl App {
    /// Reads `APNWATCH_*` and the standard AWS environment (region, credentials, endpoints).
    pub async fn from_env() -> Result<Self, Error> {
        let config = Config::from_env()?;
        Ok(Self::new(config, &aws::base_sdk_config().await).await)
    }

    /// Builds the clients from `base`, assuming the configured roles for Organizations and
    /// Partner Central.
    pub async fn new(config: Config, base: &aws_config::SdkConfig) -> Self {
        let org_sdk = org_sdk(&config, base).await;
        let partner_central = if config.rules.uses(LinkSource::PartnerCentral) {
            let pc = &config.partner_central;
            let sdk = partner_central_sdk(pc, base).await;
            let (client, sts) = aws::partner_central_clients(&sdk);
            let inv = &config.invite;
            let sender = match (&inv.name, &inv.email) {
                (Some(name), Some(email)) => Some(Sender {
                    name: name.clone(),
                    email: email.clone(),
                }),
                _ => None,
            };
            let invitations = InvitationsAdapter::new(
                (client.clone(), sts.clone()),
                base.clone(),
                pc.catalog.clone(),
                sender,
                inv.accept_role_name.clone(),
                inv.accept_external_id.clone(),
            );
            Some(PartnerCentral {
                links: PartnerCentralAdapter::new(client, sts, pc.catalog.clone()),
                invitations,
            })
        } else {
            None
        };
        let store = DynamoStore::new(
            aws_sdk_dynamodb::Client::new(base),
            config.table.clone(),
            config.run_retention_days,
        );
        let notifier = config
            .topic_arn
            .as_ref()
            .map(|arn| SnsNotifier::new(aws_sdk_sns::Client::new(base), arn.clone()));
        let org =
            OrganizationsSource::new(aws::organizations_client(&org_sdk), config.org_concurrency);
        Self {
            config,
            org,
            partner_central,
            store,
            notifier,
            sdk: base.clone(),
        }
    }

    /// Partner Central's invitation calls, when it is a link source.
    pub fn invitations(&self) -> Option<&InvitationsAdapter> {
        self.partner_central.as_ref().map(|pc| &pc.invitations)
    }

    /// One run, the same code path for the Lambda and `apnwatch snapshot`: [`sequence`]
    /// with the AWS adapters.
    pub async fn run(&self, options: RunOptions) -> Result<RunReport, Error> {
        let deps = Deps {
            org: &self.org,
            partner_central: self.partner_central.as_ref().map(|pc| &pc.links),
            store: &self.store,
            notifier: self.notifier.as_ref(),
        };
        let report = sequence(&self.config, &deps, self.invitations(), options).await?;
        Ok(self.finished(report))
    }

    fn finished(&self, report: RunReport) -> RunReport {
        info!(
            run_id = report.summary.run_id,
            organizations_calls = report.organizations_calls,
            account_writes = report.account_writes,
            "run metrics"
        );
        report
    }

    pub fn store(&self) -> &DynamoStore {
        &self.store
    }
}

/// The steps of one run, over any ports (the simulator drives this very code with in-memory
/// ones): store the changes, then auto-invite and auto-accept (when on), then publish, so
/// the alerts tell what auto-link did.
pub async fn sequence<O, P, S, N, I>(
    config: &Config,
    deps: &Deps<'_, O, P, S, N>,
    invitations: Option<&I>,
    options: RunOptions,
) -> Result<RunReport, Error>
where
    O: OrgSource,
    P: PartnerCentralSource,
    S: Store + Queries,
    N: Notifier,
    I: Invitations,
{
    let budget = options.deadline.as_ref().map(|d| d.left());
    let mut stored = match run::store_changes(config, deps, options).await? {
        Stage::Dry(report) => return Ok(report),
        Stage::Stored(stored) => stored,
    };
    let auto_link = auto_link(config, deps.store, invitations, &stored, budget).await;
    if let Some(done) = &auto_link {
        stored.record_auto_link(done);
    }
    let mut report = run::publish(stored, deps).await?;
    report.auto_link = auto_link;
    Ok(report)
}

/// Auto-invite and auto-accept, bounded in time so that a slow Partner Central never holds
/// back the alerts: at most [`AUTO_LINK_BUDGET`], and never past half of what was left of
/// the invoke's deadline when the run began. Cut short, what was done is recorded and the
/// next run goes on.
async fn auto_link<S: Store + Queries, I: Invitations>(
    config: &Config,
    store: &S,
    invitations: Option<&I>,
    stored: &run::Stored,
    budget: Option<Duration>,
) -> Option<autolink::AutoLinkReport> {
    let wants = config.invite.auto != AutoInvite::Off || config.invite.accepts();
    let inv = invitations.filter(|_| wants)?;
    let discovered = stored.discovered();
    let facts = autolink::RunFacts {
        run_id: &stored.run_id,
        organization_id: &stored.organization_id,
        discovered: &discovered,
        routes: &stored.routes,
    };
    let limit = budget.map_or(AUTO_LINK_BUDGET, |left| (left / 2).min(AUTO_LINK_BUDGET));
    let work = autolink::after_run(config, store, inv, facts);
    match tokio::time::timeout(limit, work).await {
        Ok(report) => Some(report),
        Err(_) => {
            warn!(
                run_id = stored.run_id,
                seconds = limit.as_secs(),
                "auto-link cut short to publish the alerts in time; the next run goes on"
            );
            None
        }
    }
}
