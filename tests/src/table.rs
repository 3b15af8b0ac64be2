//! Raw views of the DynamoDB table (Scan, no product code in between), to see exactly
//! what a run wrote, and [`s`] to read a string attribute of an item.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

pub type Item = HashMap<String, AttributeValue>;

/// The DynamoDB table read raw (Scan), to see exactly what a run wrote.
pub struct Table {
    pub client: aws_sdk_dynamodb::Client,
    pub name: String,
}

impl Table {
    /// Every item by (pk, sk): equal before and after means nothing was written.
    pub async fn items(&self) -> BTreeMap<(String, String), Item> {
        let mut items = BTreeMap::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.name)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .expect("Scan");
            for item in out.items.unwrap_or_default() {
                items.insert((s(&item, "pk"), s(&item, "sk")), item);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return items,
            }
        }
    }

    /// Items whose `pk` starts with `prefix` (`ACCOUNTS`, `HISTORY#`, `OUTBOX`, `RUNS`).
    pub async fn count(&self, prefix: &str) -> usize {
        self.items()
            .await
            .keys()
            .filter(|(pk, _)| pk.starts_with(prefix))
            .count()
    }

    /// Each account item's `rev`, by account id: any write to an account bumps it.
    pub async fn account_revs(&self) -> BTreeMap<String, u64> {
        self.items()
            .await
            .into_iter()
            .filter(|((pk, _), _)| pk == "ACCOUNTS")
            .map(|(_, item)| {
                let rev = match item.get("rev") {
                    Some(AttributeValue::N(n)) => n.parse().expect("rev is a number"),
                    other => panic!("account item without numeric rev: {other:?}"),
                };
                (s(&item, "account_id"), rev)
            })
            .collect()
    }
}

/// A string attribute, or "" when absent.
pub fn s(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => String::new(),
    }
}
