//! The doctor's permissions in the templates: the function may make exactly the reads the
//! doctor's checks call (the table's and the topic's settings on those resources only; the
//! CloudTrail reads only with change triggers on, and through the organization reader role
//! when the organization is read through it), and nothing that writes.

use apnwatch::aws::doctor::{TABLE_ACTIONS, TOPIC_ACTIONS, TRAIL_ACTIONS};
use serde_norway::Value;

fn yaml(value: &Value) -> String {
    serde_norway::to_string(value).unwrap()
}

/// The statement text from `sid` to the next statement.
fn statement<'a>(policy: &'a str, sid: &str) -> &'a str {
    let start = policy
        .find(&format!("Sid: {sid}"))
        .unwrap_or_else(|| panic!("no statement {sid}"));
    let rest = &policy[start..];
    let end = rest[1..].find("- Sid:").map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

/// The table and topic reads are granted on the stack's table and topic only; the trail
/// reads on the function only with change triggers on and no organization role.
#[test]
fn function_role_grants_the_doctors_reads() {
    let doc = integration_tests::parse_yaml("template.yaml");
    let policy = yaml(&doc["Resources"]["FunctionRole"]["Properties"]["Policies"]);
    let table = statement(&policy, "DoctorReadsTableSettings");
    for action in TABLE_ACTIONS {
        assert!(table.contains(action), "{action}: {table}");
    }
    assert!(table.contains("!GetAtt Table.Arn"), "{table}");
    let topic = statement(&policy, "DoctorReadsTopicSettings");
    for action in TOPIC_ACTIONS {
        assert!(topic.contains(action), "{action}: {topic}");
    }
    assert!(topic.contains("!Ref AlertTopic"), "{topic}");
    let trails = statement(&policy, "DoctorReadsTrails");
    for action in TRAIL_ACTIONS {
        assert!(trails.contains(action), "{action}: {trails}");
    }
    let at = policy.find("Sid: DoctorReadsTrails").unwrap();
    let guard = policy[..at].rfind("!If").unwrap();
    assert!(policy[guard..at].contains("DoctorReadsOwnTrails"));
    let conditions = yaml(&doc["Conditions"]["DoctorReadsOwnTrails"]);
    assert!(
        conditions.contains("ChangeTriggers") && conditions.contains("HasOrgRole"),
        "{conditions}"
    );
    let env = integration_tests::function_environment(&doc, "SnapshotFunction");
    assert_eq!(
        yaml(&env[&Value::from("APNWATCH_CHANGE_TRIGGERS")]).trim(),
        "!Ref TriggerOnChanges"
    );
}

/// The organization reader role carries the trail reads the doctor makes through it.
#[test]
fn org_reader_role_grants_the_trail_reads() {
    let doc = integration_tests::parse_yaml("infra/org-reader-role.yaml");
    let policy = yaml(&doc["Resources"]["OrgReaderRole"]["Properties"]["Policies"]);
    for action in TRAIL_ACTIONS {
        assert!(policy.contains(action), "{action}: {policy}");
    }
    for write in [
        "cloudtrail:StartLogging",
        "cloudtrail:StopLogging",
        "cloudtrail:Put",
    ] {
        assert!(!policy.contains(write), "{write}: {policy}");
    }
}
