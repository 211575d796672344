"""The one harness every benchmark uses: interleaved rounds, CPU time first, ratios with spread.

A benchmark compares a *subject* with one or more *baselines* measured in the same run. Each
round runs every side once, in an order that alternates (A B B A, B A A B, ...), so a change
in the machine's load hits both sides alike. The primary clock is CPU time (this thread's,
or a process tree's for commands); wall time is recorded beside it. What is reported is the
median and the min-max of the per-round ratios subject/baseline, never a ratio of medians
taken at different times.

    from benchmarks.harness import Bench, thread_cpu_clock

    bench = Bench("context-get", clock=thread_cpu_clock)
    bench.side("Context.get", run_context)      # each run returns the number of operations
    bench.side("d[k]", run_dict, baseline=True)
    result = bench.run(rounds=9)
    print(result.markdown())
    result.save("benchmarks/results")            # JSON + Markdown, with load and date

Runs return how many operations they performed (so per-op figures can be printed); a run may
instead return a ``Sample`` when it measured itself (for example a command's process-tree
CPU read from ``resource.getrusage(RUSAGE_CHILDREN)``).

Two clocks see a whole process tree: ``command_sample`` (a command run to completion: this
process becomes a child subreaper, so anything the command leaves running is re-parented
here, waited for and counted, and reported as ``Sample.leftovers``) and ``tree_cpu_clock``
(this process and every live descendant, for work done by a pool of worker processes).
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as _dt
import gc
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = [
    "Bench",
    "BenchResult",
    "Sample",
    "command_sample",
    "interleaved_order",
    "machine_load",
    "process_cpu_clock",
    "thread_cpu_clock",
    "tree_cpu_clock",
]

Clock = Callable[[], float]


def thread_cpu_clock() -> float:
    """CPU seconds of the calling thread: immune to other processes' load."""
    return time.thread_time()


def process_cpu_clock() -> float:
    """CPU seconds of this process (all threads)."""
    return time.process_time()


@dataclass(frozen=True)
class Sample:
    """One side's measurement in one round."""

    cpu_s: float
    wall_s: float
    ops: int = 1
    leftovers: int = 0  # processes a command left running when it returned


