"""Three-way merges, merging many workers, reducers, and properties (hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from context_lib import Context, ContextError, MergeConflictError
from context_lib.merge import (
    DELETED,
    ReduceError,
    concat_namespace,
    max_namespace,
    merge3,
    merge_all,
    min_namespace,
    reduce_namespace,
    sum_namespace,
)
from tests.context_lib.helpers import ticking_clock

# ---------------------------------------------------------------------- merge3


def test_one_sided_changes_are_taken_from_that_side() -> None:
    base = {"a": 1, "b": 1, "c": 1, "d": 1}
    ours = {"a": 2, "b": 1, "c": 1, "d": 1, "new.ours": True}
    theirs = {"a": 1, "b": 3, "d": 1, "new.theirs": [1]}  # theirs deleted "c"
    merged, report = merge3(base, ours, theirs, clock=ticking_clock())
    assert merged.to_dict() == {"a": 2, "b": 3, "d": 1, "new.ours": True, "new.theirs": [1]}
    assert report.conflicts == []
    assert sorted(report.applied) == ["a", "b", "c", "new.ours", "new.theirs"]
    assert {c.key: (c.op, c.who) for c in merged.history} == {
        "a": ("set", "merge:ours"),
        "b": ("set", "merge:theirs"),
        "c": ("delete", "merge:theirs"),
        "new.ours": ("set", "merge:ours"),
        "new.theirs": ("set", "merge:theirs"),
    }


def test_the_same_change_on_both_sides_is_no_conflict() -> None:
    merged, report = merge3({"a": 1}, {"a": 5}, {"a": 5}, names=("w1", "w2"))
    assert merged.to_dict() == {"a": 5}
    assert report.conflicts == []
    assert merged.history[0].who == "merge:w1+w2"


def test_conflicts_are_resolved_by_strategy_and_always_reported() -> None:
    base, ours, theirs = {"k": 1, "gone": 1}, {"k": 2, "gone": 9}, {"k": 3}
    for strategy, expected in [
        ("ours", {"k": 2, "gone": 9}),
        ("theirs", {"k": 3}),
        (lambda key, o, t: DELETED if DELETED in (o, t) else o + t, {"k": 5}),
    ]:
        merged, report = merge3(base, ours, theirs, strategy)
        assert merged.to_dict() == expected
        assert [(c.key, c.ours, c.theirs) for c in report.conflicts] == [
            ("k", 2, 3),
            ("gone", 9, DELETED),
        ]


def test_raise_strategy_lists_every_conflict() -> None:
    with pytest.raises(MergeConflictError, match="2 merge conflict") as info:
        merge3({"a": 1, "b": 1}, {"a": 2, "b": 2}, {"a": 3, "b": 3}, "raise")
    assert [c.key for c in info.value.conflicts] == ["a", "b"]


def test_last_writer_wins_uses_change_times() -> None:
    base = Context.from_dict({"a": 0, "b": 0})
    ours = Context.from_dict(base.to_dict(), clock=ticking_clock(100))
    theirs = Context.from_dict(base.to_dict(), clock=ticking_clock(200))
    ours.set("a", 1)  # t=100
    theirs.set("a", 2)  # t=200: later
    theirs.set("b", 2)  # t=201
    ours.set("b", 1)  # t=101 ... but then ours changes b again later:
    ours_late = Context.from_dict(ours.to_dict(), clock=ticking_clock(300))
    ours_late.set("b", 7)
    merged, report = merge3(base, ours, theirs)
    assert merged.to_dict() == {"a": 2, "b": 2}
    merged, _ = merge3(base, ours_late, theirs)
    assert merged["b"] == 7
    assert len(report.conflicts) == 2


def test_inputs_are_not_changed_and_bad_inputs_are_clear() -> None:
    ours = Context({"a": 1})
    merge3({}, ours, {"a": 2})
    assert ours.to_dict() == {"a": 1}
    with pytest.raises(ContextError, match="unknown merge strategy 'newest'"):
        merge3({}, {}, {}, "newest")
    with pytest.raises(ContextError, match="theirs must be a Context or a mapping"):
        merge3({}, {}, [1])  # type: ignore[arg-type]
    with pytest.raises(ContextError, match="side name"):
        merge3({}, {}, {}, names=("", "x"))


# ---------------------------------------------------------------------- merge_all


def test_merge_all_sums_counters_and_names_the_workers() -> None:
    workers = {
        "worker-1": Context({"metrics.done": 3, "metrics.failed": 1, "config.mode": "fast"}),
        "worker-2": Context({"metrics.done": 4, "config.mode": "fast"}),
        "worker-3": Context({"metrics.done": 5, "metrics.failed": 2}),
    }
    merged, report = merge_all(workers, reducers=[sum_namespace("metrics")])
    assert merged.to_dict() == {"metrics.done": 12, "metrics.failed": 3, "config.mode": "fast"}
    assert report.conflicts == []
    who = {c.key: c.who for c in merged.history}
    assert who == {
        "metrics.done": "merge:sum(worker-1,worker-2,worker-3)",
        "metrics.failed": "merge:sum(worker-1,worker-3)",
        "config.mode": "merge:worker-1",
    }


def test_merge_all_reducers() -> None:
    workers = [
        {"logs.lines": ["a"], "peak.mem": 10, "low.lat": 5.5, "names.all": "x"},
        {"logs.lines": ["b", "c"], "peak.mem": 30, "low.lat": 2.5, "names.all": "y"},
    ]
    merged, _ = merge_all(
        workers,
        reducers=[
            concat_namespace("logs"),
            max_namespace("peak"),
            min_namespace("low"),
            reduce_namespace("names", lambda values: "+".join(values), name="join"),
        ],
    )
    assert merged.to_dict() == {
        "logs.lines": ["a", "b", "c"],
        "peak.mem": 30,
        "low.lat": 2.5,
        "names.all": "x+y",
    }
    assert merged.get_history(key="names.all")[0].who == "merge:join(worker-0,worker-1)"


def test_reducers_refuse_values_they_cannot_combine() -> None:
    with pytest.raises(ReduceError, match=r"key 'metrics.n' .*'three' is not a number"):
        merge_all([{"metrics.n": 1}, {"metrics.n": "three"}], reducers=[sum_namespace("metrics")])
    with pytest.raises(ReduceError, match="True is not a number"):
        merge_all([{"m.n": 1}, {"m.n": True}], reducers=[max_namespace("m")])
    with pytest.raises(ReduceError, match="is not a list"):
        merge_all([{"l.x": [1]}, {"l.x": 2}], reducers=[concat_namespace("l")])


def test_merge_all_conflicts_by_strategy() -> None:
    workers = [{"k": 1}, {"k": 2}, {"k": 3}]
    assert merge_all(workers, "ours")[0]["k"] == 1
    assert merge_all(workers, "theirs")[0]["k"] == 3
    assert merge_all(workers, lambda key, a, b: max(a, b))[0]["k"] == 3
    assert merge_all(workers, lambda key, a, b: a + b)[0]["k"] == 6
    _, report = merge_all(workers, "theirs")
    assert [(c.ours, c.theirs) for c in report.conflicts] == [(1, 2), (2, 3)]
    with pytest.raises(MergeConflictError):
        merge_all(workers, "raise")


def test_merge_all_last_writer_wins() -> None:
    early = Context(clock=ticking_clock(100))
    late = Context(clock=ticking_clock(200))
    late.set("k", "late")
    early.set("k", "early")
    assert merge_all({"late": late, "early": early})[0]["k"] == "late"


def test_merge_all_with_a_base_counts_only_changes() -> None:
    base = {"metrics.done": 10, "log.lines": ["start"], "cfg.a": 1, "cfg.b": 1}
    w1 = {"metrics.done": 13, "log.lines": ["start", "w1"], "cfg.a": 2, "cfg.b": 1}
    w2 = {"metrics.done": 15, "log.lines": ["start", "w2"], "cfg.a": 1}  # deleted cfg.b
    merged, report = merge_all(
        [w1, w2], base=base, reducers=[sum_namespace("metrics"), concat_namespace("log")]
    )
    assert merged.to_dict() == {
        "metrics.done": 18,  # 10 + 3 + 5
        "log.lines": ["start", "w1", "w2"],
        "cfg.a": 2,  # only worker-0 changed it: no conflict with worker-1's stale copy
    }
    assert report.conflicts == []
    assert merged.get_history(key="cfg.b")[0].who == "merge:worker-1"


def test_merge_all_bad_inputs() -> None:
    with pytest.raises(ContextError, match="reducers must be Reducer objects"):
        merge_all([{}], reducers=[sum])  # type: ignore[list-item]
    with pytest.raises(ContextError, match="needs a mapping"):
        merge_all("abc")  # type: ignore[arg-type]
    with pytest.raises(ContextError, match="worker name"):
        merge_all({"": {}})
    assert merge_all([])[0].to_dict() == {}


# ---------------------------------------------------------------------- properties

keys = st.sampled_from(["a", "b", "c", "n.x", "n.y"])
values = st.one_of(st.integers(-5, 5), st.text(max_size=2), st.lists(st.integers(0, 3), max_size=2))
contexts = st.dictionaries(keys, values, max_size=5)
strategies = st.sampled_from(["ours", "theirs", "last_writer_wins"])


@settings(max_examples=150, deadline=None)
@given(base=contexts, theirs=contexts, strategy=strategies)
def test_merge3_with_base_equal_to_ours_yields_theirs(
    base: dict[str, Any], theirs: dict[str, Any], strategy: str
) -> None:
    merged, report = merge3(base, dict(base), theirs, strategy)
    assert merged.to_dict() == theirs
    assert report.conflicts == []


@settings(max_examples=150, deadline=None)
@given(base=contexts, ours=contexts, theirs=contexts)
def test_symmetric_strategies_are_symmetric(
    base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]
) -> None:
    def outcome(a: dict[str, Any], b: dict[str, Any], strategy: Any) -> Any:
        try:
            return merge3(base, a, b, strategy)[0].to_dict()
        except MergeConflictError as exc:
            return sorted(c.key for c in exc.conflicts)

    assert outcome(ours, theirs, "raise") == outcome(theirs, ours, "raise")

    def larger(key: str, a: Any, b: Any) -> Any:  # commutative: a symmetric resolver
        if a is DELETED or b is DELETED:
            return DELETED
        return max(a, b, key=lambda v: (type(v).__name__, repr(v)))

    assert outcome(ours, theirs, larger) == outcome(theirs, ours, larger)
    assert outcome(ours, theirs, "ours") == outcome(theirs, ours, "theirs")


@settings(max_examples=200, deadline=None)
@given(base=contexts, ours=contexts, theirs=contexts, strategy=strategies)
def test_no_change_is_lost_without_appearing_in_the_report(
    base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any], strategy: str
) -> None:
    merged, report = merge3(base, ours, theirs, strategy)
    result = merged.to_dict()
    conflicted = {c.key for c in report.conflicts}
    for side in (ours, theirs):
        for key in set(base) | set(side):
            changed = base.get(key, DELETED) != side.get(key, DELETED)
            if changed and key not in conflicted:
                assert result.get(key, DELETED) == side.get(key, DELETED)
    for key in set(result) | set(base):
        if result.get(key, DELETED) != base.get(key, DELETED):
            assert key in report.applied


@settings(max_examples=100, deadline=None)
@given(
    workers=st.lists(st.dictionaries(st.sampled_from(["m.a", "m.b"]), st.integers()), max_size=5)
)
def test_sum_namespace_adds_every_workers_counters(workers: list[dict[str, int]]) -> None:
    merged, _ = merge_all(workers, reducers=[sum_namespace("m")])
    for key in ("m.a", "m.b"):
        holders = [w[key] for w in workers if key in w]
        if holders:
            assert merged[key] == sum(holders)
        else:
            assert key not in merged
