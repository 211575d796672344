"""Observed values as JSON: the child encodes, the trusted parent validates and compares.

Only JSON ever crosses from the sandboxed child to the grader (never pickle). Values that
JSON cannot hold directly travel in a canonical *tagged* form, a one-key object whose key
starts with ``$``::

    {"$tuple": [...]}            a tuple (a list stays a JSON array: (1, 2) != [1, 2])
    {"$set": [...]}              a set or frozenset, elements in canonical order
    {"$dict": [[k, v], ...]}     a dict with a non-string key (or a key starting with "$")
    {"$float": "nan"|"inf"|"-inf"}
    {"$bytes": "<base64>"}
    {"$unrepresentable": "T"}    anything else (an object of type T): never matches

Subclasses of the built-in types are encoded through the built-in type's own methods, so
an object that overrides ``__eq__``, ``__iter__`` or ``__str__`` is reported by its real
contents (or as unrepresentable), never by what it claims.

The parent side (:func:`parse_observed`, :func:`values_match`) treats every message as
hostile: anything that is not exactly one of the forms above is malformed.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "SHOWN_LIMIT",
    "MalformedValue",
    "canonical_key",
    "describe",
    "encode_value",
    "parse_observed",
    "repeats_secret",
    "shown_to_learner",
    "values_match",
]

MAX_DEPTH = 60
MAX_NODES = 200_000
_TAGS = frozenset({"$tuple", "$set", "$dict", "$float", "$bytes", "$unrepresentable"})


class MalformedValue(ValueError):
    """A value reported by the child is not in the canonical JSON form."""


class _TooBig(Exception):
    pass


def encode_value(value: Any) -> Any:
    """The canonical JSON form of ``value`` (runs in the child; see the module docstring)."""
    budget = [MAX_NODES]
    try:
        return _encode(value, 0, budget)
    except _TooBig:
        return {"$unrepresentable": "value too large or too deeply nested"}


def _type_name(value: Any) -> str:
    cls = type(value)
    module = getattr(cls, "__module__", "") or ""
    name = getattr(cls, "__qualname__", "") or "object"
    return name if module in ("builtins", "__main__") else f"{module}.{name}"


def _encode(value: Any, depth: int, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise _TooBig
    if value is None or value is True or value is False:
        return value
    if isinstance(value, bool):  # pragma: no cover - bool cannot be subclassed
        return bool(value)
    if isinstance(value, int):
        return int.__add__(value, 0)
    if isinstance(value, float):
        number = float.__float__(value)
        if math.isnan(number):
            return {"$float": "nan"}
        if math.isinf(number):
            return {"$float": "inf" if number > 0 else "-inf"}
        return number
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(memoryview(value))
        return {"$bytes": base64.b64encode(raw).decode("ascii")}
    if isinstance(value, list):
        return [_encode(item, depth + 1, budget) for item in list.__iter__(value)]
    if isinstance(value, tuple):
        return {"$tuple": [_encode(item, depth + 1, budget) for item in tuple.__iter__(value)]}
    if isinstance(value, (set, frozenset)):
        items = [_encode(item, depth + 1, budget) for item in frozenset(_set_items(value))]
        return {"$set": sorted(items, key=canonical_key)}
    if isinstance(value, dict):
        pairs = [
            (_encode(k, depth + 1, budget), _encode(v, depth + 1, budget))
            for k, v in dict.items(value)
        ]
        if all(isinstance(k, str) and not k.startswith("$") for k, _ in pairs):
            return dict(pairs)
        return {"$dict": sorted(([k, v] for k, v in pairs), key=lambda kv: canonical_key(kv[0]))}
    return {"$unrepresentable": _type_name(value)}


def _set_items(value: set[Any] | frozenset[Any]) -> list[Any]:
    if isinstance(value, frozenset):
        return list(frozenset.__iter__(value))
    return list(set.__iter__(value))


def canonical_key(encoded: Any) -> str:
    """A total order on encoded values (their canonical JSON text)."""
    return json.dumps(encoded, sort_keys=True, ensure_ascii=True, separators=(",", ":"))


def parse_observed(value: Any, depth: int = 0) -> Any:
    """Validate a value decoded from the child's JSON; raise :class:`MalformedValue`."""
    if depth > MAX_DEPTH + 2:
        raise MalformedValue("value nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MalformedValue("bare non-finite float")
        return value
    if isinstance(value, list):
        return [parse_observed(item, depth + 1) for item in value]
    if isinstance(value, dict):
        tags = [key for key in value if key.startswith("$")]
        if not tags:
            return {key: parse_observed(item, depth + 1) for key, item in value.items()}
        if len(value) != 1 or tags[0] not in _TAGS:
            raise MalformedValue(f"unknown tagged form {sorted(value)[:3]!r}")
        return _parse_tagged(tags[0], value[tags[0]], depth)
    raise MalformedValue(f"unexpected JSON type {type(value).__name__}")


def _parse_tagged(tag: str, payload: Any, depth: int) -> Any:
    if tag == "$float":
        if payload not in ("nan", "inf", "-inf"):
            raise MalformedValue("bad $float payload")
        return {tag: payload}
    if tag in ("$bytes", "$unrepresentable"):
        if not isinstance(payload, str):
            raise MalformedValue(f"bad {tag} payload")
        if tag == "$bytes":
            try:
                base64.b64decode(payload.encode("ascii"), validate=True)
            except (ValueError, binascii.Error):
                raise MalformedValue("bad $bytes payload") from None
        return {tag: payload}
    if not isinstance(payload, list):
        raise MalformedValue(f"bad {tag} payload")
    if tag == "$dict":
        pairs = []
        for pair in payload:
            if not isinstance(pair, list) or len(pair) != 2:
                raise MalformedValue("bad $dict pair")
            pairs.append([parse_observed(pair[0], depth + 1), parse_observed(pair[1], depth + 1)])
        return {tag: sorted(pairs, key=lambda kv: canonical_key(kv[0]))}
    items = [parse_observed(item, depth + 1) for item in payload]
    if tag == "$set":
        items = sorted(items, key=canonical_key)
    return {tag: items}


def _contains_unrepresentable(value: Any) -> bool:
    if isinstance(value, list):
        return any(_contains_unrepresentable(item) for item in value)
    if isinstance(value, dict):
        if "$unrepresentable" in value:
            return True
        return any(_contains_unrepresentable(item) for item in value.values())
    return False


def values_match(expected: Any, got: Any, *, tolerance: float) -> bool:
    """Whether a learner's observed value equals the reference value.

    Both sides are parsed JSON forms. Numbers compare numerically (floats within
    ``tolerance``, relative or absolute; an integer too large for a float matches no
    float); booleans only equal booleans; an unrepresentable value never matches anything.
    """
    if _contains_unrepresentable(expected) or _contains_unrepresentable(got):
        return False
    return _match(expected, got, tolerance)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _match(expected: Any, got: Any, tolerance: float) -> bool:
    if isinstance(expected, bool) or isinstance(got, bool):
        return isinstance(expected, bool) and isinstance(got, bool) and expected == got
    if _is_number(expected) and _is_number(got):
        if isinstance(expected, int) and isinstance(got, int):
            return bool(expected == got)
        try:
            return math.isclose(float(expected), float(got), rel_tol=tolerance, abs_tol=tolerance)
        except OverflowError:  # an integer beyond any float matches no float
            return False
    if expected is None or isinstance(expected, str):
        return type(got) is type(expected) and bool(got == expected)
    if isinstance(expected, list):
        return (
            isinstance(got, list)
            and len(got) == len(expected)
            and all(_match(e, g, tolerance) for e, g in zip(expected, got, strict=True))
        )
    if isinstance(expected, dict) and isinstance(got, dict):
        if expected.keys() != got.keys():
            return False
        return all(_match(expected[key], got[key], tolerance) for key in expected)
    return False


def _kind(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict) and len(value) == 1:
        (key,) = value
        if key in _TAGS:
            return "float" if key == "$float" else key[1:]
    return "dict"


#: How much of a learner's value a visible check's feedback shows (see :func:`shown_to_learner`).
SHOWN_LIMIT = 40


#: A shown value sharing this many characters in a row with the test code is withheld.
SECRET_WINDOW = 10


def shown_to_learner(
    value: Any, expected: Any, limit: int = SHOWN_LIMIT, *, secret: str = ""
) -> str:
    """A learner's value as visible-check feedback shows it: short, printable, typed.

    Feedback is the one channel from the learner's process back to the learner, so it
    carries no more than a person needs to fix their code: a value of the type the check
    expects, cut to ``limit`` characters with anything unprintable replaced; a value of
    another type only as its type ("a str"). A learner who captured text in their process
    (a hidden test's source, say) cannot read it back through "got …": a value that
    repeats :data:`SECRET_WINDOW` characters of ``secret`` (the test code the learner's
    process ran) is not shown at all.
    """
    kind, wanted = _kind(value), _kind(expected)
    if kind != wanted and not {kind, wanted} <= {"int", "float"}:
        return f"a value of type {kind}"
    text = "".join(ch if ch.isprintable() else "?" for ch in _describe_capped(value, limit))
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    if secret and (_repeats(text, secret) or _repeats(_plain(value, limit), secret)):
        return f"a value of type {kind} (not shown: it repeats the notebook's test code)"
    return text


def _plain(value: Any, limit: int) -> str:
    """The strings inside ``value`` (keys and items), unescaped, up to ``limit`` each."""
    found: list[str] = []
    stack = [value]
    while stack and len(found) < limit:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item[: limit * 4])
        elif isinstance(item, list):
            stack.extend(item[:limit])
        elif isinstance(item, dict):
            for key, inner in list(item.items())[:limit]:
                stack.extend((key, inner))
    return "\n".join(found)


