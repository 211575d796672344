"""The ``context-course`` command line: a thin layer over library functions.

Tests call :func:`main` with an argument list and get the exit code back.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import typer

# Importing a command module registers its commands on the app.
from context_course.cli import (  # noqa: F401
    certs,
    cluster,
    grading,
    hub,
    learner,
    release,
    run,
    serve,
    tour,
)
from context_course.cli.app import UserError, app
from context_lib.errors import ContextError

__all__ = ["UserError", "app", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``) and return the exit code.

    Usage errors are printed by Typer; :class:`UserError` and library errors become
    one ``error: …`` line on stderr. Nothing a person can get wrong ends in a traceback.
    """
    _put_environment_scripts_on_path()
    command = typer.main.get_command(app)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        command.main(args=args, prog_name="context-course", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except ContextError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 1
    return 0


def _put_environment_scripts_on_path() -> None:
    """nbgrader runs helper programs (``alembic``) from PATH: make this environment's count.

    Without this, ``.venv/bin/context-course`` works only once the venv is activated.
    """
    scripts = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if scripts not in path.split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + path


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
