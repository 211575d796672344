"""``Metrics``: per-operation counters and latency percentiles over a sliding window.

Cheap enough to leave on: recording one operation is a clock read, a dictionary
lookup and two integer increments under a lock (``benchmarks/bench_patterns.py``
measures it). Latencies go into log-scale histogram bins about 2.2 % wide, so memory
does not grow with traffic and percentiles are accurate to about 1 %.

The window is a ring of time buckets (``window / resolution`` seconds each): old
buckets fall out as time passes, so figures describe the last ``window`` seconds.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import wraps
from types import TracebackType
from typing import ParamSpec, TypeVar

from context_lib.patterns.errors import PatternError

__all__ = ["Metrics", "OperationStats"]

P = ParamSpec("P")
R = TypeVar("R")

_BINS_PER_OCTAVE = 32  # bin width 2**(1/32) - 1 = 2.2 %
_SCALE = _BINS_PER_OCTAVE / math.log(2)
_FLOOR = 1e-9  # latencies below a nanosecond are counted as a nanosecond
_LOG_FLOOR = math.log(_FLOOR)
_log = math.log


def _bin(seconds: float) -> int:
    if seconds <= _FLOOR:
        return 0
    return int((math.log(seconds) - _LOG_FLOOR) * _SCALE)


def _bin_value(index: int) -> float:
    """The geometric middle of a bin (relative error at most half a bin width)."""
    return math.exp((index + 0.5) / _SCALE + _LOG_FLOOR)


@dataclass(frozen=True)
class OperationStats:
    """One operation's figures over the window. Latencies are in seconds."""

    count: int
    errors: int
    rate: float  # operations per second over the window
    p50: float
    p95: float
    p99: float
    max: float

    def as_dict(self) -> dict[str, float | int]:
        """A JSON-ready dict (latencies in milliseconds)."""
        return {
            "count": self.count,
            "errors": self.errors,
            "rate_per_s": round(self.rate, 3),
            "p50_ms": round(self.p50 * 1e3, 4),
            "p95_ms": round(self.p95 * 1e3, 4),
            "p99_ms": round(self.p99 * 1e3, 4),
            "max_ms": round(self.max * 1e3, 4),
        }


class _Op:
    __slots__ = ("count", "errors", "hist", "keys", "max")

    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.max = 0.0
        self.hist: dict[int, int] = {}
        self.keys: Counter[str] = Counter()


class _Bucket:
    __slots__ = ("ops", "slot")

    def __init__(self, slot: int) -> None:
        self.slot = slot
        self.ops: dict[str, _Op] = {}


