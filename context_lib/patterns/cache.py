"""``CachedStore``: an LRU read-through, write-through cache in front of any store."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from context_lib.patterns.errors import PatternError
from context_lib.persistence.base import Store
from context_lib.values import check_key, copy_value, own

__all__ = ["CacheStats", "CachedStore"]


@dataclass(frozen=True)
class CacheStats:
    """Counters of a :class:`CachedStore` since it was created (or :meth:`reset_stats`)."""

    hits: int
    misses: int
    evictions: int
    size: int
    max_keys: int

    @property
    def hit_rate(self) -> float:
        """Hits over lookups, 0.0 before the first lookup."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


class CachedStore:
    """Keep the ``max_keys`` most recently used values of ``store`` in memory.

    * Reads are *read-through*: a miss fetches the value from ``store`` and caches it.
    * Writes are *write-through*: ``put_many`` and ``delete_many`` go to ``store`` first
      and update the cache only when the store accepted them, so the cache never holds
      a value the store does not.
    * Values are copied in and out, like a :class:`~context_lib.Context` does.
    * Thread-safe. A read that raced with a write of any key is served but not cached,
      so a slow read can never put a stale value back into the cache.

    >>> from context_lib.persistence import MemoryStore  # doctest: +SKIP
    >>> cached = CachedStore(MemoryStore(), max_keys=1000)  # doctest: +SKIP
    """

    def __init__(self, store: Store, max_keys: int = 10_000) -> None:
        if isinstance(max_keys, bool) or not isinstance(max_keys, int) or max_keys < 1:
            raise PatternError(f"max_keys must be a positive integer, not {max_keys!r}")
        self.store = store
        self.max_keys = max_keys
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._writes = 0  # bumped by every write; a read that saw it change does not cache
        self._hits = 0
        self._misses = 0
        self._evictions = 0

    # ------------------------------------------------------------------ Store protocol

    def get(self, key: str) -> Any:
        """The value at ``key`` (from memory when cached); ``KeyError`` when absent."""
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                self._hits += 1
                return copy_value(self._cache[key])
            self._misses += 1
            seen = self._writes
        check_key(key)
        value = own(self.store.get(key))
        with self._lock:
            if self._writes == seen:
                self._insert(key, value)
        return copy_value(value)

    def put_many(self, items: Mapping[str, Any]) -> int:
        """Write ``items`` to the store (one transaction), then cache them."""
        owned = {check_key(k): own(v, f"value[{k!r}]") for k, v in items.items()}
        with self._lock:
            self._writes += 1
            seen = self._writes
            for key in owned:  # a failing write must not leave an old value cached
                self._cache.pop(key, None)
        written = self.store.put_many(owned)
        with self._lock:
            # Another write that ran meanwhile may have reached the store after ours:
            # caching our values then could shadow its newer ones, so leave them out.
            if self._writes == seen:
                for key, value in owned.items():
                    self._insert(key, value)
            self._writes += 1
        return written

    def delete_many(self, keys: Iterable[str]) -> None:
        """Delete ``keys`` from the store (one transaction) and from the cache."""
        keys = list(keys)
        with self._lock:
            self._writes += 1
            for key in keys:
                self._cache.pop(key, None)
        self.store.delete_many(keys)
        with self._lock:
            self._writes += 1

    def keys(self, prefix: str | None = None) -> list[str]:
        """The store's keys (never answered from the cache, which holds only some)."""
        return self.store.keys(prefix)

    def close(self) -> None:
        """Drop the cache and close the store."""
        self.clear()
        self.store.close()

    def __enter__(self) -> CachedStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ cache control

    def _insert(self, key: str, value: Any) -> None:
        cache = self._cache
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > self.max_keys:
            cache.popitem(last=False)
            self._evictions += 1

    def invalidate(self, keys: Iterable[str]) -> None:
        """Forget the cached values of ``keys`` (after someone else wrote the store)."""
        with self._lock:
            self._writes += 1
            for key in keys:
                self._cache.pop(key, None)

    def clear(self) -> None:
        """Forget every cached value (counters are kept)."""
        with self._lock:
            self._writes += 1
            self._cache.clear()

    def cached_keys(self) -> list[str]:
        """The cached keys, least recently used first."""
        with self._lock:
            return list(self._cache)

    @property
    def stats(self) -> CacheStats:
        """Hits, misses, evictions and the current size."""
        with self._lock:
            return CacheStats(
                self._hits, self._misses, self._evictions, len(self._cache), self.max_keys
            )

    def reset_stats(self) -> None:
        """Zero the hit, miss and eviction counters."""
        with self._lock:
            self._hits = self._misses = self._evictions = 0

    def __repr__(self) -> str:
        s = self.stats
        return (
            f"<CachedStore {s.size}/{s.max_keys} key(s), hit rate {s.hit_rate:.1%} "
            f"over {type(self.store).__name__}>"
        )
