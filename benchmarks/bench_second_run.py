"""What the determinism run costs: ``context-course grade`` with and without ``second_run``.

    .venv/bin/python benchmarks/bench_second_run.py [--rounds 3] [--learners 2]

Both sides grade the same submissions (even learners hand in the solved notebooks, odd
ones the untouched exercises; :func:`courses.stage_submissions`) as cold commands into a
fresh gradebook each run, from two course folders that differ only in ``[grader]
second_run``. The reference-value cache is filled once before timing, as in real use.
Prints the ratio (with ÷ without) on the process tree's CPU time and on wall time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.courses import OurCourse, stage_submissions, tool_env  # noqa: E402
from benchmarks.harness import (  # noqa: E402
    Bench,
    BenchResult,
    Sample,
    command_sample,
    machine_load,
)

RESULTS = ROOT / "benchmarks" / "results"


def _without_second_run(course: OurCourse) -> None:
    toml = course.root / "course.toml"
    text = toml.read_text(encoding="utf-8")
    if "second_run = true" not in text:
        raise SystemExit("course.toml has no `second_run = true` line to turn off")
    toml.write_text(text.replace("second_run = true", "second_run = false"), encoding="utf-8")


def bench_second_run(rounds: int, learners: int, folder: Path) -> BenchResult:
    submitted = folder / "submitted"
    stage_submissions(submitted, learners)
    twice = OurCourse(folder / "twice").create()
    twice.prime(submitted)
    once = twice.clone(folder / "once")
    _without_second_run(once)
    env = tool_env()

    def run_twice() -> Sample:
        return command_sample(twice.grade_command(submitted, "--workers", "1"), env=env)

    def run_once() -> Sample:
        return command_sample(once.grade_command(submitted, "--workers", "1"), env=env)

    bench = Bench("grade-second-run")
    bench.side("grade, second_run = true", run_twice)
    bench.side("grade, second_run = false", run_once, baseline=True)
    bench.notes.append(
        f"{learners} learner(s) x 8 notebooks (half solved, half blank), one worker, fresh "
        "gradebook each run; reference-value cache filled once before timing"
    )
    return bench.run(rounds=rounds, warmup=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--learners", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.learners < 1:
        parser.error("rounds and learners must be at least 1")
    print(f"load at the start: {machine_load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-second-run-") as tmp:
        result = bench_second_run(args.rounds, args.learners, Path(tmp))
    print(result.markdown(unit="s", scale=1.0))
    print(f"saved {result.save(args.out, unit='s', scale=1.0)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
