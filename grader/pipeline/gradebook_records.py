"""What the gradebook gives back: plain records of graded notebooks, scores and learners.

Split from :mod:`grader.pipeline.gradebook` (the store: schema, transactions, writes and
queries) so that readers of these records need not know how they are stored; the one
query here, :func:`late_penalties`, is shared by the store's two score readers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from importlib import metadata
from typing import Any

from nbgrader import api
from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.core.results import NotebookResult

__all__ = [
    "GradedRecord",
    "ManualScores",
    "NotebookScore",
    "StudentRow",
    "grader_version",
    "late_penalties",
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
    #: nbgrader's ``SubmittedNotebook.late_submission_penalty`` in points (0: on time);
    #: ``score`` does not include it: :func:`scoring.effective_score` subtracts it
    late_penalty: float = 0.0

    @classmethod
    def from_row(
        cls, row: Mapping[Any, Any], late: Mapping[tuple[str, str], float]
    ) -> GradedRecord:
        """A ``cc_graded_notebooks`` row, with its penalty from :func:`late_penalties`."""
        stamp: datetime = row["graded_at"]
        return cls(
            **{**row, "graded_at": stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)},
            late_penalty=late.get((row["learner_id"], row["notebook"]), 0.0),
        )

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
    score: Fraction  # exact: see scoring.effective_score (late penalty subtracted)
    max_score: Fraction
    manual: bool  # at least one grade cell carries a manual score
    late_penalty: Fraction = Fraction(0)  # points already subtracted from ``score``


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


def late_penalties(session: Session) -> dict[tuple[str, str], float]:
    """nbgrader's ``SubmittedNotebook.late_submission_penalty`` (points) by learner and
    notebook name, where one is set."""
    query = (
        select(api.SubmittedAssignment.student_id, api.Notebook.name)
        .add_columns(api.SubmittedNotebook.late_submission_penalty)
        .join(
            api.SubmittedNotebook, api.SubmittedNotebook.assignment_id == api.SubmittedAssignment.id
        )
        .join(api.Notebook, api.Notebook.id == api.SubmittedNotebook.notebook_id)
        .where(api.SubmittedNotebook.late_submission_penalty > 0)
    )
    return {(learner, name): float(points) for learner, name, points in session.execute(query)}
