"""Visible checks on the learner's machine, judged exactly as the grader judges them.

The learner has the learner notebooks only: no solution, no hidden test, no reference
value. Their visible tests (``assert a == b, msg``) carry the expected side ``b`` in plain
sight, so a local check runs each test cell in *reference mode* (see :mod:`grader.core.checks`):
the learner's ``a`` and the test's ``b`` are both observed, in the learner's own process,
and then judged by the grader's own :func:`grader.core.verdict.judge_part` with the same values,
tolerance and message rendering. Only the origin of ``b`` differs from grading (computed
here rather than by the instructor's solution), so a visible test that passes here passes
at grading; hidden tests run at grading only.

Two ways to run:

- :func:`run_part_live` runs one part's test cell in the learner's live kernel (the
  "Check my work" widget), on a copy of the notebook's namespace;
- :func:`check_saved_notebook` runs the saved notebook through the grader's own sandbox,
  restore step and timeouts (``context-course check``).
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader.child.values import MalformedValue, encode_value, parse_observed
from grader.core.checks import REFERENCE, TestCellPlan
from grader.core.errors import GradingError
from grader.core.executor import MAX_ERROR_MESSAGE, CellOutcome, Observation
from grader.core.grading import PartJudge, learner_files, run_and_judge
from grader.core.nbsource import load_notebook_json, part_texts
from grader.core.plan import SourcePlan, load_source_plan
from grader.core.reference import ReferencePart
from grader.core.results import CheckResult, NotebookResult, PartResult
from grader.core.verdict import PartContext, judge_part

__all__ = [
    "HIDDEN_NOTE",
    "LocalChecks",
    "PartInfo",
    "check_saved_notebook",
    "judge_visible",
    "load_checks",
    "run_part_live",
    "visible_judge",
]

#: What every local result says about the tests it cannot run.
HIDDEN_NOTE = "Visible tests only: hidden tests run at grading."


@dataclass(frozen=True)
class PartInfo:
    """A graded part as the learner sees it: its name, worth and hints."""

    grade_id: str
    title: str
    points: float
    hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocalChecks:
    """A learner notebook's visible checks (from the release copy of the notebook)."""

    plan: SourcePlan
    parts: Mapping[str, PartInfo]  # by grade_id, in notebook order

    @property
    def notebook(self) -> str:
        """The notebook's slug."""
        return self.plan.notebook

    def parts_between(self, start: str | None, end: str | None) -> list[str]:
        """The graded parts whose test cells lie after cell ``start`` and before ``end``.

        Cells are named by id; ``None`` means the notebook's start (or end).
        """
        ids = [cell.id for cell in self.plan.cells]
        lo = ids.index(start) if start in ids else -1
        hi = ids.index(end) if end in ids else len(ids)
        return [
            cell.grade_id
            for cell in self.plan.cells[lo + 1 : hi]
            if cell.role == "test" and cell.grade_id in self.parts
        ]


def load_checks(path: Path) -> LocalChecks:
    """Read a learner notebook's visible checks; :class:`GradingError` if it is malformed."""
    plan = load_source_plan(Path(path))
    cells = list(plan.cells)
    texts = part_texts(cells)
    parts = {
        cell.grade_id: PartInfo(
            grade_id=cell.grade_id,
            title=texts[cell.grade_id].title,
            points=plan.tests[cell.grade_id].points,
            hints=texts[cell.grade_id].hints,
        )
        for cell in cells
        if cell.role == "test" and cell.grade_id in plan.tests and cell.grade_id in texts
    }
    return LocalChecks(plan=plan, parts=parts)


# --------------------------------------------------------------------------- judging


def _exception_name(exc: BaseException) -> str:
    name = type(exc).__name__
    return name if name.isidentifier() else "Exception"


def _exception_message(exc: BaseException) -> str:
    try:
        text = BaseException.__str__(exc)
    except Exception:
        return ""
    return text[:MAX_ERROR_MESSAGE] if isinstance(text, str) else ""


def _reference_for(
    test: TestCellPlan, observations: Iterable[Observation]
) -> tuple[ReferencePart, dict[str, str]]:
    """The expected values as this run observed them, and checks whose ``b`` failed."""
    expected: dict[str, list[Any]] = {}
    broken: dict[str, str] = {}
    for obs in observations:
        if obs.kind == "truth":
            expected.setdefault(obs.check, []).append(True)
        elif obs.kind == "expect":
            if obs.status == "value":
                expected.setdefault(obs.check, []).append(obs.value)
            else:
                broken.setdefault(obs.check, str(obs.value or "an error"))
                expected.setdefault(obs.check, []).append(None)
    asserts: dict[str, list[Any]] = {}
    for check in test.asserts:
        if check.kind != "visible":
            continue
        # an assert this run never reached still counts: it fails as "not checked"
        asserts[check.key] = expected.get(check.key) or [None]
    return (
        ReferencePart(grade_id=test.grade_id, asserts=asserts, probes={}, order=tuple(asserts)),
        broken,
    )


