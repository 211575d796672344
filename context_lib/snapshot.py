"""Deterministic JSON encoding and decoding for snapshots.

orjson is fast but limited to 64-bit integers and, when decoding, silently turns a
larger integer into a float. Both directions therefore fall back to the standard
library when big integers are involved, so integers of any size round-trip exactly,
including those beyond Python's 4,300-digit limit on ``int``/``str`` conversion (they
are converted through :class:`decimal.Decimal`, which has no such limit).
"""

from __future__ import annotations

import decimal
import json
import math
import sys
from typing import Any

import orjson

from context_lib.errors import SnapshotError

FORMAT = "context_lib.snapshot"
VERSION = 1

# An integer literal of 19+ digits may not fit in 64 bits. To find one fast (in C), map
# every digit to "1" and everything else to "0" and look for nineteen "1"s in a row.
# Digit runs inside strings or floats only send the text down the slower exact path.
_DIGITS_AS_ONES = bytes(0x31 if 0x30 <= b <= 0x39 else 0x30 for b in range(256))
_LONG_DIGIT_RUN = b"1" * 19


def dumps(obj: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON: the same data, inserted in the same order, always gives the same text.

    Top-level keys keep their order (a restored context iterates like the original);
    dicts inside values have sorted keys (contexts store them that way), so equal
    values always encode the same. Re-sorting 100k keys here would cost more than
    encoding them. ``sort_keys=True`` sorts the keys of every dict.
    """
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS if sort_keys else None).decode()
    except TypeError:  # an integer beyond 64 bits, or a string orjson cannot encode
        pass
    try:
        # ensure_ascii escapes lone surrogates too, so the text is always valid UTF-8.
        return json.dumps(obj, separators=(",", ":"), sort_keys=sort_keys)
    except ValueError:  # an integer beyond Python's int-to-str digit limit
        return "".join(_exact_parts(obj, sort_keys))


def _exact_parts(value: Any, sort_keys: bool) -> list[str]:
    """The JSON text of ``value`` in pieces, writing integers of any size exactly."""
    parts: list[str] = []

    def walk(v: Any) -> None:
        if v.__class__ is dict:
            parts.append("{")
            for i, (k, item) in enumerate(sorted(v.items()) if sort_keys else v.items()):
                parts.append(f"{',' if i else ''}{json.dumps(k)}:")
                walk(item)
            parts.append("}")
        elif v.__class__ is list:
            parts.append("[")
            for i, item in enumerate(v):
                if i:
                    parts.append(",")
                walk(item)
            parts.append("]")
        elif v.__class__ is int:
            parts.append(str(decimal.Decimal(v)))
        else:
            parts.append(json.dumps(v))

    walk(value)
    return parts


_INT_DIGITS_LIMIT = sys.get_int_max_str_digits() or sys.maxsize


def _exact_int(text: str) -> int:
    if len(text) < _INT_DIGITS_LIMIT:
        return int(text)
    return int(decimal.Decimal(text))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    # orjson refuses a number too large for a double; the exact path must too, or
    # ``1e400`` would come back as infinity, which is not a JSON value.
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text} is infinity when parsed as double")
    return value


def _orjson_depth_limit() -> int:
    """How deep orjson parses (1024 today); found once, so no version is assumed."""
    low, high = 1, 1 << 16
    while low < high:
        mid = (low + high + 1) // 2
        try:
            orjson.loads(b"[" * mid + b"]" * mid)
            low = mid
        except orjson.JSONDecodeError:
            high = mid - 1
    return low


_ORJSON_DEPTH = _orjson_depth_limit()


def loads_bounded(text: str | bytes, depth: int) -> tuple[Any, bool]:
    """Like :func:`loads`; the flag is ``True`` when the document is known to nest at
    most ``depth`` levels, which costs nothing extra: orjson parses it inside enough
    brackets that anything deeper would exceed its own limit."""
    pad = _ORJSON_DEPTH - depth
    raw = text.encode(errors="surrogatepass") if isinstance(text, str) else text
    if pad >= 0 and _LONG_DIGIT_RUN not in raw.translate(_DIGITS_AS_ONES):
        try:
            doc = orjson.loads(b"[" * pad + raw + b"]" * pad)
        except orjson.JSONDecodeError:
            pass  # too deep, or something only the exact path can judge
        else:
            for _ in range(pad):
                doc = doc[0]
            return doc, True
    return loads(text), False


def loads(text: str | bytes) -> Any:
    """Parse JSON text exactly (big integers stay integers; NaN and Infinity are refused)."""
    try:
        raw = text.encode() if isinstance(text, str) else text
        if _LONG_DIGIT_RUN not in raw.translate(_DIGITS_AS_ONES):
            try:
                return orjson.loads(raw)
            except orjson.JSONDecodeError:
                pass  # maybe an escaped lone surrogate, which dumps writes and json reads
        return json.loads(
            raw, parse_constant=_reject_constant, parse_float=_finite_float, parse_int=_exact_int
        )
    except (ValueError, UnicodeError) as exc:
        raise SnapshotError(f"snapshot is not valid JSON: {exc}") from None
    except RecursionError:  # the exact parser recurses per level; orjson stops at 254
        raise SnapshotError("snapshot is nested too deep to parse") from None
