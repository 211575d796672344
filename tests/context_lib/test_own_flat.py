"""``own_flat`` (the fast path of ``set`` for flat lists and dicts) agrees with ``own``.

It must accept exactly the flat containers ``own`` accepts, return an equal copy with the
same key order (sorted) and the same element types, and step aside (``None``) for
everything else, so that ``own`` names the bad part. Sizes run on both sides of the
boundary between its loop and its C passes.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from context_lib.errors import NotSerializableError
from context_lib.values import _SMALL, own, own_flat


class Text(str):
    pass


odd_scalars = st.sampled_from(
    [math.nan, math.inf, -math.inf, 1.5, -0.0, True, False, None, 0, 2**70, "", "x"]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities included: own refuses them
    | st.text(max_size=3)
    | odd_scalars
)
not_json = st.sampled_from([(1,), {1}, b"x", object(), Text("t"), 1j])
items = scalars | not_json | st.lists(scalars, max_size=2) | st.dictionaries(st.text(), scalars)
sizes = {"max_size": _SMALL + 3}
keys = st.text(max_size=3) | st.sampled_from([1, None, (1,), Text("k")])
containers = st.lists(items, **sizes) | st.dictionaries(keys, items, **sizes)
relaxed = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=400)


NOT_FLAT = object()
REFUSED = object()


def reference(value: Any) -> Any:
    """What ``own`` must make of a container, written out without ``own_flat``:
    ``NOT_FLAT`` (something inside is a container), ``REFUSED`` or the copy."""
    inner = list(value.values()) if type(value) is dict else value
    if any(type(v) in (list, dict, tuple) for v in inner):
        return NOT_FLAT
    if type(value) is dict and any(type(k) is not str for k in value):
        return REFUSED
    for v in inner:
        if type(v) not in (str, int, float, bool, type(None)):
            return REFUSED
        if type(v) is float and not math.isfinite(v):
            return REFUSED
    return list(value) if type(value) is list else dict(sorted(value.items()))


@relaxed
@given(containers)
@example([1.5, math.nan])
@example([1, -math.inf])
@example({"a": math.nan})
@example({"b": 1, "a": 2})
@example({"": 1, "a": 2})
@example({"a": 1, "": 2})
@example([*range(_SMALL), math.inf])
@example({str(i): i for i in reversed(range(_SMALL + 1))})
def test_own_flat_is_own_for_flat_values_and_steps_aside_otherwise(value: Any) -> None:
    fast = own_flat(value)
    expected = reference(value)
    if expected is NOT_FLAT:
        assert fast is None  # own's exact path copies nested values
        return
    if expected is REFUSED:
        assert fast is None  # own then names the bad part
        with pytest.raises(NotSerializableError):
            own(value)
        return
    assert fast is not value
    assert type(fast) is type(value)
    assert fast == expected
    assert own(value) == expected
    if type(fast) is dict:
        assert list(fast) == list(expected)
        assert [type(v) for v in fast.values()] == [type(v) for v in expected.values()]
    else:
        assert [type(v) for v in fast] == [type(v) for v in expected]


@pytest.mark.parametrize("n", [0, 1, _SMALL, _SMALL + 1])
def test_own_flat_accepts_every_flat_value_own_accepts(n: int) -> None:
    values: list[Any] = [1, 2.5, "s", True, None] * (n // 5 + 1)
    as_list = values[:n]
    as_dict = {f"k{i:03}": v for i, v in reversed(list(enumerate(as_list)))}
    assert own_flat(as_list) == as_list
    assert list(own_flat(as_dict)) == sorted(as_dict)
