//! Holds the deployment template to the code: the function's environment in `template.yaml`
//! must be exactly the variables `config.rs` reads, and the DynamoDB table it declares must be
//! the schema `store` creates and queries. A drift here would deploy a function that ignores a
//! setting or a table whose index the queries cannot use.

use std::collections::BTreeSet;
use std::path::PathBuf;

use apnwatch::config::ALL_VARS;
use apnwatch::store::table_definition;
use serde_norway::Value;

/// The SAM template, parsed. CloudFormation short tags (`!Ref`, `!Sub`, `!GetAtt`) parse as
/// tagged values, which these tests never need to look inside.
fn template() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
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
        let variables = function["Properties"]["Environment"]["Variables"]
            .as_mapping()
            .unwrap_or_else(|| panic!("{id} should set Environment.Variables"));
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

/// Account history survives a stack deletion or replacement and can be restored to any second.
#[test]
fn table_is_retained_and_recoverable() {
    let doc = template();
    let (id, table) = only_resource(&doc, "AWS::DynamoDB::Table");
    assert_eq!(
        table["DeletionPolicy"].as_str(),
        Some("Retain"),
        "{id} DeletionPolicy"
    );
    assert_eq!(
        table["UpdateReplacePolicy"].as_str(),
        Some("Retain"),
        "{id} UpdateReplacePolicy"
    );
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
}
