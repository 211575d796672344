"""Authoring checks for source notebooks (what ``context-course release --check`` runs).

:func:`lint_source` reads a source notebook, runs its reference solution twice in the
grading sandbox, and returns plain-words warnings:

- a graded test cell without visible asserts, or without hidden checks;
- a probe that observes only a boolean (weak: a learner can make it true without the work);
- a hidden assert that is not ``value == expected``: it runs whole in the learner's
  process, so its expected values are in code the learner's code can read, and its
  outcome is a boolean anyone can guess;
- the same probe label twice in one cell;
- a probe whose reference value differs between two runs, the second with another hash
  seed (non-deterministic: an order that depends on a set of strings, randomness, time);
- the reference solution failing its own tests (any reference-run problem);
- points that do not sum to 100;
- a hidden check's label that reads like an input and its answer (``->``, ``=>``, ``==``,
  ``!=``, or two or more numbers): feedback names failed hidden checks by label, so a
  label says what behaviour is tested ("a tie keeps ours"), never "1 -> True";
- a declared trap whose dedicated hidden checks are worth less than 10 points, and a part
  where one constant answer would collect more than 20 % of its hidden points (see
  :mod:`grader.mastery`).

:func:`audit_source` returns the same warnings plus the trap report: which hidden checks
carry which trap, and how many points they are worth.

A source notebook that cannot be read at all raises
:class:`~grader.core.errors.GradingError`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from grader.authoring.mastery import guessable_warnings, trap_lines
from grader.child.values import values_match
from grader.core.errors import GradingError
from grader.core.plan import SourcePlan, load_source_plan
from grader.core.reference import Reference, build_reference
from grader.core.sandbox import get_sandbox

__all__ = ["SourceAudit", "audit_source", "label_gives_away", "lint_source"]

_ARROWS = ("->", "=>", "==", "!=", "→")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")


def label_gives_away(label: str) -> bool:
    """Whether a hidden check's label reads like an input and its answer (a cheap test:
    an arrow or comparison, or two or more numbers)."""
    return any(arrow in label for arrow in _ARROWS) or len(_NUMBER.findall(label)) >= 2


def _label_warnings(plan: SourcePlan, reference: Reference) -> list[str]:
    return [
        f"{plan.path.name}: part {grade_id}: the hidden check label {label!r} reads like an "
        "input and its answer; feedback shows failed hidden checks by label, so name the "
        "behaviour it tests instead"
        for grade_id, part in reference.parts.items()
        for label in part.probes
        if label_gives_away(label)
    ]


def _static_warnings(plan: SourcePlan) -> list[str]:
    name = plan.path.name
    warnings: list[str] = []
    for cell in plan.cells:
        if cell.role == "manual":
            warnings.append(
                f"{name}: graded answer cell {cell.grade_id or cell.id} needs manual grading; "
                "the autograder gives it no points"
            )
    for grade_id, test in plan.tests.items():
        visible = [c for c in test.asserts if c.kind == "visible"]
        hidden = [c for c in test.asserts if c.kind == "hidden"]
        if not visible:
            warnings.append(
                f"{name}: part {grade_id} has no visible assert (learners get no instant feedback)"
            )
        if not hidden and not test.static_probe_labels:
            warnings.append(f"{name}: part {grade_id} has no hidden checks (observe probes)")
        for label, count in Counter(test.static_probe_labels).items():
            if count > 1:
                warnings.append(
                    f"{name}: part {grade_id} uses the probe label {label!r} {count} times"
                )
        for check in hidden:
            if check.compare == "truth":
                warnings.append(
                    f"{name}: part {grade_id}: {check.label} is not `value == expected`: it "
                    "runs whole in the learner's process (its expected values are readable "
                    "there) and passes on a guessable True; write `assert value == expected` "
                    "or observe(label, value)"
                )
        for label in dict.fromkeys(test.boolean_probe_labels):
            warnings.append(
                f"{name}: part {grade_id}: probe {label!r} observes only a boolean; observe a "
                "value that depends on the learner's work"
            )
    total = plan.max_score
    if abs(total - 100) > 1e-9:
        warnings.append(f"{name}: the test cells' points sum to {total:g}, not 100")
    return warnings


def _reference_warnings(plan: SourcePlan, first: Reference, second: Reference) -> list[str]:
    name = plan.path.name
    tolerance = plan.settings.float_tolerance
    warnings: list[str] = []
    for grade_id, part in first.parts.items():
        other = second.parts.get(grade_id)
        if other is None:
            continue
        static = set(plan.tests[grade_id].boolean_probe_labels)
        for label, (status, value) in part.probes.items():
            if isinstance(value, bool) and status == "value" and label not in static:
                warnings.append(
                    f"{name}: part {grade_id}: probe {label!r} observes only a boolean; "
                    "observe a value that depends on the learner's work"
                )
            again = other.probes.get(label)
            if (
                again is None
                or again[0] != status
                or not values_match(value, again[1], tolerance=tolerance)
            ):
                warnings.append(
                    f"{name}: part {grade_id}: probe {label!r} observed different values in "
                    "two reference runs with different hash seeds (non-deterministic)"
                )
        for key, values in part.asserts.items():
            again_values = other.asserts.get(key)
            if (
                again_values is None
                or len(again_values) != len(values)
                or not all(
                    values_match(a, b, tolerance=tolerance)
                    for a, b in zip(values, again_values, strict=True)
                )
            ):
                warnings.append(
                    f"{name}: part {grade_id}: {key} expected different values in two "
                    "reference runs with different hash seeds (non-deterministic)"
                )
    for note in first.notes:
        warnings.append(f"{name}: {note}")
    return warnings


@dataclass(frozen=True)
class SourceAudit:
    """What the authoring checks found in one source notebook."""

    warnings: list[str] = field(default_factory=list)
    traps: list[str] = field(default_factory=list)  # which hidden checks carry which trap


def audit_source(path: Path, *, cell_timeout: float = 30.0) -> SourceAudit:
    """Warnings about a source notebook, and its trap report, in plain words."""
    plan = load_source_plan(Path(path))
    warnings = _static_warnings(plan)
    sandbox = get_sandbox(plan.settings.forbidden_imports)
    timeout = plan.settings.cell_timeout or cell_timeout
    try:
        first = build_reference(plan, sandbox=sandbox, cell_timeout=timeout)
        # the second run in a zygote with another PYTHONHASHSEED: one zygote's children
        # share string hashes, so set order can only differ between zygotes
        other = get_sandbox(plan.settings.forbidden_imports, other_hash_seed=True)
        second = build_reference(plan, sandbox=other, cell_timeout=timeout)
    except GradingError as exc:
        return SourceAudit(warnings=[*warnings, exc.message])
    report, trap_warnings = trap_lines(plan, first)
    warnings += _reference_warnings(plan, first, second)
    warnings += _label_warnings(plan, first)
    warnings += trap_warnings + guessable_warnings(plan, first)
    return SourceAudit(warnings=warnings, traps=report)


def lint_source(path: Path, *, cell_timeout: float = 30.0) -> list[str]:
    """Warnings about a source notebook, in plain words (empty when all is well)."""
    return audit_source(path, cell_timeout=cell_timeout).warnings
