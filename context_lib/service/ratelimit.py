"""Token buckets for one process (the Redis backend shares tenants' buckets across nodes)."""

from __future__ import annotations

import threading

__all__ = ["TokenBuckets"]


class TokenBuckets:
    """Token buckets by name: ``rate`` tokens per second, at most ``burst`` saved up.

    ``max_entries`` bounds the memory: when a new name would pass it, the buckets are
    reset (a full bucket is what a forgotten name starts with anyway).
    """

    def __init__(self, *, max_entries: int | None = None) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, last time)
        self._max = max_entries

    def _level(self, name: str, rate: float, burst: int, now: float) -> float:
        tokens, last = self._buckets.get(name, (float(burst), now))
        return min(float(burst), tokens + max(0.0, now - last) * rate)

    def take(self, name: str, rate: float, burst: int, now: float) -> float:
        """Take one token: 0.0 when allowed, else how long until one is available."""
        with self._lock:
            full = self._max is not None and len(self._buckets) >= self._max
            if full and name not in self._buckets:
                self._buckets.clear()
            tokens = self._level(name, rate, burst, now)
            if tokens >= 1.0:
                self._buckets[name] = (tokens - 1.0, now)
                return 0.0
            self._buckets[name] = (tokens, now)
            return (1.0 - tokens) / rate if rate > 0 else 60.0

    def wait(self, name: str, rate: float, burst: int, now: float) -> float:
        """How long until ``name`` has a token (0.0: now), taking none."""
        with self._lock:
            tokens = self._level(name, rate, burst, now)
        if tokens >= 1.0:
            return 0.0
        return (1.0 - tokens) / rate if rate > 0 else 60.0

    def forget(self, name: str) -> None:
        """Drop a bucket (after its tenant is erased)."""
        with self._lock:
            self._buckets.pop(name, None)
