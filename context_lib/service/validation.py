"""What the service accepts: I-JSON bodies, bounded query parameters, storable text.

The service speaks I-JSON (RFC 7493), the profile of JSON that every client's parser
reads the same way: numbers are finite and integers within +-(2**53 - 1) (a
JavaScript client would silently round a larger one), and every string is valid
Unicode (no lone surrogate such as ``"\\ud800"``, which UTF-8 cannot store). Each
rule is checked while parsing or before anything is committed, and a violation is a
400 with a stable ``code``:

* ``invalid_json``   the body is not I-JSON (syntax, non-finite or out-of-range number,
                     lone surrogate, nesting deeper than the limit);
* ``invalid_text``   a string argument (``who``, a key) that UTF-8 cannot store;
* ``invalid_query``  a query parameter that is not a bounded number.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any

import orjson

from context_lib.errors import ContextError
from context_lib.service.errors import BadRequestError
from context_lib.values import check_key, own

__all__ = [
    "LIMIT_RANGES",
    "MAX_KEY_LENGTH",
    "MAX_SAFE_INTEGER",
    "check_context_name",
    "check_limits",
    "check_service_key",
    "check_text",
    "check_value",
    "parse_body",
    "query_float",
    "query_int",
]

MAX_SAFE_INTEGER = 2**53 - 1
# The largest accepted value of each limit: finite, and small enough for every backend
# (SQLite integers are 64-bit) and for date arithmetic (a century of retention).
LIMIT_RANGES: dict[str, float] = {
    "max_keys": 1e9,
    "rate": 1e6,
    "burst": 1e9,
    "retention_days": 36_500,
}
MAX_KEY_LENGTH = 256
_CONTEXT_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MAX_NUMBER_TEXT = 64  # characters of one number in a query parameter
# A JSON escape of a UTF-16 surrogate: the only way a parsed body can hold a lone one
# once the raw bytes decoded as strict UTF-8. Pairs are fine; the slow check decides.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


# Where a number could be out of range: 16 digits in a row, or an exponent. Without
# either, an integer is below 10**15 < 2**53 and a float is finite (strings that match
# only cost the slower, exact parse).
_BIG_NUMBER = re.compile(rb"[0-9]{16}|[0-9.][eE]")
# A body that may need the exact (slow) parse: a number that could be out of range, or
# an escaped UTF-16 surrogate (a lone one must be refused with its own message).
_SLOW_PARSE = re.compile(rb"[0-9]{16}|[0-9.][eE]|\\u[dD][89a-fA-F]")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # "1e309" parses to inf
        raise ValueError(f"number {text[:20]}… is out of range (not finite)")
    return value


def _safe_int(text: str) -> int:
    if len(text) > 17:  # bound the work before int() (and its 4300-digit guard) runs
        raise ValueError(f"integer {text[:20]}… is out of range (+-{MAX_SAFE_INTEGER})")
    value = int(text)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise ValueError(f"integer {text} is out of range (+-{MAX_SAFE_INTEGER})")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_body(raw: bytes) -> Any:
    """The I-JSON document in ``raw``, or :class:`BadRequestError` (``invalid_json``).

    Most bodies hold no number that could be out of range and no escaped surrogate:
    orjson parses those (strict UTF-8, no ``NaN``/``Infinity``, every integer below
    10**15). The others take the exact parse below, which names what is wrong.
    """
    if not _SLOW_PARSE.search(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # the exact parse below gives the error its usual message
    return _parse_exact(raw)


def _parse_exact(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")  # strict: encoded surrogates are refused here
        if _BIG_NUMBER.search(raw):
            data = json.loads(
                text,
                parse_constant=_no_constant,
                parse_float=_finite_float,
                parse_int=_safe_int,
            )
        else:  # every number is finite and within range: no hook per number needed
            data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise BadRequestError(
            f"request body is not valid I-JSON: {reason}", code="invalid_json"
        ) from None
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequestError(
                "request body is not valid I-JSON: a string holds a lone UTF-16 surrogate",
                code="invalid_json",
            ) from None
    return data


def check_text(value: str, what: str) -> str:
    """``value`` if UTF-8 can store it, else :class:`BadRequestError` (``invalid_text``)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequestError(
            f"{what} holds a lone UTF-16 surrogate, which cannot be stored",
            code="invalid_text",
        ) from None
    return value


