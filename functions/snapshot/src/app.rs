//! The wired application: configuration read once and every AWS client built once, at cold
//! start or CLI start, then lent to each run.

use tracing::info;

use crate::autolink;
use crate::aws;
use crate::config::Config;
use crate::error::Error;
use crate::invitations::{InvitationsAdapter, Sender};
use crate::model::ChangeKind;
use crate::model::LinkSource;
use crate::notify::SnsNotifier;
use crate::org::OrganizationsSource;
use crate::partner_central::PartnerCentralAdapter;
use crate::run::{run_once, Deps, RunOptions, RunReport};
use crate::store::DynamoStore;

pub struct App {
    pub config: Config,
    pub org: OrganizationsSource,
    pub partner_central: Option<PartnerCentralAdapter>,
    /// Invitation calls; built whenever Partner Central is a source (`apnwatch invite`).
    pub invitations: Option<InvitationsAdapter>,
    pub store: DynamoStore,
    /// `None` without `APNWATCH_TOPIC_ARN`: only dry runs and queries are possible.
    pub notifier: Option<SnsNotifier>,
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
        let org_sdk = match &config.org_role_arn {
            Some(arn) => {
                aws::assume_role_config(base, arn, aws::ORG_SESSION_NAME, None, None).await
            }
            None => base.clone(),
        };
        let mut invitations = None;
        let partner_central = if config.rules.uses(LinkSource::PartnerCentral) {
            let pc = &config.partner_central;
            let sdk = match &pc.role_arn {
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
            };
            let (client, sts) = aws::partner_central_clients(&sdk);
            let inv = &config.invite;
            let sender = match (&inv.name, &inv.email) {
                (Some(name), Some(email)) => Some(Sender {
                    name: name.clone(),
                    email: email.clone(),
                }),
                _ => None,
            };
            invitations = Some(InvitationsAdapter::new(
                (client.clone(), sts.clone()),
                base.clone(),
                pc.catalog.clone(),
                sender,
                inv.accept_role_name.clone(),
                inv.accept_external_id.clone(),
            ));
            Some(PartnerCentralAdapter::new(client, sts, pc.catalog.clone()))
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
            invitations,
            store,
            notifier,
        }
    }

    /// One run, the same code path for the Lambda and `apnwatch snapshot`.
    pub async fn run(&self, options: RunOptions) -> Result<RunReport, Error> {
        let deps = Deps {
            org: &self.org,
            partner_central: self.partner_central.as_ref(),
            store: &self.store,
            notifier: self.notifier.as_ref(),
        };
        let dry_run = options.dry_run;
        let mut report = run_once(&self.config, deps, options).await?;
        // After the changes are stored and the alerts published: never fails the run.
        let wants = self.config.invite.auto != crate::invite::AutoInvite::Off
            || self.config.invite.accepts();
        if let (false, true, Some(inv)) = (dry_run, wants, self.invitations.as_ref()) {
            let discovered = if report.first_run {
                Default::default()
            } else {
                report
                    .events
                    .iter()
                    .filter(|e| e.kind == ChangeKind::Discovered)
                    .map(|e| e.account_id.clone())
                    .collect()
            };
            report.auto_link = Some(
                autolink::after_run(
                    &self.config,
                    &self.store,
                    inv,
                    &report.organization_id,
                    &discovered,
                    &report.summary.run_id,
                )
                .await,
            );
        }
        info!(
            run_id = report.summary.run_id,
            organizations_calls = report.organizations_calls,
            account_writes = report.account_writes,
            "run metrics"
        );
        Ok(report)
    }

    pub fn store(&self) -> &DynamoStore {
        &self.store
    }
}
