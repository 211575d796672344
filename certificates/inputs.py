"""What certificates take from the course, as typed protocols (no ``Any``).

The product (``context_course``) passes the grading pipeline's loaded course
(``grader.pipeline.config.Course``), which satisfies :class:`CourseConfig` structurally:
certificates never import the grader.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

__all__ = ["CourseConfig"]


class CourseConfig(Protocol):
    """A loaded ``course.toml``: the fields certificates read."""

    @property
    def root(self) -> Path:
        """The course folder (relative paths in course.toml are relative to it)."""
        ...

    @property
    def raw(self) -> Mapping[str, object]:
        """The parsed course.toml (certificates read ``[certificates]`` from it)."""
        ...

    @property
    def id(self) -> str:
        """The course id (``[course] id``)."""
        ...

    @property
    def name(self) -> str:
        """The course's display name."""
        ...

    @property
    def version(self) -> str:
        """The course version recorded with every certificate."""
        ...

    @property
    def output_dir(self) -> Path:
        """Where outputs go (certificates under ``certificates/``)."""
        ...
