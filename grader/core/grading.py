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
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Literal

from grader.child.values import values_match
from grader.core.boundedjson import NOTEBOOK_MAX_DEPTH, load_bounded
from grader.core.checks import LEARNER, Mode, TestCellPlan
from grader.core.deadline import TimeLimitExceeded, time_limit
from grader.core.errors import GradingError, IntakeError
from grader.core.executor import CellOutcome, Execution, Observation, PlannedCell, execute
from grader.core.imports import forbidden_imports_in
from grader.core.nbsource import read_cells
from grader.core.plan import SourcePlan, load_source_plan
from grader.core.reference import Reference, load_reference
from grader.core.restore import RunCell, restore_cells
from grader.core.results import NotebookResult, PartResult, PartStatus
from grader.core.sandbox import SandboxLimits, get_sandbox
from grader.core.testcode import compile_test_code
from grader.core.verdict import PartContext, judge_part, part_context, part_regions

__all__ = [
    "SECOND_RUN",
    "GradingError",
    "PartJudge",
    "grade_notebook",
    "learner_files",
    "official_judge",
    "run_and_judge",
    "warm_up",
]

log = logging.getLogger(__name__)

MAX_LEARNER_FILES_BYTES = 20 << 20
MAX_NOTEBOOK_BYTES = 50 << 20
MAX_CELLS = 10_000  # course notebooks have dozens; each cell is a round trip to the sandbox
#: Wall-clock limit on each step of the grader's own (unsandboxed) work on a notebook.
PARENT_SECONDS = 60.0


def learner_files(
    submitted: Path, events: list[str], *, exclude: Path | None = None
) -> dict[str, bytes]:
    """The learner's files: the notebook and the regular files beside it (size-capped).

    ``exclude`` (the source notebook, when it sits in the same folder) is never copied;
    files left out for size are said in ``events``.
    """
    files: dict[str, bytes] = {}
    total = 0
    folder = submitted.parent
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        entries = [submitted]
    excluded = exclude.resolve() if exclude is not None else None
    for entry in entries:
        if entry.is_symlink() or not entry.is_file() or entry.name.startswith("."):
            continue
        if excluded is not None and entry.resolve() == excluded:
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


def _watching_hooks(outcomes: Sequence[CellOutcome]) -> list[str]:
    """The learner's hooks (trace, profile, audit) the child found around test cells."""
    found: list[str] = []
    for outcome in outcomes:
        found += [name for name in outcome.watched if name not in found]
    return found


def _empty_result(
    plan: SourcePlan,
    submission_hash: str,
    started: float,
    event: str,
    status: PartStatus,
    events: Sequence[str] = (),
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
        events=(*events, event),
        wall_seconds=time.perf_counter() - started,
        source_hash=plan.source_hash,
        submission_hash=submission_hash,
    )


#: How one test cell's outcome becomes a part's verdict: ``(test, outcome, context)``.
PartJudge = Callable[[TestCellPlan, CellOutcome, PartContext], PartResult]

#: What a part whose observations differ between the two runs becomes (see
#: :func:`run_and_judge`): failed (official grading) or a warning (a local check).
SecondRun = Literal["fail", "warn"]
#: Official grading's default: a second run, and a part that differs fails.
SECOND_RUN: SecondRun = "fail"


def _comparable(outcome: CellOutcome) -> list[Observation] | None:
    """What a test cell observed, to compare across runs; ``None`` when the cell did not
    finish cleanly (a timeout or crash is judged as such, not as a difference)."""
    if outcome.status not in ("ok", "error") or outcome.malformed:
        return None
    return list(outcome.observations)


def _same(one: Observation, two: Observation, tolerance: float) -> bool:
    if (one.check, one.kind, one.status) != (two.check, two.kind, two.status):
        return False
    if one.status == "value":
        return values_match(one.value, two.value, tolerance=tolerance)
    return bool(one.value == two.value)  # an exception's class name (its message may vary)


