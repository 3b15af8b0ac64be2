//! What started a run, and whether it needs one: the invoke payloads the function accepts
//! (the schedule, `{}` by hand, Organizations and Partner Central change events, and SQS
//! batches of those from the debounce queue), and the rule that skips a run an earlier one
//! already covered. Pure: the one table read the skip needs is made by `invoke`.
//!
//! Event shapes, as documented:
//! - Organizations reaches EventBridge only through CloudTrail (source `aws.organizations`,
//!   us-east-1): API calls arrive as `AWS API Call via CloudTrail`, events a service creates
//!   without a public API request (`CreateAccountResult`, `AccountJoinedOrganization`, ...) as
//!   `AWS Service Event via CloudTrail`; both carry `detail.eventName`.
//!   <https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-organizations.html>,
//!   <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html>
//! - Partner Central connection events: source `aws.partnercentral-account`, on the default
//!   bus of us-east-1, one `detail-type` per lifecycle step.
//!   <https://docs.aws.amazon.com/partner-central/latest/developer-guide/account-api-events.html>
//! - AWS Control Tower lifecycle events: source `aws.controltower`, detail-type `AWS Service
//!   Event via CloudTrail`, `detail.eventName` `CreateManagedAccount` or
//!   `UpdateManagedAccount`, in the Control Tower home region.
//!   <https://docs.aws.amazon.com/controltower/latest/userguide/lifecycle-events.html>,
//!   <https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-controltower.html>
//! - SQS records as a Lambda event source mapping delivers them (`Records[].messageId`,
//!   `.body`, `.eventSource` = `aws:sqs`); a body that is no accepted event is reported back
//!   in `batchItemFailures` so only it is retried and, past `maxReceiveCount`, lands in the
//!   queue's dead-letter queue.
//!   <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html>

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::model::RunSummary;
use crate::error::Error;

pub const SCHEDULE_SOURCE: &str = "aws.events";
pub const SCHEDULE_DETAIL_TYPE: &str = "Scheduled Event";

pub const ORGANIZATIONS_SOURCE: &str = "aws.organizations";
/// Both CloudTrail detail-types: `CreateAccountResult` and the join/depart events are
/// service events, the rest API calls.
pub const ORGANIZATIONS_DETAIL_TYPES: [&str; 2] = [
    "AWS API Call via CloudTrail",
    "AWS Service Event via CloudTrail",
];
/// The `eventName`s that change which accounts exist, where they sit, their state or their
/// tags (tags can decide a link state): the ones the template's rule forwards.
/// `CloseAccountResult` is the service event published when a closure completes
/// (`CloseAccount` in the Organizations API Reference).
pub const ORGANIZATIONS_EVENT_NAMES: [&str; 14] = [
    "CreateAccountResult",
    "CloseAccountResult",
    "AccountJoinedOrganization",
    "AccountDepartedOrganization",
    "AcceptHandshake",
    "InviteAccountToOrganization",
    "MoveAccount",
    "RemoveAccountFromOrganization",
    "CloseAccount",
    "TagResource",
    "UntagResource",
    "CreateOrganizationalUnit",
    "UpdateOrganizationalUnit",
    "DeleteOrganizationalUnit",
];

pub const PARTNER_CENTRAL_SOURCE: &str = "aws.partnercentral-account";
/// The connection lifecycle events published to the primary account, the sender of the
/// SUBSIDIARY invitations: each can move an account between LINKED, PENDING and UNLINKED.
/// `Partner Connection Invitation Received` and `Partner Connection Invitation Cancelled`
/// are left out: they notify the receiver (the member account that was invited, or whose
/// invitation the sender withdrew), so they never reach the primary account's bus; the
/// schedule (and `invite`, which records PENDING itself) covers what they would tell.
pub const PARTNER_CENTRAL_DETAIL_TYPES: [&str; 4] = [
    "Partner Connection Invitation Accepted",
    "Partner Connection Invitation Rejected",
    "Partner Connection Cancelled",
    "Partner Connection Invitation Expired",
];

pub const CONTROL_TOWER_SOURCE: &str = "aws.controltower";
/// Control Tower's lifecycle events are CloudTrail service events.
pub const CONTROL_TOWER_DETAIL_TYPE: &str = "AWS Service Event via CloudTrail";
/// The lifecycle events that create an account or move it between OUs (Account Factory).
pub const CONTROL_TOWER_EVENT_NAMES: [&str; 2] = ["CreateManagedAccount", "UpdateManagedAccount"];

