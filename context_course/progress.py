"""Local progress: which parts pass their visible tests, across the whole course.

Every local check (the "Check my work" widget, ``context-course check``) records its
result in the workspace's ``.context-course/progress.json``, together with how many
hints the learner unlocked. :func:`course_progress` combines those records with the
parts of every notebook in the workspace and the course's level policy
(:mod:`certificates.policy`) into what the progress panel and ``context-course
progress`` show: parts passing, points, and the certificate level within reach if the
hidden tests agree.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from context_course.workspace import Workspace, load_json_file, notebook_number
from grader.core.errors import GradingError
from grader.core.localcheck import PartInfo, load_checks
from grader.core.results import PartResult
from grader.pipeline.atomic import write_atomic

if TYPE_CHECKING:
    from certificates.policy import Level, LevelPolicy

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
    def percent(self) -> float:
        """Points passing locally, as a percentage of the notebook's points."""
        return 100.0 * self.points_passing / self.max_points if self.max_points else 0.0


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


def _policy(workspace: Workspace) -> LevelPolicy | None:
    """The course's level policy; ``None`` where the certificates package is absent.

    Imported lazily: notebooks import this module (through the check panel) in places,
    such as the grader's sandbox, that only see the ``grader`` package.
    """
    try:
        from certificates.errors import PolicyError
        from certificates.policy import LevelPolicy
    except ImportError:
        return None
    if workspace.levels is None:
        return LevelPolicy.default()
    try:
        return LevelPolicy.from_mapping(workspace.levels)
    except PolicyError:
        return LevelPolicy.default()


def _needs(policy: LevelPolicy, level: Level, scores: dict[int, float]) -> str:
    missing: list[str] = []
    for item in policy.levels[: level.rank + 1]:
        for number in item.own_exercises:
            if scores.get(number, 0.0) < item.min_percent:
                missing.append(f"{number:02d} at {item.min_percent:g}%")
        if item.average_percent is not None:
            average = sum(scores.get(n, 0.0) for n in item.covered) / len(item.covered)
            if average < item.average_percent:
                missing.append(f"an average of {item.average_percent:g}%")
    return f"{level.name} needs " + ", ".join(missing) if missing else ""


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
    policy = _policy(workspace)
    if policy is None:
        return CourseProgress(tuple(notebooks), None, None, "")
    scores = {nb.number: nb.percent for nb in notebooks if nb.number is not None}
    reach = policy.decide(scores)
    rank = -1 if reach is None else reach.rank
    following = policy.levels[rank + 1] if rank + 1 < len(policy.levels) else None
    return CourseProgress(
        notebooks=tuple(notebooks),
        within_reach=reach,
        next_level=following,
        next_needs=_needs(policy, following, scores) if following else "",
    )
