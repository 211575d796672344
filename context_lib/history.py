"""Change records and the read-only history view.

Internally a context keeps each change as a plain tuple
``(timestamp, key, op, before, after, who)``; ``seq`` is the position in the list plus
one, so it is not stored. That keeps a change at about 130 bytes and recording one
cheap. :class:`Change` objects are built only when somebody reads the history.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, overload

from context_lib.values import copy_value

SET = "set"
DELETE = "delete"

Record = tuple[float, str, str, Any, Any, str | None]


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
    ts, key, op, before, after, who = record
    return Change(index + 1, ts, key, op, copy_value(before), copy_value(after), who)


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
