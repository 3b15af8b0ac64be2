//! Holds the deployment template to the code: the function's environment in `template.yaml`
//! must be exactly the variables `config.rs` reads, and the DynamoDB table it declares must be
//! the schema `store` creates and queries. A drift here would deploy a function that ignores a
//! setting or a table whose index the queries cannot use.

use std::collections::BTreeSet;

use apnwatch::aws::dynamodb::table_definition;
use apnwatch::config::ALL_VARS;
use apnwatch::lambda::metrics::NAMESPACE;
use serde_norway::Value;

/// The SAM template, parsed. CloudFormation short tags (`!Ref`, `!Sub`, `!GetAtt`) parse as
/// tagged values, which these tests never need to look inside.
fn template() -> Value {
    integration_tests::parse_yaml("template.yaml")
}

/// The one resource of `kind`, with its logical id.
fn only_resource<'a>(doc: &'a Value, kind: &str) -> (&'a str, &'a Value) {
    let resources = doc["Resources"]
        .as_mapping()
        .expect("template.yaml has a Resources mapping");
    let found: Vec<(&str, &Value)> = resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(id, r)| (id.as_str().expect("logical ids are strings"), r))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "template.yaml should declare exactly one {kind}, found {:?}",
        found.iter().map(|(id, _)| id).collect::<Vec<_>>()
    );
    found[0]
}

/// Every resource of `kind`, with its logical id.
fn resources<'a>(doc: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    doc["Resources"]
        .as_mapping()
        .expect("template.yaml has a Resources mapping")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(id, r)| (id.as_str().expect("logical ids are strings"), r))
        .collect()
}

fn text<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what} should be a plain string, found {v:?}"))
}

/// `(HASH, RANGE)` attribute names of a CloudFormation KeySchema list.
fn key_names(schema: &Value, what: &str) -> (String, String) {
    let elements = schema
        .as_sequence()
        .unwrap_or_else(|| panic!("{what} KeySchema should be a list, found {schema:?}"));
    let find = |kind: &str| {
        let matching: Vec<&Value> = elements
            .iter()
            .filter(|k| k["KeyType"].as_str() == Some(kind))
            .collect();
        assert_eq!(
            matching.len(),
            1,
            "{what} should have one {kind} key: {schema:?}"
        );
        text(&matching[0]["AttributeName"], "AttributeName").to_string()
    };
    (find("HASH"), find("RANGE"))
}

/// Each function (the scheduled one and the change-event one) reads exactly the `APNWATCH_*`
/// variables the template sets: none missing, none extra.
#[test]
fn function_environment_is_exactly_the_variables_config_reads() {
    let doc = template();
    let functions = resources(&doc, "AWS::Serverless::Function");
    assert!(!functions.is_empty(), "template.yaml declares no function");
    for (id, function) in functions {
        assert_eq!(function["Type"].as_str(), Some("AWS::Serverless::Function"));
        let variables = integration_tests::function_environment(&doc, id);
        let set: BTreeSet<&str> = variables
            .keys()
            .map(|k| text(k, "an environment variable name"))
            .collect();
        let read: BTreeSet<&str> = ALL_VARS.iter().copied().collect();
        let missing: Vec<_> = read.difference(&set).collect();
        let extra: Vec<_> = set.difference(&read).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{id} environment differs from config::ALL_VARS: not set {missing:?}, unknown {extra:?}"
        );
    }
}

