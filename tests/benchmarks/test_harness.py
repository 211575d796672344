"""The shared benchmark harness: interleaving, per-round ratios, process-tree CPU."""

from __future__ import annotations

import json
import sys

from benchmarks.harness import Bench, Sample, command_sample, interleaved_order


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
