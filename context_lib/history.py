"""Change records, kept as columns, and the read-only history view.

Internally a context keeps its changes in a :class:`ChangeLog`: one list per field
(timestamps, keys, befores, afters, who). ``seq`` is the position plus one and a delete
is the change whose ``after`` is the :data:`GONE` marker, so neither is stored. A change
therefore costs five list slots and its float timestamp, about 64 bytes, instead of a
record tuple besides (112 bytes), and recording one is five ``list.append`` calls, which
CPython specialises. (An ``array('d')`` of timestamps would save 24 more bytes, but its
``append`` costs more than building the tuple did.) :class:`Change` objects are built
only when somebody reads the history.

Writers append to ``times`` first and to ``whos`` last, and :meth:`ChangeLog.truncate`
cuts ``whos`` first: ``len(whos)`` (the log's length) never counts a half-written
change, so readers that take no lock index only complete ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple, overload

from context_lib.errors import SnapshotError
from context_lib.values import check_depth, check_keys, copy_value

SET = "set"
DELETE = "delete"

GONE: Any = type("_Gone", (), {"__repr__": lambda self: "GONE", "__slots__": ()})()
"""The ``after`` of a delete (a set's after is never this)."""


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


class ChangeLog:
    """A context's changes as parallel columns; index ``i`` is the change with seq ``i + 1``."""

    __slots__ = ("afters", "befores", "keys", "times", "whos")

    def __init__(self) -> None:
        self.times: list[float] = []
        self.keys: list[str] = []
        self.befores: list[Any] = []
        self.afters: list[Any] = []
        self.whos: list[str | None] = []

    def __len__(self) -> int:
        return len(self.whos)

    def append(self, ts: float, key: str, before: Any, after: Any, who: str | None) -> None:
        """Record one change (``after`` is :data:`GONE` for a delete)."""
        self.times.append(ts)
        self.keys.append(key)
        self.befores.append(before)
        self.afters.append(after)
        self.whos.append(who)

    def extend(
        self,
        times: Iterable[float],
        keys: Iterable[str],
        befores: Iterable[Any],
        afters: Iterable[Any],
        whos: Iterable[str | None],
    ) -> None:
        """Record many changes, given as columns of equal length."""
        self.times.extend(times)
        self.keys.extend(keys)
        self.befores.extend(befores)
        self.afters.extend(afters)
        self.whos.extend(whos)

    def truncate(self, length: int) -> None:
        """Forget every change from index ``length`` on (``atomic`` rollback)."""
        del self.whos[length:]
        del self.afters[length:]
        del self.befores[length:]
        del self.keys[length:]
        del self.times[length:]

    def snapshot_rows(self) -> list[list[Any]]:
        """The changes as snapshot rows ``[seq, timestamp, key, op, before, after, who]``.

        Call it under the context's lock: the columns must be complete.
        """
        return [
            [i, ts, key, SET, before, after, who]
            if after is not GONE
            else [i, ts, key, DELETE, before, None, who]
            for i, ts, key, before, after, who in zip(
                range(1, len(self) + 1),
                self.times,
                self.keys,
                self.befores,
                self.afters,
                self.whos,
                strict=True,
            )
        ]

    @classmethod
    def from_snapshot(cls, raw: object, shallow: bool) -> ChangeLog:
        """The log that :meth:`snapshot_rows` wrote, checked row by row.

        ``shallow`` (the snapshot parser found no deep nesting) skips the depth checks.
        Raises :class:`SnapshotError` naming the first bad row.
        """
        if not isinstance(raw, list):
            raise SnapshotError("snapshot 'history' must be a list")
        log = cls()
        for i, entry in enumerate(raw):
            if not (isinstance(entry, list) and len(entry) == 7):
                raise SnapshotError(
                    f"history entry {i} must be [seq, timestamp, key, op, before, after, who]"
                )
            seq, ts, key, op, before, after, who = entry
            if seq != i + 1 or isinstance(seq, bool):
                raise SnapshotError(f"history entry {i} has seq {seq!r}; expected {i + 1}")
            if isinstance(ts, bool) or not isinstance(ts, int | float):
                raise SnapshotError(f"history entry {i} has a timestamp that is not a number")
            if op not in (SET, DELETE):
                raise SnapshotError(f"history entry {i} has op {op!r}; expected 'set' or 'delete'")
            if not (who is None or isinstance(who, str)):
                raise SnapshotError(f"history entry {i} has a 'who' that is not a string")
            if not isinstance(key, str):
                raise SnapshotError(f"history entry {i} has a key that is not a string")
            if not shallow:
                check_depth(before, f"history[{i}].before")
                check_depth(after, f"history[{i}].after")
            log.append(ts, key, before, after if op == SET else GONE, who)
        check_keys(log.keys)
        return log

    def change(self, index: int) -> Change:
        """The public :class:`Change` at ``index`` (0-based), with copies of its values."""
        key, before, after, who = (
            self.keys[index],
            self.befores[index],
            self.afters[index],
            self.whos[index],
        )
        if after is GONE:
            return Change(index + 1, self.times[index], key, DELETE, copy_value(before), None, who)
        return Change(
            index + 1, self.times[index], key, SET, copy_value(before), copy_value(after), who
        )


class HistoryView(Sequence[Change]):
    """A read-only, live view of a context's history, in ``seq`` order."""

    __slots__ = ("_log",)

    def __init__(self, log: ChangeLog) -> None:
        self._log = log

    def __len__(self) -> int:
        return len(self._log)

    @overload
    def __getitem__(self, index: int) -> Change: ...

    @overload
    def __getitem__(self, index: slice) -> list[Change]: ...

    def __getitem__(self, index: int | slice) -> Change | list[Change]:
        log = self._log
        if isinstance(index, slice):
            return [log.change(i) for i in range(len(log))[index]]
        if index < 0:
            index += len(log)
        if not 0 <= index < len(log):
            raise IndexError("history index out of range")
        return log.change(index)

    def __iter__(self) -> Iterator[Change]:
        log = self._log
        i = 0
        while i < len(log):
            yield log.change(i)
            i += 1

    def __repr__(self) -> str:
        return f"<history of {len(self._log)} change(s)>"
