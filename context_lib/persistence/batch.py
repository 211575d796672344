"""Optional store capabilities beyond the :class:`~context_lib.persistence.base.Store` protocol.

Every backend in this package implements :class:`BatchStore`: sets, deletes and
change records written in **one** transaction, bulk reads, and an append-only audit
trail. ``save``, ``save_delta`` and ``load`` use these when a store has them and fall
back to the five protocol methods otherwise.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from context_lib.persistence.base import Store
from context_lib.persistence.codec import HistoryRecord

__all__ = ["BatchStore"]


@runtime_checkable
class BatchStore(Store, Protocol):
    """A store that writes a whole delta (and its change records) in one transaction.

    * ``write(puts, deletes, replace=False, history=(), history_at=None)`` sets
      ``puts`` and deletes ``deletes`` in one transaction and returns the bytes
      written. With ``replace=True`` the store afterwards holds exactly ``puts`` (and
      ``history`` replaces the stored trail); otherwise ``history`` is appended. When
      ``history_at`` is given, the write fails with
      :class:`~context_lib.persistence.HistoryMismatchError` unless the stored trail
      holds exactly that many records (checked inside the transaction).
    * ``get_many(keys)`` returns the present keys' values; ``items()`` every pair.
    * ``history_length()`` and ``read_history(start, stop)`` read the audit trail.
    """

    def write(
        self,
        puts: Mapping[str, Any],
        deletes: Collection[str] = (),
        *,
        replace: bool = False,
        history: Sequence[HistoryRecord] = (),
        history_at: int | None = None,
    ) -> int: ...

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]: ...

    def items(self) -> dict[str, Any]: ...

    def history_length(self) -> int: ...

    def read_history(self, start: int = 0, stop: int | None = None) -> list[HistoryRecord]: ...
