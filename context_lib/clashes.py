"""What :meth:`Context.merge_from` finds and reports: clashes, conflicts, merge reports.

Merges routinely bring thousands of keys, so the work runs in C over columns
(keys, our values, their values): ``filter``, ``map`` and ``compress`` instead of a
Python loop per key. Values here are stored values, never mutated in place, so a report
may hold them and copy them only when somebody reads its conflicts.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from itertools import compress
from typing import Any, NamedTuple, TypeAlias

from context_lib.values import copy_value, same_value

__all__ = ["Columns", "Conflict", "MergeReport", "clashes", "conflicts_of", "last_change_times"]

Columns: TypeAlias = tuple[list[str], list[Any], list[Any]]  # keys, values, values
_CONTAINERS = frozenset({list, dict})
_new_tuple = tuple.__new__  # builds NamedTuples without a Python-level call


class Conflict(NamedTuple):
    """A key both sides of a merge hold, with different values."""

    key: str
    ours: Any
    theirs: Any


class MergeReport:
    """What a merge did: the keys it changed and the conflicts it met (and resolved).

    ``MergeReport(applied, conflicts)`` with two lists, compared by value like a
    dataclass. A merge hands over its keys and the conflicting stored values, and the
    lists (with copies of container values) are made when first read: a merge of
    thousands of keys whose report nobody reads does not pay for copying it.
    """

    __slots__ = ("_applied", "_clashes", "_conflicts")

    def __init__(
        self, applied: list[str] | None = None, conflicts: list[Conflict] | None = None
    ) -> None:
        self._applied = [] if applied is None else applied
        self._conflicts: list[Conflict] | None = [] if conflicts is None else conflicts
        self._clashes: Columns = ([], [], [])

    @classmethod
    def _of(cls, applied: list[str], clashes: Columns) -> MergeReport:
        """The report of a merge that changed ``applied`` and met ``clashes``.

        The clashes' values must be stored values (never mutated in place): they are
        copied only when :attr:`conflicts` is read.
        """
        report = cls(applied)
        report._conflicts = None
        report._clashes = clashes
        return report

    @property
    def applied(self) -> list[str]:
        """The keys the merge changed, in the order it changed them."""
        return self._applied

    @applied.setter
    def applied(self, keys: list[str]) -> None:
        self._applied = keys

    @property
    def conflicts(self) -> list[Conflict]:
        """The keys both sides held with different values, with copies of both values."""
        if self._conflicts is None:
            self._conflicts = conflicts_of(self._clashes)
        return self._conflicts

    @conflicts.setter
    def conflicts(self, conflicts: list[Conflict]) -> None:
        self._conflicts = conflicts

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MergeReport):
            return NotImplemented
        return self.applied == other.applied and self.conflicts == other.conflicts

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it was

    def __repr__(self) -> str:
        return f"MergeReport(applied={self.applied!r}, conflicts={self.conflicts!r})"


def clashes(data: dict[str, Any], theirs: dict[str, Any]) -> Columns:
    """The keys both hold with different JSON values, with our and their values.

    ``!=`` runs in C over all common keys; only pairs equal in Python need a closer
    look, since JSON tells ``1``, ``1.0`` and ``True`` apart (and ``[1]`` from ``[1.0]``).
    """
    common = list(filter(data.__contains__, theirs))
    ours = list(map(data.__getitem__, common))
    their_values = list(map(theirs.__getitem__, common))
    differ = list(map(operator.ne, ours, their_values))
    for i in compress(range(len(differ)), map(operator.not_, differ)):  # equal in Python
        o, t = ours[i], their_values[i]
        if o is not t:
            differ[i] = not same_value(o, t)
    if all(differ):
        return common, ours, their_values
    return (
        list(compress(common, differ)),
        list(compress(ours, differ)),
        list(compress(their_values, differ)),
    )


def conflicts_of(clashes: Columns) -> list[Conflict]:
    """:class:`Conflict` records of ``clashes``, with copies of container values."""
    return [
        _new_tuple(
            Conflict,
            (
                key,
                o if o.__class__ not in _CONTAINERS else copy_value(o),
                t if t.__class__ not in _CONTAINERS else copy_value(t),
            ),
        )
        for key, o, t in zip(*clashes, strict=True)
    ]


def last_change_times(
    keys: Iterable[str], times: Iterable[float], prefix: str = ""
) -> dict[str, float]:
    """Each key's latest change time, from the history's key and time columns (later
    changes overwrite earlier ones), built in C."""
    if prefix:
        keys = map(prefix.__add__, keys)
    return dict(zip(keys, times, strict=True))
