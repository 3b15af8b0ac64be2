#!/usr/bin/env python3
"""moto_server for benchmarks only: TransactWriteItems without copying the whole table.

moto 5.2.5's `DynamoDBBackend.transact_write_items` keeps a rollback copy of the table before
the transaction runs, but takes it inside the loop over the transaction's items: a
100-action transaction deep-copies the whole table 100 times, each copy replacing the last.
At 10,000 accounts the first run writes ~300 transactions into a table that grows to ~20,000
items, so the copies, not the function, take hours (and tens of GB before Python's cycle
collector catches up).

Here the rollback keeps, instead, a copy of each item the transaction touches, taken before
the action runs (moto reads every action's current item with `get_item` before applying
it), and puts those back when the transaction is canceled: every action is undone when one
fails, as before, at the cost of the items written rather than of the table. moto's own
"backup" becomes the table itself (its `copy.deepcopy` of a table, inside a transaction, returns
the table), so its restore is a no-op after ours. Streams are not undone (the table has none).

Never used by the tests: they run the stock moto so that they see what moto does. Started by
infra/bench_run.py with the same arguments as `moto_server` (`-H 127.0.0.1 -p PORT`).
"""

from __future__ import annotations

import copy as _copy
import sys
import threading

import moto.dynamodb.models as dynamo_models
from moto.server import main

_local = threading.local()


class _NoTableCopyInTransaction:
    """Stands in for the `copy` module inside moto.dynamodb.models."""

    def __getattr__(self, name):
        return getattr(_copy, name)

    @staticmethod
    def deepcopy(obj, memo=None):
        if getattr(_local, "undo", None) is not None and isinstance(obj, dynamo_models.Table):
            return obj
        return _copy.deepcopy(obj, memo)


_transact = dynamo_models.DynamoDBBackend.transact_write_items
_get_item = dynamo_models.DynamoDBBackend.get_item


def _get_item_remembered(self, table_name, keys, projection_expressions=None):
    item = _get_item(self, table_name, keys, projection_expressions)
    undo = getattr(_local, "undo", None)
    if undo is not None and projection_expressions is None:
        table = self.get_table(table_name)
        hash_key, range_key = self.get_keys_value(table, keys)
        undo.setdefault((table_name, hash_key, range_key), (table, _copy.deepcopy(item)))
    return item


def _restore(undo: dict) -> None:
    for (_, hash_key, range_key), (table, item) in undo.items():
        if range_key is not None:
            if item is None:
                table.items[hash_key].pop(range_key, None)
            else:
                table.items[hash_key][range_key] = item
        elif item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item


def _transact_write_items(self, transact_items):
    _local.undo = {}
    try:
        return _transact(self, transact_items)
    except Exception:
        _restore(_local.undo)
        raise
    finally:
        _local.undo = None


dynamo_models.copy = _NoTableCopyInTransaction()
dynamo_models.DynamoDBBackend.get_item = _get_item_remembered
dynamo_models.DynamoDBBackend.transact_write_items = _transact_write_items

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
