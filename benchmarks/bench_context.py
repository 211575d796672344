"""Context core against a plain dict and a minimal-bookkeeping class, in the same rounds.

    .venv/bin/python benchmarks/bench_context.py [--rounds 9] [--out benchmarks/results]

Every row is a ``benchmarks.harness.Bench``: this thread's CPU time, interleaved rounds
(A B C, C B A, ...), the median and min-max of the per-round ratios, the machine's load.
Three sides per row where they make sense:

* ``Context``: the library, validating, copying and locking;
* the plain-Python floor (``d[k]``, ``d[k] = v``, ``{**a, **b}``, ``json``);
* ``Minimal``: a dict + a dirty set + a tuple history, no validation, copy or lock: the
  least bookkeeping a change-tracking container can do in Python. Its ratio shows what
  the Context adds on top of bookkeeping itself.
* ``MinimalCopying`` (get and set rows): ``Minimal`` plus only the copies of containers
  the Context's contract requires (mutating a value given to or returned by the context
  never changes it). Its ratio to ``Minimal`` is what the contract alone costs.

Values are the mix of real contexts: ints, floats, strings, bools, small dicts and lists.
Goals are printed beside each ratio; results are written as JSON + Markdown to ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import Bench, BenchResult, Sample, thread_cpu_clock
from benchmarks.instructions import CountError, count_instructions, counted
from context_lib import Context

KEYS = 10_000
_MISSING = object()
_CONTAINERS = frozenset({dict, list})


def value_mix(n: int, salt: int) -> list[Any]:
    """``n`` values in the proportions of real contexts; a different ``salt`` changes every one.

    Per 20 keys: 6 ints, 4 floats, 4 strings, 2 bools, 2 small dicts, 2 small lists.
    """
    out: list[Any] = []
    for i in range(n):
        slot, v = i % 20, i * 7 + salt
        if slot < 6:
            out.append(v)
        elif slot < 10:
            out.append(v / 4 + 0.1)
        elif slot < 14:
            out.append(f"value-{v}")
        elif slot < 16:
            out.append((v + slot) % 2 == 0)
        elif slot < 18:
            out.append({"host": f"h{v}", "port": v % 65536, "tls": True})
        else:
            out.append([v, v + 1, f"tag{v}"])
    return out


def dotted_keys(n: int) -> list[str]:
    return [f"svc{i % 25}.metric_{i}" for i in range(n)]


class Minimal:
    """The minimal-bookkeeping floor: dict + dirty set + tuple history; no validation,
    no copies, no lock."""

    __slots__ = ("_data", "_dirty", "_history")

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = dict(data or {})
        self._dirty: set[str] = set()
        self._history: list[tuple[Any, ...]] = []

    def get(self, key: str) -> Any:
        return self._data[key]

    def set(self, key: str, value: Any, who: str | None = None) -> None:
        old = self._data.get(key)
        if old == value:
            return
        self._history.append((time.time(), key, old, value, who))
        self._data[key] = value
        self._dirty.add(key)

    def pop_dirty_keys(self) -> list[str]:
        keys = list(self._dirty)
        self._dirty.clear()
        return keys

    def merge_from(self, other: Minimal) -> None:
        """Per-key set of every differing value (theirs wins: the floor keeps no times)."""
        set_ = self.set
        for k, v in other._data.items():
            set_(k, v)


class MinimalCopying(Minimal):
    """The floor plus only the copies the Context's contract requires: a container is
    copied on the way in and on the way out (shallowly: the value mix's containers are
    flat). No validation, no lock. What the copy contract alone costs over ``Minimal``."""

    __slots__ = ()

    def get(self, key: str) -> Any:
        value = self._data[key]
        if value.__class__ in _CONTAINERS:
            return value.copy()
        return value

    def set(self, key: str, value: Any, who: str | None = None) -> None:
        if value.__class__ in _CONTAINERS:
            value = value.copy()
        old = self._data.get(key)
        if old == value:
            return
        self._history.append((time.time(), key, old, value, who))
        self._data[key] = value
        self._dirty.add(key)


@dataclass(frozen=True)
class Timed:
    """A run whose ``setup`` is not measured: only ``op(state)`` is, on this thread's CPU
    (and, under ``--instructions``, in machine instructions)."""

    setup: Callable[[], Any]
    op: Callable[[Any], int]

    def __call__(self) -> Sample:
        state = self.setup()
        cpu0, wall0 = thread_cpu_clock(), time.perf_counter()
        ops = counted(self.op, state)
        return Sample(thread_cpu_clock() - cpu0, time.perf_counter() - wall0, max(ops, 1))


# ---------------------------------------------------------------------- rows


Mix = Callable[[int, int], list[Any]]


def get_bench(mix: Mix, suffix: str = "") -> Bench:
    keys = dotted_keys(KEYS)
    data = dict(zip(keys, mix(KEYS, 0), strict=True))
    ctx, minimal = Context.from_dict(data), Minimal(data)
    copying = MinimalCopying(data)
    probe = keys * 5

    def with_context() -> int:
        get = ctx.get
        for k in probe:
            get(k)
        return len(probe)

    def with_minimal() -> int:
        get = minimal.get
        for k in probe:
            get(k)
        return len(probe)

    def with_copying() -> int:
        get = copying.get
        for k in probe:
            get(k)
        return len(probe)

    def with_dict() -> int:
        d = data
        for k in probe:
            d[k]
        return len(probe)

    bench = Bench("context-get" + suffix)
    bench.side("Context.get", with_context)
    bench.side("Minimal.get", with_minimal, baseline=True)
    bench.side("MinimalCopying.get", with_copying, baseline=True)
    bench.side("d[k]", with_dict, baseline=True)
    bench.notes.append(f"10k keys, {MIX_NAMES[mix]}; containers are returned as copies")
    return bench


def set_bench(mix: Mix, suffix: str = "") -> Bench:
    keys = dotted_keys(KEYS)
    versions = [mix(KEYS, salt) for salt in (1, 2)]
    ctx = Context.from_dict(dict(zip(keys, mix(KEYS, 0), strict=True)))
    minimal = Minimal(dict(zip(keys, mix(KEYS, 0), strict=True)))
    copying = MinimalCopying(dict(zip(keys, mix(KEYS, 0), strict=True)))
    plain = dict(zip(keys, mix(KEYS, 0), strict=True))
    turn = {"Context": 0, "Minimal": 0, "MinimalCopying": 0, "dict": 0}

    def next_values(side: str) -> list[Any]:
        turn[side] += 1
        return versions[turn[side] % 2]  # alternate, so every set changes the value

    def with_context() -> int:
        set_ = ctx.set
        for k, v in zip(keys, next_values("Context"), strict=True):
            set_(k, v)
        return len(keys)

    def with_minimal() -> int:
        set_ = minimal.set
        for k, v in zip(keys, next_values("Minimal"), strict=True):
            set_(k, v)
        return len(keys)

    def with_copying() -> int:
        set_ = copying.set
        for k, v in zip(keys, next_values("MinimalCopying"), strict=True):
            set_(k, v)
        return len(keys)

    def with_dict() -> int:
        d = plain
        for k, v in zip(keys, next_values("dict"), strict=True):
            d[k] = v
        return len(keys)

    bench = Bench("context-set" + suffix)
    bench.side("Context.set", with_context)
    bench.side("Minimal.set", with_minimal, baseline=True)
    bench.side("MinimalCopying.set", with_copying, baseline=True)
    bench.side("d[k] = v", with_dict, baseline=True)
    bench.notes.append(f"10k keys, each set to a changed value, {MIX_NAMES[mix]}; history kept")
    return bench


def sets_and_pop_bench() -> Bench:
    n = 100_000
    keys = dotted_keys(n)
    start, changed = value_mix(n, 0), value_mix(n, 3)

    def ctx_setup() -> Context:
        return Context.from_dict(dict(zip(keys, start, strict=True)))

    def ctx_op(ctx: Context) -> int:
        set_ = ctx.set
        for k, v in zip(keys, changed, strict=True):
            set_(k, v)
        ctx.pop_dirty_keys()
        return n

    def minimal_op(m: Minimal) -> int:
        set_ = m.set
        for k, v in zip(keys, changed, strict=True):
            set_(k, v)
        m.pop_dirty_keys()
        return n

    def dict_op(d: dict[str, Any]) -> int:
        dirty: dict[str, None] = {}
        for k, v in zip(keys, changed, strict=True):
            d[k] = v
            dirty[k] = None
        list(dirty)
        dirty.clear()
        return n

    bench = Bench("context-100k-sets-pop")
    bench.side("Context 100k sets + pop", Timed(ctx_setup, ctx_op))
    bench.side(
        "Minimal 100k sets + pop",
        Timed(lambda: Minimal(dict(zip(keys, start, strict=True))), minimal_op),
        baseline=True,
    )
    bench.side(
        "dict + dirty dict",
        Timed(lambda: dict(zip(keys, start, strict=True)), dict_op),
        baseline=True,
    )
    bench.notes.append("100k distinct keys each changed once, then the dirty keys popped")
    return bench


def merge_bench() -> Bench:
    a_data = dict(zip(dotted_keys(KEYS), value_mix(KEYS, 0), strict=True))
    # Half of b's keys are a's with different values (conflicts), half are new.
    b_keys = dotted_keys(KEYS + KEYS // 2)[KEYS // 2 :]
    b_data = dict(zip(b_keys, value_mix(len(b_keys), 5), strict=True))
    a_text = Context(a_data, clock=lambda: 1.0).to_json(include_history=True)
    b = Context(b_data, clock=lambda: 2.0)  # changed later: last_writer_wins takes b

    def ctx_op(a: Context) -> int:
        a.merge_from(b)  # the default strategy: last_writer_wins
        return 1

    def minimal_op(m: Minimal) -> int:
        m.merge_from(minimal_b)
        return 1

    def dict_op(_: None) -> int:
        _merged = {**a_data, **b_data}
        return 1

    minimal_b = Minimal(b_data)
    bench = Bench("context-merge")
    bench.side("Context.merge_from", Timed(lambda: Context.from_json(a_text), ctx_op))
    bench.side("Minimal per-key merge", Timed(lambda: Minimal(a_data), minimal_op), baseline=True)
    bench.side("{**a, **b}", Timed(lambda: None, dict_op), baseline=True)
    bench.notes.append(
        "two 10k-key contexts with history, 5k conflicts, default strategy (last_writer_wins)"
    )
    return bench


def json_benches() -> tuple[Bench, Bench]:
    n = 100_000
    data = dict(zip(dotted_keys(n), value_mix(n, 0), strict=True))
    ctx = Context.from_dict(data)
    text, plain = ctx.to_json(), json.dumps(data)

    def once(fn: Callable[[], object]) -> Callable[[], int]:
        def run() -> int:
            fn()
            return 1

        return run

    dump = Bench("context-to-json")
    dump.side("Context.to_json", once(ctx.to_json))
    dump.side("json.dumps", once(lambda: json.dumps(data)), baseline=True)
    load = Bench("context-from-json")
    load.side("Context.from_json", once(lambda: Context.from_json(text)))
    load.side("json.loads", once(lambda: json.loads(plain)), baseline=True)
    for b in (dump, load):
        b.notes.append("100k keys of the value mix")
    return dump, load


def scalar_mix(n: int, salt: int) -> list[Any]:
    """The value mix with its dicts and lists replaced by strings: nothing to copy."""
    return [
        v if v.__class__ not in (dict, list) else f"s{i}-{salt}"
        for i, v in enumerate(value_mix(n, salt))
    ]


def bytes_per_change(mix: Callable[[int, int], list[Any]]) -> tuple[float, float]:
    """Traced bytes per recorded change: repeated changes to 1,000 keys, and first changes
    to 100k distinct keys (each key's first change also makes it dirty). The values are
    made before measuring; a container's copy (the context owns its values) is counted."""
    n_keys, repeats = 1_000, 100
    keys = dotted_keys(n_keys)
    values = [mix(n_keys, 10 + r) for r in range(repeats)]
    ctx = Context.from_dict(dict(zip(keys, values[0], strict=True)))
    for k, v in zip(keys, values[1], strict=True):
        ctx.set(k, v)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for r in range(2, repeats):
        for k, v in zip(keys, values[r], strict=True):
            ctx.set(k, v)
    repeated = (tracemalloc.get_traced_memory()[0] - base) / ((repeats - 2) * n_keys)
    tracemalloc.stop()

    n = 100_000
    keys = dotted_keys(n)
    first = mix(n, 1)
    big = Context.from_dict(dict(zip(keys, mix(n, 0), strict=True)))
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for k, v in zip(keys, first, strict=True):
        big.set(k, v)
    first_changes = (tracemalloc.get_traced_memory()[0] - base) / n
    tracemalloc.stop()
    return repeated, first_changes


MIX_NAMES: dict[Mix, str] = {
    value_mix: "the value mix (ints, floats, strings, bools, small dicts and lists)",
    scalar_mix: "scalars only",
}

# ---------------------------------------------------------------------- report

GOALS: list[tuple[str, str, str, float]] = [
    # (bench, subject, baseline, goal): the issue's goals, and Framework0's ratio to the floor
    ("context-get", "Context.get", "d[k]", 1.8),
    ("context-get", "Context.get", "Minimal.get", 1.06),
    ("context-set", "Context.set", "d[k] = v", 12.0),
    ("context-set", "Context.set", "Minimal.set", 1.30),
    (
        "context-100k-sets-pop",
        "Context 100k sets + pop",
        "dict + dirty dict",
        2.5,
    ),
    ("context-100k-sets-pop", "Context 100k sets + pop", "Minimal 100k sets + pop", 0),
    ("context-merge", "Context.merge_from", "{**a, **b}", 6.0),
    ("context-merge", "Context.merge_from", "Minimal per-key merge", 1.37),
    ("context-merge", "Minimal per-key merge", "{**a, **b}", 0),
    ("context-get-scalars", "Context.get", "d[k]", 1.8),
    ("context-get-scalars", "Context.get", "Minimal.get", 1.06),
    ("context-set-scalars", "Context.set", "d[k] = v", 12.0),
    ("context-set-scalars", "Context.set", "Minimal.set", 1.30),
    ("context-get", "Minimal.get", "d[k]", 0),
    ("context-set", "Minimal.set", "d[k] = v", 0),
    # What the copy contract alone costs, and what the Context adds on top of it:
    ("context-get", "MinimalCopying.get", "Minimal.get", 0),
    ("context-get", "Context.get", "MinimalCopying.get", 0),
    ("context-set", "MinimalCopying.set", "Minimal.set", 0),
    ("context-set", "Context.set", "MinimalCopying.set", 0),
    ("context-to-json", "Context.to_json", "json.dumps", 0.25),
    ("context-from-json", "Context.from_json", "json.loads", 1.2),
]


# Each ``--only`` name and the benches it runs, built when asked (each builds its data).
ROWS: dict[str, Callable[[], list[Bench]]] = {
    "get": lambda: [get_bench(value_mix), get_bench(scalar_mix, "-scalars")],
    "set": lambda: [set_bench(value_mix), set_bench(scalar_mix, "-scalars")],
    "pop": lambda: [sets_and_pop_bench()],
    "merge": lambda: [merge_bench()],
    "json": lambda: list(json_benches()),
}


def count_side(row: str, bench_name: str, side: str) -> None:
    """The child of ``--instructions``: run one side once to warm it, then once counted
    (only the side's measured part: a :class:`Timed` run counts its ``op`` itself)."""
    (bench,) = [b for b in ROWS[row]() if b.name == bench_name]
    run = bench.run_of(side)
    # Warm it first, uncounted, as the timed rounds are: the interpreter specialises the
    # hot paths. (A Timed run counts its op itself, so warm it by its parts.)
    if isinstance(run, Timed):
        run.op(run.setup())
    else:
        run()
    gc.collect()
    gc.disable()
    out = run() if isinstance(run, Timed) else counted(run)
    ops = out.ops if isinstance(out, Sample) else max(int(out), 1)
    print(json.dumps({"ops": ops}))


def instructions(rows: list[str], out: Path, before: Path | None = None) -> int:
    """Instructions per operation of every side of ``rows``, counted under valgrind, and
    their ratios; saved as ``context-instructions.json`` / ``.md``. ``before``: an earlier
    run's JSON (another version of the code), shown beside each count."""
    earlier: dict[tuple[str, str], float] = {}
    if before is not None:
        try:
            rows_before = json.loads(before.read_text(encoding="utf-8"))
            earlier = {(r["bench"], r["side"]): float(r["per_op"]) for r in rows_before}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"error: {before} is not a context-instructions.json: {exc}", file=sys.stderr)
            return 1
    jobs = [(row, b.name, side) for row in rows for b in ROWS[row]() for side in b.side_names]
    script = str(Path(__file__).resolve())

    def one(job: tuple[str, str, str]) -> tuple[int, int]:
        total, stdout = count_instructions([script, "--count-side", *job])
        return total, int(json.loads(stdout.strip().splitlines()[-1])["ops"])

    try:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            counts = dict(zip(jobs, pool.map(one, jobs), strict=True))
    except CountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    per_op = {(b, side): total / ops for (_, b, side), (total, ops) in counts.items()}
    lines = [
        "### context-instructions",
        "",
        f"{_dt.datetime.now(_dt.UTC):%Y-%m-%d %H:%M UTC}, machine instructions per operation "
        "(valgrind callgrind, only the measured part of each run), Python "
        f"{platform.python_version()}",
        "",
        f"| bench | side | instructions/op |{' before | change |' if earlier else ''}",
        f"| --- | --- | ---: |{' ---: | ---: |' if earlier else ''}",
        *(
            f"| {b} | {side} | {n:,.0f} |" + _before_cells(earlier, (b, side), n)
            for (b, side), n in per_op.items()
        ),
        "",
        "| ratio (instructions) | ratio |",
        "| --- | ---: |",
    ]
    # No goal marks: the goals are on CPU time, and a row whose baseline waits on memory
    # (100k keys) runs few instructions per unit of time. Compare versions with these.
    for bench_name, subject, baseline, _goal in GOALS:
        if (bench_name, subject) in per_op and (bench_name, baseline) in per_op:
            r = per_op[bench_name, subject] / per_op[bench_name, baseline]
            label = f"{bench_name.removeprefix('context-')}: {subject} / {baseline}"
            lines.append(f"| {label} | {r:.2f}× |")
    text = "\n".join(lines) + "\n"
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / "context-instructions.md").write_text(text, encoding="utf-8")
    (out / "context-instructions.json").write_text(
        json.dumps([{"bench": b, "side": s, "per_op": n} for (b, s), n in per_op.items()], indent=2)
        + "\n",
        encoding="utf-8",
    )
    print(f"results: {out}/context-instructions.json and .md")
    return 0


