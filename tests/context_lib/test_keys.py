"""Which keys are valid: every check agrees with the rule, written out character by character.

The rule (``InvalidKeyError``'s docstring): one or more segments of ``[A-Za-z0-9_-]+``
joined by dots. Three code paths apply it: ``check_key`` (the pattern), ``Context.set``
on a new key (the pattern's method inline, ``check_key`` only for the message) and
``check_keys`` (a bytes translate over all keys joined by newlines). The traps: Unicode
letters and digits that ``str.isalnum`` or ``\\d`` accept, a trailing newline that ``$``
accepts, empty segments, dots at either end, newlines inside keys (``check_keys`` joins
with them), and very long keys.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from context_lib import Context, InvalidKeyError
from context_lib.values import check_key, check_keys

_ALLOWED = frozenset(string.ascii_letters + string.digits + "_-")


def rule(key: str) -> bool:
    """The key rule, without regular expressions or str predicates."""
    return all(segment and all(ch in _ALLOWED for ch in segment) for segment in key.split("."))


# Characters chosen to hit every trap, plus arbitrary text.
_TRICKY = (
    "aZ09_-."  # allowed, and the separator
    "\n\r\t \x00"  # whitespace, a trailing newline ($ accepts it), NUL
    "éßİǅＡ"  # Unicode letters (isalpha/isalnum accept them; İ lowercases to two chars)
    "٣²①𝟙"  # Unicode digits (\\d and isdigit accept some)
    "\u212a\ufb01"  # Kelvin sign (matches k under IGNORECASE), a ligature
    "\ud800/:$"  # a lone surrogate, punctuation
)
segments = st.text(alphabet=_TRICKY, max_size=6) | st.text(max_size=4)
keys = st.one_of(
    st.lists(segments, min_size=1, max_size=6).map(".".join),
    st.lists(segments, min_size=1, max_size=6).map(".".join).map(lambda k: k + "\n"),
    st.text(),
)
relaxed = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=400)


@relaxed
@given(keys)
@example("a")
@example("a\n")
@example("a.b\n")
@example("\na")
@example("a.")
@example(".a")
@example("a..b")
@example("")
@example(".")
@example("٣")
@example("a" * 100_000)
@example("a" * 100_000 + "\n")
@example("a." * 50_000 + "b")
@example("a." * 50_000)
def test_check_key_accepts_exactly_the_rule(key: str) -> None:
    if rule(key):
        assert check_key(key) == key
    else:
        with pytest.raises(InvalidKeyError) as err:
            check_key(key)
        assert err.value.key == key
        assert "\n" not in err.value.reason


@relaxed
@given(keys)
@example("a\n")
@example("x" * 100_000 + ".y")
def test_setting_a_new_key_accepts_exactly_the_rule(key: str) -> None:
    ctx = Context({"other": 1})
    if rule(key):
        ctx.set(key, 1)
        assert ctx.get(key) == 1
    else:
        with pytest.raises(InvalidKeyError):
            ctx.set(key, 1)
        assert ctx.to_dict() == {"other": 1}
        assert len(ctx.history) == 1


@relaxed
@given(st.lists(keys, max_size=6))
@example(["a", "b"])
@example(["a\nb"])
@example(["a\n", "b"])
@example(["a", "\nb"])
@example(["a", ""])
@example(["", "a"])
@example(["a.", "b"])
@example(["a", ".b"])
@example(["a\n\nb"])
def test_check_keys_refuses_exactly_the_first_key_the_rule_refuses(batch: list[str]) -> None:
    bad = [k for k in batch if not rule(k)]
    if not bad:
        check_keys(batch)
        return
    with pytest.raises(InvalidKeyError) as err:
        check_keys(batch)
    assert err.value.key == bad[0]


def test_a_str_subclass_is_refused_even_for_a_key_that_is_set() -> None:
    class Key(str):
        pass

    ctx = Context({"a": 1})
    with pytest.raises(InvalidKeyError, match="keys are strings, not Key"):
        ctx.set(Key("a"), 2)
    assert ctx.get("a") == 1
