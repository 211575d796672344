"""Parsing learner-controlled JSON with size, depth and node limits (never a RecursionError).

Everything the grader reads from a learner (notebooks, ``manifest.json``, a signature) goes
through :func:`load_bounded`. The bytes are size-checked first; :func:`json.loads` (C,
linear) then parses them, its own recursion guard turning absurd nesting into an error we
catch; finally an explicit-stack walk (no recursion, linear in the nodes) refuses anything
nested deeper than ``max_depth`` or holding more than ``max_nodes`` values, so no later
step — nbformat's schema validation, a copy, a serializer — ever recurses deeper than that.

Belongs with the pipeline's intake (``grader/pipeline`` after the restructure).
"""

from __future__ import annotations

import json
from typing import Any

from grader.core.errors import IntakeError

__all__ = ["NOTEBOOK_MAX_DEPTH", "SMALL_MAX_DEPTH", "load_bounded", "nesting_depth"]

#: nbformat 4 puts learner data at most ~6 levels down (cell → metadata → …); an output's
#: JSON payload may nest more. Sixty-four is generous for work, far below recursion limits.
NOTEBOOK_MAX_DEPTH = 64
#: Manifests and signatures are flat records.
SMALL_MAX_DEPTH = 8
_MAX_NODES = 2_000_000


def nesting_depth(value: Any, *, limit: int, max_nodes: int = _MAX_NODES) -> int:
    """How deeply ``value`` nests (a scalar is 0), or ``limit + 1`` as soon as it passes ``limit``.

    Raises :class:`IntakeError` past ``max_nodes`` values. Iterative: safe on any input.
    """
    deepest = 0
    nodes = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            raise IntakeError(f"holds more than {max_nodes:,} JSON values")
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        if depth > limit:
            return depth
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in children)
    return deepest


def load_bounded(
    data: bytes,
    *,
    max_bytes: int,
    max_depth: int,
    max_nodes: int = _MAX_NODES,
) -> Any:
    """``data`` parsed as UTF-8 JSON, or :class:`IntakeError` with a one-line reason.

    The reason reads after the name of what was parsed (``"notebook 01 " + reason``).
    """
    if len(data) > max_bytes:
        raise IntakeError(f"is larger than the {max_bytes:,}-byte limit")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise IntakeError("is not UTF-8 text") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IntakeError(f"is not JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise IntakeError(f"is JSON nested more than {max_depth} levels deep") from None
    except MemoryError:
        raise IntakeError("is JSON too large to read") from None
    if nesting_depth(value, limit=max_depth, max_nodes=max_nodes) > max_depth:
        raise IntakeError(f"is JSON nested more than {max_depth} levels deep")
    return value
