"""Observed values: canonical JSON in the child, hostile-input parsing and comparison."""

from __future__ import annotations

import json
import math
from collections import namedtuple
from typing import Any

import pytest

from grader.child.values import MalformedValue, describe, encode_value, parse_observed, values_match


def roundtrip(value: Any) -> Any:
    return parse_observed(json.loads(json.dumps(encode_value(value), allow_nan=False)))


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        (3, 3.0, True),
        (0.1 + 0.2, 0.3, True),
        (1, True, False),
        (0, False, False),
        ([1, 2], (1, 2), False),
        ({1, 2}, frozenset({2, 1}), True),
        ({"a": 1}, {"a": 1.0}, True),
        ({1: "x"}, {"1": "x"}, False),
        (float("nan"), float("nan"), True),
        (b"ab", b"ab", True),
        ("1", 1, False),
        (None, 0, False),
        ({"$tuple": [1]}, (1,), False),
    ],
)
def test_encoded_values_compare_like_values(left: Any, right: Any, equal: bool) -> None:
    assert values_match(roundtrip(left), roundtrip(right), tolerance=1e-9) is equal


def test_objects_that_claim_equality_are_unrepresentable_and_never_match() -> None:
    class AlwaysEqual:
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = object.__hash__

    encoded = roundtrip(AlwaysEqual())
    assert encoded["$unrepresentable"].endswith("<locals>.AlwaysEqual")
    assert not values_match(encoded, encoded, tolerance=0)


def test_subclasses_are_reported_by_their_real_contents() -> None:
    class Liar(int):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = int.__hash__

        def __repr__(self) -> str:
            return "42"

    class Sneaky(dict[str, int]):
        def items(self) -> Any:
            return [("forged", 1)]

    assert roundtrip(Liar(7)) == 7
    assert roundtrip(Sneaky(real=1)) == {"real": 1}
    point = namedtuple("point", "x y")
    assert roundtrip(point(1, 2)) == {"$tuple": [1, 2]}


def test_dict_keys_that_look_like_tags_cannot_forge_a_tagged_value() -> None:
    forged = roundtrip({"$tuple": [1, 2]})
    assert not values_match(roundtrip((1, 2)), forged, tolerance=0)


def test_deep_or_huge_values_are_unrepresentable() -> None:
    deep: list[Any] = []
    for _ in range(200):
        deep = [deep]
    assert "$unrepresentable" in roundtrip(deep)
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    assert "$unrepresentable" in roundtrip(cyclic)


@pytest.mark.parametrize(
    "hostile",
    [
        {"$eval": "1"},
        {"$tuple": "not a list"},
        {"$set": [1], "extra": 2},
        {"$dict": [[1]]},
        {"$float": "1e999"},
        math.inf,
        {"$bytes": 5},
        {"$bytes": "a"},
        {"$bytes": "not base64!"},
        {"$bytes": "é"},
    ],
)
def test_malformed_values_are_rejected(hostile: Any) -> None:
    with pytest.raises(MalformedValue):
        parse_observed(hostile)


def test_describe_renders_python_like_text_and_truncates() -> None:
    assert describe(roundtrip({"a": (1, "x"), "b": {2}})) == "{'a': (1, 'x'), 'b': {2}}"
    assert describe(list(range(1000)), limit=20).endswith("…")
    assert len(describe(list(range(1000)), limit=20)) == 20


def test_integers_beyond_any_float_match_no_float_instead_of_raising() -> None:
    assert not values_match(1.5, 10**400, tolerance=1e-9)
    assert not values_match(10**400, 1.5, tolerance=1e-9)
    assert values_match(10**400, 10**400, tolerance=1e-9)


def test_class_lies_cannot_dress_an_object_up_as_a_builtin_value() -> None:
    class PosingAsInt:
        @property  # type: ignore[misc]
        def __class__(self) -> type:
            return int

    class PosingAsDict:
        @property  # type: ignore[misc]
        def __class__(self) -> type:
            return dict

    for poser in (PosingAsInt(), PosingAsDict()):
        with pytest.raises(TypeError):
            encode_value(poser)  # the child then reports an error: never a match


def test_visible_feedback_shows_only_short_printable_values_of_the_expected_type() -> None:
    from grader.child.values import SHOWN_LIMIT, shown_to_learner

    smuggled = "observe('large numbers', add(10**12, 10**12))\n" * 20
    assert shown_to_learner(smuggled, {"a": 2}) == "a value of type str"
    assert shown_to_learner([smuggled], 3) == "a value of type list"
    as_key = shown_to_learner({smuggled: 1}, {"a": 2})
    assert len(as_key) <= SHOWN_LIMIT and "\n" not in as_key and as_key.endswith("…")
    assert shown_to_learner(2.5, 3) == "2.5"  # numbers compare across int and float
    assert shown_to_learner("a\x1b[2Jb", "x").isprintable()
    assert shown_to_learner({"$tuple": [1, 2]}, {"$tuple": [1]}) == "(1, 2)"
