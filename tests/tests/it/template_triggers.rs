//! Holds the change-event plumbing in `template.yaml` and `infra/forward-events.yaml` to the
//! handler and to the Lambda SQS rules: the rules match exactly the events `trigger.rs`
//! accepts (and the samples in `infra/events/`), the forwarder sends the same patterns, and the
//! debounce queue's numbers can never send a change event to the dead-letter queue unprocessed.
//!
//! The arithmetic follows the Lambda SQS docs: visibility timeout at least six times the
//! function timeout (services-sqs-configure.html); reserved concurrency at least the mapping's
//! MaximumConcurrency, which is at least 2 (services-sqs-scaling.html).

use std::collections::BTreeSet;
use std::path::PathBuf;

use apnwatch::domain::trigger::{
    CONTROL_TOWER_DETAIL_TYPE, CONTROL_TOWER_EVENT_NAMES, CONTROL_TOWER_SOURCE,
    ORGANIZATIONS_DETAIL_TYPES, ORGANIZATIONS_EVENT_NAMES, ORGANIZATIONS_SOURCE,
    PARTNER_CENTRAL_DETAIL_TYPES, PARTNER_CENTRAL_SOURCE,
};
use serde_norway::Value;

fn parse(relative: &str) -> Value {
    integration_tests::parse_yaml(relative)
}

fn resource<'a>(doc: &'a Value, id: &str) -> &'a Value {
    let r = &doc["Resources"][id];
    assert!(!r.is_null(), "no resource {id}");
    r
}

fn number(v: &Value, what: &str) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("{what} should be a plain number, found {v:?}"))
}

/// The logical id a `!Ref X` or `!GetAtt X.Attr` points at.
fn target(v: &Value) -> String {
    match v {
        Value::Tagged(t) if t.tag == "Ref" || t.tag == "GetAtt" => {
            let s = t.value.as_str().expect("a plain !Ref / !GetAtt");
            s.split('.').next().unwrap_or_default().to_string()
        }
        other => panic!("expected !Ref or !GetAtt, found {other:?}"),
    }
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_sequence()
        .unwrap_or_else(|| panic!("expected a list, found {v:?}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Does `pattern` (source, detail-type, detail.eventName lists) match the sample `event`?
fn matches(pattern: &Value, event: &serde_json::Value) -> bool {
    let has = |list: &Value, value: Option<&str>| {
        list.is_null() || value.is_some_and(|v| strings(list).contains(v))
    };
    has(&pattern["source"], event["source"].as_str())
        && has(&pattern["detail-type"], event["detail-type"].as_str())
        && has(
            &pattern["detail"]["eventSource"],
            event["detail"]["eventSource"].as_str(),
        )
        && has(
            &pattern["detail"]["eventName"],
            event["detail"]["eventName"].as_str(),
        )
}

fn sample(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../infra/events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// A change rule as the handler expects it: logical id, sources, detail-types, eventNames
/// (when the rule narrows them) and the samples in `infra/events/` it matches.
type ChangeRule<'a> = (
    &'a str,
    &'a [&'a str],
    &'a [&'a str],
    Option<&'a [&'a str]>,
    &'a [&'a str],
);

