"""Snapshots (to_json/from_json/from_dict) and merge_from."""

from __future__ import annotations

import json
from typing import Any

import pytest

from context_lib import (
    Conflict,
    Context,
    ContextError,
    InvalidKeyError,
    MergeConflictError,
    NotSerializableError,
    SnapshotError,
)
from tests.context_lib.helpers import ticking_clock

# ----------------------------------------------------------------- snapshots

HEAD = '{"format": "context_lib.snapshot", "version": 1, '


def test_plain_snapshot_keeps_data_but_not_history_or_dirty_keys() -> None:
    ctx = Context({"a": 1, "b.c": [1, {"d": None}]})
    restored = Context.from_json(ctx.to_json())
    assert restored == ctx
    assert len(restored.history) == 0
    assert restored.dirty_keys == frozenset()


def test_snapshot_with_history_round_trips_exactly() -> None:
    ctx = Context(clock=ticking_clock(5.5))
    ctx.set("a", 1, who="x")
    ctx.set("a", [1, 2], who="y")
    ctx.delete("a")
    ctx.set("b", "é")
    restored = Context.from_json(ctx.to_json(include_history=True))
    assert list(restored.history) == list(ctx.history)
    assert restored == ctx
    restored.set("c", 1)
    assert restored.history[-1].seq == 5


def test_snapshot_output_is_deterministic_and_keeps_key_order() -> None:
    a = Context({"x": 1, "y": {"b": 2, "a": 1}})
    b = Context({"x": 1, "y": {"a": 1, "b": 2}})
    assert a.to_json() == b.to_json()  # dict values encode the same whatever their order
    assert a.to_json() == Context.from_json(a.to_json()).to_json()
    assert json.loads(a.to_json())["data"] == {"x": 1, "y": {"a": 1, "b": 2}}
    ordered = Context({"z": 1, "a": 2, "m": 3})
    assert list(Context.from_json(ordered.to_json())) == ["z", "a", "m"]


@pytest.mark.parametrize("big", [2**64, -(2**63) - 1, 10**40, -(10**19)])
def test_integers_of_any_size_round_trip(big: int) -> None:
    ctx = Context({"big": big, "nested": [big, {"v": big}], "small": 1, "f": 1.5})
    restored = Context.from_json(ctx.to_json(include_history=True))
    assert restored.get("big") == big and type(restored.get("big")) is int
    assert restored.get("nested") == [big, {"v": big}]
    assert list(restored.history) == list(ctx.history)


def test_strings_that_look_like_big_numbers_stay_strings() -> None:
    ctx = Context({"s": "12345678901234567890123", "n": 1})
    assert Context.from_json(ctx.to_json()) == ctx


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "not a context snapshot"),
        (
            '{"format": "context_lib.snapshot", "version": 99, "data": {}}',
            "version 99 is not supported",
        ),
        ('{"format": "context_lib.snapshot", "version": 1}', "no 'data' object"),
        ('{"format": "context_lib.snapshot", "version": 1, "data": {"x": NaN}}', "not valid JSON"),
        (
            HEAD + '"data": {}, "history": [[2, 1, "a", "set", null, 1, null]]}',
            "seq 2; expected 1",
        ),
        (
            HEAD + '"data": {}, "history": [[1, 1, "a", "move", null, 1, null]]}',
            "op 'move'",
        ),
    ],
)
def test_bad_snapshots_raise_snapshot_error(text: str, message: str) -> None:
    with pytest.raises(SnapshotError, match=message):
        Context.from_json(text)


def test_snapshot_with_an_invalid_key_is_refused() -> None:
    text = '{"format": "context_lib.snapshot", "version": 1, "data": {"bad key": 1}}'
    with pytest.raises(InvalidKeyError):
        Context.from_json(text)


def test_from_dict_builds_a_clean_context() -> None:
    ctx = Context.from_dict({"a.b": [1]})
    assert ctx.get("a.b") == [1] and not ctx.history and not ctx.dirty_keys
    with pytest.raises(NotSerializableError):
        Context.from_dict({"a": {1, 2}})


# ----------------------------------------------------------------- merge_from


def _pair() -> tuple[Context, Context]:
    ours = Context(clock=ticking_clock(10.0))
    theirs = Context(clock=ticking_clock(20.0))
    ours.set("shared", "ours-old")  # t=10
    ours.set("only_ours", 1)
    theirs.set("shared", "theirs")  # t=20, later
    theirs.set("only_theirs", 2)
    ours.set("late", "ours")  # t=12
    theirs.set("late", "theirs")  # t=22
    return ours, theirs


