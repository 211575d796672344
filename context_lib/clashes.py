"""What :meth:`Context.merge_from` finds and reports: clashes, conflicts, merge reports.

Merges routinely bring thousands of keys, so the work runs in C over columns
(keys, our values, their values): ``filter``, ``map`` and ``compress`` instead of a
Python loop per key. Values here are stored values, never mutated in place, so a report
may hold them and copy them only when somebody reads its conflicts.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable
from itertools import compress, repeat
from typing import Any, NamedTuple, TypeAlias

from context_lib.errors import ContextError
from context_lib.history import ChangeLog
from context_lib.values import copy_value, own, same_value

__all__ = [
    "STRATEGIES",
    "Columns",
    "Conflict",
    "MergeReport",
    "MergeStrategy",
    "Resolver",
    "conflicts_of",
    "last_change_times",
    "resolve",
    "resolver_of",
    "split",
]

Columns: TypeAlias = tuple[list[str], list[Any], list[Any]]  # keys, values, values
Resolver: TypeAlias = Callable[[str, Any, Any], Any]
MergeStrategy: TypeAlias = str | Resolver
STRATEGIES = ("last_writer_wins", "ours", "theirs", "raise")
_NO_TIME = -math.inf
_ABSENT: Any = object()  # a key ``data`` does not hold (``None`` is a value)
_FLIP = bytes.maketrans(b"\0\1", b"\1\0")  # swaps 0 and 1 in a mask of bytes
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


def split(data: dict[str, Any], theirs: dict[str, Any]) -> tuple[list[str], list[Any], Columns]:
    """``theirs`` against ``data``: the keys only ``theirs`` holds with their values, and
    the clashes (keys both hold with different JSON values, with our and their values).

    One lookup per key of ``theirs``, in C: the pass that finds our value also tells a new
    key from a common one, and their values come from ``theirs.values()`` without a second
    lookup. ``!=`` runs in C over the common keys; only pairs equal in Python need a closer
    look, since JSON tells ``1``, ``1.0`` and ``True`` apart (and ``[1]`` from ``[1.0]``).
    """
    their_keys = list(theirs)
    their_values = list(theirs.values())
    ours_all = list(map(data.get, their_keys, repeat(_ABSENT)))
    absent = bytes(map(operator.is_, ours_all, repeat(_ABSENT)))  # 1 where only theirs has it
    new_keys = list(compress(their_keys, absent))
    new_values = list(compress(their_values, absent))
    if len(new_keys) == len(their_keys):
        return new_keys, new_values, ([], [], [])
    common_at = absent.translate(_FLIP)  # the complement, in one C call
    common = list(compress(their_keys, common_at))
    ours = list(compress(ours_all, common_at))
    theirs_common = list(compress(their_values, common_at))
    differ = list(map(operator.ne, ours, theirs_common))
    for i in compress(range(len(differ)), map(operator.not_, differ)):  # equal in Python
        o, t = ours[i], theirs_common[i]
        if o is not t:
            differ[i] = not same_value(o, t)
    if all(differ):
        return new_keys, new_values, (common, ours, theirs_common)
    return (
        new_keys,
        new_values,
        (
            list(compress(common, differ)),
            list(compress(ours, differ)),
            list(compress(theirs_common, differ)),
        ),
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


def resolver_of(strategy: MergeStrategy) -> Resolver | None:
    """The callable of a callable strategy, ``None`` for a named one.

    Raises :class:`ContextError` for a name that is not one of :data:`STRATEGIES`.
    """
    if callable(strategy):
        return strategy
    if strategy not in STRATEGIES:
        raise ContextError(
            f"unknown merge strategy {strategy!r}; use one of {', '.join(STRATEGIES)} or a callable"
        )
    return None


def resolve(
    found: Columns,
    strategy: MergeStrategy,
    resolver: Resolver | None,
    theirs_log: tuple[list[str], list[float], str, bool],
    our_log: ChangeLog,
) -> Columns:
    """The changes (keys, old values, new values) that resolve the clashes ``found``.

    ``theirs_log`` is the other side's history columns (keys, times), the prefix its
    keys are merged under, and whether every key it holds has a change in that history;
    ``our_log`` is ours. Not for ``"raise"``, which the caller handles before anything
    is resolved.
    """
    if strategy == "theirs":
        return found
    keys, ours, theirs = found
    if strategy == "last_writer_wins":
        # Usually the other side changed its keys after all of ours: then it wins every
        # clash. If each of its keys has a change in its history, its earliest change
        # proves that without indexing either history.
        their_keys, their_times, prefix, every_key_timed = theirs_log
        ours_latest = max(our_log.times, default=_NO_TIME)
        if every_key_timed and min(their_times, default=_NO_TIME) >= ours_latest:
            return found
        # Last-change times come from the histories; computed only when needed so that
        # ``set`` keeps no per-key timestamp.
        last = last_change_times(their_keys, their_times, prefix)
        theirs_at = list(map(last.get, keys, repeat(_NO_TIME)))
        if min(theirs_at) >= ours_latest:
            return found
        ours_last = last_change_times(our_log.keys, our_log.times)
        wins = list(map(operator.ge, theirs_at, map(ours_last.get, keys, repeat(_NO_TIME))))
        return (
            list(compress(keys, wins)),
            list(compress(ours, wins)),
            list(compress(theirs, wins)),
        )
    won: Columns = ([], [], [])
    if resolver is None:  # "ours"
        return won
    for key, o, t in zip(keys, ours, theirs, strict=True):
        merged = own(resolver(key, copy_value(o), copy_value(t)), f"merge[{key!r}]")
        if not same_value(o, merged):
            won[0].append(key)
            won[1].append(o)
            won[2].append(merged)
    return won
