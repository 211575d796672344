"""Context-level operations on any store: ``save``, ``save_delta`` and ``load``.

``save`` writes a full snapshot; ``save_delta`` writes only the keys changed since the
last save (sets and deletes) and forgets them as dirty only once the write has
committed, so a failed write loses nothing; ``load`` rebuilds a context. With
``with_history=True`` the change records are persisted too, as an audit trail that
survives restarts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

from context_lib import snapshot
from context_lib.context import Context
from context_lib.history import Change
from context_lib.persistence.base import Store
from context_lib.persistence.batch import BatchStore
from context_lib.persistence.codec import HistoryRecord, key_bytes, record_of
from context_lib.persistence.errors import HistoryMismatchError, StoreError

__all__ = ["SaveResult", "load", "save", "save_delta"]

_ABSENT: Any = object()


class SaveResult(NamedTuple):
    """What a save wrote: ``keys`` set or deleted, ``bytes`` of payload, ``history`` records."""

    keys: int
    bytes: int
    history: int = 0


def save(ctx: Context, store: Store, *, with_history: bool = False) -> SaveResult:
    """Write a full snapshot of ``ctx``: afterwards the store holds exactly its keys.

    With ``with_history=True`` the store's audit trail is replaced by the context's
    whole history. On success the context has no dirty keys left (changes made by other
    threads meanwhile stay dirty). On failure nothing is marked clean. Refused inside
    ``ctx.atomic()`` (see :meth:`Context.atomic`).
    """
    ctx._refuse_inside_atomic("save")
    marks = ctx.dirty_marks()
    data = ctx.to_dict()
    records = [record_of(c) for c in ctx.history] if with_history else []
    if isinstance(store, BatchStore):
        written = store.write(data, replace=True, history=records)
    else:
        _no_history(store, with_history)
        stored = store.keys()
        stale = [k for k in stored if k not in data]
        written = store.put_many(data)
        store.delete_many(stale)
        written += key_bytes(stale)
    ctx.mark_clean(marks)
    return SaveResult(len(data), written, len(records))


def save_delta(ctx: Context, store: Store, *, with_history: bool = False) -> SaveResult:
    """Write only the keys changed since the last save, in one transaction.

    Keys set are written, keys deleted are deleted; they stop being dirty only after
    the write has committed, so if it fails they are written by the next save. Returns
    how many keys and bytes were written.

    With ``with_history=True`` the change records made since the last save are
    appended to the store's audit trail in the same transaction. The context's history
    must continue that trail (load the context with ``load(store, with_history=True)``),
    otherwise :class:`HistoryMismatchError` is raised and nothing is written.

    On a plain :class:`Store` (only the five protocol methods) sets and deletes are two
    transactions; every bundled backend does both in one. Refused inside
    ``ctx.atomic()``: the block could still be undone, the store write could not.
    """
    ctx._refuse_inside_atomic("save_delta")
    marks = ctx.dirty_marks()
    puts: dict[str, Any] = {}
    deletes: list[str] = []
    for key in marks:
        value = ctx.get(key, _ABSENT)
        if value is _ABSENT:
            deletes.append(key)
        else:
            puts[key] = value
    records: list[HistoryRecord] = []
    history_at: int | None = None
    if with_history:
        history_at, records = _new_records(ctx, store)
    if isinstance(store, BatchStore):
        written = store.write(puts, deletes, history=records, history_at=history_at)
    else:
        _no_history(store, with_history)
        written = store.put_many(puts) if puts else 0
        if deletes:
            store.delete_many(deletes)
            written += key_bytes(deletes)
    ctx.mark_clean(marks)
    return SaveResult(len(puts) + len(deletes), written, len(records))


def load(
    store: Store, *, with_history: bool = False, clock: Callable[[], float] = time.time
) -> Context:
    """Rebuild a context from ``store``: no dirty keys, and a history only if asked for.

    With ``with_history=True`` the audit trail becomes the context's history, so later
    ``save_delta(..., with_history=True)`` calls continue it.
    """
    if isinstance(store, BatchStore):
        data = store.items()
    else:
        stored = store.keys()
        data = {k: store.get(k) for k in stored}
    if not with_history:
        return Context.from_dict(data, clock=clock)
    if not isinstance(store, BatchStore):
        raise _no_history_error(store)
    records = store.read_history()
    doc = {
        "format": snapshot.FORMAT,
        "version": snapshot.VERSION,
        "data": data,
        "history": records,
    }
    return Context.from_json(snapshot.dumps(doc), clock=clock)


def _new_records(ctx: Context, store: Store) -> tuple[int, list[HistoryRecord]]:
    """The stored trail's length and the context's records that come after it."""
    if not isinstance(store, BatchStore):
        raise _no_history_error(store)
    stored = store.history_length()
    mine = len(ctx.history)
    if stored > mine:
        raise HistoryMismatchError(
            stored,
            mine,
            f"the store's audit trail holds {stored} change record(s) but this context's "
            f"history has only {mine}: it does not continue the trail. Load the context "
            "with load(store, with_history=True) before saving with history",
        )
    if stored:
        last = store.read_history(stored - 1, stored)
        if not last or not _same_change(last[0], ctx.history[stored - 1]):
            raise HistoryMismatchError(
                stored,
                stored,
                f"change record {stored} in the store differs from this context's: the "
                "context's history does not continue the store's trail. Load the context "
                "with load(store, with_history=True) before saving with history",
            )
    return stored, [record_of(c) for c in ctx.history[stored:]]


def _same_change(stored: HistoryRecord, change: Change) -> bool:
    return stored[:4] == [change.seq, change.timestamp, change.key, change.op] and (
        stored[6] == change.who
    )


def _no_history(store: Store, with_history: bool) -> None:
    if with_history:
        raise _no_history_error(store)


def _no_history_error(store: Store) -> StoreError:
    return StoreError(
        f"{type(store).__name__} cannot persist history (it has no audit trail); "
        "use it without with_history or use one of the bundled stores"
    )
