"""``context-course demo``: the instructor's whole job on the shipped course.

Its own module, not the learners': the demo grades with nbgrader and issues certificates,
so importing it needs the instructor and certificates extras, which the learner's commands
(``lab``, ``check``, ``progress``, ``submit``) must not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from context_course.cli.app import UserError, app
from context_course.demo import DEFAULT_OUT, LEARNERS, DemoError, run_demo
from grader.core.sandbox import shutdown_sandboxes

__all__ = ["demo"]


@app.command()
def demo(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder for the demo (made afresh; a previous demo there is replaced).",
            file_okay=False,
        ),
    ] = Path(DEFAULT_OUT),
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Parallel graders (default: CPUs).")
    ] = None,
    cell_timeout: Annotated[
        float, typer.Option("--cell-timeout", min=1, help="Seconds per cell (short for a demo).")
    ] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Run the instructor's whole job on the shipped course, with four synthetic learners.

    Makes submissions (one solved everything, one half, one nothing, one hostile), grades
    them in the sandbox, writes the gradebook, feedback pages, grades.csv and the class
    report, issues the certificates they earned and verifies one. Runs from any folder.

    Example: `context-course demo --out /tmp/demo`
    """
    console = Console(stderr=True)
    try:
        result = run_demo(
            out,
            console=console,
            cell_timeout=cell_timeout,
            notebook_timeout=cell_timeout * 6,
            workers=workers,
            show_progress=console.is_terminal,
        )
    except DemoError as exc:
        raise UserError(str(exc), exit_code=1) from None
    finally:
        shutdown_sandboxes()
    levels = {o.learner_id: o.level for o in result.outcomes}
    maxima: dict[str, float] = {}
    for item in result.summary.items:
        maxima[item.learner_id] = maxima.get(item.learner_id, 0.0) + item.max_score
    if as_json:
        data = {
            "out": str(result.out),
            "seconds": round(result.seconds, 1),
            "learners": [
                {
                    "id": who.info.id,
                    "story": who.story,
                    "score": result.scores().get(who.info.id, 0.0),
                    "max_score": maxima.get(who.info.id, 0.0),
                    "certificate": levels.get(who.info.id),
                }
                for who in LEARNERS
            ],
            "verified": str(result.verified) if result.verified else None,
            "verdict": result.verdict.to_json() if result.verdict else None,
            "paths": {name: str(path) for name, path in result.paths.items()},
        }
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    screen = Console()
    table = Table(title="the demo class", title_justify="left")
    for column in ("learner", "what they did", "score", "certificate"):
        table.add_column(column)
    for who in LEARNERS:
        score = result.scores().get(who.info.id, 0.0)
        table.add_row(
            escape(f"{who.info.name} ({who.info.id})"),
            escape(who.story),
            f"{score:.4g} / {maxima.get(who.info.id, 0.0):g}",
            (levels.get(who.info.id) or "—").capitalize(),
        )
    screen.print(table)
    if result.verdict is not None and result.verified is not None:
        screen.print(f"verify {escape(str(result.verified))}:")
        screen.print(escape(result.verdict.summary()))
    where = Table(title="where everything is", title_justify="left", show_header=False)
    where.add_column(no_wrap=True)
    where.add_column(overflow="fold")
    for name, path in result.paths.items():
        where.add_row(name, escape(str(path)))
    screen.print(where)
    screen.print(
        f"done in {result.seconds:.0f} s. Next: open {escape(str(result.paths['class report']))}, "
        f"or try `context-course verify {escape(str(result.verified or 'CERT.pdf'))} --issuer "
        f"{escape(str(result.paths['issuer site']))}`"
    )
