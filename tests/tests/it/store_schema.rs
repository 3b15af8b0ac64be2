//! The README's schema is the contract for anyone who writes or restores items by hand: items
//! built from its "Every attribute, by item" table alone (the example of each attribute, all of
//! them or only the required ones) are written to moto and read back through the DynamoDB
//! adapter. An attribute the code requires but the README does not document fails here.

use std::collections::{BTreeMap, HashMap};

use apnwatch::domain::model::LinkState;
use apnwatch::domain::summary::SummaryPeriod;
use apnwatch::ports::{AccountTable, AlertOutbox, PublishLease, Queries, SummaryOutbox};
use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::{app, workspace_dir, World};
use serde_json::Value;

/// One row of the README table: item, attribute, type, required, example.
struct Row {
    item: String,
    attribute: String,
    kind: String,
    required: bool,
    example: String,
}

/// The rows of the README's attribute table.
fn readme_rows() -> Vec<Row> {
    let readme = std::fs::read_to_string(workspace_dir().join("README.md")).unwrap();
    let header = "| item | attribute | type | required | example |";
    let start = readme
        .find(header)
        .expect("README.md has the attribute table");
    let cell = |c: &str| c.trim().trim_matches('`').to_string();
    readme[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
            assert_eq!(cells.len(), 5, "{line}");
            Row {
                item: cell(cells[0]),
                attribute: cell(cells[1]),
                kind: cell(cells[2]),
                required: cell(cells[3]) == "yes",
                example: cell(cells[4]),
            }
        })
        .collect()
}

/// A JSON example as DynamoDB values: strings as S, numbers as N, lists and maps nested.
fn json_value(v: &Value) -> AttributeValue {
    match v {
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Array(a) => AttributeValue::L(a.iter().map(json_value).collect()),
        Value::Object(m) => {
            AttributeValue::M(m.iter().map(|(k, v)| (k.clone(), json_value(v))).collect())
        }
        Value::Null => AttributeValue::Null(true),
    }
}

/// The example as the documented type.
fn attribute(row: &Row) -> AttributeValue {
    match row.kind.as_str() {
        "S" => AttributeValue::S(row.example.clone()),
        "N" => AttributeValue::N(row.example.clone()),
        "BOOL" => AttributeValue::Bool(row.example == "true"),
        "L of S" | "L of M" | "M" | "M of S" => {
            let v: Value = serde_json::from_str(&row.example)
                .unwrap_or_else(|e| panic!("{}: {e}", row.attribute));
            json_value(&v)
        }
        other => panic!("undocumented type {other} for {}", row.attribute),
    }
}

/// Writes one item per kind from the README rows (`all`: every attribute; otherwise the
/// required ones only) and reads each back through the adapter.
async fn round_trip(all: bool) {
    let world = World::start().await;
    let mut items: BTreeMap<String, HashMap<String, AttributeValue>> = BTreeMap::new();
    for row in readme_rows() {
        if all || row.required {
            items
                .entry(row.item.clone())
                .or_default()
                .insert(row.attribute.clone(), attribute(&row));
        }
    }
    assert_eq!(
        items.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "account",
            "history event",
            "publish lease",
            "queued alert",
            "queued summary",
            "run record",
            "summary period",
            "tag sweep"
        ]
    );
    for (kind, item) in &items {
        world
            .table
            .client
            .put_item()
            .table_name(&world.table.name)
            .set_item(Some(item.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {kind}: {e:?}"));
    }
    let app = app().await;
    let store = app.store();
    let what = if all {
        "every attribute"
    } else {
        "required only"
    };

    let accounts = store
        .accounts(None)
        .await
        .unwrap_or_else(|e| panic!("{what}: account: {}", e.one_line()));
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].account.id, "111122223333");
    assert_eq!(accounts[0].link.state, LinkState::Unlinked);
    let history = store
        .history("111122223333")
        .await
        .unwrap_or_else(|e| panic!("{what}: history event: {}", e.one_line()));
    assert_eq!(history.len(), 1);
    let runs = store
        .runs(10)
        .await
        .unwrap_or_else(|e| panic!("{what}: run record: {}", e.one_line()));
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].run_id, "run-1");
    let alerts = store
        .pending_alerts()
        .await
        .unwrap_or_else(|e| panic!("{what}: queued alert: {}", e.one_line()));
    assert_eq!(
        alerts.len(),
        1,
        "{what}: the summary beside it is not an alert"
    );
    let summaries = store
        .pending_summaries()
        .await
        .unwrap_or_else(|e| panic!("{what}: queued summary: {}", e.one_line()));
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].id, "SUMMARY#weekly#2026-W50#all");
    let mark = store
        .last_summary(SummaryPeriod::Weekly)
        .await
        .unwrap_or_else(|e| panic!("{what}: summary period: {}", e.one_line()))
        .expect("the documented marker");
    assert_eq!(mark.key, "2026-W50");
    let state = store
        .load()
        .await
        .unwrap_or_else(|e| panic!("{what}: load (accounts, sweep): {}", e.one_line()));
    assert!(state.records.contains_key("111122223333"));
    assert_eq!(
        state.sweep.cursor.as_deref(),
        all.then_some("111122223333"),
        "{what}: tag sweep"
    );
    // The documented lease (held by run-1 until 2099) keeps another run from publishing.
    let taken = store
        .acquire_publish_lease("run-2", chrono::Utc::now())
        .await
        .unwrap_or_else(|e| panic!("{what}: lease: {}", e.one_line()));
    assert!(!taken, "{what}: the documented lease is honoured");
}

/// Items carrying every documented attribute are read back.
#[tokio::test]
async fn items_with_every_documented_attribute_are_read_back() {
    round_trip(true).await;
}

/// Items carrying only the attributes the README marks required are read back.
#[tokio::test]
async fn items_with_only_the_required_attributes_are_read_back() {
    round_trip(false).await;
}
