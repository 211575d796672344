"""The core's internal layout stays consistent: the history's parallel columns.

A context keeps its history as parallel columns (``ChangeLog``: times, keys, befores,
afters, whos). These tests check that the columns stay of one length and in step with
the values after every kind of change, including rollbacks, so that a change to the
layout that forgets one place fails here rather than as a wrong history later.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from context_lib import Change, Context
from context_lib.patterns import LazyContext
from context_lib.persistence import MemoryStore
from tests.context_lib.helpers import ticking_clock


def assert_layout(ctx: Context, replay: bool = True) -> None:
    log = ctx._log
    lengths = {len(c) for c in (log.times, log.keys, log.befores, log.afters, log.whos)}
    assert lengths == {len(ctx.history)}, "history columns of different lengths"
    if replay:  # every value came in through a recorded change
        latest: dict[str, Any] = {}
        for change in ctx.history:
            if change.op == "delete":
                del latest[change.key]
            else:
                latest[change.key] = change.after
        assert latest == ctx.to_dict(), "the history does not replay to the values"


def mixed() -> Context:
    ctx = Context({"a": 1, "b": {"x": 1}, "c": [1, 2], "d": "s"}, clock=ticking_clock())
    assert_layout(ctx)
    return ctx


def test_type_changes_and_deletes_keep_the_layout() -> None:
    ctx = mixed()
    ctx.set("a", {"now": "dict"})  # scalar -> container
    ctx.set("b", 2.5)  # container -> scalar
    ctx.set("c", None)  # container -> None (a scalar, not the placeholder)
    ctx.delete("d")
    ctx.set("e", [3])  # a new container
    ctx.set("f", True)  # a new scalar
    assert_layout(ctx)
    assert ctx.to_dict() == {"a": {"now": "dict"}, "b": 2.5, "c": None, "e": [3], "f": True}
    assert list(ctx) == ["a", "b", "c", "e", "f"]  # insertion order kept across the split
    assert ctx.get("c", "default") is None and ctx["c"] is None
    assert ctx.get("d", "default") == "default"
    with pytest.raises(KeyError):
        ctx["d"]


def test_atomic_rollback_restores_values_split_and_every_history_column() -> None:
    ctx = mixed()
    before_history = list(ctx.history)
    before = ctx.to_dict()
    with pytest.raises(RuntimeError), ctx.atomic():
        ctx.set("a", [1])
        ctx.set("b", "now a scalar")
        ctx.delete("c")
        ctx.set("new", 7, who="w")
        raise RuntimeError("undo")
    assert_layout(ctx)
    assert ctx.to_dict() == before
    assert list(ctx.history) == before_history
    assert ctx._log.times == [1000.0, 1001.0, 1002.0, 1003.0]
    ctx.set("a", 2)  # seq continues gap-free after the rollback
    assert ctx.history[-1] == Change(5, 1008.0, "a", "set", 1, 2, None)


def test_merge_keeps_the_layout_when_values_change_type() -> None:
    ours = mixed()
    theirs = Context({"a": [9], "b": 3, "z": {"k": "v"}, "y": 0}, clock=ticking_clock(5000))
    report = ours.merge_from(theirs)
    assert sorted(report.applied) == ["a", "b", "y", "z"]
    assert_layout(ours)
    assert ours.to_dict() == {"a": [9], "b": 3, "c": [1, 2], "d": "s", "z": {"k": "v"}, "y": 0}


def test_snapshot_restore_and_lazy_loading_keep_the_layout() -> None:
    ctx = mixed()
    restored = Context.from_json(ctx.to_json(include_history=True))
    assert_layout(restored)
    assert restored == ctx and list(restored.history) == list(ctx.history)
    store = MemoryStore()
    store.put_many(ctx.to_dict())
    lazy = LazyContext(store)
    assert lazy.get("a") == 1 and lazy.get("b") == {"x": 1}
    lazy.set("c", "scalar now")
    assert_layout(lazy, replay=False)  # loaded values are not changes
    lazy.flush()
    assert store.get("c") == "scalar now" and store.get("b") == {"x": 1}


def test_reads_without_a_lock_see_whole_values_while_a_key_changes_type() -> None:
    ctx = Context({"k": 0})
    values: list[Any] = [1, {"d": 1}, 2, [1], 3]
    stop = threading.Event()
    seen: list[Any] = []

    def read() -> None:
        while not stop.is_set():
            seen.append(ctx.get("k", "missing"))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(20_000):
            ctx.set("k", values[i % len(values)])
    finally:
        stop.set()
        reader.join()
    assert seen, "the reader ran"
    assert all(v in values or v == 0 for v in seen), {repr(v) for v in seen if v not in values}
    assert_layout(ctx)
