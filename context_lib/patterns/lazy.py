"""``LazyContext``: a Context whose values are fetched from a store on first access."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from context_lib.context import Context, MergeReport, MergeStrategy
from context_lib.persistence.base import Store
from context_lib.values import JSONValue, check_prefix, own

__all__ = ["LazyContext"]


class LazyContext(Context):
    """A :class:`~context_lib.Context` over ``store`` that loads each value when first used.

    On creation it lists the store's keys (or those under ``prefix.``) but fetches no
    value. Reading a key fetches and keeps it; :attr:`loaded_keys` tells which keys
    were fetched. Everything else behaves like a Context: values are copied in and
    out, loading records no history and makes nothing dirty, and changing a key that
    was not loaded yet loads it first so that the recorded ``before`` is the stored
    value. Whole-context operations (``items``, ``to_dict``, ``to_json``, ``==``,
    merges) load what they need. :meth:`flush` writes the dirty keys back.

    >>> from context_lib.persistence import MemoryStore  # doctest: +SKIP
    >>> lazy = LazyContext(store)  # doctest: +SKIP
    >>> lazy.get("model.weights")  # one store read; the next get is served from memory
    """

    __slots__ = ("_loaded", "_store", "_unloaded")

    def __init__(
        self,
        store: Store,
        *,
        prefix: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(clock=clock)
        self._every_key_timed = False  # its values come from the store, not from changes
        self._store = store
        self._loaded: set[str] = set()
        self._unloaded: dict[str, None] = dict.fromkeys(
            store.keys(None if prefix is None else check_prefix(prefix))
        )

    # ------------------------------------------------------------------ loading

    @property
    def store(self) -> Store:
        """The store values are loaded from (and :meth:`flush` writes to)."""
        return self._store

    @property
    def loaded_keys(self) -> frozenset[str]:
        """Keys whose value has been fetched from the store."""
        return frozenset(self._loaded)

    @property
    def unloaded_keys(self) -> frozenset[str]:
        """Keys the store holds whose value has not been fetched yet."""
        return frozenset(self._unloaded)

    def _load(self, key: str) -> None:
        try:
            value = own(self._store.get(key), f"stored value[{key!r}]")
        except KeyError:
            value = _GONE
        with self._lock:
            if key not in self._unloaded:  # another thread loaded or changed it meanwhile
                return
            del self._unloaded[key]
            if value is not _GONE:
                self._data[key] = value
                self._loaded.add(key)

    def _fetch(self, key: object) -> None:
        """Load ``key`` if the store holds it and it is not loaded yet.

        Anything that is not a string is left for ``Context`` to refuse with
        :class:`~context_lib.InvalidKeyError`, exactly as a plain context does.
        """
        if key.__class__ is str and key in self._unloaded:
            assert isinstance(key, str)
            self._load(key)

    def _load_many(self, keys: Iterable[str]) -> None:
        for key in keys:
            if key in self._unloaded:
                self._load(key)

    def load_all(self) -> None:
        """Fetch every value not loaded yet."""
        self._load_many(list(self._unloaded))

    def flush(self, who: str | None = None) -> int:
        """Write the dirty keys to the store (one ``put_many``, one ``delete_many``).

        Returns the bytes the store reports written. Keys changed again while the
        write runs stay dirty, so nothing is lost. ``who`` is accepted for symmetry
        with ``set`` and ignored: the store keeps values, not history.
        """
        self._refuse_inside_atomic("flush")
        marks = self.dirty_marks()
        present = {k: self._data[k] for k in marks if k in self._data}
        written = self._store.put_many(present) if present else 0
        gone = [k for k in marks if k not in present]
        if gone:
            self._store.delete_many(gone)
        self.mark_clean(marks)
        return written

    # ------------------------------------------------------------------ reading

    def get(self, key: str, default: Any = None) -> Any:
        """Like :meth:`Context.get`; fetches the value from the store on first access."""
        self._fetch(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self._fetch(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or (key.__class__ is str and key in self._unloaded)

    def __len__(self) -> int:
        with self._lock:
            return len(self._data) + len(self._unloaded)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def keys(self, prefix: str | None = None) -> list[str]:
        """Loaded and changed keys first, then the store's keys not loaded yet."""
        with self._lock:
            every = [*self._data, *self._unloaded]
        if prefix is None:
            return every
        start = check_prefix(prefix) + "."
        return [k for k in every if k.startswith(start)]

    def values(self) -> list[Any]:
        """Copies of all values (loads them all)."""
        self.load_all()
        return super().values()

    def items(self) -> list[tuple[str, Any]]:
        """``(key, value)`` pairs (loads every value)."""
        self.load_all()
        return super().items()

    def namespace(self, prefix: str) -> dict[str, Any]:
        """Like :meth:`Context.namespace`; loads only the keys under ``prefix.``."""
        self._load_many(self.keys(prefix))
        return super().namespace(prefix)

    def to_dict(self) -> dict[str, Any]:
        """A flat copy of every value (loads them all)."""
        self.load_all()
        return super().to_dict()

    def to_nested(self) -> dict[str, Any]:
        """Nested dicts of every value (loads them all)."""
        self.load_all()
        return super().to_nested()

    def to_json(self, include_history: bool = False) -> str:
        """A snapshot of every value (loads them all); see :meth:`Context.to_json`."""
        self.load_all()
        return super().to_json(include_history)

    def _merge_view(self) -> tuple[dict[str, Any], list[str], list[float], bool]:
        self.load_all()
        return super()._merge_view()

    def __eq__(self, other: object) -> bool:
        self.load_all()
        if isinstance(other, LazyContext):
            other.load_all()
        return super().__eq__(other)

    __hash__ = None  # mutable, like dict

    def __repr__(self) -> str:
        return (
            f"<LazyContext: {len(self)} key(s), {len(self._loaded)} loaded, "
            f"{len(self.history)} change(s)>"
        )

    # ------------------------------------------------------------------ writing

    def set(self, key: str, value: JSONValue, who: str | None = None) -> None:
        """Like :meth:`Context.set`; a stored key is loaded first so history has its value."""
        self._fetch(key)
        super().set(key, value, who)

    def delete(self, key: str, who: str | None = None) -> None:
        """Like :meth:`Context.delete`, for loaded and not-yet-loaded keys alike."""
        self._fetch(key)
        super().delete(key, who)

    def update(
        self, items: Mapping[str, Any] | Iterable[tuple[str, Any]], who: str | None = None
    ) -> None:
        """Like :meth:`Context.update`: every key and value is checked before any is set."""
        pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
        self._load_many(k for k, _ in pairs if isinstance(k, str))
        super().update(pairs, who)

    def merge_from(
        self,
        other: Context | Mapping[str, Any],
        strategy: MergeStrategy = "last_writer_wins",
        prefix: str | None = None,
        who: str | None = None,
    ) -> MergeReport:
        """Like :meth:`Context.merge_from`; loads our keys that ``other`` may change."""
        theirs = other.keys() if isinstance(other, Context) else list(other)
        start = "" if prefix is None else check_prefix(prefix) + "."
        self._load_many(start + k for k in theirs if isinstance(k, str))
        return super().merge_from(other, strategy, prefix, who)

    @contextmanager
    def atomic(self) -> Iterator[Context]:
        """Like :meth:`Context.atomic`; values loaded inside a failed block are unloaded."""
        with self._lock:
            unloaded, loaded = dict(self._unloaded), set(self._loaded)
            try:
                with super().atomic() as ctx:
                    yield ctx
            except BaseException:
                self._unloaded.clear()
                self._unloaded.update(unloaded)
                self._loaded.clear()
                self._loaded.update(loaded)
                raise

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_json(cls, text: str | bytes, *, clock: Callable[[], float] = time.time) -> Context:
        """A plain :class:`Context` restored from a snapshot (nothing to load lazily)."""
        return Context.from_json(text, clock=clock)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, clock: Callable[[], float] = time.time
    ) -> Context:
        """A plain :class:`Context` holding ``data``."""
        return Context.from_dict(data, clock=clock)

    @classmethod
    def from_nested(
        cls, nested: Mapping[str, Any], *, clock: Callable[[], float] = time.time
    ) -> Context:
        """A plain :class:`Context` built from nested dicts."""
        return Context.from_nested(nested, clock=clock)


_GONE: Any = object()
