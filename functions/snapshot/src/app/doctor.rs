//! `apnwatch doctor` and the `{"apnwatch": "doctor"}` invoke: every check of
//! [`CHECK_IDS`] in order, with the same configuration and sessions a run uses (the
//! Organizations reader role, the Partner Central role, the accept role), read-only. A
//! check that needs an earlier one's answer (who we are, which account manages the
//! organization) is a SKIP naming it when that one failed.
//!
//! [`CHECK_IDS`]: crate::domain::doctor::CHECK_IDS

use super::{org_sdk, partner_central_sdk};
use crate::app::App;
use crate::aws;
use crate::aws::doctor as probe;
use crate::domain::doctor::{self, Check, Options, Report, Status, CHECK_IDS};
use crate::domain::model::{LinkSource, LinkState};
use crate::ports::Queries;

impl App {
    /// Runs every check; never fails (a failure is a FAIL line).
    pub async fn doctor(&self, options: Options) -> Report {
        let config = &self.config;
        let base = &self.sdk;
        let mut checks = Vec::new();

        let preflight = aws::preflight::check(base).await;
        let (identity, caller) = probe::identity(base, preflight).await;
        checks.push(identity);
        let Some(caller) = caller else {
            for id in &CHECK_IDS[1..] {
                checks.push(Check::skip(
                    id,
                    "needs AWS credentials and a region (see identity)",
                ));
            }
            return Report { checks };
        };

        let org_sdk = org_sdk(config, base).await;
        let org = aws::organizations_client(&org_sdk);
        let (organization, facts) =
            probe::organization(&org, &caller, config.org_role_arn.as_deref()).await;
        checks.push(organization);
        checks.push(match &facts {
            Some(_) => probe::organizations_paths(&org).await,
            None => Check::skip("organizations-paths", "needs a readable organization"),
        });

        checks.push(probe::table(&aws_sdk_dynamodb::Client::new(base), &config.table).await);

        match &config.topic_arn {
            None => {
                let why = "APNWATCH_TOPIC_ARN is not set: only dry runs are possible";
                checks.push(Check::skip("topic", why));
                checks.push(Check::skip("subscriptions", why));
            }
            Some(arn) => {
                let sns = aws_sdk_sns::Client::new(base);
                let (topic, exists) = probe::topic(&sns, arn).await;
                checks.push(topic);
                if exists {
                    checks.extend(probe::subscriptions(&sns, arn).await);
                } else {
                    checks.push(Check::skip("subscriptions", "needs the topic"));
                }
            }
        }

        checks.push(if config.rules.uses(LinkSource::PartnerCentral) {
            let pc = &config.partner_central;
            let sdk = partner_central_sdk(pc, base).await;
            let (client, sts) = aws::partner_central_clients(&sdk);
            probe::partner_central(&client, &sts, &pc.catalog, pc.role_arn.as_deref()).await
        } else {
            Check::skip(
                "partner-central",
                "partner-central is not among APNWATCH_LINK_SOURCES",
            )
        });

        checks.extend(self.accept_role(&caller, options.sample_accounts).await);

        checks.push(match (&facts, config.change_triggers) {
            (_, false) => Check::skip(
                "change-events",
                "change triggers are off (APNWATCH_CHANGE_TRIGGERS, stack parameter TriggerOnChanges): only the schedule starts runs",
            ),
            (None, true) => Check::skip("change-events", "needs a readable organization"),
            (Some(facts), true) => {
                let trails = aws::cloudtrail_client(&org_sdk, probe::CLOUDTRAIL_REGION);
                probe::change_events(&trails, facts).await
            }
        });

        checks.push(match self.store.runs(1).await {
            Ok(runs) => doctor::last_run(
                runs.first().map(|r| (r.run_id.as_str(), r.started_at)),
                crate::clock::now(),
                options.max_run_age,
            ),
            Err(e) => Check::flag(
                Status::Fail,
                "last-run",
                e.one_line(),
                "grant dynamodb:Query on the table (the stack does)",
                "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html",
            ),
        });
        Report { checks }
    }

    /// `accept-role`: the sample comes from the table (UNLINKED, then PENDING, through the
    /// index; every account only when those are too few).
    async fn accept_role(&self, caller: &probe::Caller, n: usize) -> Vec<Check> {
        const ID: &str = "accept-role";
        let invite = &self.config.invite;
        let Some(role) = &invite.accept_role_name else {
            return vec![Check::skip(
                ID,
                "APNWATCH_ACCEPT_ROLE_NAME is not set: auto-accept is off",
            )];
        };
        if n == 0 {
            return vec![Check::skip(ID, "--sample-accounts 0")];
        }
        let mut records = Vec::new();
        for state in [Some(LinkState::Unlinked), Some(LinkState::Pending), None] {
            if state.is_none() && records.len() >= n {
                break;
            }
            match self.store.accounts(state).await {
                Ok(found) if state.is_none() => records = found,
                Ok(found) => records.extend(found),
                Err(e) => {
                    return vec![Check::skip(
                        ID,
                        format!("cannot read the accounts to sample: {}", e.one_line()),
                    )]
                }
            }
        }
        let sample = doctor::sample_accounts(&records, Some(&caller.account), n);
        if sample.is_empty() {
            return vec![Check::skip(
                ID,
                "no ACTIVE member account recorded yet: run `apnwatch snapshot` (or wait for the schedule) first",
            )];
        }
        let ids: Vec<&str> = sample.iter().map(|r| r.account.id.as_str()).collect();
        probe::accept_role(
            &aws::sts_client(&self.sdk),
            &caller.partition,
            role,
            invite.accept_external_id.as_deref(),
            &ids,
        )
        .await
    }
}
