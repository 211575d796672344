"""Strict JSON for documents that carry or pin signatures: one text, one meaning.

Python's :func:`json.loads` keeps the *last* of two equal keys, accepts ``NaN`` and
``Infinity``, and overflows the stack on deeply nested input. A verifier must not: a
credential with ``"name"`` twice would verify (the signature covers the last value)
while another parser, or a person reading the file, sees the first. :func:`loads_strict`
refuses all three with a :class:`ValueError` whose message is one readable line.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["loads_strict"]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"the key {key[:40]!r} appears twice in one object")
        found[key] = value
    return found


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads_strict(text: str | bytes) -> Any:
    """Parse JSON refusing duplicate keys, ``NaN``/``Infinity`` and absurd nesting.

    Raises :class:`ValueError` (:class:`json.JSONDecodeError` for syntax errors) and
    :class:`UnicodeDecodeError` for bytes that are not UTF-8.
    """
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
