"""The ``context-course`` command line: a thin layer over library functions.

Tests call :func:`main` with an argument list and get the exit code back.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import typer

# Command modules are imported when their command runs (see context_course.cli.app).
from context_course.cli.app import UserError, app, no_type_shown_for_flags
from context_course.extras import MissingExtraError, extra_providing, require_command_extras

__all__ = ["UserError", "app", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``) and return the exit code.

    Usage errors are printed by Typer; :class:`UserError` and every package's own errors
    (see ``_ERROR_ROOTS``) become one ``error: …`` line on stderr. Nothing a person can get
    wrong ends in a traceback.
    """
    _put_environment_scripts_on_path()
    command = typer.main.get_command(app)
    no_type_shown_for_flags(command)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        require_command_extras(args)
    except MissingExtraError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    try:
        command.main(args=args, prog_name="context-course", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except ModuleNotFoundError as exc:  # an extra's module, reached in a way not foreseen
        extra = extra_providing(exc.name)
        if extra is None or exc.name is None:
            raise
        name = next((a for a in args if not a.startswith("-")), "")
        typer.echo(f"error: {MissingExtraError(name, extra, exc.name)}", err=True)
        return 2
    except Exception as exc:
        code = _exit_code(exc)
        if code is None:
            raise
        typer.echo(f"error: {exc}", err=True)
        return code
    return 0


#: The one place errors become one line: each package's root error (module, class) and
#: the exit code. Commands do not catch these; they catch only what needs other words
#: (``OSError`` with the path, say).
_ERROR_ROOTS = (
    ("context_course.errors", "ContextCourseError", 2),
    ("grader.core.errors", "GraderError", 2),
    ("certificates.errors", "CertificateError", 2),
    ("context_lib.errors", "ContextError", 1),
)


def _exit_code(exc: Exception) -> int | None:
    """The exit code for one of the packages' own errors, ``None`` for anything else (a bug).

    Looked up in the loaded modules only: a package that was never imported raised nothing,
    and importing it here would undo the lazy command loading.
    """
    for module, name, code in _ERROR_ROOTS:
        loaded = sys.modules.get(module)
        root = getattr(loaded, name, None) if loaded is not None else None
        if isinstance(root, type) and isinstance(exc, root):
            return code
    return None


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
