//! Every combination of the template's optional parameters, evaluated the way CloudFormation
//! would before creating anything: each value must pass its parameter's constraints, the
//! `Rules` must accept exactly the complete chat settings (Slack both-or-none, Teams
//! all-or-none), and the conditions must switch on exactly the resources that combination asks
//! for. Neither cfn-lint nor `sam validate` evaluates `Rules` assertions against values offline
//! (cfn-lint's E1701 only checks their structure), so this test evaluates the template's own
//! condition expressions; `make templates` additionally lints the valid combinations with
//! cfn-lint's parameter sets.

use std::collections::BTreeMap;
use std::path::PathBuf;

use apnwatch::config::{Config, ENV_LINK_SOURCES, ENV_TABLE};
use apnwatch::domain::model::LinkSource;
use serde_norway::{Mapping, Value};

type Params = BTreeMap<&'static str, String>;

fn template() -> Value {
    integration_tests::parse_yaml("template.yaml")
}

/// A scalar as CloudFormation compares it: numbers and strings alike, as text.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Evaluates the condition functions the template uses in `Conditions` and `Rules`:
/// `Ref` (parameters), `Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not` and `Condition`.
struct Eval<'a> {
    params: &'a Params,
    defaults: BTreeMap<String, String>,
    conditions: &'a Mapping,
}

/// Each parameter's default value, as text.
fn defaults(doc: &Value) -> BTreeMap<String, String> {
    let specs = doc["Parameters"].as_mapping().unwrap();
    specs
        .iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), scalar(&v["Default"])?)))
        .collect()
}

impl<'a> Eval<'a> {
    /// The conditions of template `doc` with `params` (defaults for the rest), after checking
    /// that each value in `params` is one its parameter allows.
    fn checked(doc: &'a Value, params: &'a Params) -> Self {
        let specs = doc["Parameters"].as_mapping().unwrap();
        for (k, v) in params {
            assert_eq!(violation(&specs[*k], v), None, "{k}={v:?}");
        }
        Eval {
            params,
            defaults: defaults(doc),
            conditions: doc["Conditions"].as_mapping().unwrap(),
        }
    }
}

impl Eval<'_> {
    fn value(&self, v: &Value) -> String {
        if let Some(s) = scalar(v) {
            return s;
        }
        match v {
            Value::Tagged(t) if t.tag == "Ref" => {
                let name = scalar(&t.value).expect("Ref names a parameter");
                self.params
                    .get(name.as_str())
                    .cloned()
                    .or_else(|| self.defaults.get(&name).cloned())
                    .unwrap_or_else(|| panic!("Ref {name} is not a parameter"))
            }
            other => panic!("cannot evaluate {other:?} to a value"),
        }
    }

    fn truth(&self, v: &Value) -> bool {
        let Value::Tagged(t) = v else {
            panic!("not a condition function: {v:?}")
        };
        let args = || {
            t.value
                .as_sequence()
                .expect("condition arguments are a list")
        };
        if t.tag == "Equals" {
            let a = args();
            assert_eq!(a.len(), 2, "Fn::Equals takes two values");
            self.value(&a[0]) == self.value(&a[1])
        } else if t.tag == "And" {
            args().iter().all(|c| self.truth(c))
        } else if t.tag == "Or" {
            let a = args();
            assert!(a.len() <= 10, "Fn::Or takes at most 10 conditions");
            a.iter().any(|c| self.truth(c))
        } else if t.tag == "Not" {
            !self.truth(&args()[0])
        } else if t.tag == "Condition" {
            self.condition(&scalar(&t.value).unwrap())
        } else {
            panic!("condition function {} is not evaluated here", t.tag)
        }
    }

    fn condition(&self, name: &str) -> bool {
        let c = self
            .conditions
            .get(name)
            .unwrap_or_else(|| panic!("no condition {name}"));
        self.truth(c)
    }

    /// The descriptions of the rule assertions this parameter set breaks.
    fn broken_rules(&self, rules: &Mapping) -> Vec<String> {
        let mut broken = Vec::new();
        for (name, rule) in rules {
            if let Some(c) = rule.get("RuleCondition") {
                if !self.truth(c) {
                    continue;
                }
            }
            for a in rule["Assertions"].as_sequence().unwrap() {
                if !self.truth(&a["Assert"]) {
                    broken.push(format!(
                        "{}: {}",
                        name.as_str().unwrap(),
                        a["AssertDescription"].as_str().unwrap()
                    ));
                }
            }
        }
        broken
    }
}

