//! Writing a run's changes. Each account's record, events and alert go into one
//! TransactWriteItems so that they land together or not at all; several accounts share a
//! transaction up to DynamoDB's 100 actions, an account is never split. An account whose
//! revision changed since the run read it is a conflict: reported, never retried, and it
//! does not stop the other accounts. Also the outbox acknowledgement (BatchWriteItem).
//!
//! Retries: the SDK's standard mode already retries throttling and transient errors of every
//! call (`aws::MAX_ATTEMPTS`). What it cannot know is handled here, and only that: a
//! transaction DynamoDB canceled (a `TransactionCanceledException` is never retried by the
//! SDK) is read reason by reason ([`read_cancellation`]) and then acted on
//! ([`DynamoStore::write_batch`]); and the `UnprocessedItems` a successful BatchWriteItem
//! hands back are resent with backoff, as its API reference asks
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html>).

use std::collections::{BTreeSet, VecDeque};

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::builders::PutBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, Put, TransactWriteItem, WriteRequest,
};

use super::items::{key, to_item, AccountItem, AlertItem, EventItem, OUTBOX_PK};
use super::{backoff, DynamoStore, Fault, HINT_BUG, HINT_THROTTLED};
use crate::domain::model::AccountChange;
use crate::error::Error;
use crate::ports::{AccountTable, CommitOutcome};

/// DynamoDB's limit of actions in one TransactWriteItems.
pub(super) const MAX_TRANSACTION_ACTIONS: usize = 100;
/// DynamoDB's limit of requests in one BatchWriteItem.
const MAX_BATCH_WRITES: usize = 25;
/// Sends of one transaction that DynamoDB keeps canceling for a transient reason
/// (`TransactionConflict`, throttling inside the transaction), and of one BatchWriteItem
/// whose items keep coming back unprocessed, before the run gives up (nothing is lost: the
/// next run writes the same changes). The SDK retries neither case.
const MAX_SENDS: u32 = 6;

/// Everything one account's change writes, all or nothing.
#[derive(Debug, Clone)]
pub(super) struct AccountWrite {
    account_id: String,
    expected_rev: Option<u64>,
    actions: Vec<TransactWriteItem>,
}

/// The actions one account's change writes: its record, each event, its alert.
fn action_count(change: &AccountChange) -> usize {
    1 + change.events.len() + usize::from(change.alert.is_some())
}

/// Packs whole groups, in order, into batches of at most `max` actions each (a group larger
/// than `max` goes alone), one batch at a time: the next is taken from `groups` only when asked for.
pub(super) fn pack_lazily<T, I: Iterator<Item = T>>(
    groups: I,
    size: impl Fn(&T) -> usize,
    max: usize,
) -> impl Iterator<Item = Vec<T>> {
    let mut groups = groups.peekable();
    std::iter::from_fn(move || {
        let mut batch = Vec::new();
        let mut used = 0;
        while let Some(next) = groups.peek() {
            let n = size(next);
            if !batch.is_empty() && used + n > max {
                break;
            }
            used += n;
            batch.extend(groups.next());
        }
        (!batch.is_empty()).then_some(batch)
    })
}

/// What the cancellation reasons of a canceled transaction say, per account of the batch.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Cancellation {
    /// Indexes (in the batch) of accounts whose condition failed.
    pub conflicted: BTreeSet<usize>,
    /// Some action was throttled or collided with another transaction: try again later.
    pub transient: bool,
    /// A reason retrying cannot fix (e.g. `ValidationError`).
    pub fatal: Option<String>,
}

