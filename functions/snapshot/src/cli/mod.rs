//! The `apnwatch` command: argument parsing and output. Every command goes through the same
//! library calls as the Lambda; this file only chooses them and prints the result.

pub mod color;
pub mod csv;
pub mod doctor;
pub mod report_html;

use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::app::invoke::{outcome_text, InvocationView};
use crate::app::App;
use crate::domain::ids::is_account_id;
use crate::domain::model::LinkState;
use crate::error::Error;
use crate::ports::{AccountTable, Queries};
use crate::run::autolink::{self, InviteOutcome};
use crate::run::RunOptions;
use crate::views::report::ReportView;
use crate::views::{self, AccountView, EventView, RunView, SnapshotView};

#[derive(Debug, Parser)]
#[command(
    name = "apnwatch",
    version,
    about = "Find AWS Organization member accounts not linked to APN Partner Central",
    after_help = "Configuration comes from APNWATCH_* variables (APNWATCH_TABLE is required) and the standard AWS \
                  environment (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL). See README.md."
)]
pub struct Cli {
    /// Print JSON with stable field names instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the DynamoDB table (keys, index, TTL) if it does not exist.
    Init,
    /// Run one snapshot: walk, resolve, store, alert (the Lambda's code path).
    Snapshot {
        /// Show what would change and alert; write and publish nothing.
        #[arg(long)]
        dry_run: bool,
        /// Replay an invoke payload from FILE exactly as the Lambda handles it: an EventBridge
        /// event (schedule, Organizations, Partner Central), `{}`, or an SQS batch.
        #[arg(long, value_name = "FILE")]
        event: Option<std::path::PathBuf>,
        /// Give the run this long (e.g. 30s, 5m), as Lambda gives an invoke its timeout: a
        /// walk that would not finish in time stops and writes nothing. For testing.
        #[arg(long, value_name = "DURATION", value_parser = parse_deadline)]
        deadline: Option<std::time::Duration>,
    },
    /// List accounts as last recorded.
    Accounts {
        /// Only accounts that are currently UNLINKED (from the index, no Scan).
        #[arg(long, conflicts_with = "state")]
        unlinked: bool,
        /// Only accounts in this link state: LINKED, PENDING, UNLINKED or EXEMPT.
        #[arg(long, value_parser = parse_link_state)]
        state: Option<LinkState>,
        /// Print CSV (RFC 4180, header row, the same fields as --json) for a spreadsheet.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
    },
    /// Show one account's change history, oldest first.
    History {
        /// The 12-digit account id.
        #[arg(value_parser = parse_account_id)]
        account_id: String,
    },
    /// Send Partner Central SUBSIDIARY connection invitations to these member accounts.
    /// Only accounts in the table that are UNLINKED and ACTIVE are invited; the others are
    /// refused before any call. Exits non-zero naming every id not invited.
    Invite {
        /// 12-digit account ids.
        #[arg(required = true, value_parser = parse_account_id)]
        account_ids: Vec<String>,
        /// Check and show who would be invited; call and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check every prerequisite, read-only: credentials, organization, table, topic and
    /// subscriptions, Partner Central, the accept role, CloudTrail for change events, the
    /// latest run. Exits 1 when a check FAILs.
    Doctor {
        /// Member accounts whose accept role is assumed (UNLINKED and PENDING first); 0 skips.
        #[arg(long, value_name = "N", default_value_t = crate::domain::doctor::DEFAULT_SAMPLE_ACCOUNTS)]
        sample_accounts: usize,
        /// WARN when the latest run is older than this (e.g. 2h, 90m).
        #[arg(long, value_name = "DURATION", default_value = "2h", value_parser = doctor::parse_max_run_age)]
        max_run_age: chrono::Duration,
    },
    /// Coverage, time to link, coverage by OU, oldest unlinked, auto-link and the trend, from
    /// the table alone (two Queries, no Scan).
    Report {
        /// The window for time to link, auto-link and the trend: a number of days, e.g. 30d.
        #[arg(long, default_value = "90d", value_name = "DAYS", value_parser = parse_days)]
        since: u32,
        /// Also write the report as one self-contained HTML page (charts, no script) to FILE.
        #[arg(long, value_name = "FILE")]
        html: Option<std::path::PathBuf>,
    },
    /// Show recent runs, newest first.
    Runs {
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=1000))]
        limit: u16,
    },
}

fn parse_deadline(s: &str) -> Result<std::time::Duration, String> {
    match crate::domain::remind::parse_remind_after(s) {
        Ok(Some(d)) => d.to_std().map_err(|e| e.to_string()),
        _ => Err(format!(
            "{s:?} is not a duration: a whole number with a unit s, m or h (e.g. 30s, 5m)"
        )),
    }
}