def test_last_writer_wins_takes_the_later_change() -> None:
    ours = Context(clock=ticking_clock(100.0))
    theirs = Context(clock=ticking_clock(50.0))
    ours.set("a", "ours-newer")  # t=100
    theirs.set("a", "theirs-older")  # t=50
    theirs.set("b", "new")  # t=51
    report = ours.merge_from(theirs, who="merge:w1")
    assert ours.to_dict() == {"a": "ours-newer", "b": "new"}
    assert report.applied == ["b"]
    assert report.conflicts == [Conflict("a", "ours-newer", "theirs-older")]
    assert ours.history[-1].who == "merge:w1"


def test_last_writer_wins_takes_theirs_when_newer() -> None:
    ours, theirs = _pair()
    report = ours.merge_from(theirs)
    assert ours.get("shared") == "theirs" and ours.get("late") == "theirs"
    assert sorted(report.applied) == ["late", "only_theirs", "shared"]
    assert {c.key for c in report.conflicts} == {"shared", "late"}


@pytest.mark.parametrize(("strategy", "expected"), [("ours", "ours-old"), ("theirs", "theirs")])
def test_ours_and_theirs(strategy: str, expected: str) -> None:
    ours, theirs = _pair()
    ours.merge_from(theirs, strategy=strategy)
    assert ours.get("shared") == expected
    assert ours.get("only_theirs") == 2 and ours.get("only_ours") == 1


def test_raise_strategy_lists_every_conflict_and_changes_nothing() -> None:
    ours, theirs = _pair()
    before = ours.to_dict()
    history_length = len(ours.history)
    with pytest.raises(MergeConflictError) as info:
        ours.merge_from(theirs, strategy="raise")
    assert {c.key for c in info.value.conflicts} == {"shared", "late"}
    assert "2 merge conflict(s)" in str(info.value)
    assert ours.to_dict() == before and len(ours.history) == history_length


def test_callable_strategy_decides_the_value() -> None:
    ours = Context({"n": 1, "s": "a"})
    theirs = Context({"n": 5, "s": "b"})
    calls: list[tuple[str, Any, Any]] = []

    def resolve(key: str, mine: Any, other: Any) -> Any:
        calls.append((key, mine, other))
        return mine + other

    report = ours.merge_from(theirs, strategy=resolve)
    assert ours.to_dict() == {"n": 6, "s": "ab"}
    assert sorted(calls) == [("n", 1, 5), ("s", "a", "b")]
    assert len(report.conflicts) == 2


def test_a_failing_or_invalid_callable_changes_nothing() -> None:
    ours = Context({"a": 1, "b": 1})
    theirs = Context({"a": 2, "b": 2, "c": 3})

    def explode(key: str, mine: Any, other: Any) -> Any:
        if key == "b":
            raise RuntimeError("cannot decide")
        return other

    with pytest.raises(RuntimeError):
        ours.merge_from(theirs, strategy=explode)
    with pytest.raises(NotSerializableError, match=r"merge\['a'\]"):
        ours.merge_from(theirs, strategy=lambda k, a, b: {1, 2})
    assert ours.to_dict() == {"a": 1, "b": 1} and len(ours.history) == 2


def test_prefix_puts_the_other_context_under_a_namespace() -> None:
    ours = Context({"x": 1})
    report = ours.merge_from(Context({"x": 2, "y.z": 3}), prefix="node1")
    assert ours.to_dict() == {"x": 1, "node1.x": 2, "node1.y.z": 3}
    assert report.conflicts == []
    with pytest.raises(InvalidKeyError):
        ours.merge_from(Context(), prefix="bad prefix")


def test_merging_a_mapping_validates_it() -> None:
    ours = Context()
    ours.merge_from({"a": 1})
    assert ours.get("a") == 1
    with pytest.raises(InvalidKeyError):
        ours.merge_from({"bad key": 1})
    with pytest.raises(ContextError, match="can only merge"):
        ours.merge_from([("a", 1)])  # type: ignore[arg-type]


def test_unknown_strategy_is_a_clear_error() -> None:
    with pytest.raises(ContextError, match="unknown merge strategy 'newest'"):
        Context().merge_from(Context(), strategy="newest")