/// Reads the reasons, one per action in request order, against the batch's per-account action
/// counts. `None` when they cannot be matched to accounts (missing, wrong count, or no
/// reason given), in which case the caller finds out account by account.
pub(super) fn read_reasons(sizes: &[usize], codes: &[Option<&str>]) -> Option<Cancellation> {
    if codes.len() != sizes.iter().sum::<usize>() {
        return None;
    }
    let mut verdict = Cancellation::default();
    let mut codes = codes.iter();
    for (account, &n) in sizes.iter().enumerate() {
        for code in codes.by_ref().take(n) {
            match code.unwrap_or("None") {
                "None" => {}
                "ConditionalCheckFailed" => {
                    verdict.conflicted.insert(account);
                }
                "TransactionConflict"
                | "ThrottlingError"
                | "ProvisionedThroughputExceeded"
                | "RequestLimitExceeded" => verdict.transient = true,
                other => {
                    verdict.fatal.get_or_insert_with(|| other.to_string());
                }
            }
        }
    }
    let usable = !verdict.conflicted.is_empty() || verdict.transient || verdict.fatal.is_some();
    usable.then_some(verdict)
}

/// The reason codes of a canceled transaction, one per action in request order (`None` where
/// DynamoDB gave no code); `None` for any other error. Also read by `summary`.
pub(super) fn cancellation_codes(err: &TransactWriteItemsError) -> Option<Vec<Option<&str>>> {
    let TransactWriteItemsError::TransactionCanceledException(canceled) = err else {
        return None;
    };
    Some(
        canceled
            .cancellation_reasons()
            .iter()
            .map(|r| r.code())
            .collect(),
    )
}

/// What a failed TransactWriteItems says, read from the error alone: `None` when it is not a
/// cancellation (then the SDK has already retried what could be retried), else the reasons
/// per account ([`read_reasons`]; `Some(None)` when they cannot be matched to accounts).
pub(super) fn read_cancellation(
    err: &SdkError<TransactWriteItemsError, impl std::fmt::Debug>,
    sizes: &[usize],
) -> Option<Option<Cancellation>> {
    let codes = cancellation_codes(err.as_service_error()?)?;
    Some(read_reasons(sizes, &codes))
}

impl DynamoStore {
    /// Builds and writes one transaction at a time, so that only one batch of DynamoDB items
    /// (at most 100 actions) exists at once instead of every item of a 10,000-account first
    /// run (the items, not the changes, are the largest thing a run holds). An account too
    /// large for one transaction is still refused before anything is written.
    pub(super) async fn commit_changes(
        &self,
        changes: &[AccountChange],
    ) -> Result<CommitOutcome, Error> {
        if let Some(change) = changes
            .iter()
            .find(|c| action_count(c) > MAX_TRANSACTION_ACTIONS)
        {
            return Err(self.too_many_actions(&change.record.account.id, action_count(change)));
        }
        let mut outcome = CommitOutcome::default();
        // Accounts a batch hands back to be tried alone (see `write_batch`) go first.
        let mut queue: VecDeque<Vec<AccountWrite>> = VecDeque::new();
        let mut batches = pack_lazily(changes.iter(), |c| action_count(c), MAX_TRANSACTION_ACTIONS);
        loop {
            let batch = match queue.pop_front() {
                Some(batch) => batch,
                None => match batches.next() {
                    Some(group) => group
                        .into_iter()
                        .map(|c| self.account_write(c))
                        .collect::<Result<Vec<_>, _>>()?,
                    None => break,
                },
            };
            self.write_batch(batch, &mut queue, &mut outcome).await?;
        }
        outcome.conflicts.sort();
        Ok(outcome)
    }

    fn too_many_actions(&self, id: &str, n: usize) -> Error {
        self.fail(
            "TransactWriteItems",
            format!(
                "account {id} has {n} writes in one run, more than one transaction holds \
                 ({MAX_TRANSACTION_ACTIONS}): this is a bug in apnwatch, please report it"
            ),
            Fault(format!("{n} actions for account {id}")),
        )
    }