def judge_visible(
    test: TestCellPlan,
    observations: Sequence[Observation],
    *,
    tolerance: float,
    context: PartContext | None = None,
    malformed: bool = False,
) -> PartResult:
    """Judge one part's visible checks with the grader's verdict, from one local run.

    ``observations`` are those of the test cell run in reference mode: the learner's
    values (``assert``/``truth``) and the test's own expected values (``expect``).
    """
    reference, broken = _reference_for(test, observations)
    outcome = CellOutcome(
        status="ok",
        observations=[o for o in observations if o.kind in ("assert", "truth", "statement")],
        malformed=malformed,
    )
    result = judge_part(test, reference, outcome, tolerance=tolerance, context=context)
    if not broken:
        return result
    by_label = {check.label: check.key for check in test.asserts}
    checks: list[CheckResult] = []
    for check in result.checks:
        key = by_label.get(check.label, "")
        if key in broken and not check.passed:
            check = replace(
                check,
                message=f"the expected value could not be computed (the test raised "
                f"{broken[key]}); {check.message}",
            )
        checks.append(check)
    return replace(result, checks=tuple(checks))


# --------------------------------------------------------------------------- live kernel


class _Recorder:
    """The probe functions a reference-mode test cell calls, recording observations."""

    def __init__(self) -> None:
        self.observations: list[Observation] = []

    def _record(self, check: str, kind: str, status: str, value: Any, message: str = "") -> None:
        if status == "value":
            try:
                value = parse_observed(encode_value(value))
            except MalformedValue:
                status, value = "error", "ValueError"
        self.observations.append(
            Observation(check, kind, status, value, message)  # type: ignore[arg-type]
        )

    def _evaluate(self, check: str, kind: str, thunk: Callable[[], Any], truth: bool) -> None:
        try:
            value = thunk()
            if truth:
                value = bool(value)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit from learner code must not end the kernel
            self._record(check, kind, "error", _exception_name(exc), _exception_message(exc))
            return
        self._record(check, kind, "value", value)

    def namespace(self) -> dict[str, Callable[..., None]]:
        def probe(label: Any, thunk: Callable[[], Any]) -> None:
            with contextlib.suppress(Exception):
                thunk()

        def statement_error(exc: BaseException, line: Any = None) -> None:
            if isinstance(exc, KeyboardInterrupt):
                raise exc
            where = f"line {line}" if type(line) is int else "statement"
            self._record(where, "statement", "error", _exception_name(exc), _exception_message(exc))

        return {
            "__cc_assert__": lambda c, t: self._evaluate(c, "assert", t, truth=False),
            "__cc_truth__": lambda c, t: self._evaluate(c, "truth", t, truth=True),
            "__cc_expect__": lambda c, t: self._evaluate(c, "expect", t, truth=False),
            "__cc_observe__": probe,
            "__cc_statement_error__": statement_error,
        }


def run_part_live(checks: LocalChecks, grade_id: str, namespace: Mapping[str, Any]) -> PartResult:
    """Run part ``grade_id``'s visible tests against ``namespace`` (the live kernel's).

    The test cell runs on a shallow copy of the namespace, so it cannot rebind the
    learner's variables; what it prints is discarded. Interrupting the kernel stops it.
    """
    test = checks.plan.tests[grade_id]
    recorder = _Recorder()
    scope = dict(namespace)
    scope.update(recorder.namespace())
    code = compile(test.code(REFERENCE), f"<visible tests of {grade_id}>", "exec")
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        exec(code, scope)
    return judge_visible(
        test, recorder.observations, tolerance=checks.plan.settings.float_tolerance
    )


# --------------------------------------------------------------------------- sandbox


def visible_judge(plan: SourcePlan) -> PartJudge:
    """Judge each part's visible checks from a reference-mode run (see :func:`judge_visible`)."""

    def judge(test: TestCellPlan, outcome: CellOutcome, context: PartContext) -> PartResult:
        return judge_visible(
            test,
            outcome.observations,
            tolerance=plan.settings.float_tolerance,
            context=context,
            malformed=outcome.malformed,
        )

    return judge


def check_saved_notebook(
    release: Path,
    learner: Path,
    *,
    cell_timeout: float = 30.0,
    notebook_timeout: float = 300.0,
    second_run: bool = True,
) -> NotebookResult:
    """Run a saved learner notebook as grading will and judge its visible tests.

    With ``second_run`` (as grading does by default) the notebook runs again with another
    hash seed, and a part whose checks saw different results is named in the result's
    events: grading would score it nothing.

    ``release`` is the learner version of the notebook (whose locked and test cells are
    restored, as grading restores the source's). The notebook goes through the grading
    core's own :func:`grader.core.grading.run_and_judge`; only the judge differs (the
    expected values are the visible tests' own, observed in the same run). Raises
    :class:`GradingError` when ``release`` is not a gradable notebook; problems of the
    learner's notebook end up in the result.
    """
    started = time.perf_counter()
    plan = load_source_plan(Path(release))
    try:
        data = load_notebook_json(Path(learner), what="your notebook")
    except GradingError as exc:
        raise GradingError(f"{exc.message}; save it again from JupyterLab") from None
    events: list[str] = []
    files = learner_files(Path(learner), events, exclude=Path(release))
    result = run_and_judge(
        plan,
        data,
        files,
        mode=REFERENCE,
        judge=visible_judge(plan),
        started=started,
        cell_timeout=plan.settings.cell_timeout or cell_timeout,
        notebook_timeout=notebook_timeout,
        events=events,
        second_run="warn" if second_run else None,
    )
    # what the learner's code printed is theirs already; the instructor-only field is not
    return replace(result, extra={})