/// The two rules match exactly the sources, detail-types and eventNames the handler accepts,
/// deliver to the debounce queue, and match the samples users replay (but not the ignored one).
#[test]
fn change_rules_match_what_the_handler_accepts() {
    let doc = parse("template.yaml");
    // Every rule that feeds the queue may deliver to it (the queue policy pins their ARNs).
    let policy = &resource(&doc, "ChangeQueuePolicy")["Properties"]["PolicyDocument"];
    let allowed = format!("{:?}", policy["Statement"][0]["Condition"]);
    let rules: [ChangeRule; 3] = [
        (
            "OrganizationsChangeRule",
            &[ORGANIZATIONS_SOURCE],
            &ORGANIZATIONS_DETAIL_TYPES,
            Some(&ORGANIZATIONS_EVENT_NAMES),
            &[
                "organizations-create-account-result.json",
                "organizations-move-account.json",
                "organizations-close-account-result.json",
            ],
        ),
        (
            "PartnerCentralChangeRule",
            &[PARTNER_CENTRAL_SOURCE],
            &PARTNER_CENTRAL_DETAIL_TYPES,
            None,
            &["partner-central-invitation-accepted.json"],
        ),
        (
            "ControlTowerChangeRule",
            &[CONTROL_TOWER_SOURCE],
            &[CONTROL_TOWER_DETAIL_TYPE],
            Some(&CONTROL_TOWER_EVENT_NAMES),
            &[
                "control-tower-create-managed-account.json",
                "control-tower-update-managed-account.json",
            ],
        ),
    ];
    for (id, sources, detail_types, event_names, samples) in rules {
        let rule = &resource(&doc, id)["Properties"];
        let pattern = &rule["EventPattern"];
        assert_eq!(strings(&pattern["source"]), set(sources), "{id}");
        assert_eq!(strings(&pattern["detail-type"]), set(detail_types), "{id}");
        if let Some(names) = event_names {
            assert_eq!(strings(&pattern["detail"]["eventName"]), set(names), "{id}");
        }
        for file in samples {
            assert!(matches(pattern, &sample(file)), "{id}: {file}");
        }
        assert_eq!(rule["EventBusName"].as_str(), Some("default"), "{id}");
        let targets = rule["Targets"].as_sequence().expect("Targets");
        assert_eq!(targets.len(), 1, "{id}");
        assert_eq!(target(&targets[0]["Arn"]), "ChangeQueue", "{id}");
        assert_eq!(
            target(&targets[0]["DeadLetterConfig"]["Arn"]),
            "ChangeDeadLetterQueue",
            "{id}"
        );
        assert!(allowed.contains(&format!("{id}.Arn")), "{id}: {allowed}");
    }
    let org = &resource(&doc, "OrganizationsChangeRule")["Properties"]["EventPattern"];
    assert!(!matches(org, &sample("organizations-ignored.json")));
}

/// `(rule, metric name)` pairs an alarm's metrics watch (dimension RuleName, a `!Ref` to the
/// rule, possibly inside an `!If` with a placeholder).
fn watched_rule_metrics(alarm: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for m in alarm["Properties"]["Metrics"]
        .as_sequence()
        .expect("Metrics")
    {
        let metric = &m["MetricStat"]["Metric"];
        if metric.is_null() || metric["Namespace"].as_str() != Some("AWS/Events") {
            continue;
        }
        let dims = metric["Dimensions"].as_sequence().unwrap();
        assert_eq!(dims[0]["Name"].as_str(), Some("RuleName"));
        let rule = match &dims[0]["Value"] {
            Value::Tagged(t) if t.tag == "If" => target(&t.value[1]),
            v => target(v),
        };
        out.insert((rule, metric["MetricName"].as_str().unwrap().to_string()));
    }
    out
}

/// Change events a rule cannot deliver never vanish without an alarm: in the stack, every
/// change rule's FailedInvocations and InvocationsFailedToBeSentToDlq feed one alarm on the
/// alert topic; in the forwarder, every forwarding rule has a dead-letter queue and the same
/// two metrics feed an alarm on the forwarder's own topic.
#[test]
fn undelivered_change_events_alarm_in_the_stack_and_the_forwarder() {
    let metrics = ["FailedInvocations", "InvocationsFailedToBeSentToDlq"];
    let expect = |rules: &[&str]| -> BTreeSet<(String, String)> {
        rules
            .iter()
            .flat_map(|r| metrics.iter().map(move |m| (r.to_string(), m.to_string())))
            .collect()
    };
    let stack = parse("template.yaml");
    let alarm = resource(&stack, "ChangeRulesFailedAlarm");
    assert_eq!(alarm["Condition"].as_str(), Some("ChangeTriggers"));
    assert_eq!(
        watched_rule_metrics(alarm),
        expect(&[
            "OrganizationsChangeRule",
            "PartnerCentralChangeRule",
            "ControlTowerChangeRule"
        ])
    );
    assert_eq!(
        target(&alarm["Properties"]["AlarmActions"][0]),
        "AlertTopic"
    );
    let expression = alarm["Properties"]["Metrics"]
        .as_sequence()
        .unwrap()
        .iter()
        .find_map(|m| m["Expression"].as_str())
        .expect("an expression");
    for m in alarm["Properties"]["Metrics"].as_sequence().unwrap() {
        if m["MetricStat"].is_null() {
            continue;
        }
        let id = m["Id"].as_str().unwrap();
        assert!(expression.contains(&format!("FILL({id}, 0)")), "{id}");
    }

    let forward = parse("infra/forward-events.yaml");
    for rule in ["ForwardOrganizationsRule", "ForwardPartnerCentralRule"] {
        let t = &resource(&forward, rule)["Properties"]["Targets"][0];
        assert_eq!(
            target(&t["DeadLetterConfig"]["Arn"]),
            "ForwardDeadLetterQueue",
            "{rule}"
        );
    }
    let alarm = resource(&forward, "ForwardFailedAlarm");
    assert_eq!(
        watched_rule_metrics(alarm),
        expect(&["ForwardOrganizationsRule", "ForwardPartnerCentralRule"])
    );
    assert_eq!(
        target(&alarm["Properties"]["AlarmActions"][0]),
        "ForwardAlarmTopic"
    );
}

