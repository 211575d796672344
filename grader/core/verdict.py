"""The trusted verdict: compare a learner's observations with the reference's.

A check passes only when the learner's run observed, for that check, exactly what the
reference observed: the same number of observations, each a value (not an error) equal
to the reference's (floats within the notebook's tolerance). Missing, extra, duplicated
or malformed observations, or an error while probing, fail the check. Nothing the child
printed is used; feedback is rendered here from the values themselves:

- a visible ``assert a == b, msg``: "expected B, got A" and the author's message;
- a visible truth assert: "this assert failed: CODE" and the author's message;
- a hidden check: never its code or expected value, only whether it passed, and why in
  general words (an exception's class name, or "not reached").

Errors name the learner's first mistake, not its echo. A test line that raises (``got =
f(...)``) leaves its names unbound (the test cell clears them before it runs, see
:mod:`grader.core.checks`), so the checks after it meet a ``NameError``; such a check
reports the line that raised instead: the last earlier line of the cell whose exception
is not itself a ``NameError`` (or, failing that, the last one). An exception that is still
the template's ``NotImplementedError`` reads "not attempted yet".

What of an exception is shown: its class name always; its message (escaped, at most
:data:`MESSAGE_LIMIT` characters) only when it was raised by a visible line or a visible
assert, never under a hidden probe or a hidden line (a learner's exception message often
echoes its input, and hidden inputs are the hidden test), and not when it repeats a piece
of the notebook's hidden test code (a learner who captured it cannot read it back here).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from grader.child.values import describe, repeats_secret, shown_to_learner, values_match
from grader.core.checks import AssertCheck, TestCellPlan, render_message
from grader.core.executor import CellOutcome, Observation
from grader.core.reference import ReferencePart
from grader.core.restore import RunCell
from grader.core.results import CheckKind, CheckResult, PartResult, PartStatus

__all__ = [
    "MESSAGE_LIMIT",
    "NOT_ATTEMPTED",
    "PartContext",
    "check_points",
    "judge_part",
    "part_context",
    "part_regions",
]

#: Characters of a learner's exception message that feedback shows.
MESSAGE_LIMIT = 80
#: What a check says when the learner's answer is still the template's.
NOT_ATTEMPTED = "not attempted yet (the answer still raises NotImplementedError)"


@dataclass(frozen=True)
class PartContext:
    """How the part's cells ran, in plain words, for the part's status and message."""

    status: PartStatus = "ok"
    message: str = ""
    forbidden: str = ""  # the forbidden module the learner's code imports, if any


def part_regions(cells: Sequence[RunCell]) -> dict[int, str]:
    """For each run position, the grade_id of the part whose test cell comes next (cells
    after the last test cell belong to the last part)."""
    region: dict[int, str] = {}
    pending: list[int] = []
    for position, cell in enumerate(cells):
        pending.append(position)
        if cell.role == "test":
            region.update(dict.fromkeys(pending, cell.grade_id))
            pending = []
    if pending:
        last = next((c.grade_id for c in reversed(cells) if c.role == "test"), "")
        region.update(dict.fromkeys(pending, last))
    return region


def part_context(
    grade_id: str,
    cells: Sequence[RunCell],
    outcomes: Sequence[CellOutcome],
    region: Mapping[int, str],
    forbidden: Mapping[int, list[str]],
) -> PartContext:
    """How the cells of one part ran (see :func:`part_regions`), in plain words."""
    status: PartStatus = "ok"
    messages: list[str] = []
    banned = ""
    for position, cell in enumerate(cells):
        if region.get(position) != grade_id:
            continue
        outcome = outcomes[position]
        if forbidden.get(position) and not banned:
            banned = forbidden[position][0]
        if outcome.status == "timeout":
            status = "timeout"
            messages.append(f"{cell.name} {outcome.detail or 'timed out'}")
        elif outcome.status == "crashed":
            status = "crashed" if status == "ok" else status
            messages.append(f"{cell.name}: {outcome.detail or 'the process ended'}")
        elif outcome.status == "not-run" and cell.role == "test":
            status = "not-run"
            messages.append(outcome.detail or "not run")
    return PartContext(status=status, message="; ".join(messages), forbidden=banned)


def _weights(test: TestCellPlan, reference: ReferencePart) -> dict[str, float]:
    by_key = {check.key: check for check in test.asserts}
    weights: dict[str, float] = {}
    for check_id in reference.order:
        if check_id.startswith("probe:"):
            label = check_id[len("probe:") :]
            weights[check_id] = test.weights.get(label, 1.0)
        else:
            check = by_key[check_id]
            weights[check_id] = test.weights.get(check.key, test.weights.get(check.label, 1.0))
    return weights


def check_points(test: TestCellPlan, reference: ReferencePart) -> dict[str, float]:
    """The points each check of a part is worth (``"assert N"`` or ``"probe:LABEL"``),
    from the test cell's weights: what :func:`judge_part` awards for a passed check."""
    weights = _weights(test, reference)
    total = sum(weights.values()) or 1.0
    return {check_id: test.points * weight / total for check_id, weight in weights.items()}


