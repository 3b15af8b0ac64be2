//! Names with commas, quotes, line breaks and non-ASCII through the JSON and CSV outputs.

use proptest::prelude::*;
use serde_json::Value;

/// A stored account named `name`.
fn named(name: &str) -> crate::domain::model::AccountRecord {
    use crate::domain::model::*;
    let t: chrono::DateTime<chrono::Utc> = "2026-11-27T12:00:00Z".parse().expect("time");
    AccountRecord {
        account: Account {
            id: "111122223333".into(),
            name: name.into(),
            email: "a@example.com".into(),
            state: AccountState::Active,
            joined_method: None,
            joined_at: None,
            parent_id: "r-ab12".into(),
            ou_path: format!("Root/{name}"),
            ou_ids: vec!["r-ab12".into()],
            tags: Default::default(),
            is_management: false,
        },
        link: LinkDecision {
            state: LinkState::Unlinked,
            source: LinkSource::None,
            detail: name.into(),
        },
        first_seen: t,
        last_changed: t,
        removed: false,
        rev: 1,
        state_since: t,
        last_alerted_at: None,
        refusal: None,
    }
}

/// Names as people write them: commas, quotes, line breaks, non-ASCII, anything.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![".{0,30}", "[a-z ,\"\r\n;Zürich東京]{0,30}", any::<String>()]
}

proptest! {
    /// `accounts --json`: the name comes back exactly.
    #[test]
    fn json_output_round_trips_names(name in name()) {
        let view = crate::views::AccountView::from(&named(&name));
        let back: Value = serde_json::from_str(&serde_json::to_string(&view).expect("json")).expect("parse");
        prop_assert_eq!(back["name"].as_str(), Some(name.as_str()));
        let path = format!("Root/{name}");
        prop_assert_eq!(back["ou_path"].as_str(), Some(path.as_str()));
    }
}

#[cfg(feature = "cli")]
proptest! {
    /// `accounts --csv`: an RFC 4180 reader gets every name back exactly, one row each.
    #[test]
    fn csv_output_round_trips_names(names in prop::collection::vec(name(), 1..4)) {
        let records: Vec<_> = names.iter().map(|n| named(n)).collect();
        let out = crate::cli::csv::accounts_csv(&records);
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(out.as_bytes());
        let col = crate::cli::csv::ACCOUNT_COLUMNS.iter().position(|c| *c == "name").expect("name column");
        let back: Vec<String> = reader.records().map(|r| r.expect("row")[col].to_string()).collect();
        prop_assert_eq!(back, names);
    }
}
