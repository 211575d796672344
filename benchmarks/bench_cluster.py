"""Benchmark: the local process pool against a Dask cluster of 1, 2 and 4 workers.

    .venv/bin/python benchmarks/bench_cluster.py [--learners 8] [--rounds 3] [--configs …]

Every learner submits the course's eight notebooks (even learners the instructor's
solutions, odd learners the blank exercises), graded through the executor seam exactly
as ``context-course grade`` does: ``LocalProcessExecutor`` for the local pool,
``DaskExecutor`` on a scheduler and worker processes started on loopback by
``start_local_cluster`` (each worker process stands for a node). All configurations
are started first and each grades a warm-up batch (workers start their sandboxes; the
client computes the reference values once, as in real use). Then ``--rounds`` rounds
grade the timed batch on every configuration in turn, so that other work on the machine
hits them alike; each configuration's best round is reported (interference only ever
adds time).

Printed per configuration:

- notebooks per second, and the ratio to the local pool with as many processes (at
  most the CPU count: dask-4 is compared with local-2 here);
- core seconds: mean time inside ``grade_notebook`` per notebook (from the results);
- overhead per submission: ``wall × slots / notebooks − core seconds``, the time each
  worker slot spends on a notebook beyond grading it (scheduling, shipping, transport,
  idle slots); the Dask line minus the local line of the same size is what the cluster
  costs per submission;
- the parent's gradebook write time per notebook (SQLite, one transaction each), which
  bounds what one client can record per second.

This machine has few cores shared with other work: configurations with more worker
processes than cores measure contention, not scaling. Compare ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.pipeline.catalog import load_catalog  # noqa: E402
from grader.pipeline.cluster import DaskExecutor, start_local_cluster  # noqa: E402
from grader.pipeline.dispatch import Executor, GradeJob, JobOutcome, LocalProcessExecutor  # noqa: E402
from grader.pipeline.gradebook import GradebookStore, grader_version  # noqa: E402
from grader.pipeline.manifest import LearnerInfo  # noqa: E402

CONFIGS = ("local-1", "local-2", "dask-1", "dask-2", "dask-4")


def _jobs(folder: Path, learners: int, cache: Path, prefix: str) -> list[GradeJob]:
    """Stage ``learners`` learners' eight notebooks under ``folder``."""
    jobs = []
    for index in range(learners):
        origin = "solutions" if index % 2 == 0 else "exercises"
        for source in sorted((ROOT / "solutions").glob("*/*.ipynb")):
            slug = source.stem
            submitted = folder / f"{prefix}{index:04d}" / slug / f"{slug}.ipynb"
            submitted.parent.mkdir(parents=True, exist_ok=True)
            submitted.write_bytes((ROOT / origin / slug / f"{slug}.ipynb").read_bytes())
            jobs.append(
                GradeJob(
                    key=f"{prefix}{index:04d}/{slug}",
                    source=str(source),
                    submitted=str(submitted),
                    cache_dir=str(cache),
                    cell_timeout=30.0,
                    notebook_timeout=300.0,
                )
            )
    return jobs


def _run(executor: Executor, jobs: Sequence[GradeJob]) -> tuple[float, list[JobOutcome]]:
    started = time.perf_counter()
    outcomes = list(executor.run(jobs))
    return time.perf_counter() - started, outcomes


def _start(config: str, stack: contextlib.ExitStack, warm: list[GradeJob]) -> Executor:
    """Start ``config``'s executor (closed with ``stack``) and grade a warm-up batch."""
    kind, _, size = config.partition("-")
    slots = int(size)
    executor: Executor
    if kind == "local":
        executor = stack.enter_context(LocalProcessExecutor(slots))
    else:
        cluster = stack.enter_context(start_local_cluster(slots, nanny=False))
        executor = stack.enter_context(DaskExecutor(cluster.address))
    _run(executor, warm[: 2 * slots * 8])
    return executor


