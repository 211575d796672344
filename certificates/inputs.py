"""What certificates take from the course, typed (no ``Any``): the course config and the
scores, one :class:`LearnerRecord` per learner with an
:class:`~certificates.credential.ExerciseScore` per exercise.

The product (``context_course``) passes the grading pipeline's loaded course
(``grader.pipeline.config.Course``), which satisfies :class:`CourseConfig` structurally,
and reads the scores from the gradebook (``context_course.gradebook_scores``):
certificates never import the grader or read its database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

from certificates.credential import ExerciseScore, Learner

__all__ = ["CourseConfig", "LearnerRecord"]


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


@dataclass(frozen=True)
class LearnerRecord:
    """A learner and their score per exercise number (missing = not submitted)."""

    learner: Learner
    scores: dict[int, ExerciseScore]

    def percents(self) -> dict[int, Fraction]:
        """Percent score per exercise, for the level policy."""
        return {number: score.percent for number, score in self.scores.items()}
