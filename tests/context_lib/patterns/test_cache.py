from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import pytest

from context_lib import InvalidKeyError, NotSerializableError
from context_lib.patterns import CachedStore, PatternError
from context_lib.persistence.base import Store
from tests.context_lib.patterns.stores import SpyStore


def test_is_a_store_and_reads_through_once() -> None:
    backend = SpyStore({"a": 1, "b": [1, 2]})
    cached = CachedStore(backend, max_keys=10)
    assert isinstance(cached, Store)
    assert cached.get("b") == [1, 2]
    assert cached.get("b") == [1, 2]
    assert backend.reads == ["b"]
    stats = cached.stats
    assert (stats.hits, stats.misses, stats.size) == (1, 1, 1)
    assert stats.hit_rate == 0.5


def test_missing_key_raises_key_error_and_is_not_cached() -> None:
    cached = CachedStore(SpyStore(), max_keys=2)
    with pytest.raises(KeyError):
        cached.get("nope")
    assert cached.cached_keys() == []


def test_least_recently_used_is_evicted() -> None:
    backend = SpyStore({"a": 1, "b": 2, "c": 3})
    cached = CachedStore(backend, max_keys=2)
    cached.get("a")
    cached.get("b")
    cached.get("a")  # a is now the most recently used
    cached.get("c")  # evicts b
    assert cached.cached_keys() == ["a", "c"]
    assert cached.stats.evictions == 1
    backend.reads.clear()
    cached.get("b")
    assert backend.reads == ["b"]


def test_write_through_updates_store_and_cache() -> None:
    backend = SpyStore()
    cached = CachedStore(backend, max_keys=10)
    written = cached.put_many({"x.y": {"z": 1}, "n": 2})
    assert written > 0
    assert backend.contents() == {"x.y": {"z": 1}, "n": 2}
    assert cached.get("x.y") == {"z": 1}
    assert backend.reads == []  # served from the cache
    cached.delete_many(["n"])
    assert "n" not in backend.inner.keys(None)
    with pytest.raises(KeyError):
        cached.get("n")


def test_failed_write_leaves_no_stale_value_cached() -> None:
    backend = SpyStore({"a": 1})
    cached = CachedStore(backend, max_keys=10)
    assert cached.get("a") == 1
    backend.fail_writes = True
    with pytest.raises(OSError):
        cached.put_many({"a": 2})
    backend.fail_writes = False
    assert cached.get("a") == 1
    assert backend.contents() == {"a": 1}


def test_values_are_copied_in_and_out() -> None:
    cached = CachedStore(SpyStore(), max_keys=10)
    value = {"list": [1]}
    cached.put_many({"k": value})
    value["list"].append(2)
    got = cached.get("k")
    got["list"].append(3)
    assert cached.get("k") == {"list": [1]}


def test_bad_input_is_rejected_before_anything_is_written() -> None:
    backend = SpyStore()
    cached = CachedStore(backend, max_keys=10)
    with pytest.raises(NotSerializableError):
        cached.put_many({"ok": 1, "bad": {1, 2}})
    with pytest.raises(InvalidKeyError):
        cached.put_many({"ok": 1, "bad key": 2})
    assert backend.inner.keys() == []
    with pytest.raises(PatternError, match="max_keys"):
        CachedStore(backend, max_keys=0)


def test_keys_come_from_the_store_and_close_closes_it() -> None:
    backend = SpyStore({"a.b": 1, "a.c": 2, "d": 3})
    with CachedStore(backend, max_keys=1) as cached:
        cached.get("d")
        assert cached.keys("a") == ["a.b", "a.c"]
        assert cached.keys() == ["a.b", "a.c", "d"]
    assert backend.closed
    assert cached.cached_keys() == []


def test_invalidate_and_reset_stats() -> None:
    backend = SpyStore({"a": 1})
    cached = CachedStore(backend, max_keys=10)
    cached.get("a")
    backend.inner.put_many({"a": 5})  # someone else wrote the store
    assert cached.get("a") == 1
    cached.invalidate(["a"])
    assert cached.get("a") == 5
    cached.reset_stats()
    assert cached.stats.hits == cached.stats.misses == 0
    assert "hit rate" in repr(cached)


class SlowReadStore(SpyStore):
    """A store whose first read of 'k' blocks until released (to race a write)."""

    def __init__(self) -> None:
        super().__init__({"k": "old"})
        self.reading = threading.Event()
        self.release = threading.Event()

    def get(self, key: str) -> object:
        value = super().get(key)
        if not self.reading.is_set():
            self.reading.set()
            self.release.wait(5)
        return value


def test_a_read_racing_a_write_never_caches_the_stale_value() -> None:
    backend = SlowReadStore()
    cached = CachedStore(backend, max_keys=10)
    seen: list[object] = []
    reader = threading.Thread(target=lambda: seen.append(cached.get("k")))
    reader.start()
    assert backend.reading.wait(5)
    cached.put_many({"k": "new"})
    backend.release.set()
    reader.join(5)
    assert seen == ["old"]  # the read began before the write
    assert cached.get("k") == "new"  # but its stale value was not cached


def test_two_overlapping_writes_never_leave_the_older_value_cached() -> None:
    class Overtaken(SpyStore):
        """The first write lands, then a second writer overwrites it before it returns."""

        cached: CachedStore

        def put_many(self, items: Mapping[str, Any]) -> int:
            written = super().put_many(items)
            if items == {"k": "first"}:
                self.cached.put_many({"k": "second"})
            return written

    backend = Overtaken()
    cached = backend.cached = CachedStore(backend, max_keys=10)
    cached.put_many({"k": "first"})
    assert backend.inner.get("k") == "second"
    assert cached.get("k") == "second"
