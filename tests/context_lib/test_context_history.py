"""History, contributors, dirty keys and atomic blocks."""

from __future__ import annotations

import threading

import pytest

from context_lib import Change, Context
from tests.context_lib.helpers import ticking_clock


def test_every_change_is_recorded_with_seq_time_and_attribution() -> None:
    ctx = Context(clock=ticking_clock(100.0))
    ctx.set("a", 1, who="alice")
    ctx.set("a", 2, who="bob")
    ctx.delete("a", who="carol")
    assert list(ctx.history) == [
        Change(1, 100.0, "a", "set", None, 1, "alice"),
        Change(2, 101.0, "a", "set", 1, 2, "bob"),
        Change(3, 102.0, "a", "delete", 2, None, "carol"),
    ]


def test_history_is_a_read_only_sequence() -> None:
    ctx = Context({"a": 1, "b": 2, "c": 3})
    history = ctx.history
    assert len(history) == 3
    assert history[-1].key == "c"
    assert [c.seq for c in history[1:]] == [2, 3]
    with pytest.raises(IndexError):
        history[3]
    with pytest.raises(TypeError):
        history[0] = history[1]  # type: ignore[index]
    with pytest.raises(AttributeError):
        history[0].key = "x"  # type: ignore[misc]
    ctx.set("d", 4)
    assert len(history) == 4  # a live view


def test_get_history_filters_by_key_who_and_since_inclusive() -> None:
    ctx = Context(clock=ticking_clock(10.0))
    ctx.set("a", 1, who="x")  # t=10
    ctx.set("b", 1, who="y")  # t=11
    ctx.set("a", 2, who="y")  # t=12
    ctx.set("c", 1)  # t=13
    assert [c.seq for c in ctx.get_history(key="a")] == [1, 3]
    assert [c.seq for c in ctx.get_history(who="y")] == [2, 3]
    assert [c.seq for c in ctx.get_history(since=12.0)] == [3, 4]
    assert [c.seq for c in ctx.get_history(key="a", who="y", since=11.0)] == [3]
    assert ctx.get_history(key="zzz") == []


def test_contributors_counts_changes_per_who() -> None:
    ctx = Context()
    ctx.set("a", 1, who="x")
    ctx.set("b", 1, who="y")
    ctx.set("a", 2, who="x")
    ctx.set("c", 3)
    assert ctx.contributors() == {"x": 2, "y": 1, None: 1}


def test_dirty_keys_in_first_change_order_and_cleared_by_pop() -> None:
    ctx = Context()
    ctx.set("b", 1)
    ctx.set("a", 1)
    ctx.set("b", 2)
    ctx.delete("a")
    assert ctx.dirty_keys == frozenset({"a", "b"})
    assert ctx.pop_dirty_keys() == ["b", "a"]
    assert ctx.dirty_keys == frozenset()
    assert ctx.pop_dirty_keys() == []


def test_mark_clean_keeps_keys_changed_after_the_marks_were_taken() -> None:
    ctx = Context({"a": 1, "b": 1})
    marks = ctx.dirty_marks()
    ctx.set("b", 2)  # changed while "being written"
    ctx.mark_clean(marks)
    assert ctx.dirty_keys == {"b"}


def test_atomic_undoes_data_history_and_dirty_keys() -> None:
    ctx = Context({"a": 1})
    ctx.pop_dirty_keys()
    with pytest.raises(RuntimeError), ctx.atomic():
        ctx.set("a", 2)
        ctx.set("b", 3)
        ctx.delete("a")
        raise RuntimeError("boom")
    assert ctx.to_dict() == {"a": 1}
    assert len(ctx.history) == 1
    assert not ctx.dirty_keys
    ctx.set("c", 1)
    assert ctx.history[-1].seq == 2


def test_atomic_keeps_changes_when_the_block_succeeds() -> None:
    ctx = Context()
    with ctx.atomic() as same:
        same.set("a", 1)
    assert ctx.get("a") == 1


def test_concurrent_writers_lose_nothing_and_seq_is_gap_free() -> None:
    ctx = Context()
    per_thread = 10_000

    def write(t: int) -> None:
        for i in range(per_thread):
            ctx.set(f"t{t}.k{i}", i, who=f"thread-{t}")

    threads = [threading.Thread(target=write, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ctx) == 8 * per_thread
    history = list(ctx.history)
    assert [c.seq for c in history] == list(range(1, 8 * per_thread + 1))
    assert ctx.contributors() == {f"thread-{t}": per_thread for t in range(8)}
    assert len(ctx.pop_dirty_keys()) == 8 * per_thread
    # Each thread's own changes keep their order.
    for t in range(8):
        mine = [c.after for c in history if c.who == f"thread-{t}"]
        assert mine == list(range(per_thread))