/// Events older than the latest completed run's start by more than this are covered by
/// it. Organizations reads are eventually consistent: a run that started just after a change
/// may not have seen it, so only events clearly before the run count as covered.
pub const COVER_MARGIN: Duration = Duration::seconds(60);

/// What kind of trigger; `mixed` only for a batch holding more than one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Schedule,
    Manual,
    Organizations,
    PartnerCentral,
    ControlTower,
    Mixed,
}

/// One accepted event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: Kind,
    /// `eventName` for Organizations and Control Tower, the `detail-type` otherwise.
    pub name: String,
    /// The envelope's `time`; without one the event is never considered covered.
    pub time: Option<DateTime<Utc>>,
    /// Why this event needs no run (an Organizations call that changes no account or OU).
    pub ignored: Option<String>,
    /// The account whose tags a `TagResource`/`UntagResource` event changed: the run reads
    /// its tags even when the tag sweep would not (OU and root ids are left out).
    pub tagged_account: Option<String>,
    /// The OU ids a `CreateOrganizationalUnit` / `UpdateOrganizationalUnit` /
    /// `DeleteOrganizationalUnit` / `MoveAccount` event names: the run re-reads their names
    /// even when the OU-name rotation would not (root ids are left out: the root's name is
    /// fixed).
    pub units: Vec<String>,
}

/// A parsed invoke payload.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invocation {
    /// `{}`: a person or a script.
    pub manual: bool,
    /// The payload was an SQS batch.
    pub batch: bool,
    pub events: Vec<Event>,
    /// `messageId`s of batch records whose body is no accepted event, with the reason.
    pub failures: Vec<(String, String)>,
}

impl Invocation {
    /// `None` only for a batch in which no record held an accepted event.
    pub fn kind(&self) -> Option<Kind> {
        if self.manual {
            return Some(Kind::Manual);
        }
        let kinds: BTreeSet<Kind> = self.events.iter().map(|e| e.kind).collect();
        match kinds.len() {
            0 => None,
            1 => kinds.into_iter().next(),
            _ => Some(Kind::Mixed),
        }
    }

    /// The event's name, or the batch's when all its events share one.
    pub fn event_name(&self) -> Option<&str> {
        let names: BTreeSet<&str> = self.events.iter().map(|e| e.name.as_str()).collect();
        match names.len() {
            1 => names.into_iter().next(),
            _ => None,
        }
    }

    /// Accounts whose tags the events changed.
    pub fn tagged_accounts(&self) -> BTreeSet<String> {
        self.relevant()
            .filter_map(|e| e.tagged_account.clone())
            .collect()
    }

    /// OUs whose names the events may have changed (or whose accounts moved).
    pub fn named_units(&self) -> BTreeSet<String> {
        self.relevant()
            .flat_map(|e| e.units.iter().cloned())
            .collect()
    }

    /// Events that ask for a run.
    pub fn relevant(&self) -> impl Iterator<Item = &Event> {
        self.events.iter().filter(|e| e.ignored.is_none())
    }

    /// The schedule and a person never skip: they are the safety net and the override.
    pub fn always_runs(&self) -> bool {
        self.manual || self.relevant().any(|e| e.kind == Kind::Schedule)
    }

    /// Why no run is needed without reading anything: every event was ignored, or no
    /// record of the batch held an accepted event.
    pub fn nothing_to_do(&self) -> Option<String> {
        if self.always_runs() || self.relevant().next().is_some() {
            return None;
        }
        let reasons: BTreeSet<&str> = self
            .events
            .iter()
            .filter_map(|e| e.ignored.as_deref())
            .collect();
        Some(if reasons.is_empty() {
            "no record of the batch holds an accepted event".to_string()
        } else {
            reasons.into_iter().collect::<Vec<_>>().join("; ")
        })
    }
}

/// Parses an invoke payload. Anything but `{}`, an accepted EventBridge event or an SQS
/// batch is a `BadEvent`, refused before a single read.
pub fn parse(payload: &Value) -> Result<Invocation, Error> {
    let Value::Object(map) = payload else {
        return Err(Error::BadEvent(format!(
            "expected a JSON object, got {}",
            json_kind(payload)
        )));
    };
    if map.is_empty() {
        return Ok(Invocation {
            manual: true,
            ..Invocation::default()
        });
    }
    if let Some(records) = map.get("Records") {
        return parse_batch(records);
    }
    let event = parse_event(map).map_err(Error::BadEvent)?;
    Ok(Invocation {
        events: vec![event],
        ..Invocation::default()
    })
}

