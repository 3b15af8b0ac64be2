//! `apnwatch accounts --csv` against moto: what a user pastes into a spreadsheet or into
//! Partner Central is the same accounts, with the same fields, as `accounts --json`.

use apnwatch::cli::csv::ACCOUNT_COLUMNS;
use apnwatch::cli::Cli;
use clap::Parser;
use integration_tests::{cli_ok, World};
use serde_json::Value;

/// Header plus one record per account, parsed back with an RFC 4180 reader.
fn rows(csv_text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let records = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, records)
}

/// `accounts --unlinked --csv` lists exactly the unlinked accounts of `--unlinked --json`, field
/// for field, under a header of the JSON field names; a name with a comma survives quoting.
#[tokio::test]
async fn unlinked_csv_matches_unlinked_json() {
    let (world, workloads) = World::start_with_ou("Workloads").await;
    let org = &world.org;
    org.linked_account(&workloads, "linked").await;
    let awkward = org.account(&workloads, "data, \"lake\"", &[]).await;
    cli_ok(&["snapshot", "--json"]).await;

    let json: Value =
        serde_json::from_str(&cli_ok(&["accounts", "--unlinked", "--json"]).await).unwrap();
    let text = cli_ok(&["accounts", "--unlinked", "--csv"]).await;

    assert!(text.ends_with("\r\n"), "records end with CRLF: {text:?}");
    let (header, records) = rows(&text);
    assert_eq!(header, ACCOUNT_COLUMNS);
    let accounts = json["accounts"].as_array().unwrap();
    assert_eq!(records.len(), accounts.len(), "{text}");
    for (record, account) in records.iter().zip(accounts) {
        for (column, field) in header.iter().zip(record) {
            let expected = match &account[column] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(field, &expected, "{column} of {}", account["account_id"]);
        }
    }
    let ids: Vec<&str> = records.iter().map(|r| r[0].as_str()).collect();
    assert!(ids.contains(&awkward.as_str()), "{ids:?}");
    assert!(records.iter().any(|r| r[1] == "data, \"lake\""), "{text}");

    // Every account, linked ones too, without --unlinked.
    let (_, all) = rows(&cli_ok(&["accounts", "--csv"]).await);
    assert_eq!(all.len(), 3);
}

/// `--csv` and `--json` together is a usage error, not a silent choice.
#[test]
fn csv_and_json_together_are_refused() {
    let err = Cli::try_parse_from(["apnwatch", "accounts", "--csv", "--json"]).unwrap_err();
    assert!(err.to_string().contains("cannot be used with"), "{err}");
}
