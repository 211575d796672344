"""Delta saves against full snapshots, measured in one run on this machine.

    .venv/bin/python benchmarks/bench_persistence.py [--keys 100000] [--churn 0.01] [--steps 5]

A context of ``--keys`` keys gets ``--churn`` of its keys changed per step; after each
step ``save_delta`` writes to one store and ``save`` (a full snapshot) to another of
the same kind. Prints, per backend, the median per step of:

* payload bytes: what the store reports writing (encoded keys and values);
* bytes passed to write(2) by this process (``wchar`` in /proc/self/io: the JSON
  file, SQLite's WAL and journal pages), when the platform reports it;
* wall-clock time.

and the full/delta ratios. The goal: delta payload >= 50x smaller than a full
snapshot at 1% churn. Ratios (not absolute numbers) are what to compare across machines.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from context_lib import Context
from context_lib.persistence import JsonFileStore, SQLiteStore, Store, save, save_delta

GOAL = 50.0


def written_bytes() -> int | None:
    """Bytes this process has passed to write(2) so far (Linux), else ``None``."""
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    return None


def measure(fn: Callable[[], int]) -> tuple[int, int | None, float]:
    """(payload bytes, write(2) bytes or None, seconds) of one call."""
    before = written_bytes()
    start = time.perf_counter()
    payload = fn()
    seconds = time.perf_counter() - start
    after = written_bytes()
    disk = None if before is None or after is None else after - before
    return payload, disk, seconds


def value(i: int, step: int) -> dict[str, object]:
    return {"id": i, "score": round(i * 0.37 + step, 3), "tags": ["a", "b"], "step": step}


def run_backend(
    name: str, make: Callable[[str], Store], keys: int, churn: float, steps: int, seed: int
) -> dict[str, list[float]]:
    rng = random.Random(seed)
    ctx = Context({f"items.k{i}": value(i, 0) for i in range(keys)})
    delta_store, full_store = make("delta"), make("full")
    try:
        save(ctx, delta_store)  # both start from the same full state
        save(ctx, full_store)
        per_step = max(1, int(keys * churn))
        samples: dict[str, list[float]] = {k: [] for k in ("dp", "dd", "dt", "fp", "fd", "ft")}
        for step in range(1, steps + 1):
            for i in rng.sample(range(keys), per_step):
                ctx.set(f"items.k{i}", value(i, step))
            dp, dd, dt = measure(lambda: save_delta(ctx, delta_store).bytes)
            fp, fd, ft = measure(lambda: save(ctx, full_store).bytes)
            samples["dp"].append(dp)
            samples["dt"].append(dt)
            samples["fp"].append(fp)
            samples["ft"].append(ft)
            if dd is not None and fd is not None:
                samples["dd"].append(dd)
                samples["fd"].append(fd)
        return samples
    finally:
        delta_store.close()
        full_store.close()


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--churn", type=float, default=0.01)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(
        f"{args.keys:,} keys, {args.churn:.1%} changed per step, {args.steps} steps; "
        "medians per step\n"
    )
    header = f"{'backend':<10} {'save':<6} {'payload':>10} {'write(2)':>10} {'time':>9}"
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        backends: dict[str, Callable[[str], Store]] = {
            "sqlite": lambda tag: SQLiteStore(folder / f"{tag}.db", name="bench"),
            "json file": lambda tag: JsonFileStore(folder / f"{tag}.json"),
        }
        summary = []
        print(header)
        for name, make in backends.items():
            s = run_backend(name, make, args.keys, args.churn, args.steps, args.seed)
            med = {k: statistics.median(v) if v else float("nan") for k, v in s.items()}
            disk = bool(s["dd"])
            for label, p, d, t in (
                ("delta", med["dp"], med["dd"], med["dt"]),
                ("full", med["fp"], med["fd"], med["ft"]),
            ):
                shown = human(d) if disk else "n/a"
                print(f"{name:<10} {label:<6} {human(p):>10} {shown:>10} {t * 1000:>7.1f} ms")
            payload_ratio = med["fp"] / med["dp"]
            disk_ratio = med["fd"] / med["dd"] if disk and med["dd"] else float("nan")
            time_ratio = med["ft"] / med["dt"]
            summary.append((name, payload_ratio, disk_ratio, time_ratio))
            ok = ok and payload_ratio >= GOAL
    print("\nfull / delta ratios (higher is better for delta):")
    for name, payload_ratio, disk_ratio, time_ratio in summary:
        print(
            f"  {name:<10} payload {payload_ratio:6.1f}x   write(2) {disk_ratio:6.1f}x   "
            f"time {time_ratio:6.1f}x"
        )
    verdict = "met" if ok else "NOT met"
    print(f"\ngoal: delta payload >= {GOAL:.0f}x smaller than a full snapshot -> {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