fn parse_batch(records: &Value) -> Result<Invocation, Error> {
    let records = match records {
        Value::Array(r) if !r.is_empty() => r,
        _ => {
            return Err(Error::BadEvent(
                "\"Records\" is not a non-empty list of SQS messages".into(),
            ))
        }
    };
    let mut out = Invocation {
        batch: true,
        ..Invocation::default()
    };
    for record in records {
        let sqs_id = record
            .as_object()
            .filter(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"))
            .and_then(|r| r.get("messageId"))
            .and_then(Value::as_str);
        // Not an SQS record at all (S3, SNS, ...): the whole payload is misrouted.
        let Some(message_id) = sqs_id else {
            return Err(Error::BadEvent(
                "\"Records\" holds an entry that is not an SQS message (eventSource aws:sqs with a messageId)".into(),
            ));
        };
        let body = record.get("body").and_then(Value::as_str).unwrap_or("");
        let parsed = match serde_json::from_str::<Value>(body) {
            Ok(Value::Object(m)) => parse_event(&m),
            Ok(other) => Err(format!("the body is {}, not an object", json_kind(&other))),
            Err(e) => Err(format!("the body is not JSON: {e}")),
        };
        match parsed {
            Ok(event) => out.events.push(event),
            Err(reason) => out.failures.push((message_id.to_string(), reason)),
        }
    }
    Ok(out)
}

/// One EventBridge envelope; the error says why it is not accepted.
fn parse_event(map: &Map<String, Value>) -> Result<Event, String> {
    let text = |key: &str| match map.get(key) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let (Some(source), Some(detail_type)) = (text("source"), text("detail-type")) else {
        let missing: Vec<&str> = ["source", "detail-type"]
            .into_iter()
            .filter(|k| text(k).is_none())
            .collect();
        let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys.truncate(8);
        return Err(format!(
            "an object with keys [{}] but without string {}",
            keys.join(", "),
            missing
                .iter()
                .map(|k| format!("\"{k}\""))
                .collect::<Vec<_>>()
                .join(" and ")
        ));
    };
    let time = map
        .get("time")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    let detail = map.get("detail");
    let event = |kind, name: &str, ignored| Event {
        kind,
        name: name.to_string(),
        time,
        ignored,
        tagged_account: None,
        units: Vec::new(),
    };
    match source.as_str() {
        SCHEDULE_SOURCE if detail_type == SCHEDULE_DETAIL_TYPE => {
            Ok(event(Kind::Schedule, detail_type, None))
        }
        ORGANIZATIONS_SOURCE if ORGANIZATIONS_DETAIL_TYPES.contains(&detail_type.as_str()) => {
            let name = detail
                .and_then(|d| d.get("eventName"))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    format!("an {ORGANIZATIONS_SOURCE} event without detail.eventName")
                })?;
            let error_code = detail
                .and_then(|d| d.get("errorCode"))
                .and_then(Value::as_str);
            let ignored = if !ORGANIZATIONS_EVENT_NAMES.contains(&name) {
                Some(format!("eventName {name} does not change accounts or OUs"))
            } else if let Some(reason) = failed_creation(name, detail) {
                Some(reason)
            } else {
                // CloudTrail records failed calls too; a refused MoveAccount moved nothing.
                error_code.map(|c| format!("{name} failed ({c}): nothing changed"))
            };
            let mut e = event(Kind::Organizations, name, ignored);
            if matches!(name, "TagResource" | "UntagResource") && e.ignored.is_none() {
                e.tagged_account = tagged_account(detail);
            }
            if e.ignored.is_none() {
                e.units = named_units(name, detail);
            }
            Ok(e)
        }
        PARTNER_CENTRAL_SOURCE if PARTNER_CENTRAL_DETAIL_TYPES.contains(&detail_type.as_str()) => {
            Ok(event(Kind::PartnerCentral, detail_type, None))
        }
        CONTROL_TOWER_SOURCE if detail_type == CONTROL_TOWER_DETAIL_TYPE => {
            let name = detail
                .and_then(|d| d.get("eventName"))
                .and_then(Value::as_str)
                .ok_or_else(|| format!("an {CONTROL_TOWER_SOURCE} event without detail.eventName"))?;
            // Control Tower's other lifecycle events (landing zone, guardrails, OU
            // registration) change no account.
            let ignored = (!CONTROL_TOWER_EVENT_NAMES.contains(&name))
                .then(|| format!("eventName {name} does not create or move an account"));
            Ok(event(Kind::ControlTower, name, ignored))
        }
        _ => Err(format!(
            "an EventBridge event this function does not handle (source {source:?}, detail-type {detail_type:?})"
        )),
    }
}

