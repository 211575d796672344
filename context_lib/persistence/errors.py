"""The errors of ``context_lib.persistence``, in one place.

StoreError (ContextError)            base of everything a store raises on purpose
├── StoreURLError (ValueError)       a store URL that cannot be opened (scheme, path, options)
├── StoreClosedError                 the store was used after ``close()``
├── CorruptStoreError                stored data that cannot be read back
├── StoreUnavailableError            the backend cannot be reached or cannot take the write
│                                    (Redis is down, a disk is full or read-only)
├── HistoryMismatchError             the context's history does not continue the stored trail
└── StoreDataLostError               the store went back to an older state (Redis lost writes)
"""

from __future__ import annotations

from context_lib.errors import ContextError

__all__ = [
    "CorruptStoreError",
    "HistoryMismatchError",
    "StoreClosedError",
    "StoreDataLostError",
    "StoreError",
    "StoreURLError",
    "StoreUnavailableError",
]


class StoreError(ContextError):
    """Base class of every error a store raises on purpose."""


class StoreURLError(StoreError, ValueError):
    """A store URL that cannot be opened; ``url`` is the URL, the message says why."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"cannot open store {url!r}: {reason}")


class StoreClosedError(StoreError):
    """The store was used after :meth:`close`."""

    def __init__(self, store: str) -> None:
        self.store = store
        super().__init__(f"{store} is closed; open it again to use it")


class CorruptStoreError(StoreError):
    """Stored data cannot be read back; ``where`` names the file, table or key."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class StoreUnavailableError(StoreError):
    """The backend cannot be reached or cannot take a write (a server that is down, a
    database that is locked, a disk that is full or read-only)."""


class HistoryMismatchError(StoreError):
    """The context's history does not continue the audit trail already in the store.

    Raised by ``save_delta(ctx, store, with_history=True)`` before anything is written.
    """

    def __init__(self, stored: int, expected: int, reason: str | None = None) -> None:
        self.stored = stored
        self.expected = expected
        super().__init__(
            reason
            or (
                f"the store's audit trail holds {stored} change record(s), not the {expected} "
                "this write continues; another writer appended to it. Load the context again "
                "with load(store, with_history=True) and redo the change"
            )
        )


class StoreDataLostError(StoreError):
    """The store holds an older state than this store object last wrote or loaded.

    Raised before a delta is written onto it (Redis restarted from an old snapshot, or
    empty, after a crash): the delta would make a state that matches no save. ``seen``
    and ``found`` are ``(epoch, generation)`` markers.
    """

    def __init__(
        self, store: str, seen: tuple[str | None, int], found: tuple[str | None, int]
    ) -> None:
        self.store = store
        self.seen = seen
        self.found = found
        now = "no data at all" if found[0] is None else f"generation {found[1]}"
        if found[0] is not None and found[0] != seen[0]:
            now = f"a different epoch ({found[0]})"
        super().__init__(
            f"{store} lost data: it holds {now}, but this store last wrote or loaded "
            f"generation {seen[1]}; nothing was written. Write the whole context with "
            "save(ctx, store), or load(store) again, to choose which side is the truth"
        )
