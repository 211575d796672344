"""``context-course init``: start a course folder for a real class."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from context_course.cli.app import app

__all__ = ["init"]


@app.command("init")
def init(
    folder: Annotated[
        Path,
        typer.Argument(
            help="The new course folder (created if missing; it must hold no course yet).",
            show_default=False,
        ),
    ] = Path("."),
    source: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="The course to start from; default: the one shipped with context-course.",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Create a course folder for a real class from the shipped course.

    Writes course.toml (the issuer and the database to fill in), the notebooks, an empty
    submissions/ folder, a .gitignore that keeps rosters, submissions, gradebooks, keys
    and output out of git, and NEXT-STEPS.md. Refuses to touch an existing course.

    Example: `context-course init my-class` then `cd my-class` and read NEXT-STEPS.md
    """
    from context_course.course_init import init_course

    result = init_course(folder, source=source)
    typer.echo(f"created the course folder {result.root} ({len(result.notebooks)} notebooks)")
    typer.echo(f"next: edit {result.root / 'course.toml'} (issuer, database); see NEXT-STEPS.md")
