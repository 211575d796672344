"""``merge_from`` against a reference written without its shortcuts.

``merge_from`` finds new keys and clashes in one pass over the other side, and under
``last_writer_wins`` skips indexing both histories when the other side's earliest change
is later than all of ours. That shortcut is only right if every key the other side holds
has a change in its history; contexts restored without one (``from_dict``, a snapshot
without history, a lazy context's loaded values) must take the long way. The reference
below does everything per key, from the histories.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from context_lib import Context
from context_lib.history import GONE
from context_lib.patterns import LazyContext
from context_lib.persistence import MemoryStore
from context_lib.values import same_value
from tests.context_lib.helpers import ticking_clock
from tests.context_lib.test_context_properties import json_values, relaxed

KEYS = ["a", "b", "c.d", "c.e", "f"]
values = st.none() | st.sampled_from([0, 1, 1.0, True, "x", [1], [1.0], {"k": 1}]) | json_values


def last_change_times(ctx: Context) -> dict[str, float]:
    return {change.key: change.timestamp for change in ctx.history}


def reference_merge(ours: Context, theirs: Context) -> tuple[dict[str, Any], list[str]]:
    """What ``ours.merge_from(theirs)`` must leave in ``ours``, and the keys it changes,
    decided key by key: theirs wins a clash if its last change is not older than ours
    (a key without a change in a history counts as changed at minus infinity). New keys
    are applied first, then the clashes theirs won, each in theirs' order."""
    data, mine, their_times = ours.to_dict(), last_change_times(ours), last_change_times(theirs)
    added, won = [], []
    for key, value in theirs.to_dict().items():
        if key not in data:
            added.append(key)
        elif not same_value(data[key], value) and their_times.get(key, -math.inf) >= mine.get(
            key, -math.inf
        ):
            won.append(key)
    theirs_data = theirs.to_dict()
    data.update({key: theirs_data[key] for key in added + won})
    return data, added + won


Build = Callable[[dict[str, Any], list[tuple[str, Any]], float], Context]


def fresh(start: dict[str, Any], changes: list[tuple[str, Any]], t0: float) -> Context:
    ctx = Context(start, clock=ticking_clock(t0))
    _apply(ctx, changes)
    return ctx


def restored_from_dict(start: dict[str, Any], changes: list[tuple[str, Any]], t0: float) -> Context:
    ctx = Context.from_dict(start, clock=ticking_clock(t0))  # start's keys have no history
    _apply(ctx, changes)
    return ctx


def restored_without_history(
    start: dict[str, Any], changes: list[tuple[str, Any]], t0: float
) -> Context:
    text = Context(start, clock=ticking_clock(0)).to_json()
    ctx = Context.from_json(text, clock=ticking_clock(t0))
    _apply(ctx, changes)
    return ctx


def restored_with_history(
    start: dict[str, Any], changes: list[tuple[str, Any]], t0: float
) -> Context:
    text = Context(start, clock=ticking_clock(t0 - 50)).to_json(include_history=True)
    ctx = Context.from_json(text, clock=ticking_clock(t0))
    _apply(ctx, changes)
    return ctx


def lazy(start: dict[str, Any], changes: list[tuple[str, Any]], t0: float) -> Context:
    store = MemoryStore()
    store.put_many(start)
    ctx = LazyContext(store, clock=ticking_clock(t0))
    _apply(ctx, changes)
    return ctx


def rolled_back(start: dict[str, Any], changes: list[tuple[str, Any]], t0: float) -> Context:
    ctx = fresh(start, changes, t0)
    try:
        with ctx.atomic():
            ctx.set("rolled.back", 1)
            for key in list(ctx):
                ctx.delete(key)
            raise RuntimeError("undo")
    except RuntimeError:
        pass
    return ctx


def _apply(ctx: Context, changes: list[tuple[str, Any]]) -> None:
    for key, value in changes:
        if value is GONE:
            if key in ctx:
                ctx.delete(key)
        else:
            ctx.set(key, value)


BUILDS: list[Build] = [
    fresh,
    restored_from_dict,
    restored_without_history,
    restored_with_history,
    lazy,
    rolled_back,
]
sides = st.tuples(
    st.sampled_from(BUILDS),
    st.dictionaries(st.sampled_from(KEYS), values, max_size=5),
    st.lists(st.tuples(st.sampled_from(KEYS), values | st.just(GONE)), max_size=6),
    st.sampled_from([0.0, 100.0, 1000.0]),  # when the side's own changes start
)


@settings(relaxed, max_examples=400)
@given(sides, sides)
def test_last_writer_wins_matches_the_per_key_reference(ours_side: Any, theirs_side: Any) -> None:
    build, start, changes, t0 = ours_side
    ours = build(start, changes, t0)
    build, start, changes, t0 = theirs_side
    theirs = build(start, changes, t0)
    expected, applied = reference_merge(ours, theirs)
    history_before = len(ours.history)

    report = ours.merge_from(theirs)

    assert ours.to_dict() == expected
    assert all(same_value(ours.get(k), v) for k, v in expected.items())
    assert report.applied == applied
    assert [c.key for c in ours.history[history_before:]] == applied


def test_a_key_restored_without_history_loses_to_an_older_change() -> None:
    """The case the shortcut must not take: theirs' only change (t=500) is later than
    ours (t=100), but its key ``a`` came from ``from_dict`` and has no change at all."""
    ours = Context(clock=ticking_clock(100))
    ours.set("a", "ours")
    for build in (restored_from_dict, restored_without_history, lazy):
        theirs = build({"a": "theirs"}, [("b", 1)], 500)
        target = Context.from_json(ours.to_json(include_history=True))
        report = target.merge_from(theirs)
        assert target.get("a") == "ours", build.__name__
        assert report.applied == ["b"]
        assert [c.key for c in report.conflicts] == ["a"]


def test_a_later_side_with_every_key_changed_wins_every_clash() -> None:
    ours = Context({"a": 1, "b": 2, "n": None}, clock=ticking_clock(100))
    theirs = Context({"a": 10, "b": 2, "n": None, "z": None}, clock=ticking_clock(500))
    report = ours.merge_from(theirs)
    assert ours.to_dict() == {"a": 10, "b": 2, "n": None, "z": None}
    assert report.applied == ["z", "a"]  # new keys first; None on both sides is no change
