"""``grade_notebook``: the grading core's one entry point.

::

    source notebook ──load_source_plan──► plan (cells, test-cell checks, settings)
                    ──load_reference────► reference values (cached per source hash)
    learner notebook ─restore_cells─────► cells to run (tests and locked cells from source)
                     ─execute (sandbox)─► observed values per cell
                     ─judge_part────────► PartResult per test cell ─► NotebookResult

Safe to call from several processes at once: each process owns its sandbox, and the
reference cache is written atomically under a file lock.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from grader.boundedjson import NOTEBOOK_MAX_DEPTH, load_bounded
from grader.checks import LEARNER
from grader.deadline import TimeLimitExceeded, time_limit
from grader.executor import PlannedCell, execute
from grader.grading_errors import GradingError
from grader.imports import forbidden_imports_in
from grader.nbsource import read_cells
from grader.pipeline_errors import IntakeError
from grader.plan import SourcePlan, load_source_plan
from grader.reference import Reference, load_reference
from grader.restore import restore_cells
from grader.results import NotebookResult, PartResult, PartStatus
from grader.sandbox import SandboxLimits, get_sandbox
from grader.verdict import judge_part, part_context, part_regions

__all__ = ["GradingError", "grade_notebook", "warm_up"]

log = logging.getLogger(__name__)

MAX_LEARNER_FILES_BYTES = 20 << 20
MAX_NOTEBOOK_BYTES = 50 << 20
MAX_CELLS = 10_000  # course notebooks have dozens; each cell is a round trip to the sandbox
#: Wall-clock limit on each step of the grader's own (unsandboxed) work on a notebook.
PARENT_SECONDS = 60.0


def _learner_files(source: Path, submitted: Path, events: list[str]) -> dict[str, bytes]:
    """The learner's files: the notebook and the regular files beside it (size-capped)."""
    files: dict[str, bytes] = {}
    total = 0
    folder = submitted.parent
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        entries = [submitted]
    source_resolved = source.resolve()
    for entry in entries:
        if entry.is_symlink() or not entry.is_file() or entry.name.startswith("."):
            continue
        if entry.resolve() == source_resolved:
            continue
        if entry.suffix == ".ipynb" and entry.name != submitted.name:
            continue
        try:
            size = entry.stat().st_size
            if total + size > MAX_LEARNER_FILES_BYTES:
                events.append(f"the file {entry.name} was not copied (over the size limit)")
                continue
            files[entry.name] = entry.read_bytes()
            total += size
        except OSError:
            continue
    return files


def _empty_result(
    plan: SourcePlan, submission_hash: str, started: float, event: str, status: PartStatus
) -> NotebookResult:
    parts = tuple(
        PartResult(grade_id=gid, points=0.0, max_points=test.points, status=status, message=event)
        for gid, test in plan.tests.items()
    )
    return NotebookResult(
        notebook=plan.notebook,
        score=0.0,
        max_score=plan.max_score,
        parts=parts,
        events=(event,),
        wall_seconds=time.perf_counter() - started,
        source_hash=plan.source_hash,
        submission_hash=submission_hash,
    )


def _grade_learner(
    plan: SourcePlan,
    reference: Reference,
    submitted: Path,
    data: dict[str, object],
    *,
    submission_hash: str,
    started: float,
    cell_timeout: float,
    notebook_timeout: float,
) -> NotebookResult:
    events: list[str] = []
    with time_limit(PARENT_SECONDS, "reading the notebook and restoring its cells"):
        restored = restore_cells(list(plan.cells), read_cells(data))
    events.extend(restored.notes)
    planned = [
        PlannedCell(
            code=plan.tests[cell.grade_id].code(LEARNER) if cell.role == "test" else cell.code,
            name=cell.name,
            observed=cell.role == "test",
        )
        for cell in restored.cells
    ]
    with time_limit(PARENT_SECONDS, "reading the learner's code for forbidden imports"):
        forbidden = {
            position: found
            for position, cell in enumerate(restored.cells)
            if cell.learner_code
            and (found := forbidden_imports_in(cell.code, plan.settings.forbidden_imports))
        }
    for position, names in forbidden.items():
        events.append(
            f"{restored.cells[position].name} imports {', '.join(names)}, which this exercise "
            "does not allow"
        )
    sandbox = get_sandbox(plan.settings.forbidden_imports)
    execution = execute(
        planned,
        sandbox=sandbox,
        files=_learner_files(plan.path, submitted, events),
        limits=SandboxLimits(),
        cell_timeout=cell_timeout,
        notebook_timeout=notebook_timeout,
    )
    events.extend(execution.events)
    for position, outcome in enumerate(execution.outcomes):
        cell = restored.cells[position]
        if cell.learner_code and outcome.loaded and position not in forbidden:
            forbidden[position] = outcome.loaded
            events.append(
                f"{cell.name} loaded {', '.join(outcome.loaded)}, which this exercise does "
                "not allow"
            )
    region = part_regions(restored.cells)
    secret = "\n".join(test.code(LEARNER) for test in plan.tests.values())
    parts: list[PartResult] = []
    for position, cell in enumerate(restored.cells):
        if cell.role != "test":
            continue
        context = part_context(cell.grade_id, restored.cells, execution.outcomes, region, forbidden)
        if context.status == "timeout":
            context = replace(context, message=f"part {cell.grade_id}: {context.message}")
        try:
            part = judge_part(
                plan.tests[cell.grade_id],
                reference.parts[cell.grade_id],
                execution.outcomes[position],
                tolerance=plan.settings.float_tolerance,
                context=context,
                secret=secret,
            )
        except Exception as exc:  # a grader bug costs this part, not the whole notebook
            log.exception("internal error while judging part %s of %s", cell.grade_id, submitted)
            part = PartResult(
                grade_id=cell.grade_id,
                points=0.0,
                max_points=plan.tests[cell.grade_id].points,
                status="error",
                message=f"internal grader error ({type(exc).__name__}); please report it",
            )
        parts.append(part)
    score = round(sum(part.points for part in parts), 6)
    return NotebookResult(
        notebook=plan.notebook,
        score=score,
        max_score=plan.max_score,
        parts=tuple(parts),
        events=tuple(events),
        learner_seconds=round(execution.cell_seconds, 6),
        wall_seconds=round(time.perf_counter() - started, 6),
        source_hash=plan.source_hash,
        submission_hash=submission_hash,
        extra={
            "sessions": execution.sessions,
            "output_bytes": execution.output_bytes,
            "instructor_only_output": execution.output.decode("utf-8", "replace")[:8192],
        },
    )


