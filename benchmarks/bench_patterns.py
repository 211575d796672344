"""The cost of leaving ``Metrics`` on, and what ``CachedStore`` buys, in one run.

    .venv/bin/python benchmarks/bench_patterns.py [--ops 200000] [--keys 10000]

1. **Metrics overhead**: nanoseconds per ``Metrics.record`` call and per
   ``with metrics.time(op):`` block, next to an empty loop (the baseline) and a
   ``MemoryStore.get`` (the cheapest store operation there is), with the ratio.
2. **Cache hit-rate effect**: reads of ``--keys`` keys of a SQLite store under a skewed
   (Zipf-like, s = 1.1) access pattern, uncached and through ``CachedStore`` of
   several sizes: hit rate, reads per second and the speed-up over no cache.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from context_lib.patterns import CachedStore, Metrics
from context_lib.persistence import MemoryStore, SQLiteStore, Store


def per_op_ns(loop: Callable[[int], None], n: int, repeat: int = 5) -> float:
    """Best of ``repeat`` runs of ``loop(n)``, in nanoseconds per iteration."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter_ns()
        loop(n)
        best = min(best, (time.perf_counter_ns() - start) / n)
    return best


def metrics_overhead(n: int) -> None:
    metrics = Metrics(window=60)
    store = MemoryStore()
    store.put_many({"k": 1})

    def empty(n: int) -> None:
        for _ in range(n):
            pass

    def record(n: int) -> None:
        rec = metrics.record
        for _ in range(n):
            rec("get", 0.000123)

    def record_key(n: int) -> None:
        rec = metrics.record
        for _ in range(n):
            rec("set", 0.000123, key="user.42")

    def timed(n: int) -> None:
        t = metrics.time
        for _ in range(n):
            with t("get"):
                pass

    def store_get(n: int) -> None:
        get = store.get
        for _ in range(n):
            get("k")

    def store_get_timed(n: int) -> None:
        get, t = store.get, metrics.time
        for _ in range(n):
            with t("get"):
                get("k")

    base = per_op_ns(empty, n)
    rows = [
        ("empty loop (baseline)", base),
        ("Metrics.record(op, s)", per_op_ns(record, n) - base),
        ("Metrics.record(op, s, key=…)", per_op_ns(record_key, n) - base),
        ("with Metrics.time(op): pass", per_op_ns(timed, n) - base),
    ]
    plain = per_op_ns(store_get, n) - base
    with_metrics = per_op_ns(store_get_timed, n) - base
    rows += [("MemoryStore.get", plain), ("MemoryStore.get timed by Metrics", with_metrics)]
    print(f"Metrics overhead ({n} operations, best of 5)")
    for label, ns in rows:
        print(f"  {label:<36} {ns:>8.0f} ns/op")
    print(
        f"  timing a MemoryStore.get costs {with_metrics / plain:.2f}x the bare get "
        f"(+{with_metrics - plain:.0f} ns per operation)"
    )


def zipf_sampler(keys: int, s: float, rng: random.Random) -> Callable[[], int]:
    weights = [1 / (rank**s) for rank in range(1, keys + 1)]
    cumulative = list(itertools.accumulate(weights))
    total = cumulative[-1]
    return lambda: bisect.bisect_left(cumulative, rng.random() * total)


def cache_effect(keys: int, reads: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        store.put_many({f"item.{i}": {"id": i, "payload": "x" * 100} for i in range(keys)})
        rng = random.Random(7)
        sample = zipf_sampler(keys, 1.1, rng)
        trace = [f"item.{sample()}" for _ in range(reads)]

        def run(target: Store) -> float:
            get = target.get
            start = time.perf_counter()
            for key in trace:
                get(key)
            return reads / (time.perf_counter() - start)

        base = run(store)
        print(f"\nCache effect: {reads} Zipf(1.1) reads over {keys} keys of a SQLite store")
        print(f"  {'cache size':>10} {'hit rate':>9} {'reads/s':>10} {'speed-up':>9}")
        print(f"  {'none':>10} {'-':>9} {base:>10.0f} {1.0:>8.2f}x")
        for size in (keys // 100, keys // 20, keys // 5):
            cached = CachedStore(store, max_keys=size)
            rate = run(cached)
            hit = cached.stats.hit_rate
            print(f"  {size:>10} {hit:>8.1%} {rate:>10.0f} {rate / base:>8.2f}x")
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=200_000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--reads", type=int, default=50_000)
    args = parser.parse_args()
    metrics_overhead(args.ops)
    cache_effect(args.keys, args.reads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
