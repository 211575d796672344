"""Commands of `context-course` registered on the root app (see grader/cli/app.py)."""

from grader.cli.app import app  # noqa: F401