fn run_options(dry_run: bool, deadline: &Option<std::time::Duration>) -> RunOptions {
    RunOptions {
        dry_run,
        deadline: deadline.map(crate::domain::deadline::Deadline::after),
        ..RunOptions::default()
    }
}

/// `90d` (or `90`) to 90: whole days, 1 to 3650.
fn parse_days(s: &str) -> Result<u32, String> {
    s.strip_suffix('d')
        .unwrap_or(s)
        .parse::<u32>()
        .ok()
        .filter(|d| (1..=3650).contains(d))
        .ok_or_else(|| {
            format!("{s:?} is not a number of days: expected e.g. 30d or 90d (1 to 3650)")
        })
}

fn parse_account_id(s: &str) -> Result<String, String> {
    if is_account_id(s) {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not an account id: expected 12 digits"))
    }
}

fn parse_link_state(s: &str) -> Result<LinkState, String> {
    LinkState::parse(&s.to_ascii_uppercase())
        .ok_or_else(|| format!("{s:?} is not one of LINKED, PENDING, UNLINKED, EXEMPT"))
}

/// Runs one command and returns what to print on stdout.
pub async fn execute(app: &App, cli: &Cli) -> Result<String, Error> {
    let json = cli.json;
    if let Command::Doctor {
        sample_accounts,
        max_run_age,
    } = &cli.command
    {
        // The doctor reports missing credentials as its `identity` check.
        let options = crate::domain::doctor::Options {
            sample_accounts: *sample_accounts,
            max_run_age: *max_run_age,
        };
        return doctor::doctor(app, options, json).await;
    }
    // Missing credentials or region: one line with the fix, before any AWS call.
    crate::aws::preflight::check(&app.sdk).await?;
    match &cli.command {
        Command::Doctor { .. } => unreachable!("handled above"),
        Command::Init => {
            let outcome = app.store().create_table().await?;
            let table = app.store().table();
            Ok(if json {
                to_json(&serde_json::json!({ "table": table, "created": outcome.created }))
            } else if outcome.created {
                format!(
                    "created table {table} (keys pk/sk, index by-link-state, TTL on expires_at)"
                )
            } else {
                format!("table {table} already exists; TTL is on")
            })
        }
        Command::Snapshot {
            dry_run,
            event: Some(path),
            deadline,
        } => {
            let payload = read_event(path)?;
            let outcome = app
                .invoke(&payload, run_options(*dry_run, deadline))
                .await?;
            Ok(if json {
                to_json(&InvocationView::from(&outcome))
            } else {
                outcome_text(&outcome)
            })
        }
        Command::Snapshot {
            dry_run,
            event: None,
            deadline,
        } => {
            let report = app.run(run_options(*dry_run, deadline)).await?;
            Ok(if json {
                to_json(&SnapshotView::from(&report))
            } else {
                views::snapshot_text(&report)
            })
        }
        Command::Accounts {
            unlinked,
            state,
            csv,
        } => {
            let filter = if *unlinked {
                Some(LinkState::Unlinked)
            } else {
                *state
            };
            let records = app.store().accounts(filter).await?;
            Ok(if *csv {
                csv::accounts_csv(&records)
            } else if json {
                to_json(
                    &serde_json::json!({ "accounts": records.iter().map(AccountView::from).collect::<Vec<_>>() }),
                )
            } else {
                views::accounts_table(&records)
            })
        }
        Command::History { account_id } => {
            let events = app.store().history(account_id).await?;
            if events.is_empty() && app.store().account(account_id).await?.is_none() {
                return Err(Error::NotFound(format!(
                    "account {account_id} is not in table {}: check the id, or run `apnwatch snapshot` first",
                    app.store().table()
                )));
            }
            Ok(if json {
                to_json(
                    &serde_json::json!({ "history": events.iter().map(EventView::from).collect::<Vec<_>>() }),
                )
            } else {
                views::history_table(&events)
            })
        }
        Command::Invite {
            account_ids,
            dry_run,
        } => invite(app, account_ids, *dry_run, json).await,
        Command::Report { since, html } => report(app, *since, html.as_deref(), json).await,
        Command::Runs { limit } => {
            let runs = app.store().runs(usize::from(*limit)).await?;
            Ok(if json {
                to_json(
                    &serde_json::json!({ "runs": runs.iter().map(RunView::from).collect::<Vec<_>>() }),
                )
            } else {
                views::runs_table(&runs)
            })
        }
    }
}

