"""Reference values: what the instructor's solution observes, computed once and cached.

The source notebook (solutions and hidden tests) runs through the same sandbox as the
learners' notebooks, with the test cells rewritten in reference mode: every probe reports
its value, and each ``assert a == b`` also reports ``b``, the expected value of the
learner's ``a``. The result is cached in ``cache_dir`` per source hash and grader
version (an atomic write under a file lock, so parallel graders compute it once). The
cache folder is never part of the sandbox's view.

A reference run that is not clean is the instructor's problem and raises
:class:`~grader.core.errors.GradingError`: a test cell that fails, times out or
crashes, a probe that raises while probing, a solution failing its own visible assert,
duplicated probe labels in a cell, or a value with no JSON form.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.child.values import describe, values_match
from grader.core.checks import REFERENCE
from grader.core.errors import GradingError
from grader.core.executor import Execution, Observation, PlannedCell, execute
from grader.core.plan import SourcePlan
from grader.core.sandbox import Sandbox, SandboxLimits
from grader.core.testcode import compile_test_code

__all__ = [
    "GRADER_VERSION",
    "Reference",
    "ReferencePart",
    "build_reference",
    "load_reference",
    "reference_run",
]

GRADER_VERSION = "1"


@dataclass(frozen=True)
class ReferencePart:
    """The reference's observations for one test cell."""

    grade_id: str
    asserts: dict[str, list[Any]]  # "assert N" -> expected values, one per execution
    probes: dict[str, tuple[str, Any]]  # label -> ("value" | "raises", value)
    order: tuple[str, ...]  # check ids in first-observed order: "assert N" or "probe:LABEL"

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly form."""
        return {
            "grade_id": self.grade_id,
            "asserts": self.asserts,
            "probes": {label: list(pair) for label, pair in self.probes.items()},
            "order": list(self.order),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReferencePart:
        """Inverse of :meth:`to_json`."""
        return cls(
            grade_id=str(data["grade_id"]),
            asserts={str(k): list(v) for k, v in data["asserts"].items()},
            probes={str(k): (str(v[0]), v[1]) for k, v in data["probes"].items()},
            order=tuple(str(item) for item in data["order"]),
        )


@dataclass(frozen=True)
class Reference:
    """Reference values for every part of a source notebook."""

    source_hash: str
    grader_version: str
    parts: dict[str, ReferencePart]
    notes: tuple[str, ...] = field(default_factory=tuple)
    seed: int | None = None  # the grading seed the probes' inputs were drawn from

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly form (what the cache file holds)."""
        return {
            "source_hash": self.source_hash,
            "grader_version": self.grader_version,
            "parts": {gid: part.to_json() for gid, part in self.parts.items()},
            "notes": list(self.notes),
            "seed": self.seed,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reference:
        """Inverse of :meth:`to_json`; ``KeyError``/``TypeError`` on a damaged file."""
        return cls(
            source_hash=str(data["source_hash"]),
            grader_version=str(data["grader_version"]),
            parts={str(k): ReferencePart.from_json(v) for k, v in data["parts"].items()},
            notes=tuple(str(n) for n in data.get("notes", [])),
            seed=data["seed"] if isinstance(data.get("seed"), int) else None,
        )


def _cell_name(plan: SourcePlan, index: int) -> str:
    cell = plan.cells[index]
    if cell.role == "test":
        return f"the test cell of part {cell.grade_id}"
    return f"source cell {cell.grade_id or cell.id or index + 1}"


def reference_run(
    plan: SourcePlan,
    *,
    sandbox: Sandbox,
    cell_timeout: float,
    notebook_timeout: float,
    seed: int | None = None,
) -> tuple[list[int], Execution]:
    """Run the source notebook (solutions, hidden tests) in reference mode, for ``seed``."""
    indices = [
        cell.index for cell in plan.cells if cell.cell_type == "code" and not cell.is_check_panel
    ]
    planned = []
    for index in indices:
        cell = plan.cells[index]
        code = plan.tests[cell.grade_id].code(REFERENCE) if cell.role == "test" else cell.source
        test = cell.role == "test"
        planned.append(
            PlannedCell(
                code=code,
                name=_cell_name(plan, index),
                observed=test,
                compiled=compile_test_code(code) if test else "",
            )
        )
    execution = execute(
        planned,
        sandbox=sandbox,
        files={},
        limits=SandboxLimits(),
        cell_timeout=cell_timeout,
        notebook_timeout=notebook_timeout,
        seed=seed,
    )
    return indices, execution


def _fail(plan: SourcePlan, part: str, message: str) -> GradingError:
    return GradingError(
        f"{plan.path.name}: the reference solution {message}", notebook=plan.notebook, part=part
    )


def _has_unrepresentable(value: Any) -> bool:
    if isinstance(value, dict):
        return "$unrepresentable" in value or any(_has_unrepresentable(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unrepresentable(v) for v in value)
    return False


def _part_from(
    plan: SourcePlan, grade_id: str, observations: list[Observation], notes: list[str]
) -> ReferencePart:
    test = plan.tests[grade_id]
    where = f"in part {grade_id}"
    observed: dict[str, list[Any]] = {}
    expected: dict[str, list[Any]] = {}
    probes: dict[str, tuple[str, Any]] = {}
    order: list[str] = []
    for obs in observations:
        if obs.status in ("error", "malformed"):
            what = "a statement" if obs.kind == "statement" else repr(obs.check)
            raise _fail(plan, grade_id, f"raised {obs.value or 'an error'} at {what} {where}")
        if obs.status == "value" and _has_unrepresentable(obs.value):
            raise _fail(
                plan,
                grade_id,
                f"observes a value with no JSON form at {obs.check!r} {where} "
                f"({describe(obs.value)}); observe plain data (e.g. ctx.to_dict()) instead",
            )
        if obs.kind == "probe":
            if obs.check in probes:
                raise _fail(plan, grade_id, f"observes the label {obs.check!r} twice {where}")
            probes[obs.check] = (obs.status, obs.value)
            order.append(f"probe:{obs.check}")
        elif obs.kind in ("assert", "truth"):
            if obs.check not in observed:
                order.append(obs.check)
            observed.setdefault(obs.check, []).append(obs.value)
            if obs.kind == "truth":
                expected.setdefault(obs.check, []).append(True)
        elif obs.kind == "expect":
            expected.setdefault(obs.check, []).append(obs.value)
    asserts: dict[str, list[Any]] = {}
    for check in test.asserts:
        got = observed.get(check.key, [])
        want = expected.get(check.key, [])
        if not got:
            notes.append(f"part {grade_id}: {check.key} never ran in the reference; not scored")
            continue
        if len(got) != len(want) or not all(
            values_match(w, g, tolerance=plan.settings.float_tolerance)
            for w, g in zip(want, got, strict=True)
        ):
            raise _fail(plan, grade_id, f"fails its own {check.key} ({check.label}) {where}")
        asserts[check.key] = want
    known = {c.key for c in test.asserts} | {c.label for c in test.asserts} | set(probes)
    unknown = sorted(set(test.weights) - known)
    if unknown:
        raise _fail(plan, grade_id, f"has no check named {unknown[0]!r} to weight {where}")
    if not asserts and not probes:
        raise _fail(plan, grade_id, f"observes nothing {where}: a test cell needs checks")
    return ReferencePart(
        grade_id=grade_id,
        asserts=asserts,
        probes=probes,
        order=tuple(o for o in order if o.startswith("probe:") or o in asserts),
    )


def build_reference(
    plan: SourcePlan,
    *,
    sandbox: Sandbox,
    cell_timeout: float = 30.0,
    notebook_timeout: float = 300.0,
    seed: int | None = None,
) -> Reference:
    """Run the source notebook and turn its observations into a :class:`Reference`."""
    indices, execution = reference_run(
        plan,
        sandbox=sandbox,
        cell_timeout=cell_timeout,
        notebook_timeout=notebook_timeout,
        seed=seed,
    )
    notes: list[str] = []
    parts: dict[str, ReferencePart] = {}
    for position, index in enumerate(indices):
        cell = plan.cells[index]
        outcome = execution.outcomes[position]
        if cell.role != "test":
            if outcome.status != "ok":
                notes.append(
                    f"source cell {cell.grade_id or cell.id or index + 1}: "
                    f"{outcome.detail or outcome.error or outcome.status}"
                )
            continue
        if outcome.status != "ok" or outcome.malformed:
            what = outcome.detail or (f"raised {outcome.error}" if outcome.error else "failed")
            raise _fail(plan, cell.grade_id, f"test cell of part {cell.grade_id}: {what}")
        parts[cell.grade_id] = _part_from(plan, cell.grade_id, outcome.observations, notes)
    return Reference(
        source_hash=plan.source_hash,
        grader_version=GRADER_VERSION,
        parts=parts,
        notes=tuple(notes),
        seed=seed,
    )


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _read_cached(path: Path, plan: SourcePlan, seed: int | None) -> Reference | None:
    try:
        reference = Reference.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None
    if reference.source_hash != plan.source_hash or reference.grader_version != GRADER_VERSION:
        return None
    if reference.seed != seed:
        return None
    if set(reference.parts) != set(plan.tests):
        return None
    return reference


def _write_atomic(path: Path, text: str) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_reference(
    plan: SourcePlan,
    *,
    cache_dir: Path,
    sandbox: Sandbox,
    cell_timeout: float = 30.0,
    notebook_timeout: float = 300.0,
    seed: int | None = None,
) -> Reference:
    """The cached reference for ``plan`` and ``seed``, computing it (once, under a lock) if
    needed. Each seed has its own cache file: the probes' inputs, and so the expected
    values, depend on it."""
    cache_dir = Path(cache_dir)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise GradingError(f"cannot create the reference cache folder {cache_dir}: {exc}") from None
    seeded = "" if seed is None else f"-s{seed}"
    path = cache_dir / f"{plan.notebook}-{plan.source_hash[:24]}-g{GRADER_VERSION}{seeded}.json"
    cached = _read_cached(path, plan, seed)
    if cached is not None:
        return cached
    with _locked(cache_dir / f".{path.name}.lock"):
        cached = _read_cached(path, plan, seed)
        if cached is not None:
            return cached
        reference = build_reference(
            plan,
            sandbox=sandbox,
            cell_timeout=cell_timeout,
            notebook_timeout=notebook_timeout,
            seed=seed,
        )
        _write_atomic(path, json.dumps(reference.to_json(), ensure_ascii=False, sort_keys=True))
        if seed is not None:
            _prune_seeded(cache_dir, plan.notebook)
        return reference


KEEP_SEEDED = 16  # per notebook: each grading draws a seed, so old ones would pile up


def _prune_seeded(cache_dir: Path, notebook: str) -> None:
    """Keep the newest :data:`KEEP_SEEDED` seeded references of ``notebook``."""
    seeded = sorted(
        cache_dir.glob(f"{notebook}-*-g{GRADER_VERSION}-s*.json"),
        key=lambda path: path.stat().st_mtime if path.exists() else 0.0,
        reverse=True,
    )
    for old in seeded[KEEP_SEEDED:]:
        with contextlib.suppress(OSError):
            old.unlink()
        with contextlib.suppress(OSError):
            (cache_dir / f".{old.name}.lock").unlink()
