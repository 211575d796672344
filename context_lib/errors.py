"""The exception tree of ``context_lib``, in one place.

ContextError                      base of everything the library raises on purpose
├── InvalidKeyError (ValueError)  a key that is not dotted segments of [A-Za-z0-9_-]+
├── NotSerializableError (TypeError)
│                                 a value that is not JSON; the message names the path
├── MergeConflictError            strategy "raise" met conflicts; nothing was changed
└── SnapshotError (ValueError)    a snapshot text that cannot be restored
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from context_lib.context import Conflict


class ContextError(Exception):
    """Base class of every error ``context_lib`` raises on purpose."""


class InvalidKeyError(ContextError, ValueError):
    """A key is not one or more segments of ``[A-Za-z0-9_-]+`` joined by dots."""

    def __init__(self, key: object, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"invalid key {key!r}: {reason}")


class NotSerializableError(ContextError, TypeError):
    """A value (or a part of it) is not a JSON value.

    ``path`` locates the bad part, e.g. ``value['items'][2]``.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class MergeConflictError(ContextError):
    """Raised by the ``"raise"`` merge strategy; lists every conflict and changes nothing."""

    def __init__(self, conflicts: Sequence[Conflict]) -> None:
        self.conflicts = list(conflicts)
        keys = ", ".join(c.key for c in self.conflicts[:10])
        more = f" and {len(self.conflicts) - 10} more" if len(self.conflicts) > 10 else ""
        super().__init__(
            f"{len(self.conflicts)} merge conflict(s) on {keys}{more}; nothing was changed"
        )


class SnapshotError(ContextError, ValueError):
    """A snapshot cannot be restored (not JSON, wrong format, unsupported version)."""
