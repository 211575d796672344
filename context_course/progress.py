"""Local progress: which parts pass their visible tests, across the whole course.

Every local check (the "Check my work" widget, ``context-course check``) records its
result in the workspace's ``.context-course/progress.json``, together with how many
hints the learner unlocked. :func:`course_progress` combines those records with the
parts of every notebook in the workspace and the course's level policy
(:mod:`scoring.levels`, the same rule ``certify`` applies, without importing
``certificates``) into what the progress panel and ``context-course progress`` show: parts
passing, points, and the certificate level within reach if the hidden tests agree.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from context_course.workspace import Workspace, load_json_file, notebook_number
from grader.core.errors import GradingError
from grader.core.localcheck import PartInfo, load_checks
from grader.core.results import PartResult
from grader.pipeline.atomic import write_atomic
from scoring import (
    DEFAULT_LEVELS,
    Level,
    LevelPolicyError,
    decide,
    exact,
    missing,
    parse_levels,
    percent,
)

try:  # POSIX: serialise writers (two kernels checking at once); elsewhere last write wins
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "PROGRESS_FILE",
    "CourseProgress",
    "NotebookProgress",
    "course_progress",
    "hints_unlocked",
    "load_progress",
    "record_results",
    "unlock_hint",
]

PROGRESS_FILE = "progress.json"
_ANY_NUMBER = range(1, 100)  # notebooks are numbered NN-slug
_FORMAT = "context-course-progress"


def _path(workspace_root: Path) -> Path:
    return Path(workspace_root) / ".context-course" / PROGRESS_FILE


def _empty() -> dict[str, Any]:
    return {"format": _FORMAT, "format_version": 1, "notebooks": {}}


def load_progress(workspace_root: Path) -> dict[str, Any]:
    """The progress records (an empty record set if the file is missing or damaged)."""
    data = load_json_file(_path(workspace_root))
    if data is None or data.get("format") != _FORMAT or not isinstance(data.get("notebooks"), dict):
        return _empty()
    return data


@contextlib.contextmanager
def _updating(workspace_root: Path) -> Iterator[dict[str, Any]]:
    path = _path(workspace_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+b") as lock:
        if fcntl is not None:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        data = load_progress(workspace_root)
        yield data
        write_atomic(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def _notebook(data: dict[str, Any], slug: str) -> dict[str, Any]:
    entry: Any = data["notebooks"].setdefault(slug, {})
    if not isinstance(entry, dict):
        entry = data["notebooks"][slug] = {}
    for key in ("parts", "hints"):
        if not isinstance(entry.get(key), dict):
            entry[key] = {}
    result: dict[str, Any] = entry
    return result


def record_results(
    workspace_root: Path, notebook: str, parts: Iterable[PartResult], *, how: str
) -> None:
    """Remember the latest local verdict of each part (``how``: "widget" or "check")."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with _updating(workspace_root) as data:
        entry = _notebook(data, notebook)
        for part in parts:
            entry["parts"][part.grade_id] = {
                "passed": bool(part.checks) and all(c.passed for c in part.checks),
                "checks": len(part.checks),
                "checks_passed": sum(c.passed for c in part.checks),
                "checked": now,
                "how": how,
            }


def hints_unlocked(workspace_root: Path, notebook: str, grade_id: str) -> int:
    """How many hints of a part the learner has unlocked so far."""
    entry = load_progress(workspace_root)["notebooks"].get(notebook, {})
    hints = entry.get("hints", {}) if isinstance(entry, dict) else {}
    value = hints.get(grade_id, 0) if isinstance(hints, dict) else 0
    return value if isinstance(value, int) and value >= 0 else 0


def unlock_hint(workspace_root: Path, notebook: str, grade_id: str, available: int) -> int:
    """Unlock the next hint (at most ``available``); return how many are unlocked now."""
    with _updating(workspace_root) as data:
        hints = _notebook(data, notebook)["hints"]
        current = hints.get(grade_id, 0)
        current = current if isinstance(current, int) and current >= 0 else 0
        hints[grade_id] = min(current + 1, available)
        return int(hints[grade_id])


