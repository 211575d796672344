"""Benchmark: what the commands cost a person who types them, cold, against the floor.

    .venv/bin/python benchmarks/bench_cli.py [--rounds 3] [--grade-rounds 2]

Cold means a fresh process for every run and no pre-warmed pool or sandbox (the page
cache is warm: files were read before). Each comparison runs its sides in interleaved
rounds; the clock is the process tree's CPU (wall beside it); ratios are per round,
median and min–max. In one run:

1. ``context-course --help`` against ``python -c pass`` (goal ≤ 15×);
2. ``context-course check 1`` on a solved notebook in a learner workspace against
   ``nbgrader validate`` of the same notebook (goal ≤ 0.3×);
3. ``context-course grade`` of one learner's 8 solved notebooks into a fresh gradebook
   against ``nbgrader autograde '*'`` of the same submission, fixed per-call costs
   included (goal ≤ 0.2×);
4. the longest cell of each solution notebook, executed with nbclient (per-cell times
   from the cells' execution metadata, wall clock; goal: none over 1 s).

Results: printed with the goals met or missed, saved as JSON + Markdown under
``benchmarks/results/`` (``cli-*.json``, ``cli-goals.md``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.courses import (  # noqa: E402
    CONTEXT_COURSE,
    NBGRADER,
    NbgraderCourse,
    OurCourse,
    slugs,
    stage_submissions,
    tool_env,
)
from benchmarks.harness import Bench, BenchResult, Sample, command_sample, machine_load  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


@dataclass(frozen=True)
class Goal:
    what: str
    result: BenchResult
    subject: str
    baseline: str
    limit: float  # the CPU ratio must be at most this

    def line(self) -> str:
        cpu = self.result.ratio(self.subject, self.baseline, "cpu")
        wall = self.result.ratio(self.subject, self.baseline, "wall")
        verdict = "met" if cpu.median <= self.limit else "MISSED"
        return (
            f"| {self.what} | ≤ {self.limit:g}× | {cpu.median:.2f}× ({cpu.low:.2f}–{cpu.high:.2f}) "
            f"| {wall.median:.2f}× ({wall.low:.2f}–{wall.high:.2f}) | {verdict} |"
        )


def bench_help(rounds: int) -> BenchResult:
    env = tool_env()
    bench = Bench("cli-help")
    bench.side("context-course --help", lambda: command_sample([str(CONTEXT_COURSE), "--help"]))
    bench.side(
        "python -c pass",
        lambda: command_sample([sys.executable, "-c", "pass"], env=env),
        baseline=True,
    )
    return bench.run(rounds=rounds, warmup=1)


def _workspace(folder: Path, slug: str) -> Path:
    """A learner workspace whose notebook ``slug`` is the solved one."""
    from context_course.workspace import locate_release, sync_workspace

    sync_workspace(folder, locate_release(ROOT))
    shutil.copyfile(ROOT / "solutions" / slug / f"{slug}.ipynb", folder / slug / f"{slug}.ipynb")
    return folder / slug / f"{slug}.ipynb"


def bench_check(rounds: int, folder: Path) -> BenchResult:
    slug = slugs()[0]
    notebook = _workspace(folder / "workspace", slug)
    env = tool_env()
    bench = Bench("cli-check")
    bench.side(
        "context-course check 1",
        lambda: command_sample(
            [str(CONTEXT_COURSE), "check", "1", "--workspace", str(folder / "workspace")], env=env
        ),
    )
    bench.side(
        "nbgrader validate",
        lambda: command_sample([str(NBGRADER), "validate", str(notebook)], env=env),
        baseline=True,
    )
    bench.notes.append(f"notebook: solutions/{slug} copied into a fresh learner workspace")
    return bench.run(rounds=rounds, warmup=1)


def bench_grade(rounds: int, folder: Path) -> BenchResult:
    nb = NbgraderCourse(folder / "nbgrader").create()
    stage_submissions(nb.submitted, 1)
    ours = OurCourse(folder / "ours").create()
    ours.prime(nb.submitted)
    env = tool_env()

    def run_ours() -> Sample:
        return command_sample(ours.grade_command(nb.submitted), env=env)

    def run_nbgrader() -> Sample:
        nb.fresh()
        return command_sample(nb.command("autograde", "*"), cwd=nb.root, env=env)

    bench = Bench("cli-grade-one-submission")
    bench.side("context-course grade", run_ours)
    bench.side("nbgrader autograde '*'", run_nbgrader, baseline=True)
    bench.notes.append(
        "one learner x 8 solved notebooks, fresh gradebook each run; reference-value "
        "cache filled once before timing (as after the first grading of a release)"
    )
    return bench.run(rounds=rounds, warmup=0)


def longest_cells() -> list[dict[str, object]]:
    """Run each solution notebook with nbclient; its slowest cell by execution metadata."""
    import nbformat
    from nbclient import NotebookClient

    rows: list[dict[str, object]] = []
    for slug in slugs():
        path = ROOT / "solutions" / slug / f"{slug}.ipynb"
        nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
        NotebookClient(
            nb, timeout=600, resources={"metadata": {"path": str(path.parent)}}
        ).execute()
        best = (0.0, -1, "")
        for index, cell in enumerate(nb.cells):
            timing = cell.get("metadata", {}).get("execution", {})
            start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
            if cell.cell_type != "code" or not start or not end:
                continue
            seconds = (
                _dt.datetime.fromisoformat(end) - _dt.datetime.fromisoformat(start)
            ).total_seconds()
            if seconds > best[0]:
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
                best = (seconds, index, str(grade_id or cell.get("id", "")))
        rows.append({"notebook": slug, "seconds": best[0], "cell": best[1], "id": best[2]})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds for --help and check")
    parser.add_argument("--grade-rounds", type=int, default=2, help="rounds for grade")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for JSON + Markdown")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.grade_rounds < 1:
        parser.error("rounds must be at least 1")
    load = machine_load()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        results = [bench_help(args.rounds), bench_check(args.rounds, Path(tmp))]
        for result in results:
            print(result.markdown(unit="s", scale=1.0) + "\n", flush=True)
        results.append(bench_grade(args.grade_rounds, Path(tmp)))
        print(results[-1].markdown(unit="s", scale=1.0) + "\n", flush=True)
    cells = longest_cells()
    help_r, check_r, grade_r = results
    goals = [
        Goal("`--help` / `python -c pass`", help_r, "context-course --help", "python -c pass", 15),
        Goal(
            "`check 1` / `nbgrader validate`",
            check_r,
            "context-course check 1",
            "nbgrader validate",
            0.3,
        ),
        Goal(
            "`grade` one submission / `nbgrader autograde`",
            grade_r,
            "context-course grade",
            "nbgrader autograde '*'",
            0.2,
        ),
    ]
    slowest = max(cells, key=lambda row: float(str(row["seconds"])))
    lines = [
        "### cli-goals",
        "",
        f"{results[0].when}, load {load['load1']} at the start on {load['cpus']} CPUs; "
        "cold (fresh process per run, no pre-warmed pool; page cache warm)",
        "",
        "| goal | limit | CPU ratio median (min–max) | wall ratio median (min–max) | |",
        "| --- | ---: | ---: | ---: | --- |",
        *[g.line() for g in goals],
        f"| longest cell of any solution notebook (nbclient, wall) | ≤ 1 s | "
        f"{float(str(slowest['seconds'])):.2f} s ({slowest['notebook']}, cell "
        f"{slowest['cell']} {slowest['id']}) | | "
        f"{'met' if float(str(slowest['seconds'])) <= 1.0 else 'MISSED'} |",
        "",
        "| notebook | longest cell (s) | cell | id |",
        "| --- | ---: | ---: | --- |",
        *[
            f"| {r['notebook']} | {float(str(r['seconds'])):.2f} | {r['cell']} | {r['id']} |"
            for r in cells
        ],
    ]
    print("\n".join(lines))
    for result in results:
        result.save(args.out, unit="s", scale=1.0)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cli-goals.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (args.out / "cli-cells.json").write_text(
        json.dumps({"load": load, "cells": cells}, indent=2) + "\n", encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