/// Why a `CreateAccountResult` needs no run: its `serviceEventDetails.createAccountStatus`
/// says `FAILED` (with `failureReason`, e.g. `EMAIL_ALREADY_EXISTS`), so no account exists to
/// walk to. The shape is the `CreateAccountStatus` of the Organizations API Reference.
/// <https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccountStatus.html>
fn failed_creation(name: &str, detail: Option<&Value>) -> Option<String> {
    if name != "CreateAccountResult" {
        return None;
    }
    let status = detail?
        .get("serviceEventDetails")?
        .get("createAccountStatus")?;
    if status.get("state").and_then(Value::as_str) != Some("FAILED") {
        return None;
    }
    let reason = status
        .get("failureReason")
        .and_then(Value::as_str)
        .unwrap_or("no failureReason given");
    Some(format!(
        "CreateAccountResult FAILED ({reason}): no account was created"
    ))
}

/// The account id in a tag event's `requestParameters.resourceId` (CloudTrail's camelCase
/// of the `ResourceId` parameter of `TagResource`/`UntagResource`, which takes an account,
/// OU, root or policy id).
/// <https://docs.aws.amazon.com/organizations/latest/APIReference/API_TagResource.html>
fn tagged_account(detail: Option<&Value>) -> Option<String> {
    let params = detail?.get("requestParameters")?;
    let id = param(params, "resourceId")?.as_str()?;
    crate::domain::ids::is_account_id(id).then(|| id.to_string())
}

/// The OU ids an OU or move event names, from CloudTrail's `requestParameters` (the API's
/// request parameters in camelCase) and, for `CreateOrganizationalUnit`, the created OU in
/// `responseElements.organizationalUnit.id`; PascalCase is accepted too, as for tag events.
/// <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_cloudtrail-integration.html>,
/// <https://docs.aws.amazon.com/organizations/latest/APIReference/API_UpdateOrganizationalUnit.html>,
/// <https://docs.aws.amazon.com/organizations/latest/APIReference/API_MoveAccount.html>
fn named_units(name: &str, detail: Option<&Value>) -> Vec<String> {
    let params: &[&str] = match name {
        "UpdateOrganizationalUnit" | "DeleteOrganizationalUnit" => &["organizationalUnitId"],
        "CreateOrganizationalUnit" => &["parentId"],
        "MoveAccount" => &["sourceParentId", "destinationParentId"],
        _ => return Vec::new(),
    };
    let field = |obj: Option<&Value>, key: &str| -> Option<String> {
        param(obj?, key)?.as_str().map(str::to_string)
    };
    let request = detail.and_then(|d| d.get("requestParameters"));
    let mut ids: Vec<String> = params.iter().filter_map(|k| field(request, k)).collect();
    if name == "CreateOrganizationalUnit" {
        let response = detail.and_then(|d| d.get("responseElements"));
        let created = response.and_then(|r| param(r, "organizationalUnit"));
        ids.extend(field(created, "id"));
    }
    ids.retain(|id| id.starts_with("ou-"));
    ids
}

/// `obj`'s member `camel` (CloudTrail's camelCase), or its PascalCase spelling (the API's
/// parameter name), which some event sources write instead.
fn param<'a>(obj: &'a Value, camel: &str) -> Option<&'a Value> {
    obj.get(camel).or_else(|| {
        let mut pascal = camel[..1].to_uppercase();
        pascal.push_str(&camel[1..]);
        obj.get(pascal)
    })
}

/// The latest completed run covers the invocation when every event asking for a run
/// happened more than `margin` before that run started: the run's walk saw the result.
/// Returns the reason to skip, naming the run.
pub fn covered_by(
    invocation: &Invocation,
    latest: Option<&RunSummary>,
    margin: Duration,
) -> Option<String> {
    if invocation.always_runs() {
        return None;
    }
    let latest = latest?;
    let horizon = latest.started_at - margin;
    let mut relevant = invocation.relevant().peekable();
    relevant.peek()?;
    relevant
        .all(|e| e.time.is_some_and(|t| t < horizon))
        .then(|| {
            format!(
                "covered by run {} (started {}): every event is older than its start minus {} s",
                latest.run_id,
                super::timestamp::format_secs(&latest.started_at),
                margin.num_seconds()
            )
        })
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
#[path = "trigger_tests.rs"]
mod tests;
