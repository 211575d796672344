"""``context-course run RECIPE``: run a recipe from the terminal, with progress and a summary.

A thin layer over :class:`context_lib.runner.Runner`: it loads the recipe (the example
scriptlets are always available; ``--import`` adds modules that register more), opens
the store named by ``--store``, prints one line per step event, then the final context
and a per-step summary. A recipe or store mistake is one ``error:`` line (exit 2); a
run whose step failed prints its summary and exits 1.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from context_course.cli.app import UserError, app
from context_lib.persistence import StoreError, open_store
from context_lib.persistence.codec import encode_value
from context_lib.runner import (
    RecipeError,
    ResumeError,
    RunEvent,
    Runner,
    RunResult,
    ScriptletError,
    load_recipe,
)

__all__ = ["print_result", "progress_printer", "run_recipe"]

_VALUE_WIDTH = 60


def progress_printer(console: Console) -> Callable[[RunEvent], None]:
    """A :class:`RunEvent` handler that prints one line per event."""

    def show(event: RunEvent) -> None:
        step = escape(event.step)
        if event.kind == "start":
            tries = f" (attempt {event.attempt}/{event.attempts})" if event.attempt > 1 else ""
            console.print(f"  [cyan]▶[/] {step}{tries}")
        elif event.kind == "retry":
            console.print(
                f"  [yellow]↻[/] {step} attempt {event.attempt}/{event.attempts} failed: "
                f"{escape(_error_line(event.error))}; retrying"
            )
        elif event.kind == "done" and event.result is not None:
            r = event.result
            console.print(
                f"  [green]✓[/] {step}  {r.duration_s:.2f} s, {len(r.written)} key(s) written"
            )
        elif event.kind == "failed":
            console.print(f"  [red]✗[/] {step} failed: {escape(_error_line(event.error))}")
        elif event.kind == "already_done":
            console.print(f"  [dim]= {step} already done (resumed)[/]")

    return show


def _error_line(error: BaseException | None) -> str:
    return "unknown error" if error is None else f"{type(error).__name__}: {error}"


def _shorten(text: str) -> str:
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"


def print_result(console: Console, result: RunResult) -> None:
    """The final context (key, value, who changed it last) and the per-step summary."""
    ctx = result.context
    last_who: dict[str, str] = {}
    for change in ctx.history:
        last_who[change.key] = change.who or ""
    table = Table(title=f"Context after {result.recipe!r} ({len(ctx)} keys)", title_justify="left")
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    table.add_column("last changed by", style="dim")
    for key, value in ctx.items():
        table.add_row(escape(key), escape(_shorten(encode_value(value))), last_who.get(key, ""))
    console.print(table)
    steps = Table(title="Steps", title_justify="left")
    for column in ("step", "status", "attempts", "time (s)", "keys written", "error"):
        steps.add_column(column)
    colours = {"ok": "green", "failed": "red", "already_done": "dim", "not_run": "yellow"}
    for step in result.steps:
        colour = colours[step.status]
        steps.add_row(
            escape(step.name),
            f"[{colour}]{step.status}[/]",
            str(step.attempts),
            f"{step.duration_s:.2f}",
            str(len(step.written)),
            escape(_shorten(_error_line(step.error))) if step.error else "",
        )
    console.print(steps)


def _import_from_here(name: str) -> None:
    """Import module ``name``, finding it in the current folder too (as ``python -m`` would).

    A console script's ``sys.path`` starts with its own folder, not the current one, so
    ``--import my_scriptlets`` would otherwise need ``PYTHONPATH=.``. The current folder
    goes last, so it never shadows an installed module of the same name.
    """
    here = os.getcwd()
    added = here not in sys.path
    if added:
        sys.path.append(here)
    try:
        importlib.import_module(name)
    finally:
        if added:
            sys.path.remove(here)


def run_recipe(
    recipe: Path,
    *,
    store_url: str | None = None,
    resume: bool = False,
    imports: list[str] | None = None,
    console: Console | None = None,
) -> RunResult:
    """Load, run (or resume) and print a recipe; the library function behind ``run``.

    Raises :class:`UserError` for anything the person can fix (recipe, store, module).
    """
    console = console or Console()
    importlib.import_module("context_lib.examples")  # the example scriptlets
    for name in imports or []:
        try:
            _import_from_here(name)
        except ImportError as exc:
            raise UserError(f"cannot import module {name!r} (--import): {exc}") from None
        except Exception as exc:  # the module itself is broken: one line, not a traceback
            raise UserError(
                f"cannot import module {name!r} (--import): it raised {type(exc).__name__}: {exc}"
            ) from None
    if resume and store_url is None:
        raise UserError("--resume needs --store URL: the store that holds the checkpoint")
    try:
        parsed = load_recipe(recipe)
        runner = Runner(on_event=progress_printer(console))
        runner.check(parsed)  # every problem is reported before the store is touched
        store = None if store_url is None else open_store(store_url)
    except (RecipeError, ScriptletError, StoreError) as exc:
        raise UserError(str(exc)) from None
    where = f" (checkpoints in {store_url})" if store_url else ""
    verb = "Resuming" if resume else "Running"
    console.print(
        f"[bold]{verb} recipe {escape(parsed.name)!r}[/]: {len(parsed.steps)} step(s){where}"
    )
    try:
        if store is None:
            return _finish(console, runner.run(parsed))
        with store:
            if resume:
                result = Runner.resume(parsed, store, on_event=runner.on_event)
            else:
                result = Runner(store, on_event=runner.on_event).run(parsed)
            return _finish(console, result)
    except (ResumeError, StoreError) as exc:
        raise UserError(str(exc)) from None


def _finish(console: Console, result: RunResult) -> RunResult:
    console.print()
    print_result(console, result)
    return result


@app.command("run")
def run(
    recipe: Annotated[
        Path, typer.Argument(help="The recipe file (.yaml, .yml or .json).", show_default=False)
    ],
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            metavar="URL",
            help="Checkpoint after every step to this store: sqlite:///state.db?name=run, "
            "file:///abs/state.json, redis://host:6379/0?name=run or memory://.",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Continue the run checkpointed in --store after its last done step."
        ),
    ] = False,
    imports: Annotated[
        list[str] | None,
        typer.Option(
            "--import",
            metavar="MODULE",
            help="Import a module that registers scriptlets (repeatable).",
        ),
    ] = None,
) -> None:
    """Run a recipe: steps in dependency order, with retries and checkpoints.

    Prints a line per step, then the final context and a per-step summary; exits 1
    if a step failed.

    Example:

        context-course run context_lib/examples/numbers.yaml --store sqlite:///numbers.db
    """
    result = run_recipe(recipe, store_url=store, resume=resume, imports=imports)
    if not result.ok:
        raise UserError(result.describe_failure(), exit_code=1)
