"""The Context: a JSON-serializable, namespaced, history-tracking state container.

Keys are dotted paths (``network.latency_v1``); values are JSON values. Every change is
recorded (who, when, before, after), changed keys are tracked as *dirty* until someone
persists them, and whole contexts can be snapshotted to JSON and merged.

Design notes
------------
* The context owns its values: they are validated and copied on the way in and copied
  on the way out, and stored values are never mutated in place. Contexts can therefore
  share stored values (merges do) without copying them.
* All changes go through one re-entrant lock, so ``seq`` is gap-free and history is in
  ``seq`` order even with many writer threads. Reads take no lock.
* History is kept as columns (``history.ChangeLog``): about 64 bytes per change.
* Dirty keys cost nothing per change: they are the history's keys from ``_clean_from``
  on, plus ``_carried`` (keys a partial :meth:`mark_clean` left dirty).
* Anything that can fail is checked before the first change is made: bad input never
  leaves a context half-changed.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from itertools import repeat
from typing import Any

from context_lib import snapshot
from context_lib.clashes import (
    STRATEGIES,
    Conflict,
    MergeReport,
    MergeStrategy,
    conflicts_of,
    resolve,
    resolver_of,
    split,
)
from context_lib.errors import ContextError, MergeConflictError, SnapshotError
from context_lib.history import GONE, Change, ChangeLog, HistoryView
from context_lib.nested import flatten, nest
from context_lib.values import (
    MAX_DEPTH,
    JSONValue,
    check_depth,
    check_key,
    check_keys,
    check_prefix,
    check_who,
    copy_value,
    match_key,
    own,
    own_flat,
    same_value,
)

__all__ = ["STRATEGIES", "Conflict", "Context", "MergeReport", "MergeStrategy"]

_MISSING: Any = object()
_SIMPLE = frozenset({str, int, bool, type(None)})
_CONTAINERS = frozenset({list, dict})


class Context:
    """A mapping of dotted keys to JSON values that remembers every change.

    >>> ctx = Context(clock=lambda: 1.0)
    >>> ctx.set("network.latency_ms", 12, who="probe")
    >>> ctx.get("network.latency_ms")
    12
    >>> ctx.namespace("network")
    {'latency_ms': 12}
    >>> [(c.seq, c.key, c.op, c.after, c.who) for c in ctx.history]
    [(1, 'network.latency_ms', 'set', 12, 'probe')]

    ``initial`` (a mapping of dotted keys to values) is applied as ordinary changes:
    they appear in the history and are dirty. ``clock`` returns epoch seconds; pass a
    fake one to make timestamps deterministic.
    """

    __slots__ = (
        "_atomic_thread",
        "_carried",
        "_clean_from",
        "_clock",
        "_data",
        "_every_key_timed",
        "_flat",
        "_history",
        "_lock",
        "_log",
    )

    def __init__(
        self,
        initial: Mapping[str, Any] | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._data: dict[str, Any] = {}
        self._flat: dict[str, Any] = {}  # key -> its stored container known to be flat
        # Whether every stored key has a change in the history (false once values were
        # restored without changes): merges then find the last writer from times alone.
        self._every_key_timed = True
        self._log = ChangeLog()
        self._clean_from = 0  # changes from this index on are dirty
        self._carried: dict[str, int] = {}  # older dirty keys -> seq of their last change
        self._history = HistoryView(self._log)
        self._lock = threading.RLock()
        self._atomic_thread: int | None = None  # the thread inside atomic(), if any
        self._clock = clock
        if initial is not None:
            self.update(initial)

    # ------------------------------------------------------------------ reading

    def get(self, key: str, default: Any = None) -> Any:
        """Return a copy of the value at ``key``, or ``default`` if it is not set.

        An invalid key raises :class:`InvalidKeyError` rather than hiding a typo.
        """
        try:
            value = self._data[key]
        except (KeyError, TypeError):
            check_key(key)
            return default
        if type(value) in _CONTAINERS:  # type() is cheaper than .__class__ here
            try:
                if self._flat[key] is value:
                    return value.copy()
            except KeyError:
                pass
            return self._copy_out(key, value)
        return value

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def _copy_out(self, key: str, value: Any) -> Any:
        """A copy of the stored container ``value`` of ``key``; remembers a flat one.

        A container holding only scalars is copied with one C call. Whether it is flat
        is checked once per stored object: ``_flat`` maps the key to the object found
        flat, and stored objects are never mutated, so ``_flat[key] is value`` proves
        that ``value`` is still flat. Readers take no lock: a stale entry just fails
        the identity check.
        """
        items = value.values() if value.__class__ is dict else value
        if _CONTAINERS.isdisjoint(map(type, items)):
            self._flat[key] = value
            return value.copy()
        return copy_value(value)

    def __contains__(self, key: object) -> bool:
        return key.__class__ is str and key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data))

    def keys(self, prefix: str | None = None) -> list[str]:
        """All keys in insertion order, or only those under ``prefix.``."""
        if prefix is None:
            return list(self._data)
        start = check_prefix(prefix) + "."
        return [k for k in list(self._data) if k.startswith(start)]

    def values(self) -> list[Any]:
        """Copies of all values, in key insertion order."""
        return [copy_value(v) for v in list(self._data.values())]

    def items(self) -> list[tuple[str, Any]]:
        """``(key, value)`` pairs (values copied), in key insertion order."""
        return [(k, copy_value(v)) for k, v in list(self._data.items())]

    def namespace(self, prefix: str) -> dict[str, Any]:
        """The keys under ``prefix.`` as a plain dict, with the prefix removed.

        >>> Context({"db.host": "h", "db.port": 5432, "debug": True}).namespace("db")
        {'host': 'h', 'port': 5432}
        """
        start = check_prefix(prefix) + "."
        cut = len(start)
        return {k[cut:]: copy_value(v) for k, v in list(self._data.items()) if k.startswith(start)}

    def to_dict(self) -> dict[str, Any]:
        """A flat copy: dotted keys to values."""
        return {k: copy_value(v) for k, v in list(self._data.items())}

    def to_nested(self) -> dict[str, Any]:
        """Nested dicts, one level per key segment: ``{"a.b": 1}`` -> ``{"a": {"b": 1}}``.

        A value that is itself a non-empty dict is written as ``{"$value": value}``
        (``$`` cannot appear in a key segment), so :meth:`from_nested` cannot mistake it
        for a namespace: ``Context.from_nested(ctx.to_nested()) == ctx`` always holds.
        Raises :class:`ContextError` naming both keys when one key is a prefix of
        another (``a`` and ``a.b``): the nested form cannot hold both.

        >>> Context({"db.host": "h", "db.opts": {"ssl": True}}).to_nested()
        {'db': {'host': 'h', 'opts': {'$value': {'ssl': True}}}}
        """
        return nest(dict(self._data))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Context):
            return same_value(self._data, other._data)
        if isinstance(other, Mapping):
            return same_value(self._data, dict(other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like dict

    def __repr__(self) -> str:
        return f"<Context: {len(self._data)} key(s), {len(self._log)} change(s)>"

    # ------------------------------------------------------------------ writing

    def set(self, key: str, value: JSONValue, who: str | None = None) -> None:
        """Set ``key`` to a copy of ``value``, recording the change as made by ``who``.

        Setting a key to the value it already holds records nothing. Raises
        :class:`InvalidKeyError` for a bad key and :class:`NotSerializableError`
        (naming the path to the bad part) for a value that is not JSON.
        """
        # type(x) rather than x.__class__: Python 3.11 specialises the call, not the attribute.
        if type(key) is not str:
            check_key(key)
        cls = type(value)
        if cls not in _SIMPLE:
            if cls in _CONTAINERS:
                owned = own_flat(value)
                value = own(value) if owned is None else owned
            elif cls is not float or value - value != 0.0:  # type: ignore[operator]
                value = own(value)  # refuses NaN, infinities and non-JSON; tuples -> lists
                cls = type(value)
        if who is not None and type(who) is not str:
            check_who(who)
        # acquire/release rather than ``with``: this is the hottest path of the library.
        lock = self._lock
        lock.acquire()
        try:
            data = self._data
            old = data.get(key, _MISSING)
            # ``==`` first: a changed value (the common case) is then decided in one test.
            if (
                old == value
                and type(old) is cls
                and (cls not in _CONTAINERS or same_value(old, value))
            ):
                return
            if old is _MISSING:
                if match_key(key) is None:  # a new key: the same check as check_key, inline
                    check_key(key)
                old = None
            log = self._log
            clock = self._clock  # a plain attribute load: calling self._clock() is not specialised
            log.times.append(clock())
            log.keys.append(key)
            log.befores.append(old)
            log.afters.append(value)
            log.whos.append(who)  # last: lock-free readers count changes by ``whos``
            data[key] = value
        finally:
            lock.release()

    def __setitem__(self, key: str, value: JSONValue) -> None:
        self.set(key, value)

    def delete(self, key: str, who: str | None = None) -> None:
        """Delete ``key`` (``KeyError`` if it is not set), recording the change."""
        check_who(who)
        with self._lock:
            old = self._data.get(key, _MISSING) if key.__class__ is str else _MISSING
            if old is _MISSING:
                check_key(key)
                raise KeyError(key)
            self._log.append(self._clock(), key, old, GONE, who)
            del self._data[key]

    def __delitem__(self, key: str) -> None:
        self.delete(key)

    def update(
        self, items: Mapping[str, Any] | Iterable[tuple[str, Any]], who: str | None = None
    ) -> None:
        """Set many keys at once: every key and value is checked before any is set."""
        check_who(who)
        pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
        try:
            keys = [k for k, _ in pairs]
        except (TypeError, ValueError):
            raise ContextError("update needs a mapping or (key, value) pairs") from None
        check_keys(keys)
        owned = [(k, own(v, f"value[{k!r}]")) for k, v in pairs]
        with self._lock:
            for key, value in owned:
                self.set(key, value, who)

    @contextmanager
    def atomic(self) -> Iterator[Context]:
        """All or nothing: if the block raises, every change it made is undone.

        The block holds the context's lock, so other threads wait for it to finish.
        Saving to a store inside the block (``save``, ``save_delta``, a lazy context's
        ``flush``) is refused with :class:`ContextError`: a store cannot be undone, so a
        later error in the block would leave it ahead of the context. Save after it.

        >>> ctx = Context({"a": 1})
        >>> try:
        ...     with ctx.atomic():
        ...         ctx.set("a", 2)
        ...         raise RuntimeError("step failed")
        ... except RuntimeError:
        ...     pass
        >>> ctx.get("a"), len(ctx.history)
        (1, 1)
        """
        with self._lock:
            saved = (dict(self._data), dict(self._carried), self._clean_from, len(self._log))
            outer, self._atomic_thread = self._atomic_thread, threading.get_ident()
            try:
                yield self
            except BaseException:
                data, carried, clean_from, length = saved
                self._data.clear()
                self._data.update(data)
                self._carried = carried
                self._clean_from = clean_from
                self._log.truncate(length)
                raise
            finally:
                self._atomic_thread = outer

    def _refuse_inside_atomic(self, what: str) -> None:
        """Raise if the calling thread is inside :meth:`atomic` (for writers to stores)."""
        if self._atomic_thread == threading.get_ident():
            raise ContextError(
                f"{what} inside ctx.atomic() is refused: the block may still be undone and "
                "the store cannot be; save after the block"
            )

    # ------------------------------------------------------------------ history

    @property
    def history(self) -> HistoryView:
        """Every change so far, oldest first, as read-only :class:`Change` records."""
        return self._history

    def get_history(
        self,
        key: str | None = None,
        who: str | None = None,
        since: float | None = None,
    ) -> list[Change]:
        """The changes matching every filter given.

        ``key``: changes of that key only; ``who``: made by that contributor;
        ``since``: at or after that timestamp (inclusive).
        """
        if key is not None:
            check_key(key)
        log = self._log
        found = []
        # No lock: the columns may grow meanwhile; range(len(log)) bounds the zip.
        for i, ts, k, w in zip(range(len(log)), log.times, log.keys, log.whos, strict=False):
            if (
                (key is None or k == key)
                and (who is None or w == who)
                and (since is None or ts >= since)
            ):
                found.append(log.change(i))
        return found

    def contributors(self) -> dict[str | None, int]:
        """Who made how many changes (``None`` counts anonymous changes)."""
        log = self._log
        return dict(Counter(log.whos[: len(log)]))

    # ------------------------------------------------------------------ dirty keys

    def _dirty_map(self) -> dict[str, int]:
        """Dirty keys (first-change order) -> seq of their latest change; under the lock."""
        start, end = self._clean_from, len(self._log)
        marks = dict(self._carried)
        marks.update(zip(self._log.keys[start:end], range(start + 1, end + 1), strict=True))
        return marks

    def _forget_dirty(self, still_dirty: dict[str, int]) -> None:
        self._carried = still_dirty
        self._clean_from = len(self._log)

    @property
    def dirty_keys(self) -> frozenset[str]:
        """Keys changed (set or deleted) since the last :meth:`pop_dirty_keys`."""
        with self._lock:
            return frozenset(self._dirty_map())

    def pop_dirty_keys(self) -> list[str]:
        """Return the dirty keys in first-change order and forget them."""
        with self._lock:
            dirty = dict.fromkeys(self._log.keys[self._clean_from :])
            if self._carried:  # keys a partial mark_clean left dirty come first
                dirty = {**dict.fromkeys(self._carried), **dirty}
            self._forget_dirty({})
            return list(dirty)

    def dirty_marks(self) -> dict[str, int]:
        """Dirty keys with the ``seq`` of their latest change (for writers of deltas).

        A writer persists these keys, then calls :meth:`mark_clean` with the same
        marks: a key changed again in between stays dirty, so nothing is lost.
        """
        with self._lock:
            return self._dirty_map()

    def mark_clean(self, marks: Mapping[str, int]) -> None:
        """Forget the dirty keys in ``marks`` that have not changed since."""
        with self._lock:
            dirty = self._dirty_map()
            for key, seq in marks.items():
                if dirty.get(key) == seq:
                    del dirty[key]
            self._forget_dirty(dirty)

    # ------------------------------------------------------------------ snapshots

    def to_json(self, include_history: bool = False) -> str:
        """A deterministic JSON snapshot (same data, same text).

        By default the snapshot holds only the data: a context restored from it has
        an empty history. With ``include_history=True`` the history round-trips exactly.
        """
        with self._lock:
            doc: dict[str, Any] = {
                "format": snapshot.FORMAT,
                "version": snapshot.VERSION,
                "data": self._data,
            }
            if include_history:
                doc["history"] = self._log.snapshot_rows()
            return snapshot.dumps(doc)

    @classmethod
    def from_json(cls, text: str | bytes, *, clock: Callable[[], float] = time.time) -> Context:
        """Restore a context from :meth:`to_json` output.

        The restored context has no dirty keys; its history is empty unless the
        snapshot included it. Raises :class:`SnapshotError` for anything else.
        """
        # Values may nest MAX_DEPTH levels, two below the document and its "data".
        doc, shallow = snapshot.loads_bounded(text, MAX_DEPTH + 2)
        if not isinstance(doc, dict) or doc.get("format") != snapshot.FORMAT:
            raise SnapshotError(f"not a context snapshot (expected format {snapshot.FORMAT!r})")
        version = doc.get("version")
        if version != snapshot.VERSION:
            raise SnapshotError(
                f"snapshot version {version!r} is not supported; this library reads "
                f"version {snapshot.VERSION}"
            )
        data = doc.get("data")
        if not isinstance(data, dict):
            raise SnapshotError("snapshot has no 'data' object")
        check_keys(data)
        if not shallow:  # what ``set`` refuses, a snapshot cannot bring in
            for key, value in data.items():
                check_depth(value, f"value[{key!r}]")
        log = ChangeLog.from_snapshot(doc.get("history", []), shallow)
        return cls._restored(data, log, clock)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, clock: Callable[[], float] = time.time
    ) -> Context:
        """A context holding ``data`` (dotted keys) with no history and no dirty keys.

        This is how stores rebuild a context they loaded.
        """
        check_keys(data)
        owned = {k: own(v, f"value[{k!r}]") for k, v in data.items()}
        return cls._restored(owned, ChangeLog(), clock)

    @classmethod
    def _restored(cls, data: dict[str, Any], log: ChangeLog, clock: Callable[[], float]) -> Context:
        ctx = cls(clock=clock)
        ctx._data = data  # a fresh dict nobody else holds: no copy needed
        ctx._log = log
        ctx._history = HistoryView(log)
        ctx._clean_from = len(log)
        ctx._every_key_timed = not data
        return ctx

    @classmethod
    def from_nested(
        cls, nested: Mapping[str, Any], *, clock: Callable[[], float] = time.time
    ) -> Context:
        """Build a context from nested dicts: every non-empty dict becomes a namespace.

        The exceptions are the form :meth:`to_nested` writes a dict value in: a dict
        whose only key is ``"$value"`` stands for the value it holds. ``{}`` and every
        non-dict are values. Namespace keys must be valid key segments.

        >>> Context.from_nested({"db": {"host": "h", "opts": {}}}).to_dict()
        {'db.host': 'h', 'db.opts': {}}
        >>> Context.from_nested({"db": {"opts": {"$value": {"ssl": True}}}}).to_dict()
        {'db.opts': {'ssl': True}}
        """
        flat = flatten(nested)
        ctx = cls(clock=clock)
        ctx.update(flat)
        return ctx

    # ------------------------------------------------------------------ merging

    def merge_from(
        self,
        other: Context | Mapping[str, Any],
        strategy: MergeStrategy = "last_writer_wins",
        prefix: str | None = None,
        who: str | None = None,
    ) -> MergeReport:
        """Bring ``other``'s keys into this context and report what happened.

        Keys only ``other`` holds are added; keys both hold with different values are
        conflicts, resolved by ``strategy``:

        * ``"last_writer_wins"``: the side whose key changed last (ties go to ``other``);
        * ``"ours"`` / ``"theirs"``: always keep ours / take theirs;
        * ``"raise"``: raise :class:`MergeConflictError` listing every conflict and
          change nothing;
        * a callable ``(key, ours, theirs) -> value`` that returns the merged value.

        ``prefix`` puts all of ``other``'s keys under a namespace (``x`` -> ``node1.x``).
        Changes are recorded as made by ``who``. All or nothing: if the strategy fails,
        nothing is changed.
        """
        resolver = resolver_of(strategy)
        start = "" if prefix is None else check_prefix(prefix) + "."
        check_who(who)
        theirs, their_keys, their_times, every_key_timed = _merge_source(other)
        if start:
            theirs = {start + k: v for k, v in theirs.items()}
        with self._lock:
            # Merges routinely bring thousands of keys: the passes below run in C
            # (map, compress, zip) over columns (keys, old values, new values).
            keys, news, found = split(self._data, theirs)  # found: (keys, ours, theirs) that differ
            olds: list[Any] = [None] * len(keys)
            if found[0]:
                if strategy == "raise":
                    raise MergeConflictError(conflicts_of(found))
                won = resolve(
                    found,
                    strategy,
                    resolver,
                    (their_keys, their_times, start, every_key_timed),
                    self._log,
                )
                keys += won[0]
                olds += won[1]
                news += won[2]
            if keys:
                self._apply(keys, olds, news, who)
            return MergeReport._of(keys, found)

    def _merge_view(self) -> tuple[dict[str, Any], list[str], list[float], bool]:
        """What a merge reads from this context: its values, the keys and times of its
        changes (history columns), and whether every key it holds has a change there.

        A hook for subclasses that hold values elsewhere until asked
        (``context_lib.patterns.LazyContext`` loads them here).
        """
        with self._lock:
            n = len(self._log)
            return dict(self._data), self._log.keys[:n], self._log.times[:n], self._every_key_timed

    def _apply(self, keys: list[str], olds: list[Any], news: list[Any], who: str | None) -> None:
        """Record validated, owned values (unique keys) as changes made at one instant."""
        ts = self._clock()
        n = len(keys)
        # Whole columns in C instead of a per-key loop: merges apply thousands.
        self._log.extend(repeat(ts, n), keys, olds, news, repeat(who, n))
        self._data.update(zip(keys, news, strict=True))


def _merge_source(
    other: Context | Mapping[str, Any],
) -> tuple[dict[str, Any], list[str], list[float], bool]:
    if isinstance(other, Context):
        return other._merge_view()
    if isinstance(other, Mapping):
        check_keys(other)
        return {k: own(v, f"value[{k!r}]") for k, v in other.items()}, [], [], not other
    raise ContextError(f"can only merge a Context or a mapping, not {type(other).__name__}")
