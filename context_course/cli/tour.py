"""``context-course tour``: a two-minute, runnable tour of the Context library."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table

from context_course.cli.app import app
from context_lib import Context, MergeConflictError, NotSerializableError


def _fake_clock(start: float = 1_700_000_000.0, step: float = 1.0) -> Callable[[], float]:
    ticks = itertools.count()
    return lambda: start + step * next(ticks)


def run_tour(console: Console) -> Context:
    """Print the tour and return the context it built (tests inspect it)."""
    ctx = Context(clock=_fake_clock())

    def step(title: str, code: str, result: str) -> None:
        console.print(Panel(Syntax(code, "python", theme="ansi_dark"), title=title, expand=False))
        console.print(f"  [bold green]→[/] {result}\n")

    ctx.set("app.name", "pipeline", who="setup")
    ctx.set("network.latency_ms", 12.5, who="probe")
    ctx.set("network.retries", 3, who="probe")
    step(
        "1. Dotted keys and namespaces",
        'ctx.set("network.latency_ms", 12.5, who="probe")\nctx.namespace("network")',
        repr(ctx.namespace("network")),
    )

    ctx.set("network.latency_ms", 14.0, who="probe")
    table = Table("seq", "key", "op", "before", "after", "who")
    for change in ctx.history:
        table.add_row(
            str(change.seq),
            change.key,
            change.op,
            repr(change.before),
            repr(change.after),
            str(change.who),
        )
    console.print(
        Panel(
            "Every change is recorded: who, when, before, after", title="2. History", expand=False
        )
    )
    console.print(table)

    try:
        ctx.set("network.peers", {"hosts": ["a", {"b"}]})
    except NotSerializableError as exc:
        step(
            "3. Only JSON values",
            'ctx.set("network.peers", {"hosts": ["a", {"b"}]})',
            f"NotSerializableError: {exc}",
        )

    dirty = ctx.pop_dirty_keys()
    step("4. Dirty keys: what to persist", "ctx.pop_dirty_keys()", repr(dirty))

    snapshot = ctx.to_json()
    restored = Context.from_json(snapshot)
    step(
        "5. Snapshots",
        "Context.from_json(ctx.to_json())",
        f"{len(snapshot)} bytes; same data: {restored == ctx}; "
        f"history kept: {len(restored.history)} changes",
    )

    worker = Context(
        {"network.latency_ms": 11.0, "jobs.done": 40}, clock=_fake_clock(1_800_000_000.0)
    )
    report = ctx.merge_from(worker, who="merge:worker-1")
    step(
        "6. Merging (last writer wins)",
        'ctx.merge_from(worker, who="merge:worker-1")',
        f"applied {report.applied}, conflicts {[c.key for c in report.conflicts]}",
    )
    try:
        ctx.merge_from(Context({"jobs.done": 41}), strategy="raise")
    except MergeConflictError as exc:
        step(
            "7. Or refuse conflicts",
            'ctx.merge_from(other, strategy="raise")',
            f"MergeConflictError: {exc}",
        )

    console.print(
        "[bold]Next:[/] open the course notebooks (exercises/) in JupyterLab and start with 01.\n"
    )
    return ctx


@app.command()
def tour() -> None:
    """A short, runnable tour of the Context library.

    Example:

        context-course tour
    """
    run_tour(Console())
