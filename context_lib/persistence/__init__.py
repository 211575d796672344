"""Persistence for contexts: a small key-level ``Store`` protocol, four backends, and
context-level ``save`` / ``save_delta`` / ``load`` built on it.

>>> from context_lib import Context
>>> from context_lib.persistence import load, open_store, save_delta
>>> ctx = Context({"jobs.done": 3, "jobs.failed": 0})
>>> with open_store("memory://") as store:
...     save_delta(ctx, store)
...     ctx.set("jobs.done", 4)
...     save_delta(ctx, store).keys, load(store).to_dict()
SaveResult(keys=2, bytes=22, history=0)
(1, {'jobs.done': 4, 'jobs.failed': 0})
"""

from typing import TYPE_CHECKING, Any

from context_lib.persistence.base import Store
from context_lib.persistence.batch import BatchStore
from context_lib.persistence.errors import (
    CorruptStoreError,
    HistoryMismatchError,
    StoreClosedError,
    StoreDataLostError,
    StoreError,
    StoreUnavailableError,
    StoreURLError,
)
from context_lib.persistence.json_file import JsonFileStore
from context_lib.persistence.memory import MemoryStore
from context_lib.persistence.ops import SaveResult, load, save, save_delta
from context_lib.persistence.sqlite_store import SQLiteStore
from context_lib.persistence.url import open_store

if TYPE_CHECKING:
    from context_lib.persistence.redis_store import RedisStore


def __getattr__(name: str) -> Any:
    # RedisStore is imported on first use: importing redis-py is slow, and most
    # programs (and every notebook) never need it.
    if name == "RedisStore":
        from context_lib.persistence.redis_store import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BatchStore",
    "CorruptStoreError",
    "HistoryMismatchError",
    "JsonFileStore",
    "MemoryStore",
    "RedisStore",
    "SQLiteStore",
    "SaveResult",
    "Store",
    "StoreClosedError",
    "StoreDataLostError",
    "StoreError",
    "StoreURLError",
    "StoreUnavailableError",
    "load",
    "open_store",
    "save",
    "save_delta",
]
