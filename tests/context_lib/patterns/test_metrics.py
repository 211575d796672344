from __future__ import annotations

import pytest

from context_lib.patterns import Metrics, PatternError


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_counts_and_percentiles_within_the_bin_accuracy() -> None:
    metrics = Metrics(window=60, clock=FakeClock())
    for ms in range(1, 1001):  # 1 ms … 1000 ms, uniformly
        metrics.record("get", ms / 1000)
    stats = metrics.snapshot()["get"]
    assert stats.count == 1000 and stats.errors == 0
    assert stats.p50 == pytest.approx(0.500, rel=0.015)
    assert stats.p95 == pytest.approx(0.950, rel=0.015)
    assert stats.p99 == pytest.approx(0.990, rel=0.015)
    assert stats.max == 1.0
    assert stats.rate == pytest.approx(1000 / 60)


def test_old_buckets_leave_the_window() -> None:
    clock = FakeClock()
    metrics = Metrics(window=10, resolution=10, clock=clock)
    metrics.record("set", 0.5, key="a")
    clock.now += 5
    metrics.record("set", 0.001, key="b")
    metrics.record("set", 0.001, key="b")
    assert metrics.snapshot()["set"].count == 3
    assert metrics.top_keys("set") == [("b", 2), ("a", 1)]
    clock.now += 6  # the first record is now 11 s old
    stats = metrics.snapshot()["set"]
    assert stats.count == 2
    assert stats.max == 0.001
    assert metrics.top_keys("set") == [("b", 2)]
    clock.now += 100
    assert metrics.snapshot() == {}
    assert metrics.top_keys("set") == []


def test_time_and_timed_count_errors() -> None:
    metrics = Metrics()
    with metrics.time("load"):
        pass
    with pytest.raises(ValueError), metrics.time("load"):
        raise ValueError("boom")

    @metrics.timed("parse")
    def parse(text: str) -> int:
        return int(text)

    assert parse("7") == 7
    with pytest.raises(ValueError):
        parse("x")
    snap = metrics.snapshot()
    assert (snap["load"].count, snap["load"].errors) == (2, 1)
    assert (snap["parse"].count, snap["parse"].errors) == (2, 1)
    assert parse.__name__ == "parse"
    assert set(metrics.as_dict()["load"]) == {
        "count",
        "errors",
        "rate_per_s",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
    }
    assert "load=2" in repr(metrics)
    metrics.reset()
    assert metrics.snapshot() == {}


def test_tiny_and_zero_latencies_and_bad_settings() -> None:
    metrics = Metrics(clock=FakeClock())
    metrics.record("noop", 0.0)
    metrics.record("noop", 1e-12)
    stats = metrics.snapshot()["noop"]
    assert stats.count == 2 and stats.p99 <= 1e-9
    with pytest.raises(PatternError, match="window"):
        Metrics(window=0)
    with pytest.raises(PatternError, match="resolution"):
        Metrics(resolution=0)
