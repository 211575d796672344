"""A small dict-backed Store for the pattern tests, with counters and failure injection."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any


class DictStore:
    """Implements the ``Store`` protocol over a dict; values are stored as JSON text."""

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self.data: dict[str, str] = {k: json.dumps(v) for k, v in (data or {}).items()}
        self.reads: list[str] = []
        self.fail_writes = False
        self.closed = False
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        self.reads.append(key)
        return json.loads(self.data[key])

    def put_many(self, items: Mapping[str, Any]) -> int:
        if self.fail_writes:
            raise OSError("disk full")
        encoded = {k: json.dumps(v) for k, v in items.items()}
        with self._lock:
            self.data.update(encoded)
        return sum(len(k) + len(v) for k, v in encoded.items())

    def delete_many(self, keys: Iterable[str]) -> None:
        if self.fail_writes:
            raise OSError("disk full")
        with self._lock:
            for key in list(keys):
                self.data.pop(key, None)

    def keys(self, prefix: str | None = None) -> list[str]:
        with self._lock:
            every = sorted(self.data)
        if prefix is None:
            return every
        return [k for k in every if k.startswith(prefix + ".")]

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> DictStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def contents(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.data.items()}
