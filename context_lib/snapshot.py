"""Deterministic JSON encoding and decoding for snapshots.

orjson is fast but limited to 64-bit integers and, when decoding, silently turns a
larger integer into a float. Both directions therefore fall back to the standard
library when big integers are involved, so integers of any size round-trip exactly.
"""

from __future__ import annotations

import json
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


def dumps(obj: Any) -> str:
    """Compact JSON: the same data, inserted in the same order, always gives the same text.

    Top-level keys keep their order (a restored context iterates like the original);
    dicts inside values have sorted keys (contexts store them that way), so equal
    values always encode the same. Re-sorting 100k keys here would cost more than
    encoding them.
    """
    try:
        return orjson.dumps(obj).decode()
    except TypeError:  # an integer beyond 64 bits, or a string orjson cannot encode
        # ensure_ascii escapes lone surrogates too, so the text is always valid UTF-8.
        return json.dumps(obj, separators=(",", ":"))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(text: str | bytes) -> Any:
    """Parse JSON text exactly (big integers stay integers; NaN and Infinity are refused)."""
    try:
        raw = text.encode() if isinstance(text, str) else text
        if _LONG_DIGIT_RUN not in raw.translate(_DIGITS_AS_ONES):
            return orjson.loads(raw)
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeError) as exc:
        raise SnapshotError(f"snapshot is not valid JSON: {exc}") from None