/// The bus policy's StatementId (at most 64 characters, EventBridge PutPermission) stays short
/// for any stack name (up to 128): a fixed prefix and the stack id's 36-character UUID.
#[test]
fn event_bus_statement_id_fits_for_any_stack_name() {
    let doc = parse("template.yaml");
    let id = &resource(&doc, "EventSourcePolicy")["Properties"]["StatementId"];
    let Value::Tagged(sub) = id else {
        panic!("StatementId should be a !Sub, found {id:?}");
    };
    assert!(sub.tag == "Sub");
    let pattern = sub.value[0].as_str().expect("!Sub [text, variables]");
    assert!(!pattern.contains("AWS::StackName"), "{pattern}");
    let uuid = format!("{:?}", sub.value[1]["StackUuid"]);
    assert!(
        uuid.contains("AWS::StackId") && uuid.contains("Select") && uuid.contains('2'),
        "{uuid}"
    );
    // arn:aws:cloudformation:region:account:stack/<name>/<uuid>: the third "/" part.
    let sample_uuid = "6d6e2f9a-0b1c-11ef-9f2a-0a1b2c3d4e5f";
    let longest = pattern.replace("${StackUuid}", sample_uuid);
    assert!(
        longest.len() <= 64,
        "{longest}: {} characters",
        longest.len()
    );
    assert!(
        longest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "{longest}"
    );
}

/// The forwarder sends the very patterns the stack's rules match, to the stack's bus, through
/// a role that may only put events on that bus.
#[test]
fn forwarder_sends_the_same_patterns_with_a_put_events_role() {
    let stack = parse("template.yaml");
    let forward = parse("infra/forward-events.yaml");
    for (mine, theirs) in [
        ("OrganizationsChangeRule", "ForwardOrganizationsRule"),
        ("PartnerCentralChangeRule", "ForwardPartnerCentralRule"),
    ] {
        let rule = &resource(&forward, theirs)["Properties"];
        assert_eq!(
            rule["EventPattern"],
            resource(&stack, mine)["Properties"]["EventPattern"],
            "{theirs} and {mine} must match the same events"
        );
        let t = &rule["Targets"][0];
        assert_eq!(target(&t["Arn"]), "TargetEventBusArn");
        assert_eq!(target(&t["RoleArn"]), "ForwardRole");
    }
    let role = &resource(&forward, "ForwardRole")["Properties"];
    let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(
        trust["Principal"]["Service"].as_str(),
        Some("events.amazonaws.com")
    );
    let statements = role["Policies"][0]["PolicyDocument"]["Statement"]
        .as_sequence()
        .expect("statements");
    assert_eq!(statements.len(), 1, "the role may do one thing");
    assert_eq!(statements[0]["Action"].as_str(), Some("events:PutEvents"));
    assert_eq!(target(&statements[0]["Resource"]), "TargetEventBusArn");
}

/// The stack's default bus admits exactly the listed accounts, only to put events.
#[test]
fn event_bus_policy_admits_exactly_the_listed_accounts() {
    let doc = parse("template.yaml");
    let policy = resource(&doc, "EventSourcePolicy");
    assert_eq!(policy["Condition"].as_str(), Some("HasEventSourceAccounts"));
    let statement = &policy["Properties"]["Statement"];
    assert_eq!(statement["Effect"].as_str(), Some("Allow"));
    assert_eq!(statement["Action"].as_str(), Some("events:PutEvents"));
    let Value::Tagged(split) = &statement["Principal"]["AWS"] else {
        panic!("Principal.AWS should be !Split of EventSourceAccounts");
    };
    assert!(split.tag == "Split");
    assert_eq!(target(&split.value[1]), "EventSourceAccounts");
    assert_eq!(
        doc["Parameters"]["TriggerOnChanges"]["Default"].as_str(),
        Some("true")
    );
    assert_eq!(
        doc["Parameters"]["ControlTowerEvents"]["Default"].as_str(),
        Some("false")
    );
}

