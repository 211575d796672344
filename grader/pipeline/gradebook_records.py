"""What the gradebook gives back: plain records of graded notebooks, scores and learners.

Split from :mod:`grader.pipeline.gradebook` (the store: schema, transactions, writes and
queries) so that readers of these records need not know how they are stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from importlib import metadata

from grader.core.results import NotebookResult

__all__ = [
    "GradedRecord",
    "ManualScores",
    "NotebookScore",
    "StudentRow",
    "grader_version",
    "split_name",
]


@dataclass(frozen=True)
class GradedRecord:
    """One row of ``cc_graded_notebooks``."""

    learner_id: str
    notebook: str
    submission_hash: str
    source_hash: str
    score: float
    max_score: float
    course_version: str
    grader_version: str
    result_json: str
    graded_at: datetime

    @property
    def result(self) -> NotebookResult:
        """The stored grading result."""
        return NotebookResult.from_dict(json.loads(self.result_json))


#: One learner's manual scores from formgrader: notebook -> grade cell id -> points.
ManualScores = dict[str, dict[str, float]]


@dataclass(frozen=True)
class NotebookScore:
    """A learner's effective score on a notebook, as nbgrader computes it (manual wins)."""

    learner_id: str
    notebook: str
    score: Fraction  # exact: see scoring.effective_score
    max_score: Fraction
    manual: bool  # at least one grade cell carries a manual score


@dataclass(frozen=True)
class StudentRow:
    """A learner in nbgrader's student table."""

    id: str
    first_name: str
    last_name: str
    email: str


def grader_version() -> str:
    """The version recorded with every grade (the installed ``context-course``)."""
    try:
        return metadata.version("context-course")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


def split_name(name: str) -> tuple[str, str]:
    """Split a full name into nbgrader's first and last name (last word is the last name)."""
    words = name.split()
    if len(words) < 2:
        return (words[0] if words else "", "")
    return (" ".join(words[:-1]), words[-1])
