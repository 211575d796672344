"""Benchmark: our grader versus ``nbgrader autograde`` on the course's solved notebooks.

    .venv/bin/python benchmarks/bench_grader.py [--learners 2] [--workers N]

Both graders grade the same submissions (every learner submits the instructor's solved
notebooks) in one run, on this machine. Printed:

- nbgrader: seconds per notebook and per submission (one ``nbgrader autograde`` call per
  assignment, as nbgrader works);
- ours, one process: seconds per notebook, time spent in the notebooks' cells, and our
  own overhead per notebook (wall time minus the time in the cells);
- ours, a pool of ``--workers`` processes (as ``context-course grade`` runs): seconds
  per submission, and the throughput ratio against nbgrader.

Reference values are computed before timing (once per source version, as in real use).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBGRADER = Path(sys.executable).parent / "nbgrader"


def _grade_one(job: tuple[str, str, str]) -> tuple[float, float, float]:
    from grader.core.grading import grade_notebook

    source, submitted, cache = job
    result = grade_notebook(Path(source), Path(submitted), cache_dir=Path(cache))
    return result.score, result.wall_seconds, result.learner_seconds


def _nbgrader(course: Path, *args: str) -> None:
    subprocess.run(
        [str(NBGRADER), *args, f"--CourseDirectory.root={course}", "--log-level=ERROR"],
        check=True,
        cwd=course,
        env={**os.environ, "PATH": f"{NBGRADER.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=2)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    sources = sorted((ROOT / "solutions").glob("*/*.ipynb"))
    if not sources:
        print("no solved notebooks under solutions/")
        return 1
    learners = [f"learner{i + 1}" for i in range(args.learners)]
    with tempfile.TemporaryDirectory(prefix="bench-grader-") as tmp:
        course = Path(tmp) / "course"
        for source in sources:
            name = source.parent.name
            (course / "source" / name).mkdir(parents=True)
            shutil.copy(source, course / "source" / name / source.name)
            for learner in learners:
                folder = course / "submitted" / learner / name
                folder.mkdir(parents=True)
                shutil.copy(source, folder / source.name)
        for source in sources:
            _nbgrader(course, "generate_assignment", source.parent.name, "--force")

        # nbgrader: one autograde call per assignment, all learners
        started = time.perf_counter()
        for source in sources:
            _nbgrader(course, "autograde", source.parent.name, "--force")
        nbgrader_seconds = time.perf_counter() - started
        notebooks = len(sources) * len(learners)

        # ours: the same submissions; reference values first (cached per source version)
        cache = Path(tmp) / "reference-cache"
        jobs = [
            (
                str(course / "source" / s.parent.name / s.name),
                str(course / "submitted" / learner / s.parent.name / s.name),
                str(cache),
            )
            for learner in learners
            for s in sources
        ]
        for job in jobs[: len(sources)]:
            _grade_one(job)
        started = time.perf_counter()
        serial = [_grade_one(job) for job in jobs]
        serial_seconds = time.perf_counter() - started
        from grader.core.grading import warm_up

        with ProcessPoolExecutor(
            max_workers=args.workers, initializer=warm_up, initargs=([j[0] for j in jobs],)
        ) as pool:
            list(pool.map(_grade_one, jobs[: args.workers]))  # wait for the warm-up
            started = time.perf_counter()
            pooled = list(pool.map(_grade_one, jobs))
            pooled_seconds = time.perf_counter() - started

    perfect = all(score == 100 for score, _, _ in serial + pooled)
    wall = sum(w for _, w, _ in serial)
    in_cells = sum(c for _, _, c in serial)
    per_submission_nbgrader = nbgrader_seconds / len(learners)
    per_submission_ours = pooled_seconds / len(learners)
    print(f"{len(learners)} submissions x {len(sources)} notebooks = {notebooks} notebooks")
    print(
        f"nbgrader autograde          : {nbgrader_seconds / notebooks:6.3f} s/notebook, "
        f"{per_submission_nbgrader:6.2f} s/submission"
    )
    print(
        f"ours, 1 process             : {wall / notebooks:6.3f} s/notebook "
        f"({in_cells / notebooks:.3f} s in cells, overhead {(wall - in_cells) / notebooks:.3f}"
        " s/notebook)"
    )
    print(
        f"ours, {args.workers} worker processes : {per_submission_ours:6.2f} s/submission "
        f"(serial run {serial_seconds / len(learners):.2f} s/submission)"
    )
    print(f"throughput ratio ours/nbgrader: {per_submission_nbgrader / per_submission_ours:5.1f}x")
    print(f"all scores 100%: {perfect}")
    return 0 if perfect else 1


if __name__ == "__main__":
    raise SystemExit(main())
