#!/usr/bin/env python3
"""moto_server for benchmarks only: TransactWriteItems backs each table up once per transaction.

moto 5.2.5's `DynamoDBBackend.transact_write_items` keeps a rollback copy of the table before
the transaction runs, but takes it inside the loop over the transaction's items: a
100-action transaction deep-copies the whole table 100 times, each copy replacing the last.
At 10,000 accounts the first run writes ~100 transactions into a table that grows to ~10,000
items, so the copies, not the function, take hours. Nothing mutates the table between those
copies (the loop only collects them), so taking the first copy of each table and reusing it for
the same table's later items gives the identical backup: the rollback semantics (every action
undone when one fails) are unchanged.

How: the module's `copy` name is replaced by a proxy that forwards everything to the real
`copy` module, except that `deepcopy` of a table object inside a transaction returns the copy
already taken for that table in the same transaction (per thread: moto's server is threaded).

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


class _CopyOncePerTransaction:
    """Stands in for the `copy` module inside moto.dynamodb.models."""

    def __getattr__(self, name):
        return getattr(_copy, name)

    @staticmethod
    def deepcopy(obj, memo=None):
        backups = getattr(_local, "backups", None)
        if backups is None or not isinstance(obj, dynamo_models.Table):
            return _copy.deepcopy(obj, memo)
        key = id(obj)
        if key not in backups:
            backups[key] = _copy.deepcopy(obj, memo)
        return backups[key]


_original = dynamo_models.DynamoDBBackend.transact_write_items


def _transact_write_items(self, transact_items):
    _local.backups = {}
    try:
        return _original(self, transact_items)
    finally:
        _local.backups = None


dynamo_models.copy = _CopyOncePerTransaction()
dynamo_models.DynamoDBBackend.transact_write_items = _transact_write_items

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
