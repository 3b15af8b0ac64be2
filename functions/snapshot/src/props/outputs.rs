//! Names with commas, quotes, line breaks and non-ASCII through the JSON and CSV outputs.

use proptest::prelude::*;
use serde_json::Value;

use crate::domain::model::AccountRecord;

/// [`AccountRecord::sample`] named `name`, with the name in its OU path and link detail too.
fn named(name: &str) -> AccountRecord {
    let mut record = AccountRecord::sample("111122223333");
    record.account.name = name.into();
    record.account.ou_path = format!("Root/{name}");
    record.link.detail = name.into();
    record
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
