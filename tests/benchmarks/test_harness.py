"""The shared benchmark harness: interleaving, per-round ratios, process-tree CPU."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.harness import Bench, Sample, command_sample, interleaved_order, tree_cpu_clock


def test_rounds_alternate_so_each_side_runs_first_and_last_equally() -> None:
    assert interleaved_order(["a", "b"], 0) == ["a", "b"]
    assert interleaved_order(["a", "b"], 1) == ["b", "a"]


def test_ratios_are_per_round_and_reported_with_spread(tmp_path) -> None:
    calls: list[str] = []

    def subject() -> Sample:
        calls.append("s")
        return Sample(cpu_s=2.0 * len(calls), wall_s=1.0, ops=1)

    def base() -> Sample:
        calls.append("b")
        return Sample(cpu_s=1.0 * len(calls), wall_s=1.0, ops=1)

    bench = Bench("toy")
    bench.side("subject", subject)
    bench.side("base", base, baseline=True)
    result = bench.run(rounds=4, warmup=0)
    # rounds run s b | b s | s b | b s
    assert calls == ["s", "b", "b", "s", "s", "b", "b", "s"]
    cpu = result.ratio("subject", "base", "cpu")
    assert cpu.per_round == [2.0 * 1 / 2, 2.0 * 4 / 3, 2.0 * 5 / 6, 2.0 * 8 / 7]
    assert result.ratio("subject", "base", "wall").per_round == [1.0] * 4
    path = result.save(tmp_path)
    saved = json.loads(path.read_text())
    assert saved["ratios"][0]["low"] == min(cpu.per_round)
    assert "subject / base" in (tmp_path / "toy.md").read_text()


def test_a_benchmark_without_baseline_is_refused() -> None:
    bench = Bench("lonely")
    bench.side("only", lambda: 1)
    try:
        bench.run(rounds=1)
    except ValueError as exc:
        assert "baseline" in str(exc)
    else:
        raise AssertionError("expected ValueError")


def test_command_sample_counts_the_child_process_cpu() -> None:
    burn = "x = 0\nfor i in range(3_000_000): x += i"
    sample = command_sample([sys.executable, "-c", burn])
    assert sample.cpu_s > 0.05


def test_a_process_a_command_leaves_running_is_counted_and_reported(tmp_path) -> None:
    # the command starts a CPU-burning grandchild in its own session and returns at once;
    # the grandchild writes the CPU it used to a file when it is done
    report = tmp_path / "orphan-cpu"
    burn = (
        "import time\nx = 0\nfor i in range(2_000_000): x += i\n"
        f"open({str(report)!r}, 'w').write(repr(time.process_time()))"
    )
    starter = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', {burn!r}], start_new_session=True)"
    )
    sample = command_sample([sys.executable, "-c", starter])
    assert sample.leftovers == 1
    assert sample.cpu_s >= float(report.read_text())  # the orphan's CPU is in the total


def test_a_leftover_that_never_ends_is_killed_after_the_grace(tmp_path) -> None:
    pid_file = tmp_path / "pid"
    starter = (
        "import subprocess, sys\n"
        "p = subprocess.Popen(['sleep', '600'], start_new_session=True)\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))"
    )
    sample = command_sample([sys.executable, "-c", starter], orphan_grace=0.1)
    assert sample.leftovers == 1
    assert not Path(f"/proc/{pid_file.read_text()}").exists()


def test_a_command_that_cleans_up_leaves_nothing() -> None:
    sample = command_sample([sys.executable, "-c", "import subprocess; subprocess.run(['true'])"])
    assert sample.leftovers == 0


def test_tree_cpu_clock_sees_a_live_child_process() -> None:
    burn = (
        "import sys, time\nx = 0\nfor i in range(2_000_000): x += i\n"
        "print(time.process_time(), flush=True)\nsys.stdin.read()"
    )
    before = tree_cpu_clock()
    child = subprocess.Popen(
        [sys.executable, "-c", burn], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        used = float(child.stdout.readline())
        seen = tree_cpu_clock() - before  # the child is alive: not yet in our rusage
    finally:
        child.communicate("")
    assert seen >= used - 0.02  # /proc counts in 10 ms ticks
