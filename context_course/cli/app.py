"""The root ``context-course`` Typer app and the one error type commands raise.

Command modules (``context_course/cli/*.py``) register their commands on :data:`app`; each
command parses its arguments, calls one library function and turns known errors into
:class:`UserError` (one clear line for the person, non-zero exit).
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="context-course",
    help="Learn, grade and certify mastery of the Context library.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


class UserError(Exception):
    """A mistake the person can fix; ``main`` prints it as one line and exits non-zero."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@app.callback()
def _root() -> None:
    """Learn, grade and certify mastery of the Context library."""