class Metrics:
    """Count operations and their latencies over the last ``window`` seconds.

    >>> metrics = Metrics(window=60.0)
    >>> with metrics.time("get"):
    ...     pass
    >>> metrics.record("set", 0.002, key="user.name")
    >>> metrics.snapshot()["set"].count, metrics.top_keys("set")
    (1, [('user.name', 1)])

    ``clock`` returns seconds (default ``time.monotonic``); pass a fake one in tests.
    """

    def __init__(
        self,
        window: float = 60.0,
        resolution: int = 60,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not (isinstance(window, int | float) and window > 0 and math.isfinite(window)):
            raise PatternError(f"window must be a positive number of seconds, not {window!r}")
        if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
            raise PatternError(f"resolution must be a positive integer, not {resolution!r}")
        self.window = float(window)
        self._width = self.window / resolution
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: deque[_Bucket] = deque()
        self._resolution = resolution

    # ------------------------------------------------------------------ recording

    def record(
        self, op: str, seconds: float, *, error: bool = False, key: str | None = None
    ) -> None:
        """Count one ``op`` that took ``seconds``; ``key`` feeds :meth:`top_keys`."""
        index = int((_log(seconds) - _LOG_FLOOR) * _SCALE) if seconds > _FLOOR else 0  # _bin
        slot = int(self._clock() // self._width)
        with self._lock:
            buckets = self._buckets
            bucket = buckets[-1] if buckets and buckets[-1].slot == slot else self._rotate(slot)
            stats = bucket.ops.get(op)
            if stats is None:
                stats = bucket.ops[op] = _Op()
            stats.count += 1
            hist = stats.hist
            hist[index] = hist.get(index, 0) + 1
            if seconds > stats.max:
                stats.max = seconds
            if error:
                stats.errors += 1
            if key is not None:
                stats.keys[key] += 1

    def _rotate(self, slot: int) -> _Bucket:
        buckets = self._buckets
        oldest = slot - self._resolution + 1
        while buckets and buckets[0].slot < oldest:
            buckets.popleft()
        if buckets and buckets[-1].slot > slot:  # the clock went back: use the newest bucket
            return buckets[-1]
        bucket = _Bucket(slot)
        buckets.append(bucket)
        return bucket

    def time(self, op: str, *, key: str | None = None) -> AbstractContextManager[None]:
        """Time the block as one ``op``; an exception counts it as an error too."""
        return _Timer(self, op, key)

    def timed(self, op: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Decorator: time every call of the function as one ``op``."""

        def decorate(func: Callable[P, R]) -> Callable[P, R]:
            @wraps(func)
            def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
                start = time.perf_counter()
                try:
                    result = func(*args, **kwargs)
                except BaseException:
                    self.record(op, time.perf_counter() - start, error=True)
                    raise
                self.record(op, time.perf_counter() - start)
                return result

            return wrapper

        return decorate

    # ------------------------------------------------------------------ reading

    def snapshot(self) -> dict[str, OperationStats]:
        """Figures per operation over the window, operations sorted by name."""
        merged: dict[str, tuple[int, int, float, Counter[int]]] = {}
        with self._lock:
            oldest = int(self._clock() // self._width) - self._resolution + 1
            for bucket in self._buckets:
                if bucket.slot < oldest:
                    continue
                for op, s in bucket.ops.items():
                    count, errors, top, hist = merged.get(op, (0, 0, 0.0, Counter()))
                    hist.update(s.hist)
                    merged[op] = (count + s.count, errors + s.errors, max(top, s.max), hist)
        result: dict[str, OperationStats] = {}
        for op in sorted(merged):
            count, errors, top, hist = merged[op]
            p50, p95, p99 = _percentiles(hist, count, (0.50, 0.95, 0.99), top)
            result[op] = OperationStats(count, errors, count / self.window, p50, p95, p99, top)
        return result

    def top_keys(self, op: str, n: int = 10) -> list[tuple[str, int]]:
        """The ``n`` keys recorded most often with ``op`` over the window."""
        total: Counter[str] = Counter()
        with self._lock:
            oldest = int(self._clock() // self._width) - self._resolution + 1
            for bucket in self._buckets:
                stats = bucket.ops.get(op)
                if bucket.slot >= oldest and stats is not None:
                    total.update(stats.keys)
        return sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    def reset(self) -> None:
        """Forget everything recorded."""
        with self._lock:
            self._buckets.clear()

    def as_dict(self) -> dict[str, dict[str, float | int]]:
        """:meth:`snapshot` as JSON-ready dicts (latencies in milliseconds)."""
        return {op: stats.as_dict() for op, stats in self.snapshot().items()}

    def __repr__(self) -> str:
        ops = ", ".join(f"{op}={s.count}" for op, s in self.snapshot().items())
        return f"<Metrics over {self.window:g} s: {ops or 'nothing recorded'}>"


class _Timer(AbstractContextManager[None]):
    """The context manager of :meth:`Metrics.time` (a class: cheaper than a generator)."""

    __slots__ = ("_key", "_metrics", "_op", "_start")

    def __init__(self, metrics: Metrics, op: str, key: str | None) -> None:
        self._metrics = metrics
        self._op = op
        self._key = key
        self._start = 0.0

    def __enter__(self) -> None:
        self._start = time.perf_counter()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        elapsed = time.perf_counter() - self._start
        self._metrics.record(self._op, elapsed, error=exc_type is not None, key=self._key)


def _percentiles(
    hist: Counter[int], count: int, qs: tuple[float, ...], top: float
) -> tuple[float, ...]:
    if count == 0:
        return tuple(0.0 for _ in qs)
    out: list[float] = []
    bins = sorted(hist.items())
    for q in qs:
        rank = max(1, math.ceil(q * count))
        seen = 0
        for index, n in bins:
            seen += n
            if seen >= rank:
                out.append(min(_bin_value(index), top))
                break
    return tuple(out)
