//! The doctor's `change-events` check: a CloudTrail trail that delivers the Organizations
//! change events to EventBridge in us-east-1 of the management account.

use aws_sdk_cloudtrail::types::{AdvancedEventSelector, EventSelector, ReadWriteType};

use super::{describe, OrgFacts, CLOUDTRAIL_REGION};
use crate::domain::doctor::{Check, Status, Trail};

/// EventBridge User Guide, "Events from AWS services": CloudTrail events reach EventBridge
/// only with a trail that is logging.
const DOC_TRAIL: &str = "https://docs.aws.amazon.com/eventbridge/latest/userguide/event-types.html";

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
    Check::flag(Status::Fail,
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
        for (rw, management, records) in [
            (ReadWriteType::All, true, true),
            (ReadWriteType::WriteOnly, true, true),
            (ReadWriteType::ReadOnly, true, false),
            (ReadWriteType::All, false, false),
        ] {
            assert_eq!(
                records_management_writes(&[sel(rw.clone(), management)], &[]),
                Some(records),
                "{rw:?}, management events {management}"
            );
        }
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
