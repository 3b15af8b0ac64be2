//! CloudWatch metrics of a run in the Embedded Metric Format: one JSON line on stdout that
//! CloudWatch Logs turns into metrics (namespace `APNLinkWatch`, dimension `OrganizationId`),
//! so a dashboard or alarm can watch the unlinked count without a metrics API call or the
//! `cloudwatch:PutMetricData` permission.

use serde_json::{json, Map, Value};

use crate::run::RunReport;

pub const NAMESPACE: &str = "APNLinkWatch";

/// The EMF document for one run.
pub fn emf(report: &RunReport) -> Value {
    let s = &report.summary;
    let values: [(&str, u64, &str); 9] = [
        ("Accounts", s.accounts as u64, "Count"),
        ("LinkedAccounts", s.linked as u64, "Count"),
        ("PendingAccounts", s.pending as u64, "Count"),
        ("UnlinkedAccounts", s.unlinked as u64, "Count"),
        ("ExemptAccounts", s.exempt as u64, "Count"),
        ("Changes", s.changes as u64, "Count"),
        ("AlertedAccounts", s.alerts as u64, "Count"),
        ("AccountWrites", report.account_writes as u64, "Count"),
        ("OrganizationsCalls", report.organizations_calls, "Count"),
    ];
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
        doc.insert(name.into(), json!(value));
    }
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::RunSummary;

    /// Every declared metric has a value at the top level, as EMF requires.
    #[test]
    fn every_declared_metric_has_a_value() {
        let report = RunReport {
            summary: RunSummary {
                run_id: "r".into(),
                accounts: 20,
                unlinked: 6,
                ..RunSummary::default()
            },
            organizations_calls: 36,
            ..RunReport::sample("r")
        };
        let doc = emf(&report);
        let declared = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        assert_eq!(declared.len(), 9);
        for m in declared {
            let name = m["Name"].as_str().unwrap();
            assert!(doc[name].is_u64(), "{name} has no value");
        }
        assert_eq!(doc["UnlinkedAccounts"], 6);
        assert_eq!(doc["OrganizationsCalls"], 36);
        assert_eq!(doc["OrganizationId"], "o-abc123def4");
    }
}
