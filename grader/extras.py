"""Which optional extra provides which import, and one line saying what to install.

The base install is the learner's (library, JupyterLab, widgets, local checks). Commands
for instructors, the cluster and the service need an extra; :func:`require_extra` checks
for it before the command imports anything heavy, so a missing extra is one line::

    error: `context-course grade` needs the instructor extra (nbgrader is not installed):
    pip install 'context-course[instructor]'

(Belongs with the product package's CLI helpers after the restructure.)
"""

from __future__ import annotations

import importlib.util

__all__ = ["EXTRAS", "MissingExtraError", "missing_extra", "require_extra"]

#: extra → the top-level modules it installs that the commands import.
EXTRAS: dict[str, tuple[str, ...]] = {
    "instructor": ("nbgrader", "sqlalchemy", "alembic", "jinja2", "nbclient", "hatchling"),
    "certificates": ("weasyprint", "pypdf", "pyld", "joserfc", "qrcode", "PIL", "sqlalchemy"),
    "cluster": ("dask", "distributed", "psycopg"),
    "service": ("starlette", "uvicorn", "redis", "httpx"),
}


class MissingExtraError(Exception):
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