def test_merged_values_are_not_shared_mutably() -> None:
    ours, theirs = Context(), Context({"l": [1]})
    ours.merge_from(theirs)
    got = ours.get("l")
    got.append(2)
    assert theirs.get("l") == [1] and ours.get("l") == [1]


def test_strings_orjson_cannot_encode_still_round_trip() -> None:
    ctx = Context({"lone": "\ud800", "emoji": "✅", "big": 2**70})
    assert Context.from_json(ctx.to_json()) == ctx


def test_snapshot_text_that_is_not_utf8_is_a_snapshot_error() -> None:
    with pytest.raises(SnapshotError):
        Context.from_json("\ud800")
    with pytest.raises(SnapshotError):
        Context.from_json(b"\xff\xfe")


def test_a_lone_surrogate_round_trips_without_big_integers_too() -> None:
    ctx = Context({"lone": "\ud800", "n": 1})
    assert Context.from_json(ctx.to_json()) == ctx


def test_integers_past_pythons_digit_limit_round_trip() -> None:
    huge = 10**5000 + 7  # str(huge) raises ValueError: past sys.get_int_max_str_digits()
    ctx = Context({"huge": huge, "nested": {"b": [-huge], "a": "é"}}, clock=ticking_clock())
    text = ctx.to_json(include_history=True)
    restored = Context.from_json(text)
    assert restored.get("huge") == huge and restored.get("nested") == {"a": "é", "b": [-huge]}
    assert list(restored.history) == list(ctx.history)
    assert restored.to_json(include_history=True) == text


@pytest.mark.parametrize("digits", ["", ', "big": 12345678901234567890123'])
def test_a_number_too_large_for_a_float_is_refused(digits: str) -> None:
    # The second case takes the exact (big integer) decoding path.
    with pytest.raises(SnapshotError, match="infinity"):
        Context.from_json(HEAD + '"data": {"f": 1e400' + digits + "}}")


def test_merge_tells_json_values_apart_that_python_calls_equal() -> None:
    ours = Context({"a": 1, "b": [1], "c": {"x": 1}, "d": "same"}, clock=lambda: 1.0)
    theirs = Context({"a": True, "b": [1.0], "c": {"x": 1}, "d": "same"}, clock=lambda: 2.0)
    report = ours.merge_from(theirs)
    assert [c.key for c in report.conflicts] == ["a", "b"]
    assert report.applied == ["a", "b"]
    assert ours.get("a") is True and type(ours.get("b")[0]) is float
    assert len(ours.history) == 4 + 2  # the equal "c" and "d" recorded nothing


def test_merge_report_values_are_copies_made_when_read() -> None:
    ours = Context({"cfg": {"hosts": ["a"]}}, clock=lambda: 2.0)
    theirs = Context({"cfg": {"hosts": ["b"]}}, clock=lambda: 1.0)  # older: ours is kept
    report = ours.merge_from(theirs)
    assert report.applied == []
    conflict = report.conflicts[0]
    conflict.ours["hosts"].append("evil")
    conflict.theirs["hosts"].append("evil")
    assert ours.get("cfg") == {"hosts": ["a"]} and theirs.get("cfg") == {"hosts": ["b"]}
    assert report == report.__class__(
        [], [Conflict("cfg", {"hosts": ["a", "evil"]}, {"hosts": ["b", "evil"]})]
    )
    assert "cfg" in repr(report)


def test_a_key_once_holding_a_flat_value_is_copied_deeply_after_a_merge() -> None:
    # Reads copy a flat container with one C call, remembered per stored object: a
    # nested value arriving by another path (a merge) must still be copied deeply.
    ctx = Context({"cfg": {"port": 1}}, clock=lambda: 1.0)
    assert ctx.get("cfg") == {"port": 1}
    ctx.merge_from(Context({"cfg": {"hosts": ["a"]}}, clock=lambda: 2.0))
    ctx.get("cfg")["hosts"].append("evil")
    ctx["cfg"]["hosts"].append("evil")
    assert ctx.get("cfg") == {"hosts": ["a"]}
    with pytest.raises(RuntimeError), ctx.atomic():
        ctx.set("cfg", {"port": 2})
        assert ctx.get("cfg") == {"port": 2}
        raise RuntimeError("undo")
    ctx.get("cfg")["hosts"].append("evil")
    assert ctx.get("cfg") == {"hosts": ["a"]}
