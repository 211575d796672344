"""``MemoryStore``: a store in this process's memory, for tests and throwaway runs."""

from __future__ import annotations

from context_lib.persistence._common import BackendStore
from context_lib.persistence.errors import HistoryMismatchError

__all__ = ["MemoryStore"]


class MemoryStore(BackendStore):
    """Keys and encoded values in a dict; writes are all-or-nothing under a lock.

    Values are stored encoded, exactly as the other backends store them, so a value
    read back is always a fresh copy and what works here works everywhere.

    >>> from context_lib.persistence import MemoryStore
    >>> with MemoryStore() as store:
    ...     store.put_many({"app.name": "demo", "app.port": 8080})
    ...     store.keys("app"), store.get("app.port")
    26
    (['app.name', 'app.port'], 8080)
    """

    def __init__(self) -> None:
        super().__init__()
        self._data: dict[str, str] = {}
        self._history: list[str] = []

    def _describe(self) -> str:
        return "MemoryStore()"

    def _get_texts(self, keys: list[str]) -> dict[str, str | bytes]:
        data = self._data
        return {k: data[k] for k in keys if k in data}

    def _all_texts(self) -> dict[str, str | bytes]:
        return dict(self._data)

    def _keys(self, bounds: tuple[str, str] | None) -> list[str]:
        if bounds is None:
            return sorted(self._data)
        low, high = bounds
        return sorted(k for k in self._data if low <= k < high)

    def _write(
        self,
        pairs: list[tuple[str, str]],
        deletes: list[str],
        replace: bool,
        history: list[str],
        history_at: int | None,
    ) -> None:
        if history_at is not None and history_at != len(self._history):
            raise HistoryMismatchError(len(self._history), history_at)
        if replace:
            self._data = dict(pairs)
            self._history = list(history)
            return
        self._data.update(pairs)
        for key in deletes:
            self._data.pop(key, None)
        self._history.extend(history)

    def _history_texts(self, start: int, stop: int | None) -> list[str | bytes]:
        return list(self._history[start:stop])

    def _history_length(self) -> int:
        return len(self._history)

    def _close(self) -> None:
        self._data = {}
        self._history = []