/// The table in the template has the keys, attributes, index, TTL attribute and billing mode `store` uses.
#[test]
fn table_in_template_matches_the_store_schema() {
    let doc = template();
    let def = table_definition();
    let (id, table) = only_resource(&doc, "AWS::DynamoDB::Table");
    let props = &table["Properties"];

    assert_eq!(
        key_names(&props["KeySchema"], id),
        (def.hash_key.to_string(), def.range_key.to_string()),
        "{id} primary key"
    );

    let mut attributes: Vec<(String, String)> = props["AttributeDefinitions"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{id} should list AttributeDefinitions"))
        .iter()
        .map(|a| {
            (
                text(&a["AttributeName"], "AttributeName").to_string(),
                text(&a["AttributeType"], "AttributeType").to_string(),
            )
        })
        .collect();
    attributes.sort();
    let mut expected: Vec<(String, String)> = def
        .attributes
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    expected.sort();
    assert_eq!(attributes, expected, "{id} AttributeDefinitions");

    let mut indexes: Vec<(String, (String, String), String)> = props["GlobalSecondaryIndexes"]
        .as_sequence()
        .map(|s| s.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|gsi| {
            let name = text(&gsi["IndexName"], "IndexName").to_string();
            let keys = key_names(&gsi["KeySchema"], &name);
            let projection =
                text(&gsi["Projection"]["ProjectionType"], "ProjectionType").to_string();
            (name, keys, projection)
        })
        .collect();
    indexes.sort();
    let mut expected: Vec<(String, (String, String), String)> = def
        .indexes
        .iter()
        .map(|i| {
            (
                i.name.to_string(),
                (i.hash_key.to_string(), i.range_key.to_string()),
                i.projection.to_string(),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(indexes, expected, "{id} GlobalSecondaryIndexes");

    let ttl = &props["TimeToLiveSpecification"];
    assert_eq!(
        ttl["AttributeName"].as_str(),
        Some(def.ttl_attribute),
        "{id} TTL attribute"
    );
    assert_eq!(
        ttl["Enabled"].as_bool(),
        Some(true),
        "{id} TTL must be enabled"
    );

    assert_eq!(
        props["BillingMode"].as_str(),
        Some(def.billing_mode),
        "{id} BillingMode"
    );
}

/// Account history survives a stack deletion or replacement and can be restored to any second;
/// only a rolled-back first create removes the new, empty table and its key (no orphans), which
/// deletion protection would refuse: it follows `TableDeletionProtection`, off by default.
#[test]
fn table_is_retained_and_recoverable() {
    let doc = template();
    for kind in ["AWS::DynamoDB::Table", "AWS::KMS::Key"] {
        let (id, resource) = only_resource(&doc, kind);
        assert_eq!(
            resource["DeletionPolicy"].as_str(),
            Some("RetainExceptOnCreate"),
            "{id} DeletionPolicy"
        );
        assert_eq!(
            resource["UpdateReplacePolicy"].as_str(),
            Some("Retain"),
            "{id} UpdateReplacePolicy"
        );
    }
    let (id, table) = only_resource(&doc, "AWS::DynamoDB::Table");
    let props = &table["Properties"];
    assert_eq!(
        props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true),
        "{id} point-in-time recovery"
    );
    assert_eq!(
        props["SSESpecification"]["SSEEnabled"].as_bool(),
        Some(true),
        "{id} encryption at rest with the stack's key"
    );
    let (tag, args) = intrinsic(&props["DeletionProtectionEnabled"])
        .unwrap_or_else(|| panic!("{id} DeletionProtectionEnabled should be an !If"));
    assert_eq!(tag, "If");
    let args = args.as_sequence().unwrap();
    assert_eq!(args[0].as_str(), Some("ProtectTable"));
    assert_eq!(
        (args[1].as_bool(), args[2].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(
        doc["Parameters"]["TableDeletionProtection"]["Default"].as_str(),
        Some("false"),
        "a protected table cannot be deleted by the rollback of a failed first create"
    );
    let readme = std::fs::read_to_string(integration_tests::workspace_dir().join("README.md"))
        .expect("read README.md");
    assert!(
        readme.contains("TableDeletionProtection=true"),
        "the README says how to turn protection on once the stack exists"
    );
}

/// The concurrency quota the parameter and the README name is 100 unreserved plus every
/// reservation: 101 with the schedule alone, 103 with the change function's 2 on top.
#[test]
fn concurrency_quota_arithmetic_counts_every_reservation() {
    let doc = template();
    let snapshot = doc["Parameters"]["ReservedConcurrency"]["Default"]
        .as_u64()
        .unwrap();
    let (_, change) =
        intrinsic(&resource(&doc, "ChangeFunction")["Properties"]["ReservedConcurrentExecutions"])
            .expect("ChangeFunction reservation is an !If");
    let change = change.as_sequence().unwrap()[1].as_u64().unwrap();
    let (alone, with_changes) = (100 + snapshot, 100 + snapshot + change);
    assert_eq!((alone, with_changes), (101, 103));
    let description = doc["Parameters"]["ReservedConcurrency"]["Description"]
        .as_str()
        .unwrap();
    let readme = std::fs::read_to_string(integration_tests::workspace_dir().join("README.md"))
        .expect("read README.md");
    for text in [description, readme.as_str()] {
        assert!(
            text.contains(&alone.to_string()) && text.contains(&with_changes.to_string()),
            "{alone} and {with_changes} should both be named"
        );
    }
}

/// `(tag, argument)` of a short-form intrinsic such as `!Ref X` or `!If [...]`.
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_string(),
            &t.value,
        )),
        _ => None,
    }
}

fn is_ref(v: &Value, name: &str) -> bool {
    matches!(intrinsic(v), Some((tag, arg)) if tag == "Ref" && arg.as_str() == Some(name))
}

fn resource<'a>(doc: &'a Value, id: &str) -> &'a Value {
    let r = &doc["Resources"][id];
    assert!(!r.is_null(), "template.yaml should declare {id}");
    r
}