    fn account_write(&self, change: &AccountChange) -> Result<AccountWrite, Error> {
        let record = Put::builder().set_item(Some(to_item(&AccountItem::from(&change.record))));
        let record = match change.expected_rev {
            None => record.condition_expression("attribute_not_exists(pk)"),
            Some(rev) => record
                .condition_expression("#rev = :expected")
                .expression_attribute_names("#rev", "rev")
                .expression_attribute_values(":expected", AttributeValue::N(rev.to_string())),
        };
        let mut actions = vec![self.put_action(record)?];
        for event in &change.events {
            let put = Put::builder()
                .set_item(Some(to_item(&EventItem::from(event))))
                .condition_expression("attribute_not_exists(pk)");
            actions.push(self.put_action(put)?);
        }
        if let Some(alert) = &change.alert {
            let mut put = Put::builder().set_item(Some(to_item(&AlertItem::from(alert))));
            // A rewrite must not bring back an alert another run published (and deleted)
            // meanwhile: its condition failing cancels the account's change like a stale rev.
            if change.replaces_queued {
                put = put.condition_expression("attribute_exists(pk)");
            }
            actions.push(self.put_action(put)?);
        }
        let id = &change.record.account.id;
        if actions.len() > MAX_TRANSACTION_ACTIONS {
            return Err(self.too_many_actions(id, actions.len()));
        }
        Ok(AccountWrite {
            account_id: id.clone(),
            expected_rev: change.expected_rev,
            actions,
        })
    }