def query_int(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    """A query parameter as an integer from ``low`` to ``high`` (``default`` if absent)."""
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(high))):
        # "²".isdigit() is true but int() refuses it; the length bounds int()'s work
        raise BadRequestError(
            f"query parameter {name!r} must be an integer from {low} to {high}",
            code="invalid_query",
        )
    value = int(raw)
    if not low <= value <= high:
        raise BadRequestError(
            f"query parameter {name!r} must be an integer from {low} to {high}, not {value}",
            code="invalid_query",
        )
    return value


def query_float(raw: str | None, name: str) -> float | None:
    """A query parameter as a finite number (``None`` if absent)."""
    if raw is None:
        return None
    value = math.nan
    if len(raw) <= _MAX_NUMBER_TEXT:
        with contextlib.suppress(ValueError):
            value = float(raw)
    if not math.isfinite(value):  # "nan" would silently match nothing
        raise BadRequestError(
            f"query parameter {name!r} must be a finite number", code="invalid_query"
        )
    return value


def check_context_name(name: object) -> str:
    """A context name is 1-64 characters of ``[A-Za-z0-9_-]``."""
    if not isinstance(name, str) or not _CONTEXT_RE.fullmatch(name):
        raise BadRequestError(
            f"invalid context name {name!r}: use 1-64 letters, digits, '_' or '-'",
            code="invalid_context",
        )
    return name


def check_service_key(key: object) -> str:
    """A key is a dotted context key of at most 256 characters."""
    try:
        check_key(key)
    except ContextError as exc:
        raise BadRequestError(str(exc), code="invalid_key") from exc
    assert isinstance(key, str)
    if len(key) > MAX_KEY_LENGTH:
        raise BadRequestError(
            f"key is {len(key)} characters long; the limit is {MAX_KEY_LENGTH}", code="invalid_key"
        )
    return key


def check_value(value: object, where: str) -> Any:
    """A JSON value (copied), or a 400 naming the bad part."""
    try:
        return own(value, where)
    except ContextError as exc:
        raise BadRequestError(str(exc), code="invalid_value") from exc


def check_limits(limits: Mapping[str, Any]) -> dict[str, Any]:
    """Every limit checked before anything is stored: a finite number within its range."""
    checked: dict[str, Any] = {}
    for name, value in limits.items():
        if name not in LIMIT_RANGES:
            raise BadRequestError(
                f"unknown limit {str(name)[:40]!r}; use one of {', '.join(LIMIT_RANGES)}",
                code="invalid_limit",
            )
        if name == "retention_days" and value is None:
            checked[name] = None
            continue
        integer = name in ("max_keys", "burst")
        high = LIMIT_RANGES[name]
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if (
            not number
            or not math.isfinite(value)
            or not 0 < value <= high
            or (integer and int(value) != value)
        ):
            kind = "an integer" if integer else "a number"
            raise BadRequestError(
                f"{name} must be {kind} above 0 and at most {high:g}, not {_show(value)}",
                code="invalid_limit",
            )
        checked[name] = int(value) if integer else float(value)
    return checked


def _show(value: object) -> str:
    """A short, printable rendering of a rejected value for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def encode_value(value: Any) -> bytes:
    """Compact UTF-8 JSON of a checked value; a lone surrogate is a 400 (``invalid_value``).

    orjson writes it when it can (floats may be spelled differently, ``1e16`` for
    ``1e+16``, and read back the same); an integer past 64 bits or a lone surrogate
    takes the standard library's path.
    """
    with contextlib.suppress(TypeError):
        return orjson.dumps(value)
    try:
        return _COMPACT.encode(value).encode()
    except UnicodeEncodeError:  # a lone surrogate from a direct (non-HTTP) caller
        raise BadRequestError(
            "a string in the value holds a lone UTF-16 surrogate, which cannot be stored",
            code="invalid_value",
        ) from None
