//! Reading `template.yaml` as SAM deploys it: a function's environment is the `Globals`
//! section's merged with the function's own (the function wins), as SAM's globals plugin
//! does for `Environment.Variables`.

use serde_norway::{Mapping, Value};

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