_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@contextlib.contextmanager
def _subreaper() -> Iterator[bool]:
    """While inside, orphaned descendants re-parent to this process (Linux), so they can
    be seen, waited for and counted; the previous setting is restored after."""
    if not sys.platform.startswith("linux"):
        yield False
        return
    libc = ctypes.CDLL(None, use_errno=True)
    was = ctypes.c_int(0)
    libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(was), 0, 0, 0)
    ok = libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    try:
        yield bool(ok)
    finally:
        libc.prctl(_PR_SET_CHILD_SUBREAPER, was.value, 0, 0, 0)


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/PID/stat`` after the command name (field 3 onwards), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read(4096).decode("ascii", "replace")
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def _children_of(parent: int) -> set[int]:
    """Processes (running or exited but not yet waited for) whose parent is ``parent``."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _proc_stat(int(entry))
            if fields and fields[1] == str(parent):
                found.add(int(entry))
    return found


def _reap_orphans(known: set[int], grace: float) -> int:
    """Wait up to ``grace`` seconds for children of ours not in ``known`` (descendants a
    command left behind, re-parented here), then kill what is left. Returns how many
    were still running when the command returned."""
    orphans = _children_of(os.getpid()) - known
    running = sum(1 for pid in orphans if (_proc_stat(pid) or ["Z"])[0] != "Z")
    deadline = time.monotonic() + grace
    for pid in sorted(orphans):
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            time.sleep(0.02)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
    return running


def command_sample(
    argv: Sequence[str],
    *,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
    orphan_grace: float = 30.0,
) -> Sample:
    """Run a command to completion; its process tree's CPU (user+sys of every descendant,
    including any it left running, which are waited for up to ``orphan_grace`` seconds and
    then killed) and its wall time until the command itself returned. Output is discarded;
    a failing command raises unless ``check=False``."""
    with _subreaper() as subreaper:
        known = _children_of(os.getpid()) if subreaper else set()
        # stderr to a file, not a pipe: a leftover holding the pipe open must not make the
        # command look as if it had not returned yet
        with tempfile.TemporaryFile() as errors:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            code = subprocess.run(
                list(argv), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=errors, check=False
            ).returncode
            wall = time.perf_counter() - start
            leftovers = _reap_orphans(known, orphan_grace) if subreaper else 0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            errors.seek(0)
            tail = errors.read().decode(errors="replace").strip().splitlines()[-3:]
    if check and code != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {code}: {' | '.join(tail)}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Sample(cpu_s=cpu, wall_s=wall, leftovers=leftovers)


def tree_cpu_clock(roots: Sequence[int] | None = None) -> float:
    """CPU seconds of this process (or of ``roots``) and all their live descendants, each
    with the CPU of the children it has waited for (Linux ``/proc``; 10 ms resolution).
    For a pool of worker processes and what they start, where ``process_cpu_clock`` sees
    only the parent."""
    parents: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _proc_stat(int(entry))
        if not fields or len(fields) < 15:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry))
        ticks[int(entry)] = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    total, todo = 0, list(roots) if roots is not None else [os.getpid()]
    while todo:
        pid = todo.pop()
        total += ticks.get(pid, 0)
        todo.extend(parents.get(pid, []))
    return total / _CLOCK_TICKS


def interleaved_order(names: Sequence[str], round_index: int) -> list[str]:
    """A B C, then C B A, then A B C ...: each side runs first and last equally often."""
    order = list(names)
    return order if round_index % 2 == 0 else order[::-1]


def machine_load() -> dict[str, float | int]:
    one, five, fifteen = os.getloadavg()
    return {
        "load1": round(one, 2),
        "load5": round(five, 2),
        "load15": round(fifteen, 2),
        "cpus": os.cpu_count() or 1,
    }


@dataclass
class _Side:
    name: str
    run: Callable[[], int | Sample]
    baseline: bool


@dataclass
class SideResult:
    name: str
    baseline: bool
    cpu_per_op_s: list[float] = field(default_factory=list)
    wall_per_op_s: list[float] = field(default_factory=list)
    leftovers: list[int] = field(default_factory=list)  # per round, for commands

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_per_op_s)

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall_per_op_s)


@dataclass
class Ratio:
    subject: str
    baseline: str
    clock: str  # "cpu" or "wall"
    per_round: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.per_round)

    @property
    def low(self) -> float:
        return min(self.per_round)

    @property
    def high(self) -> float:
        return max(self.per_round)


@dataclass
class BenchResult:
    name: str
    rounds: int
    sides: list[SideResult]
    ratios: list[Ratio]
    load_before: dict[str, float | int]
    load_after: dict[str, float | int]
    when: str
    python: str = field(default_factory=platform.python_version)
    notes: list[str] = field(default_factory=list)

    def ratio(self, subject: str, baseline: str, clock: str = "cpu") -> Ratio:
        for r in self.ratios:
            if (r.subject, r.baseline, r.clock) == (subject, baseline, clock):
                return r
        raise KeyError((subject, baseline, clock))

    def markdown(self, unit: str = "µs", scale: float = 1e6) -> str:
        lines = [
            f"### {self.name}",
            "",
            f"{self.when}, {self.rounds} interleaved rounds, load "
            f"{self.load_before['load1']}→{self.load_after['load1']} on "
            f"{self.load_before['cpus']} CPUs",
            "",
            f"| side | CPU {unit}/op (median) | wall {unit}/op (median) |",
            "| --- | ---: | ---: |",
        ]
        for s in self.sides:
            tag = " (baseline)" if s.baseline else ""
            lines.append(
                f"| {s.name}{tag} | {s.cpu_median * scale:.3g} | {s.wall_median * scale:.3g} |"
            )
        lines += ["", "| ratio | clock | median | min–max |", "| --- | --- | ---: | ---: |"]
        for r in self.ratios:
            lines.append(
                f"| {r.subject} / {r.baseline} | {r.clock} | {r.median:.2f}× | "
                f"{r.low:.2f}–{r.high:.2f}× |"
            )
        for s in self.sides:
            if any(s.leftovers):
                lines.append(
                    f"- {s.name} left processes running after it returned in "
                    f"{sum(1 for n in s.leftovers if n)} of {len(s.leftovers)} rounds "
                    f"(up to {max(s.leftovers)}; waited for, and their CPU counted)"
                )
        lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["ratios"] = [
            dict(asdict(r), median=r.median, low=r.low, high=r.high) for r in self.ratios
        ]
        return data

    def save(self, folder: str | Path, unit: str = "µs", scale: float = 1e6) -> Path:
        """Write ``<name>.json`` and ``<name>.md`` into ``folder``; returns the JSON path."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{self.name}.json"
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        (out / f"{self.name}.md").write_text(self.markdown(unit, scale) + "\n", encoding="utf-8")
        return path