/// Reserved concurrency is the `ReservedConcurrency` parameter (default 1); 0 removes the
/// reservation, which accounts with a Lambda concurrency quota below 101 need.
#[test]
fn reserved_concurrency_is_a_parameter_and_zero_means_none() {
    let doc = template();
    let p = &doc["Parameters"]["ReservedConcurrency"];
    assert_eq!(p["Type"].as_str(), Some("Number"));
    assert_eq!(p["Default"].as_u64(), Some(1));
    assert_eq!(p["MinValue"].as_u64(), Some(0));

    let id = "SnapshotFunction";
    let function = resource(&doc, id);
    let (tag, args) = intrinsic(&function["Properties"]["ReservedConcurrentExecutions"])
        .unwrap_or_else(|| panic!("{id} ReservedConcurrentExecutions should be an !If"));
    assert_eq!(tag, "If");
    let args = args.as_sequence().unwrap();
    assert_eq!(args[0].as_str(), Some("HasReservedConcurrency"));
    assert!(is_ref(&args[1], "ReservedConcurrency"), "{args:?}");
    assert!(is_ref(&args[2], "AWS::NoValue"), "{args:?}");
}

/// The schedule can be deployed disabled (tooling account before OrgRoleArn exists).
#[test]
fn schedule_state_parameter_drives_the_rule() {
    let doc = template();
    let p = &doc["Parameters"]["ScheduleState"];
    assert_eq!(p["Default"].as_str(), Some("ENABLED"));
    let allowed: Vec<&str> = p["AllowedValues"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(allowed, ["ENABLED", "DISABLED"]);
    // Every rule that starts a run: the schedule and the change-event rules alike.
    let rules = resources(&doc, "AWS::Events::Rule");
    assert!(rules.iter().any(|(id, _)| *id == "ScheduleRule"));
    for (id, rule) in rules {
        assert!(
            is_ref(&rule["Properties"]["State"], "ScheduleState"),
            "{id} State should be !Ref ScheduleState"
        );
    }
}

/// Every alarm notifies on the way in and on the way out, and the dead-letter alarm counts
/// messages arriving, so a second failure notifies again even while the first one is queued.
#[test]
fn alarms_notify_and_clear_and_dead_letters_alarm_on_arrival() {
    let doc = template();
    for (id, alarm) in doc["Resources"].as_mapping().unwrap() {
        if alarm["Type"].as_str() != Some("AWS::CloudWatch::Alarm") {
            continue;
        }
        let props = &alarm["Properties"];
        for actions in ["AlarmActions", "OKActions"] {
            let list = props[actions].as_sequence().map(Vec::len).unwrap_or(0);
            assert!(list > 0, "{id:?} should have {actions}");
        }
        assert_eq!(
            props["TreatMissingData"].as_str(),
            Some("notBreaching"),
            "{id:?}"
        );
    }
    let dlq = &resource(&doc, "DeadLetterAlarm")["Properties"];
    let metrics = dlq["Metrics"]
        .as_sequence()
        .expect("DeadLetterAlarm uses metric math");
    let stat = |id: &str| {
        let m = metrics
            .iter()
            .find(|m| m["Id"].as_str() == Some(id))
            .unwrap_or_else(|| panic!("no metric {id}"));
        assert_eq!(m["MetricStat"]["Stat"].as_str(), Some("Sum"), "{id}");
        let metric = &m["MetricStat"]["Metric"];
        (
            metric["Namespace"].as_str().unwrap().to_string(),
            metric["MetricName"].as_str().unwrap().to_string(),
        )
    };
    assert_eq!(
        stat("queued"),
        ("AWS/SQS".into(), "NumberOfMessagesSent".into())
    );
    assert_eq!(
        stat("lost"),
        ("AWS/Events".into(), "InvocationsFailedToBeSentToDlq".into())
    );
    let returned: Vec<&Value> = metrics
        .iter()
        .filter(|m| m["ReturnData"].as_bool() != Some(false))
        .collect();
    assert_eq!(returned.len(), 1, "one expression decides the alarm");
    let expression = returned[0]["Expression"].as_str().unwrap();
    assert!(
        expression.contains("queued") && expression.contains("lost"),
        "{expression}"
    );
    assert_eq!(
        dlq["ComparisonOperator"].as_str(),
        Some("GreaterThanThreshold")
    );
    assert_eq!(dlq["Threshold"].as_u64(), Some(0));
}

/// Teams gets the same topic, guardrail and role as Slack, and both configuration names carry
/// the region (they are unique per account across regions).
#[test]
fn teams_channel_mirrors_slack_and_names_carry_the_region() {
    let doc = template();
    let slack = &resource(&doc, "SlackChannel")["Properties"];
    let teams = &resource(&doc, "TeamsChannel")["Properties"];
    assert_eq!(
        resource(&doc, "TeamsChannel")["Type"].as_str(),
        Some("AWS::Chatbot::MicrosoftTeamsChannelConfiguration")
    );
    for key in [
        "SnsTopicArns",
        "GuardrailPolicies",
        "IamRoleArn",
        "LoggingLevel",
        "UserRoleRequired",
    ] {
        assert_eq!(
            slack[key], teams[key],
            "{key} differs between Slack and Teams"
        );
    }
    for (p, key) in [
        ("TeamsTeamId", "TeamId"),
        ("TeamsTenantId", "TeamsTenantId"),
        ("TeamsChannelId", "TeamsChannelId"),
    ] {
        assert!(
            is_ref(&teams[key], p),
            "TeamsChannel {key} should be !Ref {p}"
        );
        assert_eq!(
            doc["Parameters"][p]["Default"].as_str(),
            Some(""),
            "{p} is optional"
        );
    }
    for props in [slack, teams] {
        let (tag, name) =
            intrinsic(&props["ConfigurationName"]).expect("ConfigurationName is a !Sub");
        assert_eq!(tag, "Sub");
        assert!(
            name.as_str().unwrap().contains("${AWS::Region}"),
            "{name:?}"
        );
    }
    let rules = doc["Rules"].as_mapping().expect("template.yaml has Rules");
    assert!(rules.contains_key("SlackNeedsWorkspaceAndChannel"));
    assert!(rules.contains_key("TeamsNeedsTeamTenantAndChannel"));
}

/// The role can read Partner Central only when `partner-central` is a link source.
#[test]
fn partner_central_permissions_depend_on_the_sources() {
    let doc = template();
    let statements = doc["Resources"]["FunctionRole"]["Properties"]["Policies"][0]
        ["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    let guarded: Vec<&Value> = statements
        .iter()
        .filter_map(|s| match intrinsic(s) {
            Some((tag, args)) if tag == "If" && args[0].as_str() == Some("UsesPartnerCentral") => {
                Some(args)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        guarded.len(),
        1,
        "one statement should be !If [UsesPartnerCentral, ...]"
    );
    let text = format!("{:?}", guarded[0]);
    assert!(
        text.contains("partnercentral:ListConnections")
            && text.contains("AssumePartnerCentralReader"),
        "{text}"
    );
    assert!(is_ref(&guarded[0][2], "AWS::NoValue"));
    // Auto-invite as the primary account itself is the one other Partner Central grant; its
    // condition must include UsesPartnerCentral.
    let invite = statements
        .iter()
        .find(|s| format!("{s:?}").contains("InviteSubsidiaries"))
        .expect("an InviteSubsidiaries statement");
    let (tag, args) = intrinsic(invite).expect("InviteSubsidiaries is conditional");
    assert_eq!(tag, "If");
    let condition = args[0].as_str().expect("a condition name");
    assert!(
        format!("{:?}", doc["Conditions"][condition]).contains("UsesPartnerCentral"),
        "{condition} should require UsesPartnerCentral"
    );
    let invite_text = format!("{invite:?}");
    assert!(
        !format!("{statements:?}")
            .replace(&text, "")
            .replace(&invite_text, "")
            .contains("partnercentral:"),
        "no Partner Central action outside the UsesPartnerCentral guard"
    );
}

/// The key trusts only the services that use it, and EventBridge by the rule ARN it sends
/// (aws:SourceArn), never by aws:SourceAccount, which a dead-letter delivery may not carry.
#[test]
fn key_policy_names_only_services_that_use_the_key() {
    let doc = template();
    let (id, key) = only_resource(&doc, "AWS::KMS::Key");
    let mut services = Vec::new();
    for st in key["Properties"]["KeyPolicy"]["Statement"]
        .as_sequence()
        .unwrap()
    {
        let Some(service) = st["Principal"].get("Service") else {
            continue;
        };
        let name = match intrinsic(service) {
            Some((_, arg)) => arg.as_str().unwrap().to_string(),
            None => service
                .as_str()
                .unwrap_or_else(|| panic!("{id}: one service per statement: {service:?}"))
                .to_string(),
        };
        if name == "events.amazonaws.com" {
            let text = format!("{:?}", st["Condition"]);
            assert!(
                text.contains("aws:SourceArn") && !text.contains("aws:SourceAccount"),
                "{text}"
            );
        }
        services.push(name);
    }
    services.sort();
    assert_eq!(
        services,
        [
            "cloudwatch.amazonaws.com",
            "dynamodb.amazonaws.com",
            "events.amazonaws.com",
            "logs.${AWS::Region}.amazonaws.com"
        ],
        "{id} service principals"
    );
}

/// The dashboard graphs the metrics the function writes (EMF namespace and dimension), shows
/// every alarm (the change-event ones only when they exist) and the function's logs, and the
/// stack outputs link to it.
#[test]
fn dashboard_reads_what_the_function_writes_and_is_linked() {
    let doc = template();
    let (id, dashboard) = only_resource(&doc, "AWS::CloudWatch::Dashboard");
    let (tag, sub) =
        intrinsic(&dashboard["Properties"]["DashboardBody"]).expect("DashboardBody is a !Sub");
    assert_eq!(tag, "Sub");
    let body = sub[0].as_str().expect("!Sub [body, variables]");
    // ${ChangeAlarms}: the three change-event alarms with TriggerOnChanges, nothing without.
    let (tag, change_alarms) = intrinsic(&sub[1]["ChangeAlarms"]).expect("ChangeAlarms is an !If");
    assert_eq!(tag, "If");
    assert_eq!(change_alarms[0].as_str(), Some("ChangeTriggers"));
    let (_, with_triggers) = intrinsic(&change_alarms[1]).expect("a !Sub");
    let with_triggers = with_triggers.as_str().unwrap();
    for alarm in [
        "ChangeFunctionErrorsAlarm",
        "ChangeDeadLetterAlarm",
        "ChangeRulesFailedAlarm",
    ] {
        let a = resource(&doc, alarm);
        assert_eq!(a["Condition"].as_str(), Some("ChangeTriggers"), "{alarm}");
        assert!(
            with_triggers.contains(&format!("${{{alarm}.Arn}}")),
            "{alarm}"
        );
    }
    assert_eq!(change_alarms[2].as_str(), Some(""));
    // The JSON must parse, with and without the change-event alarms, once the other ${...}
    // substitutions are filled in.
    let fill = |change_alarms: &str| {
        let mut filled = String::new();
        let mut rest = body.replace("${ChangeAlarms}", change_alarms);
        while let Some(start) = rest.find("${") {
            let end = rest[start..].find('}').unwrap() + start;
            filled.push_str(&rest[..start]);
            filled.push('X');
            rest = rest[end + 1..].to_string();
        }
        filled.push_str(&rest);
        serde_json::from_str::<serde_json::Value>(&filled)
            .unwrap_or_else(|e| panic!("{id} body is not JSON: {e}"))
    };
    let without = fill("");
    let with = fill(with_triggers);
    assert_eq!(without["widgets"].as_array().map(Vec::len), Some(5));
    // The coverage trend graphs the run's coverage metrics (issue 16).
    let trend = &without["widgets"][4]["properties"];
    assert!(trend["title"]
        .as_str()
        .unwrap()
        .starts_with("Coverage trend"));
    let alarms = |doc: &serde_json::Value| {
        doc["widgets"][1]["properties"]["alarms"]
            .as_array()
            .map(Vec::len)
    };
    assert_eq!((alarms(&without), alarms(&with)), (Some(2), Some(5)));
    for needle in [
        &format!("{{{NAMESPACE},OrganizationId}}") as &str,
        "UnlinkedAccounts",
        "PendingAccounts",
        "LinkedAccounts",
        "ExemptAccounts",
        "OrganizationsCalls",
        "CoveragePercent",
        "TimeToLinkMedianHours",
        "${FunctionErrorsAlarm.Arn}",
        "${DeadLetterAlarm.Arn}",
        "SOURCE '${FunctionLogGroup}'",
    ] {
        assert!(body.contains(needle), "{id} should mention {needle}");
    }
    let url = format!("{:?}", doc["Outputs"]["DashboardUrl"]["Value"]);
    assert!(url.contains("#dashboards/dashboard/${Dashboard}"), "{url}");
}
