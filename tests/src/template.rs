//! Reading the CloudFormation templates the way the template tests need: parsed from the
//! workspace (`parse_yaml`), and a function's environment as SAM deploys it, the `Globals`
//! section's merged with the function's own (the function wins), as SAM's globals plugin does
//! for `Environment.Variables`.

use serde_norway::{Mapping, Value};

use crate::env::workspace_dir;

/// A template of the workspace (`template.yaml`, `infra/forward-events.yaml`, ...), parsed.
/// CloudFormation short tags (`!Ref`, `!Sub`, `!GetAtt`) parse as tagged values.
pub fn parse_yaml(relative: &str) -> Value {
    let path = workspace_dir().join(relative);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// The environment variables `id` runs with after SAM applies `Globals.Function`.
pub fn function_environment(doc: &Value, id: &str) -> Mapping {
    let own = &doc["Resources"][id];
    assert!(!own.is_null(), "template.yaml should declare {id}");
    let mut merged = doc["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .cloned()
        .unwrap_or_default();
    if let Some(vars) = own["Properties"]["Environment"]["Variables"].as_mapping() {
        for (k, v) in vars {
            merged.insert(k.clone(), v.clone());
        }
    }
    merged
}