# --------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class NotebookProgress:
    """One notebook: its parts and how many pass locally."""

    slug: str
    number: int | None
    parts: tuple[PartInfo, ...]
    passing: frozenset[str]  # grade_ids whose visible tests all passed at the last check
    checked: frozenset[str]  # grade_ids checked at least once
    problem: str = ""  # why the notebook's checks could not be read, if they could not

    @property
    def max_points(self) -> float:
        """The notebook's total points."""
        return sum(part.points for part in self.parts)

    @property
    def points_passing(self) -> float:
        """Points of the parts whose visible tests pass."""
        return sum(part.points for part in self.parts if part.grade_id in self.passing)

    @property
    def percent(self) -> Fraction:
        """Points passing locally, as an exact percentage of the notebook's points."""
        passing = [exact(p.points) for p in self.parts if p.grade_id in self.passing]
        total = sum((exact(p.points) for p in self.parts), Fraction(0))
        return percent(sum(passing, Fraction(0)), total)


@dataclass(frozen=True)
class CourseProgress:
    """Every notebook's local progress and the certificate level within reach."""

    notebooks: tuple[NotebookProgress, ...]
    within_reach: Level | None
    next_level: Level | None
    next_needs: str  # what the next level still needs, in words

    @property
    def parts_total(self) -> int:
        """Graded parts in the whole course."""
        return sum(len(nb.parts) for nb in self.notebooks)

    @property
    def parts_passing(self) -> int:
        """Graded parts whose visible tests pass locally."""
        return sum(len(nb.passing) for nb in self.notebooks)

    def summary(self) -> str:
        """One line: parts passing and the level within reach."""
        reach = (
            f"within reach: {self.within_reach.name}"
            if self.within_reach
            else "no certificate level within reach yet"
        )
        return f"{self.parts_passing} of {self.parts_total} parts pass locally; {reach}"


def _levels(workspace: Workspace) -> tuple[Level, ...]:
    """The course's levels (the shipped default when course.toml's table is absent or bad).

    Any notebook number (``NN-``) is accepted: a workspace may hold only some of the
    course's notebooks, and a missing one simply scores 0; ``certify`` checks the policy
    against the course's full exercise list.
    """
    try:
        return parse_levels(workspace.levels or DEFAULT_LEVELS, exercises=_ANY_NUMBER)[1]
    except LevelPolicyError:
        return parse_levels(DEFAULT_LEVELS, exercises=_ANY_NUMBER)[1]


def course_progress(workspace: Workspace) -> CourseProgress:
    """Combine the workspace's notebooks, the local records and the level policy."""
    records = load_progress(workspace.root)["notebooks"]
    notebooks: list[NotebookProgress] = []
    for slug in workspace.slugs:
        entry = records.get(slug, {})
        parts_record = entry.get("parts", {}) if isinstance(entry, dict) else {}
        parts_record = parts_record if isinstance(parts_record, dict) else {}
        try:
            parts = tuple(load_checks(workspace.pristine_path(slug)).parts.values())
            problem = ""
        except GradingError as exc:
            parts, problem = (), exc.message
        known = {part.grade_id for part in parts}
        notebooks.append(
            NotebookProgress(
                slug=slug,
                number=notebook_number(slug),
                parts=parts,
                passing=frozenset(
                    gid
                    for gid, rec in parts_record.items()
                    if gid in known and isinstance(rec, dict) and rec.get("passed") is True
                ),
                checked=frozenset(gid for gid in parts_record if gid in known),
                problem=problem,
            )
        )
    levels = _levels(workspace)
    scores = {nb.number: nb.percent for nb in notebooks if nb.number is not None}
    reach = decide(levels, scores)
    rank = -1 if reach is None else reach.rank
    following = levels[rank + 1] if rank + 1 < len(levels) else None
    lacking = missing(levels, following, scores) if following else []
    return CourseProgress(
        notebooks=tuple(notebooks),
        within_reach=reach,
        next_level=following,
        next_needs=f"{following.name} needs " + ", ".join(lacking) if following and lacking else "",
    )
