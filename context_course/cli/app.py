"""The root ``context-course`` Typer app, its lazy command table and the CLI's error type.

Command modules (``context_course/cli/*.py``) register their commands on :data:`app`; each
command parses its arguments, calls one library function and prints. A command's module is
imported only when that command runs (or its own ``--help`` is shown): ``context-course
--help`` lists :data:`COMMANDS` without importing any of them, so it starts instantly
instead of loading the grader, certificates, nbgrader and jsonschema first. A test checks
that the table matches the commands the modules really register.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from context_course.errors import ContextCourseError

__all__ = [
    "COMMANDS",
    "LazyGroup",
    "UserError",
    "app",
    "load_all_commands",
    "no_type_shown_for_flags",
]

#: Every top-level command: the module that registers it and its one-line help.
COMMANDS: dict[str, tuple[str, str]] = {
    "lab": (
        "context_course.cli.learner",
        "Copy the learner notebooks into your workspace and open it in JupyterLab.",
    ),
    "check": (
        "context_course.cli.learner",
        "Run your saved notebook as grading will (sandboxed) and show its visible tests.",
    ),
    "progress": (
        "context_course.cli.learner",
        "Show the whole course: parts passing locally and the certificate level within reach.",
    ),
    "submit": (
        "context_course.cli.learner",
        "Bundle your notebooks into one zip to hand in (with a manifest of hashes).",
    ),
    "demo": (
        "context_course.cli.demo",
        "Run the instructor's whole job on the shipped course, with four synthetic learners.",
    ),
    "grade": (
        "context_course.cli.grading",
        "Grade submissions into the gradebook; write feedback pages and grades.csv.",
    ),
    "feedback": (
        "context_course.cli.grading",
        "Re-render learners' feedback pages from the gradebook, without grading.",
    ),
    "report": (
        "context_course.cli.grading",
        "Write the class report (per-part pass rates, score distributions) as HTML.",
    ),
    "roster": (
        "context_course.cli.grading",
        "Manage the learners' names and emails (nbgrader's student table).",
    ),
    "certify": (
        "context_course.cli.certs",
        "Issue Bronze/Silver/Gold certificates to learners who earned them.",
    ),
    "verify": (
        "context_course.cli.certs",
        "Check a certificate offline: VALID with learner, level, date and issuer, or INVALID "
        "and why.",
    ),
    "revoke": (
        "context_course.cli.certs",
        "Revoke a certificate and re-sign the revocation list.",
    ),
    "publish": (
        "context_course.cli.certs",
        "Write the static issuer site to serve at the issuer URL.",
    ),
    "keys": (
        "context_course.cli.certs",
        "Manage the issuer's signing keys (Ed25519 for Data Integrity, P-256 for JWTs).",
    ),
    "hub": (
        "context_course.cli.hub",
        "Run the course on JupyterHub: learners log in, submit from the notebook and get "
        "feedback and certificates back.",
    ),
    "init": (
        "context_course.cli.course_init",
        "Create a course folder for a real class from the shipped course.",
    ),
    "release": (
        "context_course.cli.release",
        "Generate the learner notebooks (exercises/) and the learner package (a wheel).",
    ),
    "cluster": (
        "context_course.cli.cluster",
        "Run a Dask grading cluster on this machine (for `grade --scheduler`).",
    ),
    "run": (
        "context_course.cli.run",
        "Run a recipe: steps in dependency order, with retries and checkpoints.",
    ),
    "serve": (
        "context_course.cli.serve",
        "Run the multi-tenant Context service over HTTP, or manage its tenants and keys.",
    ),
    "tour": ("context_course.cli.tour", "A short, runnable tour of the Context library."),
}


class LazyGroup(TyperGroup):
    """The root group: commands come from :data:`COMMANDS`, their modules loaded on use."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in COMMANDS:
            return None
        module, short_help = COMMANDS[cmd_name]
        if self._listing:  # the root's --help: name and one line, nothing imported
            return TyperCommand(name=cmd_name, help=short_help, short_help=short_help)
        # Before the command's imports: those that read notebooks import jsonschema
        # through nbformat, and this spares them its 1.4 s IRI grammar.
        from context_lib.lazy_grammar import defer_iri_grammar

        defer_iri_grammar()
        importlib.import_module(module)
        loaded = typer.main.get_command(app)
        command = getattr(loaded, "commands", {}).get(cmd_name)
        if command is not None:
            no_type_shown_for_flags(command)
            self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def no_type_shown_for_flags(command: Any) -> None:
    """A flag takes no value: its --help row shows no ``<bool>`` type column; and the help
    text's prose paragraphs flow to the terminal's width (:func:`reflowed`).

    Typer shows every option's type; an empty metavar is its documented way to show none.
    Applied to the root and, as each lazily loaded command arrives, to that command.
    """
    if command.help:
        command.help = reflowed(command.help)
    params = list(command.params)
    help_option = command.get_help_option(typer.Context(command))
    if help_option is not None:
        params.append(help_option)
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        no_type_shown_for_flags(sub)


def reflowed(text: str) -> str:
    """``text`` with the line breaks inside each prose paragraph turned into spaces.

    Typer prints a docstring's later paragraphs with their source line breaks, which
    leaves ragged half-lines in a terminal narrower than the source. Paragraphs with an
    indented, bulleted or ``\\b`` line are kept as written.
    """
    paragraphs = inspect.cleandoc(text).split("\n\n")
    kept = ("\b", " ", "-", "*", "•")
    return "\n\n".join(
        paragraph
        if any(line.startswith(kept) for line in paragraph.split("\n"))
        else " ".join(paragraph.split("\n"))
        for paragraph in paragraphs
    )


def load_all_commands() -> None:
    """Import every command module (for tests and tools that walk the whole command tree)."""
    for module, _ in COMMANDS.values():
        importlib.import_module(module)


app = typer.Typer(
    name="context-course",
    help="Learn, grade and certify mastery of the Context library.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    cls=LazyGroup,
)


class UserError(ContextCourseError):
    """A mistake the person can fix; ``main`` prints it as one line and exits non-zero."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@app.callback()
def _root() -> None:
    """Learn, grade and certify mastery of the Context library."""
