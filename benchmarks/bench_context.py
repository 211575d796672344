"""Context core against a plain dict, measured in one run on this machine.

    .venv/bin/python benchmarks/bench_context.py

Prints median nanoseconds per operation for Context and its baseline, their ratio and the
goal. Ratios (not absolute times) are what to compare across machines.
"""

from __future__ import annotations

import gc
import json
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from context_lib import Context

REPEATS = 7


def median_ns(run: Callable[[], int]) -> float:
    """``run`` performs n operations and returns n; the median ns/op over REPEATS runs."""
    samples = []
    for _ in range(REPEATS):
        gc.collect()
        gc.disable()
        start = time.perf_counter_ns()
        n = run()
        elapsed = time.perf_counter_ns() - start
        gc.enable()
        samples.append(elapsed / n)
    return statistics.median(samples)


def bench_get() -> tuple[float, float]:
    data = {f"ns{i % 10}.key{i}": i for i in range(10_000)}
    ctx = Context(data)
    keys = list(data) * 10

    def with_context() -> int:
        get = ctx.get
        for k in keys:
            get(k)
        return len(keys)

    def with_dict() -> int:
        get = data.get
        for k in keys:
            get(k)
        return len(keys)

    return median_ns(with_context), median_ns(with_dict)


def bench_set() -> tuple[float, float]:
    keys = [f"ns{i % 10}.key{i}" for i in range(10_000)]
    rounds = iter(range(1_000_000))

    def with_context() -> int:
        ctx = Context.from_dict(dict.fromkeys(keys, -1))
        value = next(rounds)
        set_ = ctx.set
        start = time.perf_counter_ns()
        for k in keys:
            set_(k, value)
        return time.perf_counter_ns() - start

    def with_dict() -> int:
        d = dict.fromkeys(keys, -1)
        value = next(rounds)
        start = time.perf_counter_ns()
        for k in keys:
            d[k] = value
        return time.perf_counter_ns() - start

    n = len(keys)
    return _median_direct(with_context) / n, _median_direct(with_dict) / n


class _Floor:
    """The least a Python-level container can do: shows what pure Python costs."""

    __slots__ = ("_data", "_lock", "_records")

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data
        self._records: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        return self._data[key]

    def set(self, key: str, value: Any) -> None:
        with self._lock:
            self._records.append((time.time(), key, self._data.get(key), value))
            self._data[key] = value


def bench_floors() -> tuple[float, float]:
    """ns/op of a bare Python ``get`` (one dict lookup) and a locked ``set`` with history."""
    data = {f"ns{i % 10}.key{i}": i for i in range(10_000)}
    keys = list(data) * 10
    floor = _Floor(dict(data))

    def get_floor() -> int:
        get = floor.get
        for k in keys:
            get(k)
        return len(keys)

    def set_floor() -> int:
        set_ = floor.set
        for k in keys:
            set_(k, 1)
        return len(keys)

    return median_ns(get_floor), median_ns(set_floor)


def bench_pop_dirty() -> tuple[float, float]:
    keys = [f"k{i}" for i in range(100_000)]

    def with_context() -> int:
        ctx = Context()
        for k in keys:
            ctx.set(k, 1)
        start = time.perf_counter_ns()
        ctx.pop_dirty_keys()
        return _ns_to_ops(time.perf_counter_ns() - start)

    def with_dict() -> int:
        d = dict.fromkeys(keys)
        start = time.perf_counter_ns()
        list(d)
        d.clear()
        return _ns_to_ops(time.perf_counter_ns() - start)

    return _median_direct(with_context), _median_direct(with_dict)


def _ns_to_ops(ns: int) -> int:
    return ns  # helper for "measure a single call": returns elapsed ns


def _median_direct(run: Callable[[], int]) -> float:
    """``run`` times its own critical part and returns nanoseconds (GC off, as above)."""
    samples = []
    for _ in range(REPEATS):
        gc.collect()
        gc.disable()
        try:
            samples.append(run())
        finally:
            gc.enable()
    return statistics.median(samples)


