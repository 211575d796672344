"""Benchmark: the local process pool against a Dask cluster of 1, 2 and 4 workers.

    .venv/bin/python benchmarks/bench_cluster.py [--learners 8] [--rounds 3] [--configs …]

What it is for: on ONE machine a cluster cannot be faster than the local pool (its
workers share the same CPUs); this benchmark shows what the cluster *adds* per notebook
(shipping the job, scheduling, returning the result) and that the scores are identical.
Speed-up comes from adding machines, which this benchmark does not have.

Every learner submits the course's eight notebooks (even learners the instructor's
solutions, odd learners the blank exercises), graded through the executor seam exactly
as ``context-course grade`` does: ``LocalProcessExecutor`` for the local pool,
``DaskExecutor`` on a scheduler and worker processes started on loopback by
``start_local_cluster`` (each worker process stands for a node). All configurations
are started first and each grades a warm-up batch (workers start their sandboxes; the
client computes the reference values once, as in real use): every side is warm. Then
``--rounds`` interleaved rounds (A B C …, … C B A) grade the timed batch on every
configuration (shared harness: ``benchmarks/harness.py``).

Clock: CPU of this process (the client) plus that of the configuration's own processes
and their descendants (pool workers, or scheduler and Dask workers; sandboxes), not the
idle CPU of the other configurations, which stay up meanwhile; wall time beside it;
ratios per round against the local pools (median, min–max). Notes give, per
configuration, the grading core's time per notebook and the overhead per notebook-slot
(``wall × slots / notebooks − core``), the scores' identity, and the client's gradebook
write time per notebook (SQLite, one transaction).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.harness import Bench, Sample, tree_cpu_clock  # noqa: E402
from grader.pipeline.catalog import load_catalog  # noqa: E402
from grader.pipeline.cluster import DaskExecutor, start_local_cluster  # noqa: E402
from grader.pipeline.dispatch import Executor, GradeJob, JobOutcome, LocalProcessExecutor  # noqa: E402
from grader.pipeline.gradebook import GradebookStore, grader_version  # noqa: E402
from grader.pipeline.manifest import LearnerInfo  # noqa: E402

CONFIGS = ("local-1", "local-2", "dask-1", "dask-2", "dask-4")
RESULTS = ROOT / "benchmarks" / "results"


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


def _children() -> set[int]:
    """This process's live children."""
    me = str(os.getpid())
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                raw = Path(f"/proc/{entry}/stat").read_text(encoding="ascii", errors="replace")
            except OSError:
                continue
            if raw[raw.rfind(")") + 2 :].split()[1:2] == [me]:
                found.add(int(entry))
    return found


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
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated list")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for JSON + Markdown")
    args = parser.parse_args(argv)
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = sorted(set(configs) - set(CONFIGS))
    if unknown or args.learners < 1 or args.rounds < 1:
        print(f"unknown configuration(s) {unknown}; choose from {', '.join(CONFIGS)}")
        return 2
    if not any(c.startswith("local-") for c in configs):
        print("include at least one local-N configuration: it is the baseline")
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        folder = Path(tmp)
        cache = folder / "cache"
        warm = _jobs(folder / "warm", 8, cache, "warm")
        timed = _jobs(folder / "timed", args.learners, cache, "learner")
        scores: dict[str, dict[str, float]] = {}
        overhead: dict[str, list[float]] = {}
        core: dict[str, list[float]] = {}
        outcomes: list[JobOutcome] = []
        with contextlib.ExitStack() as stack:
            bench = Bench(f"cluster-{args.learners}x8")
            for config in configs:
                started = time.perf_counter()
                before = _children()
                executor = _start(config, stack, warm)
                # this configuration's processes (pool workers, or scheduler and workers):
                # its side is charged their CPU and this process's, not the idle CPU of
                # the other configurations' processes, which stay up meanwhile
                roots = sorted(_children() - before)
                print(f"  {config}: started and warm in {time.perf_counter() - started:.1f} s")

                def run(
                    config: str = config, executor: Executor = executor, roots: list[int] = roots
                ) -> Sample:
                    nonlocal outcomes
                    cpu0 = time.process_time() + tree_cpu_clock(roots)
                    wall, outcomes = _run(executor, timed)
                    cpu = time.process_time() + tree_cpu_clock(roots) - cpu0
                    failed = [o for o in outcomes if o.result is None]
                    if failed:
                        raise RuntimeError(f"{config}: {len(failed)} failed: {failed[0].error}")
                    scores.setdefault(config, {}).update(
                        {o.key: o.result.score for o in outcomes if o.result}
                    )
                    slots = int(config.partition("-")[2])
                    mean_core = statistics.fmean(
                        o.result.wall_seconds for o in outcomes if o.result
                    )
                    core.setdefault(config, []).append(mean_core)
                    overhead.setdefault(config, []).append(wall * slots / len(timed) - mean_core)
                    return Sample(cpu_s=cpu, wall_s=wall, ops=len(timed))

                bench.side(config, run, baseline=config.startswith("local-"))
            result = bench.run(rounds=args.rounds, warmup=0)
        reference = next(iter(scores.values()))
        same = all(s == reference for s in scores.values())
        write = _gradebook_write_seconds(outcomes, folder)
    for config in configs:
        result.notes.append(
            f"{config}: grading core {statistics.median(core[config]) * 1000:.0f} ms/notebook, "
            f"overhead {statistics.median(overhead[config]) * 1000:.0f} ms per notebook-slot "
            "(wall x slots / notebooks - core; median of rounds)"
        )
    result.notes += [
        f"{len(timed)} notebooks per round ({args.learners} learners x 8, half solved, "
        f"half blank); scores identical in every configuration: {same}",
        "clock: CPU of this process (the client) and of the configuration's own processes "
        "with their descendants (pool workers, or Dask scheduler and workers; sandboxes); "
        "per-op = per notebook",
        f"gradebook write per notebook (SQLite, one transaction): {write * 1000:.1f} ms",
        "one machine: Dask workers share the same CPUs as the local pool, so no speed-up "
        "is possible here; the rows show what a cluster adds per notebook",
    ]
    print(result.markdown(unit="ms", scale=1e3))
    result.save(args.out, unit="ms", scale=1e3)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
