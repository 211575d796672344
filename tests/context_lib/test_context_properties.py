"""Property-based tests: round-trips and merge laws hold for any data."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import context_lib
from context_lib import Context, MergeConflictError

segment = st.from_regex(r"[A-Za-z0-9_-]{1,6}", fullmatch=True)
keys = st.lists(segment, min_size=1, max_size=3).map(".".join)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)
flat_data = st.dictionaries(keys, json_values, max_size=12)

# Generation and examples run slowly on a loaded machine; that is no failure of the library.
relaxed = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)


@relaxed
@given(flat_data, st.booleans())
def test_json_round_trip_is_the_identity(data: dict[str, Any], with_history: bool) -> None:
    ctx = Context(data)
    restored = Context.from_json(ctx.to_json(include_history=with_history))
    assert restored == ctx
    assert restored.to_json(include_history=with_history) == ctx.to_json(
        include_history=with_history
    )
    if with_history:
        assert list(restored.history) == list(ctx.history)


nested_leaf = json_values.filter(lambda v: not (isinstance(v, dict) and v))
nested_data = st.recursive(
    st.dictionaries(segment, nested_leaf, min_size=1, max_size=4),
    lambda children: st.dictionaries(segment, children | nested_leaf, min_size=1, max_size=4),
    max_leaves=10,
)


@relaxed
@given(nested_data)
def test_nested_to_flat_to_nested_is_the_identity(nested: dict[str, Any]) -> None:
    ctx = Context.from_nested(nested)
    assert ctx.to_nested() == nested
    assert Context.from_nested(ctx.to_nested()) == ctx


@relaxed
@given(flat_data, flat_data)
def test_ours_keeps_every_value_we_had(
    ours_data: dict[str, Any], theirs_data: dict[str, Any]
) -> None:
    ours = Context(ours_data)
    ours.merge_from(Context(theirs_data), strategy="ours")
    for key, value in ours_data.items():
        assert ours.get(key) == value
    for key, value in theirs_data.items():
        if key not in ours_data:
            assert ours.get(key) == value


@relaxed
@given(flat_data, st.sampled_from(["last_writer_wins", "ours", "theirs", "raise"]))
def test_merging_a_context_with_itself_changes_nothing(data: dict[str, Any], strategy: str) -> None:
    ctx = Context(data)
    history_length = len(ctx.history)
    report = ctx.merge_from(Context.from_json(ctx.to_json()), strategy=strategy)
    assert report.applied == [] and report.conflicts == []
    assert len(ctx.history) == history_length


@settings(relaxed, max_examples=50)
@given(flat_data, flat_data)
def test_raise_is_all_or_nothing(ours_data: dict[str, Any], theirs_data: dict[str, Any]) -> None:
    ours = Context(ours_data)
    before, length = ours.to_json(), len(ours.history)
    try:
        report = ours.merge_from(Context(theirs_data), strategy="raise")
    except MergeConflictError as exc:
        assert exc.conflicts
        assert ours.to_json() == before and len(ours.history) == length
    else:
        assert report.conflicts == []
        for key, value in theirs_data.items():
            assert ours.get(key) == value


def test_public_api_is_curated() -> None:
    assert context_lib.__all__ == sorted(set(context_lib.__all__))
    for name in context_lib.__all__:
        assert getattr(context_lib, name).__doc__, f"{name} has no docstring"
    assert {
        "Context",
        "Change",
        "Conflict",
        "MergeReport",
        "ContextError",
        "InvalidKeyError",
        "NotSerializableError",
        "MergeConflictError",
    } <= set(context_lib.__all__)
