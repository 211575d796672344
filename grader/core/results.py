"""What grading one notebook produces: plain, JSON-friendly records.

The grading core (``grade_notebook``) returns a :class:`NotebookResult`; the pipeline
(gradebook, feedback pages, grades.csv, reports, certificates' evidence) only reads
these records. ``to_dict``/``from_dict`` let results cross process and machine
boundaries as JSON (never pickle).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

CheckKind = Literal["visible", "hidden"]
PartStatus = Literal[
    "ok", "timeout", "crashed", "error", "forbidden-import", "not-run", "non-deterministic"
]


@dataclass(frozen=True)
class CheckResult:
    """One check of a graded part: a visible assert or a hidden probe."""

    label: str
    kind: CheckKind
    passed: bool
    points: float
    max_points: float
    message: str = ""  # safe to show the learner: never hidden code or expected values


@dataclass(frozen=True)
class PartResult:
    """One graded cell (an nbgrader ``grade_id``)."""

    grade_id: str
    points: float
    max_points: float
    status: PartStatus
    checks: tuple[CheckResult, ...] = ()
    message: str = ""  # plain words, e.g. "part 3b timed out after 30 s"

    @property
    def hidden_summary(self) -> str:
        hidden = [c for c in self.checks if c.kind == "hidden"]
        passed = sum(c.passed for c in hidden)
        return f"{passed} of {len(hidden)} hidden checks passed" if hidden else ""


@dataclass(frozen=True)
class NotebookResult:
    """The verdict on one learner's notebook."""

    notebook: str  # the assignment slug, e.g. "01-basic-operations"
    score: float
    max_score: float
    parts: tuple[PartResult, ...] = ()
    events: tuple[str, ...] = ()  # what happened, in plain words (timeouts, crashes, …)
    learner_seconds: float = 0.0  # time spent running the learner's cells
    wall_seconds: float = 0.0
    source_hash: str = ""  # sha256 of the source notebook graded against
    submission_hash: str = ""  # sha256 of the submitted notebook bytes
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NotebookResult:
        parts = tuple(
            PartResult(
                **{
                    **p,
                    "checks": tuple(CheckResult(**c) for c in p.get("checks", ())),
                }
            )
            for p in data.get("parts", ())
        )
        return cls(**{**data, "parts": parts, "events": tuple(data.get("events", ()))})