/// The change function runs the same configuration as the scheduled one.
#[test]
fn change_function_has_the_snapshot_function_environment() {
    let doc = parse("template.yaml");
    let env = |id: &str| integration_tests::function_environment(&doc, id);
    assert!(!env("SnapshotFunction").is_empty());
    assert_eq!(env("ChangeFunction"), env("SnapshotFunction"));
    let props = &resource(&doc, "ChangeFunction")["Properties"];
    assert_eq!(
        props["CodeUri"],
        resource(&doc, "SnapshotFunction")["Properties"]["CodeUri"]
    );
    assert_eq!(target(&props["Role"]), "FunctionRole");
}

/// No change event can reach the dead-letter queue without five real tries: the mapping never
/// invokes beyond the function's reservation (so nothing is throttled back to the queue), a
/// batch stays invisible for six function timeouts, and records outlive all their tries.
#[test]
fn debounce_queue_arithmetic_keeps_events_out_of_the_dead_letter_queue() {
    let doc = parse("template.yaml");
    let function = &resource(&doc, "ChangeFunction")["Properties"];
    let mapping = &resource(&doc, "ChangeEventSourceMapping")["Properties"];
    let queue = &resource(&doc, "ChangeQueue")["Properties"];
    let dlq = &resource(&doc, "ChangeDeadLetterQueue")["Properties"];

    assert_eq!(target(&mapping["FunctionName"]), "ChangeFunction");
    assert_eq!(target(&mapping["EventSourceArn"]), "ChangeQueue");
    assert_eq!(
        target(&queue["RedrivePolicy"]["deadLetterTargetArn"]),
        "ChangeDeadLetterQueue"
    );

    let timeout = number(&function["Timeout"], "ChangeFunction Timeout");
    // `!If [HasReservedConcurrency, N, !Ref AWS::NoValue]`: the reservation follows the
    // stack's ReservedConcurrency switch (0 = none anywhere), and when present is N.
    let reservation = &function["ReservedConcurrentExecutions"];
    let reserved = match reservation {
        Value::Tagged(t) if t.tag == "If" => {
            let branches = t.value.as_sequence().expect("!If takes a list");
            assert_eq!(branches[0].as_str(), Some("HasReservedConcurrency"));
            assert_eq!(target(&branches[2]), "AWS::NoValue");
            number(&branches[1], "ChangeFunction ReservedConcurrentExecutions")
        }
        other => number(other, "ChangeFunction ReservedConcurrentExecutions"),
    };
    let max_concurrency = number(
        &mapping["ScalingConfig"]["MaximumConcurrency"],
        "MaximumConcurrency",
    );
    let visibility = number(&queue["VisibilityTimeout"], "VisibilityTimeout");
    let delay = number(&queue["DelaySeconds"], "DelaySeconds");
    let retention = number(&queue["MessageRetentionPeriod"], "MessageRetentionPeriod");
    let max_receive = number(
        &queue["RedrivePolicy"]["maxReceiveCount"],
        "maxReceiveCount",
    );
    let batch = number(&mapping["BatchSize"], "BatchSize");
    let window = number(
        &mapping["MaximumBatchingWindowInSeconds"],
        "MaximumBatchingWindowInSeconds",
    );

    assert!(
        max_concurrency >= 2,
        "SQS mappings poll with at least 2 concurrent invokes"
    );
    assert!(
        reserved >= max_concurrency,
        "reservation {reserved} below MaximumConcurrency {max_concurrency}: batches would be throttled back to the queue and spend receives"
    );
    assert!(
        visibility >= 6 * timeout,
        "visibility timeout {visibility} s < 6 x function timeout {timeout} s"
    );
    assert!(
        max_receive >= 5,
        "maxReceiveCount {max_receive}: too few tries"
    );
    assert!(
        retention > delay + max_receive * visibility,
        "records expire ({retention} s) before their last try ({delay} + {max_receive} x {visibility} s)"
    );
    assert!(
        number(&dlq["MessageRetentionPeriod"], "DLQ retention") > retention,
        "a dead letter keeps its original enqueue time: the DLQ must keep longer"
    );
    assert!((1..=900).contains(&delay), "DelaySeconds {delay}");
    assert!(batch > 10 && batch <= 10_000 && (1..=300).contains(&window));
    assert_eq!(
        strings(&mapping["FunctionResponseTypes"]),
        set(&["ReportBatchItemFailures"])
    );
    // The function's reservation must also fit the mapping's needs with the KMS-encrypted queue.
    assert_eq!(target(&queue["KmsMasterKeyId"]), "DataKey");
    assert_eq!(target(&dlq["KmsMasterKeyId"]), "DataKey");
}
