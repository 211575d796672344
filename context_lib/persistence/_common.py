"""The shared skeleton of the backends: argument checks, encoding, closing.

A backend subclasses :class:`BackendStore` and implements the ``_``-prefixed
primitives over already-validated, already-encoded data; this class turns them into
the public :class:`~context_lib.persistence.batch.BatchStore` methods.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

from context_lib.persistence.codec import (
    HistoryRecord,
    decode,
    decode_record,
    encode_items,
    encode_record,
    key_bytes,
    prefix_bounds,
    valid_keys,
)
from context_lib.persistence.errors import HistoryMismatchError, StoreClosedError, StoreError
from context_lib.values import check_key

__all__ = ["BackendStore"]


class BackendStore(ABC):
    """Common behaviour of the bundled stores (see :class:`BatchStore` for the contract)."""

    def __init__(self) -> None:
        self._closed = False
        self._lock = threading.RLock()

    # ------------------------------------------------------------ primitives

    @abstractmethod
    def _describe(self) -> str:
        """How the store names itself in messages, e.g. ``SQLiteStore('state.db', 'ctx')``."""

    @abstractmethod
    def _get_texts(self, keys: list[str]) -> dict[str, str | bytes]:
        """The encoded values of the present keys among ``keys``."""

    @abstractmethod
    def _all_texts(self) -> dict[str, str | bytes]:
        """Every stored key with its encoded value."""

    @abstractmethod
    def _keys(self, bounds: tuple[str, str] | None) -> list[str]:
        """Stored keys (all, or ``low <= key < high``), sorted."""

    @abstractmethod
    def _write(
        self,
        pairs: list[tuple[str, str]],
        deletes: list[str],
        replace: bool,
        history: list[str],
        history_at: int | None,
    ) -> None:
        """Apply everything in one transaction (``history`` holds encoded records)."""

    @abstractmethod
    def _history_texts(self, start: int, stop: int | None) -> list[str | bytes]:
        """Encoded change records ``start <= i < stop`` of the trail."""

    @abstractmethod
    def _history_length(self) -> int:
        """How many change records the trail holds."""

    @abstractmethod
    def _close(self) -> None:
        """Release the backend's resources."""

    # ------------------------------------------------------------ Store protocol

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(self._describe())

    def get(self, key: str) -> Any:
        """The value stored at ``key``; ``KeyError`` if there is none."""
        check_key(key)
        with self._lock:
            self._check_open()
            found = self._get_texts([key])
        if key not in found:
            raise KeyError(key)
        return decode(found[key], f"{self._describe()} key {key!r}")

    def put_many(self, items: Mapping[str, Any]) -> int:
        """Store all ``items`` in one transaction; returns the bytes written."""
        return self.write(items)

    def delete_many(self, keys: Iterable[str]) -> None:
        """Delete ``keys`` in one transaction; absent keys are ignored."""
        self.write({}, list(keys))

    def keys(self, prefix: str | None = None) -> list[str]:
        """Stored keys, sorted: all of them, or those under ``prefix.``."""
        bounds = None if prefix is None else prefix_bounds(prefix)
        with self._lock:
            self._check_open()
            return self._keys(bounds)

    def close(self) -> None:
        """Release the backend; closing twice is harmless."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._close()

    def __enter__(self) -> BackendStore:
        self._check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " (closed)" if self._closed else ""
        return f"<{self._describe()}{state}>"

    # ------------------------------------------------------------ BatchStore

    def write(
        self,
        puts: Mapping[str, Any],
        deletes: Collection[str] = (),
        *,
        replace: bool = False,
        history: Sequence[HistoryRecord] = (),
        history_at: int | None = None,
    ) -> int:
        """Set ``puts`` and delete ``deletes`` in one transaction; returns the bytes written.

        With ``replace=True`` the store afterwards holds exactly ``puts`` and
        ``history`` replaces the trail; otherwise ``history`` is appended. When
        ``history_at`` is given the trail must hold exactly that many records, or
        :class:`HistoryMismatchError` is raised and nothing is written. Every key and
        value is validated before anything is written.
        """
        if isinstance(puts, str) or not isinstance(puts, Mapping):
            raise StoreError(
                f"put_many needs a mapping of keys to values, not {type(puts).__name__}"
            )
        if isinstance(deletes, str):
            raise StoreError("delete_many needs a collection of keys, not a string")
        pairs, size = encode_items(puts)
        removed = [] if replace else valid_keys(deletes)
        both = [k for k in removed if k in puts]
        if both:
            raise StoreError(f"key {both[0]!r} is both set and deleted in one write")
        lines = [encode_record(r) for r in history]
        if history_at is not None and (isinstance(history_at, bool) or history_at < 0):
            raise StoreError(f"history_at must be a count of records, not {history_at!r}")
        with self._lock:
            self._check_open()
            if pairs or removed or lines or replace:
                self._write(pairs, removed, replace, lines, history_at)
            elif history_at is not None:
                self._check_history_at(history_at)
        return size + key_bytes(removed) + sum(len(line.encode()) for line in lines)

    def _check_history_at(self, expected: int) -> None:
        actual = self._history_length()
        if actual != expected:
            raise HistoryMismatchError(actual, expected)

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The values of the present keys among ``keys`` (absent keys are left out)."""
        wanted = valid_keys(keys)
        with self._lock:
            self._check_open()
            found = self._get_texts(wanted)
        where = self._describe()
        return {k: decode(found[k], f"{where} key {k!r}") for k in wanted if k in found}

    def items(self) -> dict[str, Any]:
        """Every stored key with its value."""
        with self._lock:
            self._check_open()
            found = self._all_texts()
        where = self._describe()
        return {k: decode(v, f"{where} key {k!r}") for k, v in found.items()}

    def history_length(self) -> int:
        """How many change records the store's audit trail holds."""
        with self._lock:
            self._check_open()
            return self._history_length()

    def read_history(self, start: int = 0, stop: int | None = None) -> list[HistoryRecord]:
        """Change records ``start <= i < stop`` of the audit trail, oldest first."""
        if start < 0 or (stop is not None and stop < start):
            raise StoreError(f"bad history range [{start}:{stop}]")
        with self._lock:
            self._check_open()
            texts = self._history_texts(start, stop)
        where = f"{self._describe()} history"
        return [decode_record(t, f"{where} record {start + i}") for i, t in enumerate(texts)]