def unstable_parts(
    cells: Sequence[RunCell], first: Execution, second: Execution, *, tolerance: float = 0.0
) -> list[str]:
    """The parts whose test cell observed different things in two runs of one notebook."""
    found: list[str] = []
    for position, cell in enumerate(cells):
        if cell.role != "test":
            continue
        one = _comparable(first.outcomes[position])
        two = _comparable(second.outcomes[position])
        if one is None or two is None:
            continue
        if len(one) != len(two) or not all(
            _same(a, b, tolerance) for a, b in zip(one, two, strict=True)
        ):
            found.append(cell.grade_id)
    return found


def _unstable(test: TestCellPlan, part: PartResult) -> PartResult:
    return replace(
        part,
        points=0.0,
        status="non-deterministic",
        message=(
            f"part {test.grade_id}: your code gave different results when the notebook ran "
            "a second time (with another hash seed), so this part scored nothing"
        ),
    )


def official_judge(plan: SourcePlan, reference: Reference) -> PartJudge:
    """Judge each part against the reference solution's values (official grading)."""

    # a learner's value that repeats the notebook's test code is never shown back
    secret = "\n".join(test.code(LEARNER) for test in plan.tests.values())
    # an exception message that repeats hidden test code is not shown back either
    hidden_code = "\n".join(test.hidden_source for test in plan.tests.values())

    def judge(test: TestCellPlan, outcome: CellOutcome, context: PartContext) -> PartResult:
        return judge_part(
            test,
            reference.parts[test.grade_id],
            outcome,
            tolerance=plan.settings.float_tolerance,
            context=context,
            secret=secret,
            hidden_code=hidden_code,
        )

    return judge


