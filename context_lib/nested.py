"""Flat dotted keys to nested dicts and back (``Context.to_nested`` / ``from_nested``).

A nested dict has one level per key segment: ``{"a.b": 1}`` is ``{"a": {"b": 1}}``. A
value that is itself a non-empty dict is written as ``{"$value": value}`` (``$`` cannot
appear in a key segment), so reading it back never mistakes it for a namespace.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from context_lib.errors import ContextError
from context_lib.values import MAX_DEPTH, copy_value

VALUE_MARK = "$value"

_MISSING: Any = object()


def nest(data: Mapping[str, Any]) -> dict[str, Any]:
    """Nested dicts of copies of ``data``'s values (dotted keys).

    Raises :class:`ContextError` naming both keys when one key is a prefix of another
    (``a`` and ``a.b``): the nested form cannot hold both.
    """
    root: dict[str, Any] = {}
    made: set[int] = {id(root)}  # dicts created here as namespaces (not values)
    for key, value in data.items():
        node = root
        parts = key.split(".")
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part, _MISSING)
            if child is _MISSING:
                child = node[part] = {}
                made.add(id(child))
            elif id(child) not in made:
                other = ".".join(parts[: depth + 1])
                raise ContextError(
                    f"cannot nest: key {other!r} is a prefix of key {key!r}; rename one of them"
                )
            node = child
        last = parts[-1]
        if last in node:
            start = key + "."
            under = next(k for k in data if k.startswith(start))
            raise ContextError(
                f"cannot nest: key {key!r} is a prefix of key {under!r}; rename one of them"
            )
        copied = copy_value(value)
        node[last] = {VALUE_MARK: copied} if copied.__class__ is dict and copied else copied
    return root


def flatten(nested: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys to values: every non-empty dict is a namespace, except ``{"$value": v}``.

    ``{}`` and every non-dict are values. Raises :class:`ContextError` for a non-string
    key, a key that appears twice, or namespaces nested deeper than ``MAX_DEPTH``.
    """
    flat: dict[str, Any] = {}
    # A depth-first walk with an explicit stack, in the order the keys are given:
    # hostile nesting cannot exhaust Python's stack.
    stack: list[tuple[Iterator[tuple[Any, Any]], str]] = [(iter(nested.items()), "")]
    while stack:
        items, path = stack[-1]
        for k, v in items:
            if k.__class__ is not str:
                raise ContextError(
                    f"nested keys must be strings; got {k!r} under {path or 'the top'}"
                )
            key = f"{path}.{k}" if path else k
            if isinstance(v, dict) and v and v.keys() != {VALUE_MARK}:
                if len(stack) >= MAX_DEPTH:
                    raise ContextError(
                        f"namespaces nested deeper than {MAX_DEPTH} levels under {path!r}"
                    )
                stack.append((iter(v.items()), key))
                break
            if key in flat:
                raise ContextError(f"key {key!r} appears twice in the nested data")
            flat[key] = v[VALUE_MARK] if isinstance(v, dict) and v else v
        else:
            stack.pop()
    return flat
