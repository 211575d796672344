"""Failed authentications: throttled per source, audited in aggregate.

A flood of requests with no key or a wrong one must not cost a row each. Failures are
counted in memory per (chain, source, key id) over a window (60 s by default); when
the window closes, each group becomes **one** audit entry with its count, first and
last time and the actions tried. At most ``max_groups`` groups are kept per window;
failures beyond that fall into one overflow group per chain (source and key id
``*``), so a window costs at most ``max_groups`` + (number of chains) entries
whatever the flood. Each source also has a token bucket of failures (``rate`` per
second, ``burst`` at once); a source over it gets 429 before its key is even checked.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from context_lib.service.ratelimit import TokenBuckets

__all__ = ["FailedAuthGroup", "FailedAuthLog"]

OVERFLOW = "*"
_MAX_ACTIONS = 8


@dataclass
class FailedAuthGroup:
    """Failures of one source with one key id (``-`` for none) in one window."""

    chain: str
    source: str
    key_id: str
    first: float
    last: float
    count: int = 0
    actions: list[str] = field(default_factory=list)

    def payload(self) -> dict[str, object]:
        """The audit payload of the group (encrypted at rest like every payload)."""
        return {
            "source": self.source,
            "key_id": self.key_id,
            "count": self.count,
            "first": self.first,
            "last": self.last,
            "actions": self.actions,
        }


class FailedAuthLog:
    """Counts failed authentications; hands out closed windows as groups."""

    def __init__(
        self,
        *,
        window: float = 60.0,
        max_groups: int = 100,
        rate: float = 20.0,
        burst: int = 1000,
    ) -> None:
        self.window = window
        self.max_groups = max_groups
        self.rate = rate
        self.burst = burst
        self._lock = threading.Lock()
        self._groups: dict[tuple[str, str, str], FailedAuthGroup] = {}
        self._opened: float | None = None
        self._throttle = TokenBuckets(max_entries=10 * max_groups)

    def throttled(self, source: str, now: float) -> float:
        """Seconds the source must wait (0.0 when it may try); counts nothing."""
        return self._throttle.wait(source, self.rate, self.burst, now)

    def note(
        self, chain: str, source: str, key_id: str, action: str, now: float
    ) -> list[FailedAuthGroup]:
        """Count one failure; return the groups of a window that has closed (if any)."""
        self._throttle.take(source, self.rate, self.burst, now)
        with self._lock:
            closed = self._close_if_due(now)
            if self._opened is None:
                self._opened = now
            ident = (chain, source[:64], key_id[:32])
            group = self._groups.get(ident)
            if group is None:
                if len(self._groups) >= self.max_groups:
                    ident = (chain, OVERFLOW, OVERFLOW)
                    group = self._groups.get(ident)
                if group is None:
                    group = self._groups[ident] = FailedAuthGroup(*ident, first=now, last=now)
            group.count += 1
            group.last = now
            if action not in group.actions and len(group.actions) < _MAX_ACTIONS:
                group.actions.append(action)
            return closed

    def flush(self, now: float, *, force: bool = False) -> list[FailedAuthGroup]:
        """The groups of the current window if it has closed (or ``force``)."""
        with self._lock:
            return self._close_if_due(now, force=force)

    def _close_if_due(self, now: float, *, force: bool = False) -> list[FailedAuthGroup]:
        if self._opened is None or not (force or now - self._opened >= self.window):
            return []
        closed = list(self._groups.values())
        self._groups.clear()
        self._opened = None
        return closed
