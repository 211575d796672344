"""A per-tenant token bucket for one process (the Redis backend shares one across nodes)."""

from __future__ import annotations

import threading

__all__ = ["TokenBuckets"]


class TokenBuckets:
    """Token buckets by tenant: ``rate`` tokens per second, at most ``burst`` saved up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # tenant -> (tokens, last time)

    def take(self, tenant_id: str, rate: float, burst: int, now: float) -> float:
        """Take one token: 0.0 when allowed, else how long until one is available."""
        with self._lock:
            tokens, last = self._buckets.get(tenant_id, (float(burst), now))
            tokens = min(float(burst), tokens + max(0.0, now - last) * rate)
            if tokens >= 1.0:
                self._buckets[tenant_id] = (tokens - 1.0, now)
                return 0.0
            self._buckets[tenant_id] = (tokens, now)
            return (1.0 - tokens) / rate if rate > 0 else 60.0

    def forget(self, tenant_id: str) -> None:
        """Drop a tenant's bucket (after it is erased)."""
        with self._lock:
            self._buckets.pop(tenant_id, None)
