"""The cost of leaving ``Metrics`` on, and what ``CachedStore`` buys, in one run.

    .venv/bin/python benchmarks/bench_patterns.py [--ops 200000] [--keys 10000] [--rounds 7]

On the shared harness (``benchmarks/harness.py``): this thread's CPU time, interleaved
rounds, per-round ratios (median, min–max), saved as JSON + Markdown.

1. **Metrics overhead**: ``Metrics.record`` and ``with metrics.time(op):`` per operation,
   and a ``MemoryStore.get`` timed by ``Metrics.time``, each against the bare
   ``MemoryStore.get`` (the cheapest store operation there is).
2. **Cache hit-rate effect**: reads of ``--keys`` keys of a SQLite store under a skewed
   (Zipf-like, s = 1.1) access pattern, uncached (the baseline) and through
   ``CachedStore`` of several sizes (kept warm across rounds, as in use): CPU per read,
   the ratio to the uncached store, and the hit rate.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.harness import Bench, BenchResult, thread_cpu_clock  # noqa: E402
from context_lib.patterns import CachedStore, Metrics  # noqa: E402
from context_lib.persistence import MemoryStore, SQLiteStore, Store  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def metrics_overhead(n: int, rounds: int) -> BenchResult:
    """``Metrics.record``/``time`` and a timed ``MemoryStore.get`` against the bare get."""
    metrics = Metrics(window=60)
    store = MemoryStore()
    store.put_many({"k": 1})

    def record() -> int:
        rec = metrics.record
        for _ in range(n):
            rec("get", 0.000123)
        return n

    def record_key() -> int:
        rec = metrics.record
        for _ in range(n):
            rec("set", 0.000123, key="user.42")
        return n

    def timed() -> int:
        t = metrics.time
        for _ in range(n):
            with t("get"):
                pass
        return n

    def store_get() -> int:
        get = store.get
        for _ in range(n):
            get("k")
        return n

    def store_get_timed() -> int:
        get, t = store.get, metrics.time
        for _ in range(n):
            with t("get"):
                get("k")
        return n

    bench = Bench("patterns-metrics", clock=thread_cpu_clock)
    bench.side("MemoryStore.get timed by Metrics.time", store_get_timed)
    bench.side("Metrics.record(op, s)", record)
    bench.side("Metrics.record(op, s, key=…)", record_key)
    bench.side("with Metrics.time(op): pass", timed)
    bench.side("MemoryStore.get", store_get, baseline=True)
    bench.notes.append(f"{n} operations per side per round; loop overhead included on all sides")
    return bench.run(rounds=rounds)


def zipf_sampler(keys: int, s: float, rng: random.Random) -> Callable[[], int]:
    weights = [1 / (rank**s) for rank in range(1, keys + 1)]
    cumulative = list(itertools.accumulate(weights))
    total = cumulative[-1]
    return lambda: bisect.bisect_left(cumulative, rng.random() * total)


def cache_effect(keys: int, reads: int, rounds: int) -> tuple[BenchResult, dict[str, float]]:
    """Zipf(1.1) reads of a SQLite store, uncached (baseline) and through CachedStore."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        store.put_many({f"item.{i}": {"id": i, "payload": "x" * 100} for i in range(keys)})
        rng = random.Random(7)
        sample = zipf_sampler(keys, 1.1, rng)
        trace = [f"item.{sample()}" for _ in range(reads)]

        def reader(target: Store) -> Callable[[], int]:
            def run() -> int:
                get = target.get
                for key in trace:
                    get(key)
                return reads

            return run

        bench = Bench("patterns-cache", clock=thread_cpu_clock)
        bench.side("no cache", reader(store), baseline=True)
        caches: dict[str, CachedStore] = {}
        for size in (keys // 100, keys // 20, keys // 5):
            # a fresh cache per round would measure warming; this one stays warm, as in use
            caches[f"CachedStore({size})"] = CachedStore(store, max_keys=size)
            bench.side(f"CachedStore({size})", reader(caches[f"CachedStore({size})"]))
        result = bench.run(rounds=rounds)
        result.notes.append(f"{reads} Zipf(1.1) reads over {keys} keys per side per round")
        hits = {name: cache.stats.hit_rate for name, cache in caches.items()}
        store.close()
    return result, hits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=200_000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--reads", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for JSON + Markdown")
    args = parser.parse_args()
    metrics = metrics_overhead(args.ops, args.rounds)
    print(metrics.markdown(unit="ns", scale=1e9) + "\n")
    metrics.save(args.out, unit="ns", scale=1e9)
    cache, hits = cache_effect(args.keys, args.reads, args.rounds)
    for name, rate in hits.items():
        cache.notes.append(f"{name}: hit rate {rate:.1%} over all rounds")
    print(cache.markdown(unit="µs", scale=1e6))
    cache.save(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