def repeats_secret(text: str, secret: str) -> bool:
    """Whether ``text`` repeats :data:`SECRET_WINDOW` characters in a row of ``secret``."""
    return bool(secret) and _repeats(text, secret)


def _repeats(text: str, secret: str) -> bool:
    return any(text[i : i + SECRET_WINDOW] in secret for i in range(len(text) - SECRET_WINDOW + 1))


def _describe_capped(value: Any, limit: int) -> str:
    if isinstance(value, list) and len(value) > limit:
        value = value[:limit]  # never render more than can be shown
    return describe(value, limit=limit + 1)


def describe(value: Any, limit: int = 200) -> str:
    """A short, Python-like rendering of a parsed value for feedback (truncated)."""
    text = _describe(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_describe(item) for item in value) + "]"
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, payload),) = value.items()
            if key == "$tuple":
                inner = ", ".join(_describe(item) for item in payload)
                return f"({inner},)" if len(payload) == 1 else f"({inner})"
            if key == "$set":
                return "{" + ", ".join(_describe(i) for i in payload) + "}" if payload else "set()"
            if key == "$dict":
                return "{" + ", ".join(f"{_describe(k)}: {_describe(v)}" for k, v in payload) + "}"
            if key == "$float":
                return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(payload, "?")
            if key == "$bytes":
                try:
                    return repr(base64.b64decode(str(payload).encode("ascii"), validate=True))
                except (ValueError, binascii.Error):
                    return "<bytes>"
            if key == "$unrepresentable":
                return f"<{payload} object>"
        return "{" + ", ".join(f"{key!r}: {_describe(item)}" for key, item in value.items()) + "}"
    return repr(value)
