"""Benchmark: how long the quick start's `context-course demo` takes here, with the load noted.

    .venv/bin/python benchmarks/bench_demo.py [--rounds 1]

Runs the README's command as typed (the environment's own ``context-course demo``, into a
fresh folder each round) to completion. There is no baseline to divide by: the figure the
README states is the wall time a person waits, and wall time depends on what else the
machine runs, so each round records the load average before it and the lowest and highest
one-minute load seen while it ran (sampled every 2 s). The process tree's CPU seconds are
recorded beside it: they hardly move with the load, and on an idle machine with N cores
the wall time approaches CPU / N.

Results: printed, and saved as ``benchmarks/results/demo.json`` and ``demo.md``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.harness import command_sample, machine_load  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


class LoadWatch:
    """The one-minute load average, sampled on a thread while a command runs."""

    def __init__(self, every: float = 2.0) -> None:
        self.every = every
        self.seen: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while True:
            self.seen.append(os.getloadavg()[0])
            if self._stop.wait(self.every):
                return

    def __enter__(self) -> LoadWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def one_round(command: str) -> dict[str, object]:
    before = machine_load()
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp, LoadWatch() as watch:
        sample = command_sample([command, "demo", "--out", str(Path(tmp) / "demo")], cwd=tmp)
    return {
        "wall_s": round(sample.wall_s, 1),
        "cpu_s": round(sample.cpu_s, 1),
        "load_before": before,
        "load1_min": round(min(watch.seen), 2),
        "load1_max": round(max(watch.seen), 2),
        "leftovers": sample.leftovers,
    }


def markdown(result: dict[str, object]) -> str:
    rounds = result["rounds"]
    assert isinstance(rounds, list)
    lines = [
        f"# `context-course demo`, {result['date']} ({result['cpus']} CPUs)",
        "",
        "| round | wall | CPU (process tree) | load before (1/5/15 min) | 1-min load during |",
        "| --- | --- | --- | --- | --- |",
    ]
    for index, r in enumerate(rounds, 1):
        load = r["load_before"]
        lines.append(
            f"| {index} | {r['wall_s']} s | {r['cpu_s']} s | "
            f"{load['load1']} / {load['load5']} / {load['load15']} | "
            f"{r['load1_min']}–{r['load1_max']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="How many demos in a row.")
    args = parser.parse_args(argv)
    command = shutil.which("context-course", path=str(Path(sys.executable).parent))
    if command is None:
        print("error: no context-course beside this Python: run it with .venv/bin/python")
        return 2
    rounds = []
    for index in range(args.rounds):
        outcome = one_round(command)
        rounds.append(outcome)
        print(
            f"round {index + 1}: {outcome['wall_s']} s wall, {outcome['cpu_s']} s CPU, "
            f"load {outcome['load1_min']}–{outcome['load1_max']} while running",
            flush=True,
        )
    result = {
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count() or 1,
        "command": "context-course demo",
        "rounds": rounds,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "demo.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "demo.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