/// Why `value` breaks the constraints of parameter `spec`, if it does.
fn violation(spec: &Value, value: &str) -> Option<String> {
    if let Some(allowed) = spec.get("AllowedValues").and_then(Value::as_sequence) {
        if !allowed.iter().filter_map(scalar).any(|a| a == value) {
            return Some(format!("not in AllowedValues {allowed:?}"));
        }
    }
    if let Some(pattern) = spec.get("AllowedPattern").and_then(Value::as_str) {
        // CloudFormation matches the whole value.
        let re = regex_lite::Regex::new(&format!("^(?:{pattern})$")).unwrap();
        if !re.is_match(value) {
            return Some(format!("does not match AllowedPattern {pattern}"));
        }
    }
    let len = value.chars().count() as f64;
    if let Some(why) = out_of_bounds(
        spec,
        len,
        ("MinLength", "shorter than"),
        ("MaxLength", "longer than"),
    ) {
        return Some(why);
    }
    if spec["Type"].as_str() == Some("Number") {
        let Ok(n) = value.parse::<f64>() else {
            return Some("not a number".into());
        };
        return out_of_bounds(spec, n, ("MinValue", "below"), ("MaxValue", "above"));
    }
    None
}

/// Why `x` (a length or a number) is past the bound `spec` sets under key `min` or `max`,
/// in the words given: e.g. "shorter than MinLength".
fn out_of_bounds(
    spec: &Value,
    x: f64,
    (min, below): (&str, &str),
    (max, above): (&str, &str),
) -> Option<String> {
    let bound = |key: &str| spec.get(key).and_then(Value::as_f64);
    if bound(min).is_some_and(|m| x < m) {
        return Some(format!("{below} {min}"));
    }
    if bound(max).is_some_and(|m| x > m) {
        return Some(format!("{above} {max}"));
    }
    None
}

/// Every LinkSources value with distinct sources, in every order (what config.rs accepts).
fn link_sources_values() -> Vec<String> {
    let all = ["partner-central", "tag", "list"];
    let mut out = Vec::new();
    for a in all {
        out.push(a.to_string());
        for b in all.iter().filter(|b| **b != a) {
            out.push(format!("{a},{b}"));
            for c in all.iter().filter(|c| **c != a && *c != b) {
                out.push(format!("{a},{b},{c}"));
            }
        }
    }
    out
}

/// Each parameter's default passes its own constraints (a stack deployed with no answers works).
#[test]
fn every_parameter_default_passes_its_constraints() {
    let doc = template();
    for (name, spec) in doc["Parameters"].as_mapping().unwrap() {
        let default = scalar(&spec["Default"]);
        if let Some(d) = default {
            assert_eq!(violation(spec, &d), None, "{name:?} default {d:?}");
        }
    }
}

