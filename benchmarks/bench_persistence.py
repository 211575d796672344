"""Delta saves against full snapshots, measured in one run on this machine.

    .venv/bin/python benchmarks/bench_persistence.py [--keys 100000] [--churn 0.01] [--steps 5]

Two identical contexts of ``--keys`` keys get the same ``--churn`` of their keys changed
per step; one is saved with ``save_delta``, the other with ``save`` (a full snapshot), to
stores of the same kind. On the shared harness (``benchmarks/harness.py``): each save
timed alone on this thread's CPU (wall beside it), the two sides interleaved step by
step, per-step ratios (median, min–max). Notes give, per backend, the median payload
bytes the store reports writing and the bytes passed to write(2) (``wchar`` in
/proc/self/io: the JSON file, SQLite's WAL and journal pages). The goal: delta payload
>= 50x smaller than a full snapshot at 1% churn.
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

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.harness import Bench, BenchResult, Sample, thread_cpu_clock  # noqa: E402
from context_lib import Context  # noqa: E402
from context_lib.persistence import (  # noqa: E402
    JsonFileStore,
    SQLiteStore,
    Store,
    save,
    save_delta,
)

RESULTS = ROOT / "benchmarks" / "results"

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


def value(i: int, step: int) -> dict[str, object]:
    return {"id": i, "score": round(i * 0.37 + step, 3), "tags": ["a", "b"], "step": step}


def run_backend(
    name: str, make: Callable[[str], Store], keys: int, churn: float, steps: int, seed: int
) -> tuple[BenchResult, dict[str, list[int]]]:
    """``steps`` interleaved rounds: the same keys change in two identical contexts, one
    saved with ``save_delta``, the other with ``save``; each save timed alone."""
    rng = random.Random(seed)
    start = {f"items.k{i}": value(i, 0) for i in range(keys)}
    contexts = {"delta": Context(start), "full": Context(start)}
    stores = {"delta": make("delta"), "full": make("full")}
    per_step = max(1, int(keys * churn))
    changes: list[list[int]] = [rng.sample(range(keys), per_step) for _ in range(steps)]
    done = {"delta": 0, "full": 0}
    written: dict[str, list[int]] = {"delta": [], "full": [], "delta-write": [], "full-write": []}

    def saver(kind: str) -> Callable[[], Sample]:
        def run() -> Sample:
            ctx = contexts[kind]
            step = done[kind]
            done[kind] += 1
            for i in changes[step]:
                ctx.set(f"items.k{i}", value(i, step + 1))
            before = written_bytes()
            cpu0, wall0 = thread_cpu_clock(), time.perf_counter()
            saved = (save_delta if kind == "delta" else save)(ctx, stores[kind])
            cpu1, wall1 = thread_cpu_clock(), time.perf_counter()
            after = written_bytes()
            written[kind].append(saved.bytes)
            if before is not None and after is not None:
                written[f"{kind}-write"].append(after - before)
            return Sample(cpu_s=cpu1 - cpu0, wall_s=wall1 - wall0)

        return run

    try:
        for kind in ("delta", "full"):  # both start from the same full state
            save(contexts[kind], stores[kind])
        bench = Bench(f"persistence-{name.replace(' ', '-')}", clock=thread_cpu_clock)
        bench.side("save_delta", saver("delta"))
        bench.side("save (full snapshot)", saver("full"), baseline=True)
        result = bench.run(rounds=steps, warmup=0)
    finally:
        for store in stores.values():
            store.close()
    return result, written


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
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for JSON + Markdown")
    args = parser.parse_args(argv)
    print(f"{args.keys:,} keys, {args.churn:.1%} changed per step, {args.steps} steps\n")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        backends: dict[str, Callable[[str], Store]] = {
            "sqlite": lambda tag: SQLiteStore(folder / f"{tag}.db", name="bench"),
            "json file": lambda tag: JsonFileStore(folder / f"{tag}.json"),
        }
        for name, make in backends.items():
            result, written = run_backend(name, make, args.keys, args.churn, args.steps, args.seed)
            med = {k: statistics.median(v) for k, v in written.items() if v}
            payload_ratio = med["full"] / med["delta"]
            result.notes.append(
                f"payload per save (median): delta {human(med['delta'])}, full "
                f"{human(med['full'])}: {payload_ratio:.1f}x smaller"
            )
            if med.get("delta-write"):
                result.notes.append(
                    f"bytes passed to write(2) (median): delta {human(med['delta-write'])}, "
                    f"full {human(med['full-write'])}: "
                    f"{med['full-write'] / med['delta-write']:.1f}x"
                )
            print(result.markdown(unit="ms", scale=1e3) + "\n")
            result.save(args.out, unit="ms", scale=1e3)
            ok = ok and payload_ratio >= GOAL
    verdict = "met" if ok else "NOT met"
    print(f"goal: delta payload >= {GOAL:.0f}x smaller than a full snapshot -> {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