def run_and_judge(
    plan: SourcePlan,
    data: dict[str, object],
    files: dict[str, bytes],
    *,
    mode: Mode,
    judge: PartJudge,
    started: float,
    cell_timeout: float,
    notebook_timeout: float,
    events: Sequence[str] = (),
    submission_hash: str = "",
    seed: int | None = None,
    second_run: SecondRun | None = None,
) -> NotebookResult:
    """Grade one notebook: the one path that official grading and ``check`` share.

    Restores the locked and test cells from ``plan``, runs the cells in this process's
    sandbox (test cells in ``mode``: ``LEARNER`` for grading, ``REFERENCE`` for a local
    check, which observes the test's expected side too), and judges each test cell's
    outcome with ``judge``. Only what is judged differs between the two callers; which
    cells run, what is observed, timeouts, forbidden imports and part statuses do not.
    Test cells go to the child as code objects, with ``seed`` for their inputs; a run in
    which the learner's code set a hook that could watch them is rejected (every part 0).

    With ``second_run``, the notebook runs a second time in a sandbox whose zygote has
    another ``PYTHONHASHSEED`` (children of one zygote share its string hashes, so a
    second run there would iterate every set the same way). A part whose test cell
    observed anything different (values, errors, or how many observations) scores
    nothing with status ``non-deterministic`` (``"fail"``), or keeps its verdict and the
    notebook's events name it (``"warn"``). The verdict itself comes from the first run.
    The second run is skipped when a cell of the first timed out or crashed (it would
    cost that time limit twice); the events say so.
    """
    log_events = list(events)
    with time_limit(PARENT_SECONDS, "reading the notebook and restoring its cells"):
        restored = restore_cells(list(plan.cells), read_cells(data))
    log_events.extend(restored.notes)
    planned = [
        PlannedCell(
            code=plan.tests[cell.grade_id].code(mode) if cell.role == "test" else cell.code,
            name=cell.name,
            observed=cell.role == "test",
            compiled=(
                compile_test_code(plan.tests[cell.grade_id].code(mode))
                if cell.role == "test"
                else ""
            ),
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
        log_events.append(
            f"{restored.cells[position].name} imports {', '.join(names)}, which this exercise "
            "does not allow"
        )
    execution = execute(
        planned,
        sandbox=get_sandbox(plan.settings.forbidden_imports),
        files=files,
        limits=SandboxLimits(),
        cell_timeout=cell_timeout,
        notebook_timeout=notebook_timeout,
        seed=seed,
    )
    log_events.extend(execution.events)
    watched = _watching_hooks(execution.outcomes)
    if watched:
        return _empty_result(
            plan,
            submission_hash,
            started,
            f"your code set {', '.join(watched)} while the tests ran; a hook that watches "
            "the grader's tests is not allowed, so this notebook scores 0",
            "error",
            events=log_events,
        )
    unstable: list[str] = []
    runaway = any(o.status in ("timeout", "crashed") for o in execution.outcomes)
    if second_run is not None and runaway:
        # a runaway cell would cost its time limit twice; its part already scores nothing
        log_events.append(
            "the second run (another hash seed) was skipped: a cell timed out or crashed"
        )
    elif second_run is not None:
        again = execute(
            planned,
            sandbox=get_sandbox(plan.settings.forbidden_imports, other_hash_seed=True),
            files=files,
            limits=SandboxLimits(),
            cell_timeout=cell_timeout,
            notebook_timeout=notebook_timeout,
            seed=seed,
        )
        unstable = unstable_parts(
            restored.cells, execution, again, tolerance=plan.settings.float_tolerance
        )
        for grade_id in unstable:
            log_events.append(
                f"warning: part {grade_id} gave different results in two runs with different "
                "hash seeds (grading scores such a part nothing): look for an order that "
                "depends on a set (sort it), randomness or time"
            )
    for position, outcome in enumerate(execution.outcomes):
        cell = restored.cells[position]
        if cell.learner_code and outcome.loaded and position not in forbidden:
            forbidden[position] = outcome.loaded
            log_events.append(
                f"{cell.name} loaded {', '.join(outcome.loaded)}, which this exercise does "
                "not allow"
            )
    region = part_regions(restored.cells)
    parts: list[PartResult] = []
    for position, cell in enumerate(restored.cells):
        if cell.role != "test":
            continue
        context = part_context(cell.grade_id, restored.cells, execution.outcomes, region, forbidden)
        if context.status == "timeout":
            context = replace(context, message=f"part {cell.grade_id}: {context.message}")
        try:
            part = judge(plan.tests[cell.grade_id], execution.outcomes[position], context)
        except Exception as exc:  # a grader bug costs this part, not the whole notebook
            log.exception(
                "internal error while judging part %s of %s", cell.grade_id, plan.notebook
            )
            part = PartResult(
                grade_id=cell.grade_id,
                points=0.0,
                max_points=plan.tests[cell.grade_id].points,
                status="error",
                message=f"internal grader error ({type(exc).__name__}); please report it",
            )
        if cell.grade_id in unstable and second_run == "fail" and part.status == "ok":
            part = _unstable(plan.tests[cell.grade_id], part)
        parts.append(part)
    return NotebookResult(
        notebook=plan.notebook,
        score=round(sum(part.points for part in parts), 6),
        max_score=plan.max_score,
        parts=tuple(parts),
        events=tuple(log_events),
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
    seed: int | None = None,
    second_run: bool = True,
) -> NotebookResult:
    """Grade one learner notebook against an instructor's source notebook.

    With ``second_run`` (the default; course.toml ``[grader] second_run``), the notebook
    runs twice with different hash seeds and a part whose observations differ scores
    nothing (see :func:`run_and_judge`).

    Never raises for anything the learner's notebook does: the result describes it
    (parts, checks, plain-words ``events``). Raises :class:`GradingError` for
    instructor-side problems (a malformed source notebook, a reference solution that
    fails its own tests) or when the sandbox cannot run at all. A source notebook's
    ``metadata.context_course.cell_timeout`` overrides ``cell_timeout``.

    ``extra["instructor_only_output"]`` holds the start of what the learner's code printed:
    for instructors' diagnosis only, never to be shown in learner feedback.

    ``seed`` is this grading's seed for hidden tests' inputs (:func:`grader.grading_random`):
    the reference runs, and is cached, for the same seed. ``None`` is the fixed default.
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
        seed=seed,
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
        events: list[str] = []
        files = learner_files(submitted, events, exclude=plan.path)
        return run_and_judge(
            plan,
            data,
            files,
            mode=LEARNER,
            judge=official_judge(plan, reference),
            started=started,
            cell_timeout=timeout,
            notebook_timeout=notebook_timeout,
            events=events,
            submission_hash=submission_hash,
            seed=seed,
            second_run=SECOND_RUN if second_run else None,
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