    /// One Put of a TransactWriteItems, on this table. Also used by `summary`.
    pub(super) fn put_action(&self, put: PutBuilder) -> Result<TransactWriteItem, Error> {
        let put = put
            .table_name(&self.table)
            .build()
            .map_err(|e| self.fail("TransactWriteItems", HINT_BUG, e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Writes one batch; accounts that must be tried alone go back to the front of `queue`.
    /// Acts on what [`read_cancellation`] says: conflicted accounts are reported and the
    /// rest resent, transient reasons resent after a pause, unreadable reasons split the
    /// batch (or re-read the one account's revision).
    async fn write_batch(
        &self,
        mut batch: Vec<AccountWrite>,
        queue: &mut VecDeque<Vec<AccountWrite>>,
        outcome: &mut CommitOutcome,
    ) -> Result<(), Error> {
        let mut sends = 0;
        loop {
            let actions = batch.iter().flat_map(|w| w.actions.clone()).collect();
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions))
                .send()
                .await;
            let err = match result {
                Ok(_) => {
                    outcome.written += batch.len();
                    return Ok(());
                }
                Err(err) => err,
            };
            let sizes: Vec<usize> = batch.iter().map(|w| w.actions.len()).collect();
            match read_cancellation(&err, &sizes) {
                None => return Err(self.sdk_error("TransactWriteItems", err)),
                Some(Some(Cancellation {
                    fatal: Some(code), ..
                })) => {
                    return Err(self.fail(
                        "TransactWriteItems",
                        format!(
                            "DynamoDB rejected the write ({code}): check that the table has \
                             the schema `apnwatch init` creates"
                        ),
                        err,
                    ))
                }
                Some(Some(verdict)) => {
                    for &index in verdict.conflicted.iter().rev() {
                        outcome.conflicts.push(batch.remove(index).account_id);
                    }
                    if batch.is_empty() {
                        return Ok(());
                    }
                    // The rest were only canceled along with the conflicts: resend them now.
                    if !verdict.transient {
                        continue;
                    }
                }
                Some(None) if batch.len() > 1 => {
                    for write in batch.into_iter().rev() {
                        queue.push_front(vec![write]);
                    }
                    return Ok(());
                }
                Some(None) => {
                    if self.revision_moved(&batch[0]).await? {
                        outcome.conflicts.push(batch.remove(0).account_id);
                        return Ok(());
                    }
                }
            }
            sends += 1;
            if sends >= MAX_SENDS {
                return Err(self.fail("TransactWriteItems", HINT_THROTTLED, err));
            }
            backoff(sends).await;
        }
    }

    /// Whether the stored record is no longer the one the change was computed from; used
    /// when a canceled transaction does not say why.
    async fn revision_moved(&self, write: &AccountWrite) -> Result<bool, Error> {
        let stored = self.account(&write.account_id).await?;
        Ok(stored.map(|r| r.rev) != write.expected_rev)
    }

    pub(super) async fn delete_alerts(&self, ids: &[String]) -> Result<(), Error> {
        // One BatchWriteItem may not name the same key twice.
        let ids: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        let requests = ids
            .into_iter()
            .map(|id| {
                DeleteRequest::builder()
                    .set_key(Some(key(OUTBOX_PK, id)))
                    .build()
                    .map(|d| WriteRequest::builder().delete_request(d).build())
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.fail("BatchWriteItem", HINT_BUG, e))?;
        for chunk in requests.chunks(MAX_BATCH_WRITES) {
            let mut pending = chunk.to_vec();
            let mut sends = 0;
            loop {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending.clone())
                    .send()
                    .await
                    .map_err(|e| self.sdk_error("BatchWriteItem", e))?;
                sends += 1;
                pending = out
                    .unprocessed_items
                    .and_then(|mut left| left.remove(&self.table))
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if sends >= MAX_SENDS {
                    return Err(self.fail(
                        "BatchWriteItem",
                        format!(
                            "{HINT_THROTTLED}; {} sent alert(s) stay queued and may be sent again",
                            pending.len()
                        ),
                        Fault(format!("{} unprocessed deletes", pending.len())),
                    ));
                }
                backoff(sends).await;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sixty accounts with three events and an alert each (5 actions) fill transactions of
    /// 100 actions, twenty accounts apiece.
    #[test]
    fn sixty_accounts_fill_three_transactions() {
        let accounts: Vec<(usize, usize)> = (0..60).map(|i| (i, 5)).collect();
        let batches: Vec<Vec<_>> =
            pack_lazily(accounts.into_iter(), |a| a.1, MAX_TRANSACTION_ACTIONS).collect();
        assert_eq!(batches.len(), 3);
        for batch in &batches {
            assert_eq!(batch.iter().map(|a| a.1).sum::<usize>(), 100);
        }
        let order: Vec<usize> = batches.iter().flatten().map(|a| a.0).collect();
        assert_eq!(order, (0..60).collect::<Vec<_>>());
    }

    /// Accounts of uneven size never straddle two transactions, and no transaction passes
    /// the limit.
    #[test]
    fn uneven_accounts_are_never_split() {
        let sizes = [7, 40, 1, 60, 33, 2, 99, 100, 1, 50, 50, 1];
        let accounts: Vec<(usize, usize)> = sizes.iter().copied().enumerate().collect();
        let batches: Vec<Vec<_>> =
            pack_lazily(accounts.into_iter(), |a| a.1, MAX_TRANSACTION_ACTIONS).collect();
        for batch in &batches {
            assert!(batch.iter().map(|a| a.1).sum::<usize>() <= MAX_TRANSACTION_ACTIONS);
        }
        let order: Vec<usize> = batches.iter().flatten().map(|a| a.0).collect();
        assert_eq!(order, (0..sizes.len()).collect::<Vec<_>>());
        assert_eq!(batches.len(), 6);
    }

    /// A failed condition marks its account only; the others were canceled along with it.
    #[test]
    fn failed_condition_names_its_account() {
        let codes = [
            Some("None"),
            None,
            Some("ConditionalCheckFailed"),
            Some("None"),
            Some("None"),
        ];
        let verdict = read_reasons(&[2, 1, 2], &codes).unwrap();
        assert_eq!(verdict.conflicted, BTreeSet::from([1]));
        assert!(!verdict.transient && verdict.fatal.is_none());
    }

    /// A conflicting transaction or throttling means try again; a validation error does not.
    #[test]
    fn transient_and_fatal_reasons_are_told_apart() {
        let transient =
            read_reasons(&[1, 1], &[Some("TransactionConflict"), Some("None")]).unwrap();
        assert!(transient.transient && transient.conflicted.is_empty());
        let fatal = read_reasons(&[1], &[Some("ValidationError")]).unwrap();
        assert_eq!(fatal.fatal.as_deref(), Some("ValidationError"));
    }

    /// Reasons that cannot be matched to the actions are not guessed at.
    #[test]
    fn unusable_reasons_are_reported_as_unknown() {
        assert_eq!(read_reasons(&[2, 1], &[]), None);
        assert_eq!(read_reasons(&[2], &[Some("ConditionalCheckFailed")]), None);
        assert_eq!(read_reasons(&[1, 1], &[Some("None"), None]), None);
    }
}
