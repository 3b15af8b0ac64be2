//! CloudWatch metrics of a run in the Embedded Metric Format: one JSON line on stdout that
//! CloudWatch Logs turns into metrics (namespace `APNLinkWatch`, dimension `OrganizationId`),
//! so a dashboard or alarm can watch the unlinked count without a metrics API call or the
//! `cloudwatch:PutMetricData` permission.

use serde_json::{json, Map, Value};

use crate::run::RunReport;

pub const NAMESPACE: &str = "APNLinkWatch";

/// The EMF document for one run. `CoveragePercent`, `Unlinked` and `Pending` count the
/// eligible accounts (ACTIVE, not removed, not EXEMPT) as `apnwatch report` does;
/// `TimeToLinkMedianHours` is over the accounts linked in the last 30 days. A value that does
/// not exist (no eligible account, no account linked) is left out rather than sent as 0.
/// Units are CloudWatch's (`Count`, `Percent`, `None`: there is no hour unit), see
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html>.
pub fn emf(report: &RunReport) -> Value {
    let s = &report.summary;
    let c = &report.coverage;
    let mut values: Vec<(&str, Value, &str)> = vec![
        ("Accounts", json!(s.accounts), "Count"),
        ("LinkedAccounts", json!(s.linked), "Count"),
        ("PendingAccounts", json!(s.pending), "Count"),
        ("UnlinkedAccounts", json!(s.unlinked), "Count"),
        ("ExemptAccounts", json!(s.exempt), "Count"),
        ("Changes", json!(s.changes), "Count"),
        ("AlertedAccounts", json!(s.alerts), "Count"),
        ("AccountWrites", json!(report.account_writes), "Count"),
        (
            "OrganizationsCalls",
            json!(report.organizations_calls),
            "Count",
        ),
        ("Unlinked", json!(c.coverage.unlinked), "Count"),
        ("Pending", json!(c.coverage.pending), "Count"),
    ];
    if let Some(p) = c.coverage.percent {
        values.push(("CoveragePercent", json!(p), "Percent"));
    }
    if let Some(h) = c.time_to_link.median_hours {
        values.push(("TimeToLinkMedianHours", json!(h), "None"));
    }
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": s.finished_at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["OrganizationId"]],
                "Metrics": values.iter().map(|(name, _, unit)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }],
        }),
    );
    doc.insert("OrganizationId".into(), json!(report.organization_id));
    doc.insert("run_id".into(), json!(s.run_id));
    for (name, value, _) in values {
        doc.insert(name.into(), value);
    }
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::report::{Coverage, RunCoverage, TimeToLink};

    /// Every declared metric has a value at the top level, as EMF requires.
    #[test]
    fn every_declared_metric_has_a_value() {
        let mut report = RunReport {
            organizations_calls: 36,
            coverage: RunCoverage {
                coverage: Coverage {
                    eligible: 8,
                    linked: 5,
                    pending: 1,
                    unlinked: 2,
                    percent: Some(62.5),
                },
                time_to_link: TimeToLink {
                    median_hours: Some(30.5),
                    p90_hours: Some(50.0),
                    samples: 3,
                },
            },
            ..RunReport::sample("r")
        };
        report.summary.accounts = 20;
        report.summary.unlinked = 6;
        let doc = emf(&report);
        let declared = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        assert_eq!(declared.len(), 13);
        for m in declared {
            let name = m["Name"].as_str().unwrap();
            assert!(doc[name].is_number(), "{name} has no value");
        }
        assert_eq!(doc["UnlinkedAccounts"], 6);
        assert_eq!(doc["OrganizationsCalls"], 36);
        assert_eq!(doc["OrganizationId"], "o-abc123def4");
        assert_eq!(doc["CoveragePercent"], 62.5);
        assert_eq!(doc["Unlinked"], 2);
        assert_eq!(doc["Pending"], 1);
        assert_eq!(doc["TimeToLinkMedianHours"], 30.5);
        let unit = |n: &str| declared.iter().find(|m| m["Name"] == n).unwrap()["Unit"].clone();
        assert_eq!(unit("CoveragePercent"), "Percent");
        assert_eq!(unit("TimeToLinkMedianHours"), "None");
    }

    /// No eligible account and no account linked: no percent and no time to link are sent
    /// (a 0 would read as "nothing is linked").
    #[test]
    fn metrics_that_do_not_exist_are_left_out() {
        let doc = emf(&RunReport::sample("r"));
        let declared = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        let names: Vec<&str> = declared
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"Unlinked") && names.contains(&"Pending"));
        assert!(!names.contains(&"CoveragePercent"), "{names:?}");
        assert!(!names.contains(&"TimeToLinkMedianHours"), "{names:?}");
        assert!(doc.get("CoveragePercent").is_none());
    }
}
