"""A spy around a real store, for the pattern tests: counts reads, injects failures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

from context_lib.persistence import MemoryStore, Store


class SpyStore:
    """Implements ``Store`` by delegating to ``inner`` (a ``MemoryStore`` by default).

    ``reads`` lists the keys read through it; ``fail_writes`` makes writes raise
    ``OSError`` before they reach the inner store; ``inner`` lets a test change the
    store behind the back of whatever wraps the spy.
    """

    def __init__(self, data: Mapping[str, Any] | None = None, inner: Store | None = None) -> None:
        self.inner: Store = inner if inner is not None else MemoryStore()
        if data:
            self.inner.put_many(data)
        self.reads: list[str] = []
        self.fail_writes = False
        self.closed = False

    def get(self, key: str) -> Any:
        self.reads.append(key)
        return self.inner.get(key)

    def put_many(self, items: Mapping[str, Any]) -> int:
        if self.fail_writes:
            raise OSError("disk full")
        return self.inner.put_many(items)

    def delete_many(self, keys: Iterable[str]) -> None:
        if self.fail_writes:
            raise OSError("disk full")
        self.inner.delete_many(keys)

    def keys(self, prefix: str | None = None) -> list[str]:
        return self.inner.keys(prefix)

    def close(self) -> None:
        self.closed = True
        self.inner.close()

    def __enter__(self) -> SpyStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def contents(self) -> dict[str, Any]:
        return {k: self.inner.get(k) for k in self.inner.keys(None)}
