//! `apnwatch accounts --csv`: the accounts as RFC 4180 CSV, for a spreadsheet or for pasting the
//! unlinked ids into Partner Central. The rows are the [`AccountView`]s of `accounts --json`,
//! serialized by the `csv` crate, so the columns are the JSON fields in the same order and a new
//! JSON field becomes a new column without a second list to keep in step.

use crate::domain::model::AccountRecord;
use crate::views::AccountView;

/// The header row: `AccountView`'s fields in declaration order. Written explicitly because the
/// `csv` crate derives headers from the first serialized row, and an empty result (no unlinked
/// account: the goal) must still be a valid file with its header. A unit test holds this list
/// to the serde field names.
pub const ACCOUNT_COLUMNS: [&str; 19] = [
    "account_id",
    "name",
    "email",
    "state",
    "ou_path",
    "link_state",
    "link_source",
    "link_detail",
    "first_seen",
    "last_changed",
    "removed",
    "is_management",
    "joined_method",
    "joined_at",
    "refusal_kind",
    "refusal_at",
    "refusal_reason",
    "refusal_message",
    "refusal_what_to_do",
];

/// The accounts as CSV: a header row, then one record per account, CRLF line ends and fields
/// quoted only when they hold a comma, a quote or a line break (RFC 4180). An absent value
/// (`joined_at` of an account that never joined) is an empty field; booleans are `true`/`false`.
pub fn accounts_csv(records: &[AccountRecord]) -> String {
    let mut out = csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    out.write_record(ACCOUNT_COLUMNS)
        .expect("writing to memory cannot fail");
    for record in records {
        out.serialize(AccountView::from(record))
            .expect("views are plain data");
    }
    let bytes = out.into_inner().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("views are UTF-8 strings")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{LinkDecision, LinkSource, LinkState};

    /// [`AccountRecord::sample`] named `name` in `ou_path` (one OU below the root), joined at
    /// its first sighting, with the link `state` and `detail`.
    fn record(
        id: &str,
        name: &str,
        ou_path: &str,
        state: LinkState,
        detail: &str,
    ) -> AccountRecord {
        let mut record = AccountRecord::sample(id);
        let account = &mut record.account;
        account.name = name.into();
        account.email = format!("aws+{id}@example.com");
        account.joined_at = Some(record.first_seen);
        account.parent_id = "ou-ab12-cdef5678".into();
        account.ou_path = ou_path.into();
        account.ou_ids = vec!["r-ab12".into(), "ou-ab12-cdef5678".into()];
        let source = if state == LinkState::Linked {
            LinkSource::Tag
        } else {
            LinkSource::None
        };
        record.link = LinkDecision {
            state,
            source,
            detail: detail.into(),
        };
        record
    }

    /// Names with commas, quotes and line breaks come out quoted per RFC 4180, byte for byte as
    /// the golden file `golden/accounts.csv`.
    #[test]
    fn accounts_csv_matches_the_golden_file() {
        let mut invited = record(
            "222233334444",
            "Data \"lake\", prod",
            "Root/Workloads/Prod",
            LinkState::Unlinked,
            "no link evidence from tag, list",
        );
        invited.account.joined_method = Some("INVITED".into());
        invited.refusal = Some(crate::domain::model::LinkRefusal {
            kind: crate::domain::model::ChangeKind::InviteFailed,
            at: invited.first_seen,
            reason: "RECEIVER_PROFILE_NOT_FOUND (ResourceNotFoundException)".into(),
            message: "Receiver profile not found.".into(),
            what_to_do: "register it in Partner Central, then run `apnwatch invite` again".into(),
        });
        let mut management = record(
            "111122223333",
            "management",
            "Root",
            LinkState::Linked,
            "tag apn-link=linked",
        );
        management.account.is_management = true;
        management.account.joined_at = None;
        management.account.joined_method = None;
        let multiline = record(
            "333344445555",
            "two\nlines",
            "Root/Sandbox",
            LinkState::Pending,
            "connection invitation pending",
        );

        let csv = accounts_csv(&[management, invited, multiline]);

        crate::golden::check("accounts.csv", &csv);
    }

    /// No accounts (nothing unlinked) is still a file with its header row.
    #[test]
    fn empty_list_is_just_the_header() {
        assert_eq!(
            accounts_csv(&[]),
            format!("{}\r\n", ACCOUNT_COLUMNS.join(","))
        );
    }

    /// The columns are exactly the `accounts --json` fields, in the view's order.
    #[test]
    fn columns_are_the_json_fields_in_order() {
        let r = record("111122223333", "a", "Root", LinkState::Linked, "d");
        let mut derived = csv::Writer::from_writer(Vec::new());
        derived.serialize(AccountView::from(&r)).unwrap();
        let derived = String::from_utf8(derived.into_inner().unwrap()).unwrap();
        let header = derived.lines().next().unwrap();
        assert_eq!(header, ACCOUNT_COLUMNS.join(","));

        let json = serde_json::to_value(AccountView::from(&r)).unwrap();
        let mut json_keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut columns = ACCOUNT_COLUMNS.to_vec();
        json_keys.sort();
        columns.sort();
        assert_eq!(columns, json_keys);
    }
}