/// `apnwatch report`: one Query of the account items, one of the runs in the window.
async fn report(
    app: &App,
    days: u32,
    html: Option<&std::path::Path>,
    json: bool,
) -> Result<String, Error> {
    // Not truncated: a run that started earlier within this second must count (the views
    // print whole seconds anyway).
    let now = crate::clock::now();
    let records = app.store().accounts(None).await?;
    let runs = app
        .store()
        .runs_since(crate::domain::report::window_start(now, days))
        .await?;
    let report = crate::domain::report::Report::compute(&records, &runs, now, days);
    let view = ReportView::from(&report);
    let mut out = if json {
        to_json(&view)
    } else {
        crate::views::report::report_text(&view)
    };
    if let Some(path) = html {
        std::fs::write(path, report_html::report_html(&view)).map_err(|source| {
            Error::WriteFile {
                path: path.display().to_string(),
                source,
            }
        })?;
        if !json {
            out.push_str(&format!("\nwrote {}", path.display()));
        }
    }
    Ok(out)
}

/// The payload in `path`, as the Lambda runtime would hand it over.
fn read_event(path: &std::path::Path) -> Result<serde_json::Value, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::NotFound(format!(
            "cannot read the event file {}: {e}",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        Error::BadEvent(format!(
            "the event file {} is not JSON: {e}",
            path.display()
        ))
    })
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("views are plain data")
}

async fn invite(app: &App, ids: &[String], dry_run: bool, json: bool) -> Result<String, Error> {
    let Some(invitations) = app.invitations() else {
        return Err(crate::config::ConfigError::Invalid {
            var: crate::config::ENV_LINK_SOURCES,
            value: app
                .config
                .rules
                .sources
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(","),
            hint: "add partner-central: invitations are sent through Partner Central and the next run must see them".into(),
        }
        .into());
    };
    let outcomes =
        autolink::invite_accounts(&app.config, app.store(), invitations, ids, dry_run).await?;
    let views: Vec<InviteView> = outcomes.iter().map(InviteView::from).collect();
    let output = if json {
        to_json(&serde_json::json!({ "dry_run": dry_run, "invitations": views }))
    } else {
        views
            .iter()
            .map(|v| match (&v.invitation_id, &v.reason) {
                _ if v.invited_at.is_some() => format!(
                    "{}: {} ({}, sent {})",
                    v.account_id,
                    v.outcome,
                    v.invitation_id
                        .as_deref()
                        .unwrap_or("sent outside apnwatch"),
                    v.invited_at.as_deref().unwrap_or_default()
                ),
                (Some(inv), _) => format!("{}: {} ({inv})", v.account_id, v.outcome),
                (None, Some(r)) => format!("{}: {}: {r}", v.account_id, v.outcome),
                (None, None) => format!("{}: {}", v.account_id, v.outcome),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let refused: Vec<String> = views
        .iter()
        .filter(|v| v.outcome == "REFUSED" || v.outcome == "NOT_ELIGIBLE")
        .map(|v| v.account_id.clone())
        .collect();
    if refused.is_empty() {
        Ok(output)
    } else {
        Err(Error::NotInvited {
            ids: refused,
            output,
        })
    }
}

/// One line of `apnwatch invite --json`: `outcome` is SENT, WOULD_SEND, REFUSED,
/// ALREADY_INVITED (with `invited_at`, and `invitation_id` when apnwatch sent it) or
/// NOT_ELIGIBLE.
#[derive(Debug, Serialize)]
pub struct InviteView {
    pub account_id: String,
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation_id: Option<String>,
    /// RFC 3339, ALREADY_INVITED only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invited_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what_to_do: Option<String>,
}

impl From<&(String, InviteOutcome)> for InviteView {
    fn from((id, o): &(String, InviteOutcome)) -> Self {
        let (outcome, invitation_id, invited_at, reason, what_to_do) = match o {
            InviteOutcome::Sent { invitation_id } => {
                ("SENT", Some(invitation_id.clone()), None, None, None)
            }
            InviteOutcome::WouldSend => ("WOULD_SEND", None, None, None, None),
            InviteOutcome::Refused { reason, advice } => (
                "REFUSED",
                None,
                None,
                Some(reason.clone()),
                Some(advice.clone()),
            ),
            InviteOutcome::AlreadyInvited(inv) => (
                "ALREADY_INVITED",
                inv.invitation_id.clone(),
                Some(crate::domain::timestamp::format_secs(&inv.invited_at)),
                None,
                None,
            ),
            InviteOutcome::NotEligible(why) => {
                ("NOT_ELIGIBLE", None, None, Some(why.to_string()), None)
            }
        };
        Self {
            account_id: id.clone(),
            outcome,
            invitation_id,
            invited_at,
            reason,
            what_to_do,
        }
    }
}