def bench_json() -> tuple[float, float, float, float]:
    data: dict[str, Any] = {
        f"svc{i % 50}.metric_{i}": (i if i % 3 == 0 else {"v": i * 0.5, "tags": ["a", "b"]})
        for i in range(100_000)
    }
    ctx = Context.from_dict(data)
    text = ctx.to_json()
    plain = json.dumps(data)

    def one(fn: Callable[[], object]) -> Callable[[], int]:
        def run() -> int:
            fn()
            return 1

        return run

    return (
        median_ns(one(ctx.to_json)),
        median_ns(one(lambda: json.dumps(data))),
        median_ns(one(lambda: Context.from_json(text))),
        median_ns(one(lambda: json.loads(plain))),
    )


def bench_merge() -> tuple[float, float]:
    a_data = {f"k{i}": i for i in range(10_000)}
    # Half the keys overlap with different values (conflicts), half are new.
    b_data = {f"k{i}": -i for i in range(5_000, 15_000)}

    def with_context() -> int:
        a = Context.from_dict(a_data)
        b = Context.from_dict(b_data)
        start = time.perf_counter_ns()
        a.merge_from(b, strategy="theirs")
        return time.perf_counter_ns() - start

    def with_dict() -> int:
        start = time.perf_counter_ns()
        _ = {**a_data, **b_data}
        return time.perf_counter_ns() - start

    return _median_direct(with_context), _median_direct(with_dict)


def bytes_per_key_and_change() -> tuple[float, float]:
    n_keys, rounds = 1_000, 100
    keys = [f"ns.key{i}" for i in range(n_keys)]
    # Values exist before measuring: they belong to the caller, not to the context.
    values = [[10**6 + r * n_keys + i for i in range(n_keys)] for r in range(rounds)]
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    ctx = Context.from_dict(dict(zip(keys, values[0], strict=True)))
    per_key = (tracemalloc.get_traced_memory()[0] - base) / n_keys
    for i, k in enumerate(keys):  # warm up per-key bookkeeping (dirty and last-change maps)
        ctx.set(k, values[1][i])
    base = tracemalloc.get_traced_memory()[0]
    for r in range(2, rounds):
        for i, k in enumerate(keys):
            ctx.set(k, values[r][i])
    per_change = (tracemalloc.get_traced_memory()[0] - base) / ((rounds - 2) * n_keys)
    tracemalloc.stop()
    return per_key, per_change


def main() -> None:
    rows: list[tuple[str, float, float, str, float]] = []
    get_ctx, get_dict = bench_get()
    rows.append(("get (10k keys) vs dict.get", get_ctx, get_dict, "<= 2x", 2))
    set_ctx, set_dict = bench_set()
    rows.append(("set changed value vs d[k] = v", set_ctx, set_dict, "<= 12x", 12))
    pop_ctx, pop_dict = bench_pop_dirty()
    rows.append(("pop_dirty_keys after 100k sets vs list(d)+clear", pop_ctx, pop_dict, "-", 0))
    dumps_ctx, dumps_json, loads_ctx, loads_json = bench_json()
    rows.append(("to_json 100k keys vs json.dumps", dumps_ctx, dumps_json, "<= 0.25x", 0.25))
    rows.append(("from_json 100k keys vs json.loads", loads_ctx, loads_json, "<= 1.2x", 1.2))
    get_floor, set_floor = bench_floors()
    rows.append(("  floor: bare Python get (one lookup) vs dict.get", get_floor, get_dict, "-", 0))
    rows.append(
        ("  floor: bare locked set + history tuple vs d[k] = v", set_floor, set_dict, "-", 0)
    )
    merge_ctx, merge_dict = bench_merge()
    rows.append(("merge 2 x 10k keys vs {**a, **b}", merge_ctx, merge_dict, "<= 8x", 8))

    print(f"{'operation':52} {'Context ns':>14} {'baseline ns':>14} {'ratio':>8}  goal")
    for name, ours, base, goal, limit in rows:
        ratio = ours / base
        mark = "" if not limit else ("  ok" if ratio <= limit else "  MISSED")
        print(f"{name:52} {ours:14,.0f} {base:14,.0f} {ratio:8.2f}x  {goal}{mark}")
    per_key, per_change = bytes_per_key_and_change()
    print(
        f"\nmemory: {per_key:.0f} bytes per key (data + key string), "
        f"{per_change:.0f} bytes per history record (goal <= 160)"
    )


if __name__ == "__main__":
    main()