def _with_message(text: str, author: str) -> str:
    if not author:
        return text
    return f"{text}. {author}" if text else author


def _exception(name: object) -> str:
    """An exception name the learner's process reported, only if it looks like one."""
    text = str(name)
    return text if text.isidentifier() and len(text) <= 60 else "an exception"


def _escaped(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` on one line, unprintable characters escaped, cut to ``limit``."""
    flat = " ".join(text.split())
    shown = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in flat
    )
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


@dataclass(frozen=True)
class _Why:
    """Plain words for an error observation, naming the learner's first mistake."""

    test: TestCellPlan
    causes: Mapping[int, Observation]  # id(observation) -> the statement error behind it
    stopped: Observation | None  # the statement error behind checks never reached
    secret: str  # hidden test code: a message repeating it is not shown

    def _exception(self, got: Observation, *, hidden: bool) -> str:
        if got.value == "NotImplementedError":
            return NOT_ATTEMPTED
        name = _exception(got.value)
        if hidden or not got.message:
            return name
        message = _escaped(got.message)
        if repeats_secret(message, self.secret) or repeats_secret(got.message, self.secret):
            return name
        return f"{name}: {message}"

    def _line(self, cause: Observation) -> str:
        if cause.value == "NotImplementedError":
            return NOT_ATTEMPTED
        number = cause.check.removeprefix("line ")
        line = self.test.lines.get(int(number)) if number.isdigit() else None
        if line is None:  # a child that did not say which line: its type only
            return f"an earlier line of the test raised {_exception(cause.value)}"
        if line.hidden:
            return f"an earlier line of the hidden test raised {_exception(cause.value)}"
        return f"the test line `{line.source}` raised {self._exception(cause, hidden=False)}"

    def error(self, got: Observation, *, hidden: bool) -> str:
        """Why a check whose evaluation raised failed."""
        cause = self.causes.get(id(got)) if got.value == "NameError" else None
        if cause is not None:
            return self._line(cause)
        text = self._exception(got, hidden=hidden)
        return text if text == NOT_ATTEMPTED else f"your code raised {text}"

    def not_reached(self, what: str) -> str:
        """Why a check the test never reached failed."""
        if self.stopped is None:
            return f"not checked: the test stopped before reaching this {what}"
        text = self._line(self.stopped)
        return text if text == NOT_ATTEMPTED else f"not checked: {text}"

    def raises(self, name: object) -> str:
        """A probe that raised where the reference did something else."""
        if name == "NotImplementedError":
            return NOT_ATTEMPTED
        return f"did not behave like the reference solution (it raised {_exception(name)})"


def _why(test: TestCellPlan, observations: Sequence[Observation], secret: str) -> _Why:
    causes: dict[int, Observation] = {}
    real: Observation | None = None  # the last statement error that is not a NameError
    last: Observation | None = None
    for obs in observations:
        if obs.kind == "statement" and obs.status == "error":
            last = obs
            if obs.value != "NameError":
                real = obs
        elif (real or last) is not None:
            causes[id(obs)] = real or last  # type: ignore[assignment]
    return _Why(test=test, causes=causes, stopped=real or last, secret=secret)


def _judge_assert(
    check: AssertCheck,
    expected: list[object],
    observations: list[Observation],
    tolerance: float,
    malformed: bool,
    why: _Why,
    secret: str = "",
) -> tuple[bool, str]:
    hidden = check.kind == "hidden"
    if malformed:
        return False, "the notebook's process sent unreadable results while this test ran"
    for position, want in enumerate(expected):
        if position >= len(observations):
            return False, why.not_reached("assert")
        got = observations[position]
        if got.status == "error":
            text = why.error(got, hidden=hidden)
            author = (
                ""
                if hidden
                else render_message(check.message, check.observed_source, "…", drop_got=True)
            )
            return False, _with_message(text, author)
        if got.status != "value":
            return False, "the value could not be read"
        if not values_match(want, got.value, tolerance=tolerance):
            if hidden:
                return False, "a hidden check did not match the reference solution"
            shown = shown_to_learner(got.value, want, secret=secret)
            if check.compare == "truth":
                author = render_message(check.message, check.observed_source, shown)
                return False, _with_message(f"this assert failed: {check.label}", author)
            author = render_message(check.message, check.observed_source, shown, drop_got=True)
            return False, _with_message(f"expected {describe(want)}, got {shown}", author)
    if len(observations) > len(expected):
        return False, "this assert ran more often than in the reference solution"
    return True, ""


def _judge_probe(
    reference: tuple[str, object],
    observations: list[Observation],
    tolerance: float,
    malformed: bool,
    why: _Why,
) -> tuple[bool, str]:
    if malformed:
        return False, "the notebook's process sent unreadable results while this test ran"
    if not observations:
        return False, why.not_reached("check")
    if len(observations) > 1:
        return False, "observed more than once (something re-ran or imitated the check)"
    got = observations[0]
    if got.status == "error":
        return False, why.error(got, hidden=True)
    status, value = reference
    if got.status == "raises" and (status != "raises" or got.value != value):
        return False, why.raises(got.value)
    if got.status != status:
        return False, "did not behave like the reference solution"
    if status == "raises":
        return True, ""
    if not values_match(value, got.value, tolerance=tolerance):
        return False, "did not match the reference solution"
    return True, ""


def judge_part(
    test: TestCellPlan,
    reference: ReferencePart,
    outcome: CellOutcome,
    *,
    tolerance: float,
    context: PartContext | None = None,
    secret: str = "",
    hidden_code: str = "",
) -> PartResult:
    """Score one test cell from its outcome in the learner's run.

    ``secret`` is the test code of the whole notebook as the learner's process ran it: a
    learner's value that repeats a piece of it is not shown back (see
    :func:`grader.child.values.shown_to_learner`). ``hidden_code`` is the notebook's
    hidden test code: an exception message that repeats a piece of it is not shown.
    """
    context = context or PartContext()
    why = _why(test, outcome.observations, hidden_code)
    by_check: dict[str, list[Observation]] = defaultdict(list)
    for obs in outcome.observations:
        if obs.kind in ("assert", "truth"):
            by_check[obs.check].append(obs)
        elif obs.kind == "probe":
            by_check[f"probe:{obs.check}"].append(obs)
        # "expect" from a learner is never used; "statement" errors are informative only
    weights = _weights(test, reference)
    total_weight = sum(weights.values()) or 1.0
    asserts = {check.key: check for check in test.asserts}
    results: list[CheckResult] = []
    for check_id in reference.order:
        max_points = test.points * weights[check_id] / total_weight
        kind: CheckKind
        if check_id.startswith("probe:"):
            label, kind = check_id[len("probe:") :], "hidden"
            passed, message = _judge_probe(
                reference.probes[label], by_check[check_id], tolerance, outcome.malformed, why
            )
        else:
            check = asserts[check_id]
            label, kind = check.label, check.kind
            passed, message = _judge_assert(
                check,
                reference.asserts[check_id],
                by_check[check_id],
                tolerance,
                outcome.malformed,
                why,
                secret,
            )
        if context.forbidden:
            passed = False
            message = f"not graded: your code imports {context.forbidden}"
        results.append(
            CheckResult(
                label=label,
                kind=kind,
                passed=passed,
                points=round(max_points, 6) if passed else 0.0,
                max_points=round(max_points, 6),
                message=message,
            )
        )
    if results and all(r.passed for r in results):
        points = test.points
    else:
        points = round(sum(r.points for r in results), 6)
    status: PartStatus = context.status
    message = context.message
    if context.forbidden:
        status = "forbidden-import"
        message = (
            f"part {test.grade_id} scored nothing: your code imports {context.forbidden}, "
            "which this exercise does not allow"
        )
    return PartResult(
        grade_id=test.grade_id,
        points=points,
        max_points=test.points,
        status=status,
        checks=tuple(results),
        message=message,
    )