def _gradebook_write_seconds(outcomes: list[JobOutcome], folder: Path) -> float:
    """Mean seconds per ``GradebookStore.record`` (one transaction) on a SQLite file."""
    catalog = load_catalog(ROOT / "solutions")
    results = [o.result for o in outcomes if o.result is not None]
    with GradebookStore(f"sqlite:///{folder / 'bench.db'}", course_id="bench") as store:
        store.register_catalog(catalog)
        started = time.perf_counter()
        for index, result in enumerate(results):
            store.record(
                result,
                learner=LearnerInfo(f"learner{index // 8:04d}"),
                source=catalog[result.notebook],
                submission_hash=result.submission_hash,
                course_version="bench",
                grader_version=grader_version(),
            )
        return (time.perf_counter() - started) / max(len(results), 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=8, help="learners in the timed batch")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per configuration")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated list")
    args = parser.parse_args(argv)
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = sorted(set(configs) - set(CONFIGS))
    if unknown or args.learners < 1 or args.rounds < 1:
        print(f"unknown configuration(s) {unknown}; choose from {', '.join(CONFIGS)}")
        return 2
    print(f"machine: {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        folder = Path(tmp)
        cache = folder / "cache"
        warm = _jobs(folder / "warm", 8, cache, "warm")
        timed = _jobs(folder / "timed", args.learners, cache, "learner")
        rows: dict[str, dict[str, float]] = {}
        scores: dict[str, dict[str, float]] = {}
        outcomes: list[JobOutcome] = []
        with contextlib.ExitStack() as stack:
            executors: dict[str, Executor] = {}
            for config in configs:
                started = time.perf_counter()
                executors[config] = _start(config, stack, warm)
                print(f"  {config}: started and warm in {time.perf_counter() - started:.1f} s")
            for round_number in range(1, args.rounds + 1):
                for config, executor in executors.items():
                    wall, outcomes = _run(executor, timed)
                    failed = [o for o in outcomes if o.result is None]
                    if failed:
                        print(f"{config}: {len(failed)} notebooks failed: {failed[0].error}")
                        return 1
                    print(f"  round {round_number} {config}: {wall:.2f} s", flush=True)
                    scores.setdefault(config, {}).update(
                        {o.key: o.result.score for o in outcomes if o.result}
                    )
                    if config in rows and rows[config]["wall"] <= wall:
                        continue
                    slots = int(config.partition("-")[2])
                    core = statistics.fmean(o.result.wall_seconds for o in outcomes if o.result)
                    rows[config] = {
                        "rate": len(timed) / wall,
                        "wall": wall,
                        "core": core,
                        "overhead": wall * slots / len(timed) - core,
                    }
        reference = next(iter(scores.values()))
        same = all(s == reference for s in scores.values())
        write = _gradebook_write_seconds(outcomes, folder)

    print()
    print(
        f"{len(timed)} notebooks ({args.learners} learners x 8), best of {args.rounds} "
        f"rounds, load average now {os.getloadavg()[0]:.1f}, scores identical: {same}"
    )
    header = (
        f"{'configuration':<14}{'notebooks/s':>12}{'vs local':>10}{'core s':>9}{'overhead/sub':>14}"
    )
    print(header)
    print("-" * len(header))
    for config, row in rows.items():
        slots = config.partition("-")[2]
        base = rows.get(f"local-{min(int(slots), 2)}")
        ratio = f"{row['rate'] / base['rate']:.2f}x" if base else "-"
        print(
            f"{config:<14}{row['rate']:>12.2f}{ratio:>10}{row['core']:>9.3f}"
            f"{row['overhead'] * 1000:>11.0f} ms"
        )
    if "local-1" in rows and "dask-1" in rows:
        extra = rows["dask-1"]["overhead"] - rows["local-1"]["overhead"]
        print(
            f"\nDask's cost per submission (dask-1 minus local-1 overhead): {extra * 1000:.0f} ms"
        )
    print(f"gradebook write per notebook (SQLite, one transaction): {write * 1000:.1f} ms")
    print(json.dumps({"rows": rows, "gradebook_write_s": write, "identical_scores": same}))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
