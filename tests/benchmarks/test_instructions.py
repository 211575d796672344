"""Instruction counts (``benchmarks/instructions.py``, ``bench_context.py --instructions``).

valgrind itself is not run here: a stand-in on ``PATH`` checks the options it is given,
runs the command as valgrind would, and reports a count in valgrind's words. What is
tested is ours: the options, the fixed hash seed, reading the count, the errors, and
``bench_context``'s child and report.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.instructions import CountError, count_instructions

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks" / "bench_context.py"


def fake_valgrind(folder: Path, collected: int, seen: Path) -> dict[str, str]:
    """A ``valgrind`` that records its options and hash seed, runs the program and then
    prints ``Collected : <collected>`` as callgrind does; returns an env using it."""
    script = folder / "valgrind"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$PYTHONHASHSEED" "$1" "$2" "$3" "$4" >> "{seen}"\n'
        "shift 4\n"
        '"$@"\n'
        "rc=$?\n"
        f'echo "==4711== Collected : {collected}" >&2\n'
        "exit $rc\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def test_the_count_is_read_from_callgrind_and_only_the_counted_call_is_collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = tmp_path / "seen"
    env = fake_valgrind(tmp_path, 123456, seen)
    monkeypatch.setenv("PATH", env["PATH"])
    total, stdout = count_instructions(["-c", "print('child ran')"])
    assert total == 123456
    assert stdout == "child ran\n"
    seed, tool, at_start, toggle, _out = [*seen.read_text().splitlines(), ""][:5]
    assert (seed, tool, at_start) == ("0", "--tool=callgrind", "--collect-atstart=no")
    assert toggle == "--toggle-collect=_operator_call"  # what benchmarks.instructions.counted is


def test_no_valgrind_a_failing_child_or_nothing_counted_are_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no valgrind anywhere
    with pytest.raises(CountError, match="valgrind is not installed"):
        count_instructions(["-c", "pass"])

    monkeypatch.setenv("PATH", fake_valgrind(tmp_path, 99, tmp_path / "seen")["PATH"])
    with pytest.raises(CountError, match=r"failed under valgrind: .*ZeroDivisionError"):
        count_instructions(["-c", "1 / 0"])

    zero = tmp_path / "zero"
    zero.mkdir()
    monkeypatch.setenv("PATH", fake_valgrind(zero, 0, tmp_path / "seen")["PATH"])
    with pytest.raises(CountError, match="counted nothing in _operator_call"):
        count_instructions(["-c", "pass"])


def test_the_child_runs_one_side_and_reports_its_operations() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--count-side", "merge", "context-merge", "{**a, **b}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"ops": 1}


def test_the_report_has_every_side_its_ratios_and_the_change_from_before(tmp_path: Path) -> None:
    env = fake_valgrind(tmp_path, 5_000_000, tmp_path / "seen")
    before = tmp_path / "before.json"
    before.write_text(
        json.dumps([{"bench": "context-merge", "side": "Context.merge_from", "per_op": 1e7}])
    )
    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--instructions",
            "--only",
            "merge",
            "--out",
            str(out),
            "--before",
            str(before),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    report = (out / "context-instructions.md").read_text()
    assert report in done.stdout
    assert "| context-merge | Context.merge_from | 5,000,000 | 10,000,000 | -50.0% |" in report
    assert "| context-merge | {**a, **b} | 5,000,000 | - | - |" in report
    assert "| merge: Context.merge_from / {**a, **b} | 1.00× |" in report
    rows = json.loads((out / "context-instructions.json").read_text())
    assert {r["side"] for r in rows} == {
        "Context.merge_from",
        "Minimal per-key merge",
        "{**a, **b}",
    }


def test_a_bad_before_file_or_row_is_refused_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    env = fake_valgrind(tmp_path, 1, tmp_path / "seen")
    done = subprocess.run(
        [sys.executable, str(BENCH), "--instructions", "--only", "merge", "--before", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 1
    assert (
        done.stderr.strip().count("\n") == 0 and "is not a context-instructions.json" in done.stderr
    )
    done = subprocess.run(
        [sys.executable, str(BENCH), "--only", "merges"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 2 and "unknown row 'merges'" in done.stderr


@pytest.mark.parametrize(
    ("row", "bench", "side"),
    [("merge", "context-merge", "Context.merge_from"), ("get", "context-get", "d[k]")],
)
def test_the_child_counts_exactly_one_run_of_the_side(
    row: str,
    bench: str,
    side: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Warming up must not be counted: a second counted call would double the figure."""
    import benchmarks.bench_context as bench_context

    calls: list[object] = []

    def counting(fn, *args):  # type: ignore[no-untyped-def]
        calls.append(fn)
        return fn(*args)

    monkeypatch.setattr(bench_context, "counted", counting)
    bench_context.count_side(row, bench, side)
    assert len(calls) == 1
    assert json.loads(capsys.readouterr().out)["ops"] >= 1
