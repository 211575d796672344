"""Do a notebook's hidden checks measure mastery? Traps and guessable answers.

Two authoring checks that ``context-course release --check`` runs on every source
notebook, from the plan and the reference values (no learner involved):

- **Traps.** ``metadata.context_course.traps`` of a source notebook lists the traps the
  notebook teaches, each with the part and the hidden check(s) dedicated to it::

      "traps": [{"id": "json-equality",
                 "teaches": "1, 1.0 and True are different JSON values",
                 "part": "part1-tests",
                 "checks": ["1 -> True, 0.5 -> 0.5, x -> y"]}]

  :func:`trap_lines` says which checks carry which trap and how many points they are
  worth (weights come from the test cell's ``metadata.context_course.weights``, exactly
  as the verdict uses them); a trap worth less than :data:`MIN_TRAP_POINTS`, or naming a
  part or check that does not exist, is a warning.
- **Guessable answers.** :func:`guessable_warnings` flags a part where one constant
  answer (always the same exception, always ``True``, always ``[]``, ``None``, ``0`` …)
  would collect more than :data:`MAX_GUESSABLE_SHARE` of the part's hidden points: a
  hidden check whose reference value *is* that constant (or a list of nothing but that
  constant, the shape of a probe that observes several calls at once) is collected by a
  stub that always answers it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.child.values import values_match
from grader.core.errors import GradingError
from grader.core.nbsource import load_notebook_json
from grader.core.plan import SourcePlan
from grader.core.reference import Reference, ReferencePart
from grader.core.verdict import check_points

__all__ = [
    "MAX_GUESSABLE_SHARE",
    "MIN_TRAP_POINTS",
    "Trap",
    "guessable_warnings",
    "read_traps",
    "trap_lines",
]

#: A trap must cost at least this many of the notebook's points.
MIN_TRAP_POINTS = 10.0
#: A constant answer may collect at most this share of a part's hidden points.
MAX_GUESSABLE_SHARE = 0.2
#: The constant answers a stub can give without doing the work.
CONSTANTS: tuple[tuple[str, Any], ...] = (
    ("True", True),
    ("False", False),
    ("None", None),
    ("0", 0),
    ("the empty list", []),
    ("the empty dict", {}),
    ("the empty string", ""),
)
_MAX_TRAPS = 50


@dataclass(frozen=True)
class Trap:
    """A trap a notebook teaches, and the hidden checks dedicated to it."""

    id: str
    teaches: str
    part: str
    checks: tuple[str, ...]


def _text(value: object, what: str, path: Path) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise GradingError(f"{path.name}: metadata.context_course.traps: {what} must be a text")
    return value


def read_traps(path: Path) -> tuple[Trap, ...]:
    """The traps a source notebook declares; :class:`GradingError` when malformed."""
    data = load_notebook_json(Path(path))
    metadata = data.get("metadata")
    course = metadata.get("context_course", {}) if isinstance(metadata, dict) else {}
    raw = course.get("traps", []) if isinstance(course, dict) else []
    if not isinstance(raw, list) or len(raw) > _MAX_TRAPS:
        raise GradingError(
            f"{path.name}: metadata.context_course.traps must be a list of at most "
            f"{_MAX_TRAPS} objects"
        )
    traps: list[Trap] = []
    for item in raw:
        if not isinstance(item, dict) or set(item) != {"id", "teaches", "part", "checks"}:
            raise GradingError(
                f"{path.name}: each trap needs exactly the fields id, teaches, part and checks"
            )
        checks = item["checks"]
        if not isinstance(checks, list) or not checks:
            raise GradingError(f"{path.name}: trap {item['id']!r} names no checks")
        traps.append(
            Trap(
                id=_text(item["id"], "id", path),
                teaches=_text(item["teaches"], "teaches", path),
                part=_text(item["part"], "part", path),
                checks=tuple(_text(label, "a check label", path) for label in checks),
            )
        )
    ids = [trap.id for trap in traps]
    if len(ids) != len(set(ids)):
        raise GradingError(f"{path.name}: two traps share an id")
    return tuple(traps)


def _check_id(label: str, part: ReferencePart) -> str | None:
    if f"probe:{label}" in part.order:
        return f"probe:{label}"
    return label if label in part.order else None


def trap_lines(plan: SourcePlan, reference: Reference) -> tuple[list[str], list[str]]:
    """``(report, warnings)``: which hidden checks carry which trap, and what is wrong."""
    name = plan.path.name
    report: list[str] = []
    warnings: list[str] = []
    for trap in read_traps(plan.path):
        test, part = plan.tests.get(trap.part), reference.parts.get(trap.part)
        if test is None or part is None:
            warnings.append(f"{name}: trap {trap.id!r} names the unknown part {trap.part!r}")
            continue
        points = check_points(test, part)
        carried = 0.0
        for label in trap.checks:
            check_id = _check_id(label, part)
            if check_id is None:
                warnings.append(
                    f"{name}: trap {trap.id!r} names {label!r}, which is no check of {trap.part}"
                )
                continue
            carried += points[check_id]
        shown = ", ".join(repr(label) for label in trap.checks)
        report.append(
            f"{name}: trap {trap.id!r} ({trap.teaches}) is carried by {trap.part}: {shown}, "
            f"{carried:.1f} of the part's {test.points:g} points"
        )
        if carried < MIN_TRAP_POINTS - 1e-9:
            warnings.append(
                f"{name}: trap {trap.id!r} costs only {carried:.1f} points; give its checks "
                f"weight (metadata.context_course.weights of {trap.part}) so that it costs at "
                f"least {MIN_TRAP_POINTS:g}"
            )
    return report, warnings


def _is_constant(value: Any, constant: Any, tolerance: float) -> bool:
    if values_match(constant, value, tolerance=tolerance):
        return True
    return (
        isinstance(value, list)
        and bool(value)
        and all(_is_constant(item, constant, tolerance) for item in value)
    )


def _hidden_outcomes(
    plan: SourcePlan, grade_id: str, part: ReferencePart
) -> Iterable[tuple[str, list[tuple[str, Any]]]]:
    """``(check id, [(status, value), …])`` for every hidden check of a part."""
    hidden_asserts = {c.key for c in plan.tests[grade_id].asserts if c.kind == "hidden"}
    for check_id in part.order:
        if check_id.startswith("probe:"):
            yield check_id, [part.probes[check_id[len("probe:") :]]]
        elif check_id in hidden_asserts:
            yield check_id, [("value", value) for value in part.asserts[check_id]]


def guessable_warnings(plan: SourcePlan, reference: Reference) -> list[str]:
    """Parts where one constant answer collects more than the allowed share of hidden points."""
    name = plan.path.name
    tolerance = plan.settings.float_tolerance
    warnings: list[str] = []
    for grade_id, part in reference.parts.items():
        test = plan.tests.get(grade_id)
        if test is None:
            continue
        points = check_points(test, part)
        outcomes = dict(_hidden_outcomes(plan, grade_id, part))
        hidden_total = sum(points[check_id] for check_id in outcomes)
        if hidden_total <= 0:
            continue
        raised = sorted(
            {
                str(value)
                for pairs in outcomes.values()
                for status, value in pairs
                if status == "raises"
            }
        )
        candidates: list[tuple[str, str, Any]] = [
            (f"always raising {error}", "raises", error) for error in raised
        ]
        candidates += [(f"always {shown}", "value", value) for shown, value in CONSTANTS]
        for shown, status, constant in candidates:
            collected = sum(
                points[check_id]
                for check_id, pairs in outcomes.items()
                if all(
                    got_status == status
                    and (
                        got == constant
                        if status == "raises"
                        else _is_constant(got, constant, tolerance)
                    )
                    for got_status, got in pairs
                )
            )
            share = collected / hidden_total
            if share > MAX_GUESSABLE_SHARE + 1e-9:
                warnings.append(
                    f"{name}: part {grade_id}: an answer {shown} would collect {share:.0%} of "
                    f"its hidden points (at most {MAX_GUESSABLE_SHARE:.0%}); add hidden checks "
                    "whose answers differ, or weigh them more"
                )
    return warnings
