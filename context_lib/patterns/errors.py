"""The exception tree of ``context_lib.patterns``, in one place.

PatternError (ContextError)        base of everything this package raises on purpose
├── UnknownNodeError (KeyError)     a node name the ring or the sharded store does not hold
└── ShardWriteError                 a write to one shard failed; earlier shards were restored
"""

from __future__ import annotations

from context_lib.errors import ContextError


class PatternError(ContextError):
    """Base class of every error ``context_lib.patterns`` raises on purpose."""


class UnknownNodeError(PatternError, KeyError):
    """A node name that is not on the ring (or not a shard of the store)."""

    def __init__(self, node: str, known: list[str]) -> None:
        self.node = node
        self.known = known
        listing = ", ".join(known) if known else "none"
        super().__init__(f"unknown node {node!r}; known nodes: {listing}")

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class ShardWriteError(PatternError):
    """Writing to shard ``node`` failed; the shards written before it were restored.

    ``__cause__`` holds the backend's error. The restore is a compensation, not a
    distributed transaction: a crash between the writes can leave earlier shards changed.
    """

    def __init__(self, node: str, error: BaseException) -> None:
        self.node = node
        self.error = error
        super().__init__(
            f"writing to shard {node!r} failed ({type(error).__name__}: {error}); "
            "the shards written before it were restored"
        )
