"""Which optional extra provides which import, and one line saying what to install.

The base install is the learner's (library, JupyterLab, widgets, local checks). Commands
for instructors, the cluster and the service need an extra; :func:`require_extra` checks
for it before the command imports anything heavy, so a missing extra is one line::

    error: `context-course grade` needs the instructor extra (nbgrader is not installed):
    pip install 'context-course[instructor]'
"""

from __future__ import annotations

import importlib.util

from context_course.errors import ContextCourseError

__all__ = [
    "COMMAND_EXTRAS",
    "EXTRAS",
    "MissingExtraError",
    "extra_providing",
    "missing_extra",
    "require_command_extras",
    "require_extra",
]

#: extra → the top-level modules it installs that the commands import.
EXTRAS: dict[str, tuple[str, ...]] = {
    "instructor": ("nbgrader", "sqlalchemy", "alembic", "jinja2", "nbclient"),
    "certificates": ("weasyprint", "pypdf", "pyld", "joserfc", "qrcode", "PIL", "sqlalchemy"),
    "cluster": ("dask", "distributed", "psycopg"),
    "service": ("starlette", "uvicorn", "redis", "httpx"),
    "hub": ("jupyterhub", "tornado"),
}

#: command → the extras it needs; commands not listed (lab, check, progress, submit, run,
#: tour) work on the base install.
COMMAND_EXTRAS: dict[str, tuple[str, ...]] = {
    "init": ("instructor",),
    "release": ("instructor",),
    "roster": ("instructor",),
    "grade": ("instructor",),
    "feedback": ("instructor",),
    "report": ("instructor",),
    "demo": ("instructor", "certificates"),
    "certify": ("certificates",),
    "keys": ("certificates",),
    "revoke": ("certificates",),
    "verify": ("certificates",),
    "cluster": ("cluster",),
    "serve": ("service",),
    "publish": ("certificates",),
    "hub": ("hub",),
}
#: options that need an extra whatever the command (a Dask scheduler, a PostgreSQL URL).
_OPTION_EXTRAS = {"--scheduler": "cluster", "postgresql": "cluster"}  # substrings of an arg


class MissingExtraError(ContextCourseError):
    """A command needs an extra that is not installed; the message is the one line to show."""

    def __init__(self, command: str, extra: str, module: str) -> None:
        self.command = command
        self.extra = extra
        self.module = module
        super().__init__(
            f"`context-course {command}` needs the {extra} extra ({module} is not installed): "
            f"pip install 'context-course[{extra}]'"
        )


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_extra(*extras: str) -> tuple[str, str] | None:
    """The first ``(extra, module)`` of ``extras`` whose module is not installed, or None."""
    for extra in extras:
        for module in EXTRAS[extra]:
            if not _installed(module):
                return extra, module
    return None


def require_extra(command: str, *extras: str) -> None:
    """Raise :class:`MissingExtraError` unless every module of ``extras`` is installed."""
    missing = missing_extra(*extras)
    if missing is not None:
        raise MissingExtraError(command, *missing)


def require_command_extras(args: list[str]) -> None:
    """Check the extras of the command ``args`` run (before its modules are imported).

    ``--help`` is always answered. Raises :class:`MissingExtraError` for the first missing
    extra: ``cluster`` also for a ``--scheduler`` or a ``postgresql`` database URL.
    """
    if "--help" in args or "-h" in args:
        return
    command = next((a for a in args if not a.startswith("-")), None)
    if command is None:
        return
    extras = list(COMMAND_EXTRAS.get(command, ()))
    for arg in args:
        extras += [extra for marker, extra in _OPTION_EXTRAS.items() if marker in arg]
    require_extra(command, *dict.fromkeys(extras))


def extra_providing(module: str | None) -> str | None:
    """The extra that installs top-level module ``module`` (e.g. from ModuleNotFoundError.name)."""
    top = (module or "").split(".")[0]
    return next((extra for extra, modules in EXTRAS.items() if top in modules), None)
