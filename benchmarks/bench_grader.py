"""Benchmark: ``context-course grade`` against ``nbgrader autograde``, end to end, interleaved.

    .venv/bin/python benchmarks/bench_grader.py [--sizes 1,4,16] [--rounds 3] [--no-warm]

Both graders are run as their command-line tools, cold (a fresh process each run; page
cache warm), on the same submissions (nbgrader's ``submitted/<learner>/<slug>/`` layout,
which ``grade`` reads too: even learners hand in the solved notebooks, odd learners the
blank exercises), each run into a fresh gradebook:

- ``nbgrader autograde '*'`` — one call grades every notebook of every learner (the
  assignments were generated once, untimed, into a template gradebook copied before
  each run); nbgrader grades one notebook at a time.
- ``context-course grade submitted/`` with its default workers (one per CPU), and again
  with ``--workers 1``. The reference-value cache is filled once before timing, as it is
  in real use (computed once per source version).

For each N (learners; 8 notebooks each) the three commands run in interleaved rounds
(A B C, C B A, …) on the same machine with the same CPUs. The primary clock is the
process tree's CPU (the command and everything it started, including anything it left
running, which is waited for and counted), wall time beside it; ratios are per round,
reported as median and min–max.

A separate, labelled row measures the warm, in-process figure: ``grade_submissions``
called in this process with a pool already started (imports done, sandboxes running),
against nbgrader's ``Autograde`` application run in this process (its Python imports
done; it still starts a kernel per notebook, as it always does). Clock: CPU of this
process and all its descendants. This is the steady state of a long-running grader, not
what one ``grade`` command costs.

Results: printed, and saved as JSON + Markdown under ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.courses import (  # noqa: E402
    NbgraderCourse,
    OurCourse,
    slugs,
    stage_submissions,
    tool_env,
)
from benchmarks.harness import Bench, BenchResult, Sample, command_sample, tree_cpu_clock  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
OURS = "context-course grade (default workers)"
OURS_1 = "context-course grade --workers 1"
NBGRADER = "nbgrader autograde '*'"


def _cli_bench(n: int, nb: NbgraderCourse, ours: OurCourse) -> Bench:
    submitted = nb.submitted
    env = tool_env()

    def run_ours(*extra: str) -> Callable[[], Sample]:
        def run() -> Sample:
            argv = ours.grade_command(submitted, *extra)
            sample = command_sample(argv, env=env)
            return Sample(sample.cpu_s, sample.wall_s, ops=8 * n, leftovers=sample.leftovers)

        return run

    def run_nbgrader() -> Sample:
        nb.fresh()
        sample = command_sample(nb.command("autograde", "*"), cwd=nb.root, env=env)
        return Sample(sample.cpu_s, sample.wall_s, ops=8 * n, leftovers=sample.leftovers)

    bench = Bench(f"grader-cli-n{n}")
    bench.side(OURS, run_ours())
    bench.side(OURS_1, run_ours("--workers", "1"))
    bench.side(NBGRADER, run_nbgrader, baseline=True)
    bench.notes += [
        f"{n} learner(s) x 8 notebooks = {8 * n} notebooks per run; per-op = per notebook",
        f"CPUs available to both: {os.cpu_count()}; default workers = CPU count",
        "cold: a fresh process per run, fresh gradebook per run; page cache warm; "
        "reference-value cache filled once before timing",
    ]
    return bench


def _warm_bench(n: int, nb: NbgraderCourse, ours: OurCourse) -> tuple[Bench, Callable[[], None]]:
    """Ours in process with a started pool, against nbgrader's Autograde app in process."""
    from nbgrader.apps import NbGraderAPI
    from rich.console import Console
    from traitlets.config import Config

    from grader.pipeline.batch import grade_submissions
    from grader.pipeline.config import load_course
    from grader.pipeline.dispatch import LocalProcessExecutor

    course = load_course(ours.root)
    pool = LocalProcessExecutor(course.grader.worker_count)
    quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115 (closed with the pool)
    config = Config()
    config.CourseDirectory.root = str(nb.root)
    config.Application.log_level = "ERROR"
    api = NbGraderAPI(config=config)
    os.environ["PATH"] = tool_env()["PATH"]

    def run_ours() -> int:
        summary = grade_submissions(
            [nb.submitted],
            course=course,
            db_url=ours.fresh(),
            executor=pool,
            console=quiet,
            show_progress=False,
        )
        if not summary.ok:
            raise RuntimeError(f"warm grade failed: {summary.headline()}")
        return 8 * n

    def run_nbgrader() -> int:
        nb.fresh()
        outcome = api.autograde("*", "*", force=True, create=True)
        if not outcome.get("success", False):
            raise RuntimeError(f"nbgrader autograde failed: {outcome.get('error', '')[-300:]}")
        return 8 * n

    bench = Bench(f"grader-warm-inprocess-n{n}", clock=tree_cpu_clock)
    bench.side("ours warm in-process (pool started)", run_ours)
    bench.side("nbgrader Autograde in-process", run_nbgrader, baseline=True)
    bench.notes += [
        f"{n} learner(s) x 8 notebooks per run; per-op = per notebook",
        "WARM steady state: imports done and worker pool + sandboxes started before timing "
        "(one warm-up round each); excludes command start-up. Not what one `grade` costs.",
        "clock: CPU of this process and all its live descendants (/proc, 10 ms ticks)",
    ]

    def close() -> None:
        pool.close()
        quiet.file.close()

    return bench, close


def _report(result: BenchResult, out: Path) -> None:
    print(result.markdown(unit="s", scale=1.0), flush=True)
    print(flush=True)
    result.save(out, unit="s", scale=1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="1,4,16", help="learners per run, comma-separated ('' = warm row only)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per size")
    parser.add_argument("--warm-size", type=int, default=1, help="learners in the warm row")
    parser.add_argument("--no-warm", action="store_true", help="skip the warm in-process row")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for JSON + Markdown")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes numbers, e.g. 1,4,16")
    if (not sizes and args.no_warm) or min(sizes, default=1) < 1 or args.rounds < 1:
        parser.error("sizes and rounds must be at least 1 (empty --sizes: the warm row only)")
    if len(slugs()) != 8:
        print(f"expected the course's 8 notebooks under solutions/, found {len(slugs())}")
        return 1
    with tempfile.TemporaryDirectory(prefix="bench-grader-") as tmp:
        # untimed set-up, once: nbgrader's generated assignments, our reference values
        template = NbgraderCourse(Path(tmp) / "nbgrader-template").create()
        stage_submissions(template.submitted, 1)
        base = OurCourse(Path(tmp) / "ours-template").create()
        base.prime(template.submitted)
        for n in sizes:
            nb = template.clone(Path(tmp) / f"nbgrader-n{n}")
            stage_submissions(nb.submitted, n)
            ours = base.clone(Path(tmp) / f"ours-n{n}")
            result = _cli_bench(n, nb, ours).run(rounds=args.rounds, warmup=0)
            _report(result, args.out)
        if not args.no_warm:
            n = args.warm_size
            nb = template.clone(Path(tmp) / f"warm-nbgrader-n{n}")
            stage_submissions(nb.submitted, n)
            ours = base.clone(Path(tmp) / f"warm-ours-n{n}")
            bench, close = _warm_bench(n, nb, ours)
            try:
                result = bench.run(rounds=args.rounds, warmup=1)
            finally:
                close()
            _report(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
