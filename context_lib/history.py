"""Change records and the read-only history view.

Internally a context keeps each change as a plain 5-tuple
``(timestamp, key, before, after, who)``; ``seq`` is the position in the list plus one
and a delete is the change whose ``after`` is the :data:`GONE` marker, so neither is
stored. That keeps a change at about 112 bytes (tuple, timestamp, list slot) and
recording one cheap. :class:`Change` objects are built only when somebody reads the
history.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, overload

from context_lib.values import copy_value

SET = "set"
DELETE = "delete"

GONE: Any = type("_Gone", (), {"__repr__": lambda self: "GONE", "__slots__": ()})()
"""The ``after`` of a delete record (a record's after is never this for a set)."""

Record = tuple[float, str, Any, Any, str | None]


class Change(NamedTuple):
    """One change of one key, immutable.

    ``op`` is ``"set"`` or ``"delete"``; ``before`` is ``None`` for a new key and
    ``after`` is ``None`` for a delete.
    """

    seq: int
    timestamp: float
    key: str
    op: str
    before: Any
    after: Any
    who: str | None


def make_change(index: int, record: Record) -> Change:
    """Turn the internal record at ``index`` into a public :class:`Change`."""
    ts, key, before, after, who = record
    if after is GONE:
        return Change(index + 1, ts, key, DELETE, copy_value(before), None, who)
    return Change(index + 1, ts, key, SET, copy_value(before), copy_value(after), who)


class HistoryView(Sequence[Change]):
    """A read-only, live view of a context's history, in ``seq`` order."""

    __slots__ = ("_records",)

    def __init__(self, records: list[Record]) -> None:
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> Change: ...

    @overload
    def __getitem__(self, index: slice) -> list[Change]: ...

    def __getitem__(self, index: int | slice) -> Change | list[Change]:
        records = self._records
        if isinstance(index, slice):
            positions = range(len(records))[index]
            return [make_change(i, records[i]) for i in positions]
        if index < 0:
            index += len(records)
        if not 0 <= index < len(records):
            raise IndexError("history index out of range")
        return make_change(index, records[index])

    def __iter__(self) -> Iterator[Change]:
        for i, record in enumerate(self._records):
            yield make_change(i, record)

    def __repr__(self) -> str:
        return f"<history of {len(self._records)} change(s)>"