def warm_up(sources: Sequence[Path]) -> None:
    """Start this process's sandboxes for these source notebooks (e.g. in a pool initializer).

    Optional: ``grade_notebook`` starts them on first use; warming up moves that one-time
    cost (about a second per import policy) out of the first grade. Unreadable sources
    are skipped here (grading them raises the error).
    """
    for source in sources:
        try:
            plan = load_source_plan(Path(source))
        except GradingError:
            continue
        get_sandbox(plan.settings.forbidden_imports)


def grade_notebook(
    source: Path,
    submitted: Path,
    *,
    cache_dir: Path,
    cell_timeout: float = 30.0,
    notebook_timeout: float = 300.0,
) -> NotebookResult:
    """Grade one learner notebook against an instructor's source notebook.

    Never raises for anything the learner's notebook does: the result describes it
    (parts, checks, plain-words ``events``). Raises :class:`GradingError` for
    instructor-side problems (a malformed source notebook, a reference solution that
    fails its own tests) or when the sandbox cannot run at all. A source notebook's
    ``metadata.context_course.cell_timeout`` overrides ``cell_timeout``.

    ``extra["instructor_only_output"]`` holds the start of what the learner's code printed:
    for instructors' diagnosis only, never to be shown in learner feedback.
    """
    started = time.perf_counter()
    source, submitted = Path(source), Path(submitted)
    plan = load_source_plan(source)
    timeout = plan.settings.cell_timeout or cell_timeout
    reference = load_reference(
        plan,
        cache_dir=Path(cache_dir),
        sandbox=get_sandbox(plan.settings.forbidden_imports),
        cell_timeout=timeout,
        notebook_timeout=notebook_timeout,
    )
    try:
        raw = submitted.read_bytes()
    except OSError as exc:
        return _empty_result(
            plan, "", started, f"the submitted notebook could not be read: {exc}", "not-run"
        )
    submission_hash = hashlib.sha256(raw).hexdigest()
    if len(raw) > MAX_NOTEBOOK_BYTES:
        return _empty_result(
            plan, submission_hash, started, "the submitted notebook is too large", "not-run"
        )
    try:
        data = load_bounded(raw, max_bytes=MAX_NOTEBOOK_BYTES, max_depth=NOTEBOOK_MAX_DEPTH)
    except IntakeError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return _empty_result(
            plan, submission_hash, started, "the submitted notebook is not a notebook", "not-run"
        )
    if len(data["cells"]) > MAX_CELLS:
        return _empty_result(
            plan,
            submission_hash,
            started,
            f"the submitted notebook has {len(data['cells'])} cells, more than the "
            f"{MAX_CELLS} a notebook may have",
            "not-run",
        )
    try:
        return _grade_learner(
            plan,
            reference,
            submitted,
            data,
            submission_hash=submission_hash,
            started=started,
            cell_timeout=timeout,
            notebook_timeout=notebook_timeout,
        )
    except GradingError:
        raise
    except TimeLimitExceeded as exc:  # a learner found a slow path: their notebook only
        return _empty_result(
            plan,
            submission_hash,
            started,
            f"the grader's own work on this notebook ran out of time ({exc}); not graded",
            "not-run",
        )
    except Exception as exc:  # a grader bug must not stop a batch; say so plainly
        log.exception("internal error while grading %s", submitted)
        return _empty_result(
            plan,
            submission_hash,
            started,
            f"internal grader error ({type(exc).__name__}); please report it",
            "error",
        )