class Bench:
    """Sides measured in interleaved rounds; every non-baseline side gets a ratio against
    every baseline, per round, on CPU and on wall time."""

    def __init__(
        self, name: str, *, clock: Clock = thread_cpu_clock, collect_garbage: bool = True
    ) -> None:
        self.name = name
        self.clock = clock
        self.collect_garbage = collect_garbage
        self._sides: list[_Side] = []
        self.notes: list[str] = []

    def side(self, name: str, run: Callable[[], int | Sample], *, baseline: bool = False) -> None:
        if any(s.name == name for s in self._sides):
            raise ValueError(f"side {name!r} added twice")
        self._sides.append(_Side(name, run, baseline))

    @property
    def side_names(self) -> list[str]:
        return [s.name for s in self._sides]

    def run_of(self, name: str) -> Callable[[], int | Sample]:
        """The run of side ``name``, to call outside :meth:`run` (e.g. under valgrind)."""
        for s in self._sides:
            if s.name == name:
                return s.run
        raise KeyError(name)

    def _measure(self, side: _Side) -> Sample:
        if self.collect_garbage:
            gc.collect()
            gc.disable()
        try:
            cpu0, wall0 = self.clock(), time.perf_counter()
            out = side.run()
            cpu1, wall1 = self.clock(), time.perf_counter()
        finally:
            if self.collect_garbage:
                gc.enable()
        if isinstance(out, Sample):
            return out
        return Sample(cpu_s=cpu1 - cpu0, wall_s=wall1 - wall0, ops=max(int(out), 1))

    def run(self, rounds: int = 7, warmup: int = 1) -> BenchResult:
        if not any(s.baseline for s in self._sides):
            raise ValueError("a benchmark needs at least one baseline side")
        by_name = {s.name: s for s in self._sides}
        load_before = machine_load()
        for _ in range(warmup):  # every side warm alike: nobody is timed cold by accident
            for s in self._sides:
                self._measure(s)
        results = {s.name: SideResult(s.name, s.baseline) for s in self._sides}
        per_round: list[dict[str, Sample]] = []
        for i in range(rounds):
            samples: dict[str, Sample] = {}
            for name in interleaved_order(list(by_name), i):
                samples[name] = self._measure(by_name[name])
                results[name].cpu_per_op_s.append(samples[name].cpu_s / samples[name].ops)
                results[name].wall_per_op_s.append(samples[name].wall_s / samples[name].ops)
                results[name].leftovers.append(samples[name].leftovers)
            per_round.append(samples)
        ratios: list[Ratio] = []
        for base in (s for s in self._sides if s.baseline):
            for subj in (s for s in self._sides if s is not base):
                for clock in ("cpu", "wall"):
                    values = []
                    for samples in per_round:
                        a, b = samples[subj.name], samples[base.name]
                        num = (a.cpu_s if clock == "cpu" else a.wall_s) / a.ops
                        den = (b.cpu_s if clock == "cpu" else b.wall_s) / b.ops
                        values.append(num / den if den > 0 else float("inf"))
                    ratios.append(Ratio(subj.name, base.name, clock, values))
        return BenchResult(
            name=self.name,
            rounds=rounds,
            sides=list(results.values()),
            ratios=ratios,
            load_before=load_before,
            load_after=machine_load(),
            when=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            notes=list(self.notes),
        )
