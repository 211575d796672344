"""Deterministic JSON encoding and decoding for snapshots.

orjson is fast but limited to 64-bit integers and, when decoding, silently turns a
larger integer into a float. Both directions therefore fall back to the standard
library when big integers are involved, so integers of any size round-trip exactly.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from context_lib.errors import SnapshotError

FORMAT = "context_lib.snapshot"
VERSION = 1

# An integer literal of 19+ digits may not fit in 64 bits. Matches inside strings are
# harmless: they only send the text down the slower exact path.
_MAYBE_BIG_INT = re.compile(rb"(?<![.\deE+-])-?\d{19}")


def dumps(obj: Any) -> str:
    """Compact JSON with sorted keys: the same data always gives the same text."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # an integer beyond 64 bits
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(text: str | bytes) -> Any:
    """Parse JSON text exactly (big integers stay integers; NaN and Infinity are refused)."""
    raw = text.encode() if isinstance(text, str) else text
    try:
        if _MAYBE_BIG_INT.search(raw) is None:
            return orjson.loads(raw)
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"snapshot is not valid JSON: {exc}") from None
