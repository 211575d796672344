"""How stores encode keys, values and change records (one JSON text per value).

Every backend stores a value as its deterministic JSON text (:func:`encode_value`), so
big integers round-trip exactly and the byte counts backends report are comparable:
the size of a write is the UTF-8 length of every key plus every encoded value.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, TypeAlias

from context_lib import snapshot
from context_lib.errors import SnapshotError
from context_lib.history import Change
from context_lib.persistence.errors import CorruptStoreError
from context_lib.values import check_key, check_keys, check_prefix, own

__all__ = [
    "HistoryRecord",
    "decode",
    "decode_record",
    "encode_items",
    "encode_record",
    "encode_value",
    "key_bytes",
    "prefix_bounds",
    "record_of",
    "valid_keys",
]

HistoryRecord: TypeAlias = list[Any]
"""A stored change: ``[seq, timestamp, key, op, before, after, who]`` (the snapshot format)."""


def encode_items(items: Mapping[str, Any]) -> tuple[list[tuple[str, str]], int]:
    """Validate keys and values, encode every value; return the pairs and their byte size.

    Everything is checked before the caller writes anything: a bad key raises
    :class:`~context_lib.InvalidKeyError`, a value that is not JSON raises
    :class:`~context_lib.NotSerializableError` naming the key.
    """
    _check_all(items)
    pairs: list[tuple[str, str]] = []
    size = 0
    for key, value in items.items():
        text = encode_value(own(value, f"value[{key!r}]"))
        pairs.append((key, text))
        size += len(key.encode()) + len(text.encode())
    return pairs, size


def encode_value(value: Any) -> str:
    """Deterministic JSON text of an already-validated value (sorted keys, exact big ints)."""
    return snapshot.dumps(value, sort_keys=True)


def valid_keys(keys: Iterable[str]) -> list[str]:
    """The keys as a list without duplicates, each checked to be a valid dotted key."""
    unique = list(dict.fromkeys(keys))
    _check_all(unique)
    return unique


def _check_all(keys: Collection[str]) -> None:
    check_keys(keys)
    if "" in keys:  # belt and braces: the empty key must never reach a backend
        check_key("")


def key_bytes(keys: Iterable[str]) -> int:
    """The byte size of deleting ``keys``: the UTF-8 length of their names."""
    return sum(len(k.encode()) for k in keys)


def decode(text: str | bytes, where: str) -> Any:
    """Parse one stored value; :class:`CorruptStoreError` names ``where`` when it is not JSON."""
    try:
        return snapshot.loads(text)
    except SnapshotError as exc:
        raise CorruptStoreError(where, str(exc)) from None


def record_of(change: Change) -> HistoryRecord:
    """The stored form of a change record."""
    return [
        change.seq,
        change.timestamp,
        change.key,
        change.op,
        change.before,
        change.after,
        change.who,
    ]


def encode_record(record: HistoryRecord) -> str:
    """One change record as a line of JSON."""
    return encode_value(record)


def decode_record(text: str | bytes, where: str) -> HistoryRecord:
    """Parse one stored change record, checking its shape."""
    record = decode(text, where)
    if not (isinstance(record, list) and len(record) == 7):
        raise CorruptStoreError(
            where, "a change record must be [seq, ts, key, op, before, after, who]"
        )
    return record


def prefix_bounds(prefix: str) -> tuple[str, str]:
    """``(low, high)`` such that keys under ``prefix.`` are exactly ``low <= key < high``.

    ``/`` is the character after ``.``, so the range holds every ``prefix.…`` key.
    """
    start = check_prefix(prefix)
    return start + ".", start + "/"