/// `params` with the value of the i-th one set when bit i of `mask` is, empty otherwise.
fn masked<'a>(
    params: &'a [(&'static str, &'a str)],
    mask: u32,
) -> impl Iterator<Item = (&'static str, String)> + 'a {
    params.iter().enumerate().map(move |(i, (k, v))| {
        let set = mask & (1 << i) != 0;
        (*k, if set { v.to_string() } else { String::new() })
    })
}

/// Rules accept exactly the complete chat settings, and the conditions create exactly the
/// channels, reservation and Partner Central permissions each combination asks for.
#[test]
fn rules_and_conditions_hold_for_every_combination_of_optional_parameters() {
    let doc = template();
    let rules = doc["Rules"].as_mapping().expect("template.yaml has Rules");

    let slack = [
        ("SlackWorkspaceId", "T0123ABCD"),
        ("SlackChannelId", "C0123ABCD"),
    ];
    let teams = [
        ("TeamsTeamId", "74361522-da01-538d-aa2e-ac7918c6bb92"),
        ("TeamsTenantId", "0f3c1c7b-1a2b-4c3d-8e9f-0a1b2c3d4e5f"),
        (
            "TeamsChannelId",
            "19%3ab6ef35dc342d4f3ab0a7e0d4ae7e0f%40thread.tacv2",
        ),
    ];
    let (mut checked, mut refused) = (0, 0);
    for slack_mask in 0..(1u32 << slack.len()) {
        for teams_mask in 0..(1u32 << teams.len()) {
            for reserved in ["0", "1"] {
                for state in ["ENABLED", "DISABLED"] {
                    for sources in link_sources_values() {
                        let mut params: Params = BTreeMap::new();
                        params.extend(masked(&slack, slack_mask));
                        params.extend(masked(&teams, teams_mask));
                        params.insert("ReservedConcurrency", reserved.into());
                        params.insert("ScheduleState", state.into());
                        params.insert("LinkSources", sources.clone());
                        let eval = Eval::checked(&doc, &params);
                        let slack_all = slack_mask == 0b11;
                        let teams_all = teams_mask == 0b111;
                        let complete =
                            (slack_mask == 0 || slack_all) && (teams_mask == 0 || teams_all);
                        let broken = eval.broken_rules(rules);
                        assert_eq!(
                            broken.is_empty(),
                            complete,
                            "{params:?}: broken rules {broken:?}"
                        );
                        if !complete {
                            // The rule names what is missing before anything is created.
                            let which = if slack_mask != 0 && !slack_all {
                                "Slack"
                            } else {
                                "Teams"
                            };
                            assert!(
                                broken.iter().any(|b| b.contains(which)),
                                "{params:?}: {broken:?}"
                            );
                            refused += 1;
                            continue;
                        }

                        assert_eq!(eval.condition("HasSlack"), slack_all, "{params:?}");
                        assert_eq!(eval.condition("HasTeams"), teams_all, "{params:?}");
                        assert_eq!(
                            eval.condition("HasChatChannel"),
                            slack_all || teams_all,
                            "{params:?}"
                        );
                        assert_eq!(
                            eval.condition("HasReservedConcurrency"),
                            reserved != "0",
                            "{params:?}"
                        );
                        let config = Config::from_lookup(|k| match k {
                            ENV_TABLE => Some("t".into()),
                            ENV_LINK_SOURCES => Some(sources.clone()),
                            _ => None,
                        })
                        .unwrap_or_else(|e| panic!("LinkSources {sources:?}: {e}"));
                        assert_eq!(
                            eval.condition("UsesPartnerCentral"),
                            config.rules.uses(LinkSource::PartnerCentral),
                            "UsesPartnerCentral for LinkSources={sources:?}"
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    // 2 Slack x 2 Teams complete settings, 2 reservations, 2 states, 15 source lists.
    assert_eq!(checked, 2 * 2 * 2 * 2 * 15);
    assert_eq!(refused, (4 * 8 - 2 * 2) * 2 * 2 * 15);

    // And the resources hang on those conditions.
    let resources = doc["Resources"].as_mapping().unwrap();
    for (id, condition) in [
        ("SlackChannel", "HasSlack"),
        ("TeamsChannel", "HasTeams"),
        ("ChatChannelRole", "HasChatChannel"),
    ] {
        assert_eq!(resources[id]["Condition"].as_str(), Some(condition), "{id}");
    }
}

/// External ids follow STS: empty (none) or 2 to 1224 characters, in every template that takes
/// one (the Partner Central role's and the accept role's, on both sides).
#[test]
fn external_ids_are_empty_or_at_least_two_characters() {
    let main = template();
    let read = |file: &str| -> Value {
        serde_norway::from_str(
            &std::fs::read_to_string(
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../infra")
                    .join(file),
            )
            .unwrap(),
        )
        .unwrap()
    };
    let role = read("partner-central-role.yaml");
    let accept_role = read("member-accept-role.yaml");
    for spec in [
        &main["Parameters"]["PartnerCentralExternalId"],
        &main["Parameters"]["AcceptExternalId"],
        &role["Parameters"]["ExternalId"],
        &accept_role["Parameters"]["ExternalId"],
    ] {
        assert_eq!(violation(spec, ""), None);
        assert!(
            violation(spec, "x").is_some(),
            "a 1-character external id must be refused"
        );
        assert_eq!(violation(spec, "ab"), None);
        assert!(violation(spec, "has space").is_some());
        assert!(violation(spec, &"a".repeat(1225)).is_some());
    }
}

/// The Control Tower rule exists only with both TriggerOnChanges and ControlTowerEvents, and the
/// table is deletion-protected only when TableDeletionProtection asks for it (off by default, so
/// a failed first create can roll back and delete the new table).
#[test]
fn control_tower_rule_and_table_protection_follow_their_parameters() {
    let doc = template();
    let specs = doc["Parameters"].as_mapping().unwrap();
    let defaults = defaults(&doc);
    assert_eq!(defaults["ControlTowerEvents"], "false");
    assert_eq!(defaults["TableDeletionProtection"], "false");
    for triggers in ["true", "false"] {
        for control_tower in ["true", "false"] {
            for protect in ["true", "false"] {
                let params: Params = BTreeMap::from([
                    ("TriggerOnChanges", triggers.to_string()),
                    ("ControlTowerEvents", control_tower.to_string()),
                    ("TableDeletionProtection", protect.to_string()),
                ]);
                let eval = Eval::checked(&doc, &params);
                assert_eq!(
                    eval.condition("ControlTowerRule"),
                    triggers == "true" && control_tower == "true",
                    "{params:?}"
                );
                assert_eq!(eval.condition("ProtectTable"), protect == "true");
            }
        }
    }
    assert!(violation(&specs["ControlTowerEvents"], "yes").is_some());
    let resources = doc["Resources"].as_mapping().unwrap();
    assert_eq!(
        resources["ControlTowerChangeRule"]["Condition"].as_str(),
        Some("ControlTowerRule")
    );
}
