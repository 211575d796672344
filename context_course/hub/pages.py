"""The service's two HTML pages (autoescaped Jinja2): a learner's course and the class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

__all__ = ["dashboard", "home"]

_env = Environment(
    loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
    autoescape=True,
    undefined=StrictUndefined,
)


def home(**context: Any) -> str:
    """A learner's page: the notebooks, their due dates, the newest submission of each."""
    return _env.get_template("home.html.j2").render(**context)


def dashboard(**context: Any) -> str:
    """The instructor's class table and actions."""
    return _env.get_template("dashboard.html.j2").render(**context)