def _before_cells(earlier: dict[tuple[str, str], float], key: tuple[str, str], now: float) -> str:
    if not earlier:
        return ""
    if key not in earlier:
        return " - | - |"
    return f" {earlier[key]:,.0f} | {now / earlier[key] - 1:+.1%} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    parser.add_argument("--only", default=None, help="comma-separated: " + ",".join(ROWS))
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count machine instructions per operation under valgrind instead of timing",
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="with --instructions: an earlier run's context-instructions.json, for a change column",
    )
    parser.add_argument("--count-side", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.count_side:
        count_side(*args.count_side)
        return 0
    only = args.only.split(",") if args.only else list(ROWS)
    unknown = [name for name in only if name not in ROWS and name != "memory"]
    if unknown:
        parser.error(f"unknown row {unknown[0]!r}; rows are {', '.join(ROWS)}")
    if args.instructions:
        return instructions([name for name in only if name in ROWS], Path(args.out), args.before)

    results: list[BenchResult] = []
    for name in only:
        if name in ROWS:
            rounds = max(3, args.rounds // 2) if name == "pop" else args.rounds
            results.extend(bench.run(rounds) for bench in ROWS[name]())
    by_name = {r.name: r for r in results}
    if results:
        first = results[0]
        print(
            f"{first.when}, {args.rounds} interleaved rounds, thread CPU time, load "
            f"{first.load_before['load1']}→{results[-1].load_after['load1']} "
            f"on {first.load_before['cpus']} CPUs\n"
        )
    print(f"{'ratio (CPU)':78} {'median':>8} {'min–max':>13}  goal")
    for bench_name, subject, baseline, goal in GOALS:
        if bench_name not in by_name:
            continue
        r = by_name[bench_name].ratio(subject, baseline)
        mark = "" if not goal else ("  ok" if r.median <= goal else "  MISSED")
        goal_text = f"≤ {goal:g}×{mark}" if goal else "-"
        label = f"{bench_name.removeprefix('context-')}: {subject} / {baseline}"
        print(f"{label:78} {r.median:7.2f}× {r.low:5.2f}–{r.high:5.2f}×  {goal_text}")
    if args.only is None or "memory" in only:
        print()
        for label, mix in (("scalars", scalar_mix), ("value mix", value_mix)):
            repeated, first_changes = bytes_per_change(mix)
            worst = max(repeated, first_changes)
            verdict = "  (goal ≤ 120 B: " + ("ok)" if worst <= 120 else "MISSED)")
            print(
                f"bytes per change, {label}: {repeated:.0f} B repeated (1,000 keys × 98), "
                f"{first_changes:.0f} B first changes (100k distinct keys)"
                + ("" if mix is scalar_mix else ", containers' copies included")
                + verdict
            )
    out = Path(args.out)
    for result in results:
        result.save(out)
    print(f"\nresults: {out}/context-*.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
