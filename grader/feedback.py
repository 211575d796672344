"""Feedback pages for learners: one HTML page per notebook and a summary page.

Each part shows pass/fail, its points, the visible tests' messages, the author's hint
(``context_course.hint`` in the source cell's metadata) when the part is not fully
passed, and for hidden checks only a count ("3 of 5 hidden checks passed"): never a
hidden check's label, code, message or expected value. Timeouts and crashes are
explained in plain words. Everything comes from the stored results and is HTML-escaped
(Jinja2 autoescaping), since much of it is learner-controlled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from grader.atomic import write_atomic
from grader.catalog import Catalog
from grader.gradebook import GradedRecord, grader_version
from grader.intake import Rejection
from grader.results import CheckResult, NotebookResult, PartResult

__all__ = [
    "PartView",
    "render_learner_summary",
    "render_notebook_feedback",
    "template_environment",
    "write_learner_feedback",
]

_TEMPLATES = Path(__file__).parent / "templates"

_STATUS_WORDS = {
    "timeout": "This part ran out of time, so its checks could not finish. Look for a loop "
    "that never ends or work that is far slower than it needs to be.",
    "crashed": "Python stopped while running this part (for example by calling exit(), "
    "using far too much memory, or recursing without end), so its checks could not run.",
    "error": "Your code raised an error before this part's checks could run. Run the "
    "notebook from the top (Kernel → Restart & Run All) to see it.",
    "forbidden-import": "This part uses a module the exercise does not allow, so it scored "
    "nothing. Solve it with the tools the notebook introduces.",
    "not-run": "This part did not run because the notebook stopped earlier.",
}
_VERDICTS = {
    "timeout": "timed out",
    "crashed": "crashed",
    "error": "error",
    "forbidden-import": "forbidden import",
    "not-run": "not run",
}


@dataclass(frozen=True)
class PartView:
    """A part as the feedback page shows it (only learner-safe fields)."""

    title: str
    points: float
    max_points: float
    verdict: str
    badge: str  # pass | partial | fail
    problem: str
    visible: tuple[CheckResult, ...]
    hidden_summary: str
    hint: str


@cache
def template_environment() -> Environment:
    """The Jinja2 environment for the grader's templates (autoescaping on)."""
    env = Environment(
        loader=FileSystemLoader(str(_TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(fmt=_fmt, percent=_percent, meter_class=_meter_class)
    return env


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _percent(score: float, maximum: float) -> int:
    return round(100 * score / maximum) if maximum > 0 else 0


def _meter_class(score: float, maximum: float) -> str:
    share = score / maximum if maximum > 0 else 0.0
    return "" if share >= 0.999 else ("partial" if share >= 0.5 else "low")


def _badge(points: float, maximum: float) -> tuple[str, str]:
    if maximum > 0 and points >= maximum - 1e-9:
        return "passed", "pass"
    if points > 0:
        return "partly passed", "partial"
    return "failed", "fail"


def _common() -> dict[str, str]:
    return {
        "grader_version": grader_version(),
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _part_view(part: PartResult, catalog: Catalog | None, notebook: str) -> PartView:
    spec = catalog[notebook].grade_cell(part.grade_id) if catalog and notebook in catalog else None
    verdict, badge = _badge(part.points, part.max_points)
    problem = ""
    if part.status != "ok":
        verdict, badge = _VERDICTS.get(part.status, part.status), "fail"
        problem = _STATUS_WORDS.get(part.status, "")
        if part.message:
            problem = f"{part.message}. {problem}" if problem else part.message
    elif part.message:
        problem = part.message if badge != "pass" else ""
    full = part.max_points > 0 and part.points >= part.max_points - 1e-9
    return PartView(
        title=(spec.title if spec and spec.title else part.grade_id),
        points=part.points,
        max_points=part.max_points,
        verdict=verdict,
        badge=badge,
        problem=problem,
        visible=tuple(c for c in part.checks if c.kind == "visible"),
        hidden_summary=part.hidden_summary,
        hint=spec.hint if spec and not full else "",
    )


def render_notebook_feedback(
    result: NotebookResult,
    *,
    learner_id: str,
    course_name: str,
    catalog: Catalog | None = None,
    graded_at: datetime | None = None,
) -> str:
    """The feedback page for one learner's notebook, as HTML."""
    source = catalog.get(result.notebook) if catalog else None
    return (
        template_environment()
        .get_template("notebook_feedback.html.j2")
        .render(
            learner_id=learner_id,
            course_name=course_name,
            notebook_title=(source.title if source and source.title else result.notebook),
            result=result,
            events=list(result.events),
            parts=[_part_view(part, catalog, result.notebook) for part in result.parts],
            graded_at=(graded_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
            **_common(),
        )
    )


def render_learner_summary(
    learner_id: str,
    records: Sequence[GradedRecord],
    *,
    catalog: Catalog,
    course_name: str,
    rejections: Sequence[Rejection] = (),
) -> str:
    """The learner's summary page: every course notebook, graded or not, and rejections."""
    by_notebook = {record.notebook: record for record in records}
    rows = []
    for slug, source in catalog.items():
        record = by_notebook.get(slug)
        verdict, badge = _badge(record.score, record.max_score) if record else ("", "")
        rows.append(
            {
                "title": source.title or slug,
                "link": f"{slug}.html" if record else "",
                "graded": record is not None,
                "score": record.score if record else 0.0,
                "max_score": record.max_score if record else source.max_score,
                "verdict": verdict,
                "badge": badge,
            }
        )
    return (
        template_environment()
        .get_template("learner_summary.html.j2")
        .render(
            learner_id=learner_id,
            course_name=course_name,
            rows=rows,
            total=sum(r.score for r in records if r.notebook in catalog),
            max_total=sum(source.max_score for source in catalog.values()),
            graded_count=sum(1 for slug in catalog if slug in by_notebook),
            notebook_count=len(catalog),
            rejections=list(rejections),
            **_common(),
        )
    )


def write_learner_feedback(
    learner_id: str,
    records: Sequence[GradedRecord],
    *,
    catalog: Catalog,
    course_name: str,
    out_dir: Path,
    rejections: Sequence[Rejection] = (),
) -> Path:
    """Write ``<out_dir>/<learner>/<notebook>.html`` and ``index.html``; return the folder.

    ``learner_id`` must already be validated (intake does); every file is written
    atomically.
    """
    folder = out_dir / learner_id
    for record in records:
        if record.notebook not in catalog:
            continue
        html = render_notebook_feedback(
            record.result,
            learner_id=learner_id,
            course_name=course_name,
            catalog=catalog,
            graded_at=record.graded_at,
        )
        write_atomic(folder / f"{record.notebook}.html", html)
    summary = render_learner_summary(
        learner_id, records, catalog=catalog, course_name=course_name, rejections=rejections
    )
    write_atomic(folder / "index.html", summary)
    return folder
