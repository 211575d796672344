"""Feedback pages for learners: one HTML page per notebook and a summary page.

Each part shows pass/fail, its points, the visible tests' messages, the author's hint
(``context_course.hints`` in the source cell's metadata, read by
:func:`grader.core.nbsource.part_texts`) when the part is not fully
passed, and for hidden checks a count ("3 of 5 hidden checks passed") and, unless the
course turns it off (``[grader] hidden_check_names``), the label of each failed hidden
check: the author's words for the behaviour it tests ("a tie keeps ours"), never its
code, input, message or expected value. Timeouts and crashes are
explained in plain words. Everything comes from the stored results and is HTML-escaped
(Jinja2 autoescaping), since much of it is learner-controlled.

A score an instructor entered by hand in formgrader wins, as it does in ``grades.csv``:
the part shows it with a short "adjusted by your instructor" note and the totals count
it. Each page carries a digest of its content (everything but the time it was
generated), so writing the same feedback again leaves the file untouched.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from grader.core.results import CheckResult, NotebookResult, PartResult
from grader.pipeline.atomic import write_atomic
from grader.pipeline.catalog import Catalog
from grader.pipeline.gradebook import GradebookStore, GradedRecord, ManualScores, grader_version
from grader.pipeline.identity import learner_dir
from grader.pipeline.intake import Rejection
from scoring import Points, effective_score, exact, late_adjusted, percent, percent_text

__all__ = [
    "FeedbackPages",
    "PartView",
    "refresh_feedback",
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
    "non-deterministic": "Run twice, this part's checks saw different results, so it scored "
    "nothing. Look for an order that depends on a set or dict built from a set (sort it), or "
    "for randomness or time in the answer.",
}
_VERDICTS = {
    "timeout": "timed out",
    "crashed": "crashed",
    "error": "error",
    "forbidden-import": "forbidden import",
    "not-run": "not run",
    "non-deterministic": "not deterministic",
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
    hints: tuple[str, ...]
    hidden_failed: tuple[str, ...] = ()  # labels of the failed hidden checks, when shown
    auto_points: float = 0.0  # what automatic grading gave, when adjusted
    adjusted: bool = False  # the instructor entered this part's score by hand


@dataclass(frozen=True)
class FeedbackPages:
    """What :func:`write_learner_feedback` did for one learner."""

    folder: Path
    written: tuple[Path, ...]  # the pages whose content changed (others were left alone)


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


def _fmt(value: Points) -> str:
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def _percent(score: Points, maximum: Points) -> str:
    """Truncated, never rounded up across a threshold (see :func:`scoring.percent_text`)."""
    return percent_text(percent(score, maximum))


def _meter_class(score: Points, maximum: Points) -> str:
    share = percent(score, maximum)
    return "" if share >= 100 else ("partial" if share >= 50 else "low")


def _badge(points: Points, maximum: Points) -> tuple[str, str]:
    share = percent(points, maximum)
    if share >= 100:
        return "passed", "pass"
    if share > 0:
        return "partly passed", "partial"
    return "failed", "fail"


def _part_view(
    part: PartResult, catalog: Catalog | None, notebook: str, hidden_names: bool = True
) -> PartView:
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
        hints=spec.hints if spec and not full else (),
        hidden_failed=(
            tuple(c.label for c in part.checks if c.kind == "hidden" and not c.passed)
            if hidden_names
            else ()
        ),
    )


_DIGEST = re.compile(r'<meta name="context-course-digest" content="([0-9a-f]{64})">')


def _page(template: str, **context: object) -> str:
    """Render ``template`` with a digest of its content (all but the generation time)."""
    page = template_environment().get_template(template)
    common = {"grader_version": grader_version()}
    bare = page.render(**context, **common, generated="", digest="")
    return page.render(
        **context,
        **common,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        digest=hashlib.sha256(bare.encode("utf-8")).hexdigest(),
    )


def _write_page(path: Path, html: str) -> bool:
    """Write ``html`` to ``path`` unless the page there has the same content; say if written."""
    new = _DIGEST.search(html)
    try:
        old = _DIGEST.search(path.read_text(encoding="utf-8", errors="replace"))
    except (FileNotFoundError, NotADirectoryError):
        old = None
    if new is not None and old is not None and new.group(1) == old.group(1):
        return False
    write_atomic(path, html)
    return True


def _adjusted_part(view: PartView, manual: float) -> PartView:
    verdict, badge = _badge(manual, view.max_points)
    full = view.max_points > 0 and manual >= view.max_points - 1e-9
    return PartView(
        title=view.title,
        points=manual,
        max_points=view.max_points,
        verdict=verdict,
        badge=badge,
        problem=view.problem,
        visible=view.visible,
        hidden_summary=view.hidden_summary,
        hints=() if full else view.hints,
        hidden_failed=view.hidden_failed,
        auto_points=view.points,
        adjusted=True,
    )


def _part_views(
    result: NotebookResult,
    catalog: Catalog | None,
    manual: Mapping[str, float],
    hidden_names: bool = True,
) -> list[PartView]:
    """The parts of ``result``, manual scores applied, plus manually scored cells it lacks."""
    views = []
    for part in result.parts:
        view = _part_view(part, catalog, result.notebook, hidden_names)
        views.append(
            _adjusted_part(view, manual[part.grade_id]) if part.grade_id in manual else view
        )
    reported = {part.grade_id for part in result.parts}
    source = catalog.get(result.notebook) if catalog else None
    for grade_id, points in manual.items():
        if grade_id in reported:
            continue
        spec = source.grade_cell(grade_id) if source else None
        maximum = spec.points if spec else points
        plain = PartView(
            title=(spec.title if spec and spec.title else grade_id),
            points=0.0,
            max_points=maximum,
            verdict="",
            badge="",
            problem="",
            visible=(),
            hidden_summary="",
            hints=spec.hints if spec else (),
        )
        views.append(_adjusted_part(plain, points))
    return views


def _effective_score(
    result: NotebookResult, manual: Mapping[str, float], late_penalty: Points = 0
) -> Fraction:
    """The notebook's score as grades.csv counts it: :func:`scoring.effective_score`."""
    auto = {part.grade_id: part.points for part in result.parts}
    return effective_score(auto, manual, late_penalty)


def render_notebook_feedback(
    result: NotebookResult,
    *,
    learner_id: str,
    course_name: str,
    catalog: Catalog | None = None,
    graded_at: datetime | None = None,
    manual: Mapping[str, float] | None = None,
    late_penalty: Points = 0,
    hidden_names: bool = True,
) -> str:
    """The feedback page for one learner's notebook, as HTML.

    ``manual`` maps grade cell ids to the scores an instructor entered by hand; they
    replace the automatic points of those parts and count in the total. ``late_penalty``
    (points, recorded by the course hub's late policy) comes off the total once. With
    ``hidden_names`` (course.toml ``[grader] hidden_check_names``) each part names its
    failed hidden checks by label.
    """
    manual = manual or {}
    source = catalog.get(result.notebook) if catalog else None
    return _page(
        "notebook_feedback.html.j2",
        learner_id=learner_id,
        course_name=course_name,
        notebook_title=(source.title if source and source.title else result.notebook),
        score=_effective_score(result, manual, late_penalty),
        late_penalty=exact(late_penalty),
        max_score=result.max_score,
        adjusted=bool(manual),
        events=list(result.events),
        parts=_part_views(result, catalog, manual, hidden_names),
        graded_at=(graded_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
    )


def render_learner_summary(
    learner_id: str,
    records: Sequence[GradedRecord],
    *,
    catalog: Catalog,
    course_name: str,
    rejections: Sequence[Rejection] = (),
    manual: ManualScores | None = None,
) -> str:
    """The learner's summary page: every course notebook, graded or not, and rejections.

    ``manual`` (notebook -> grade cell id -> points) holds the instructor's manual scores.
    """
    manual = manual or {}
    by_notebook = {record.notebook: record for record in records}
    rows = []
    total = Fraction(0)
    for slug, source in catalog.items():
        record = by_notebook.get(slug)
        mine = manual.get(slug, {})
        score = Fraction(0)
        if record is not None:
            base = _effective_score(record.result, mine) if mine else record.score
            score = late_adjusted(base, record.late_penalty)
        total += score
        verdict, badge = _badge(score, record.max_score) if record else ("", "")
        rows.append(
            {
                "title": source.title or slug,
                "link": f"{slug}.html" if record else "",
                "graded": record is not None,
                "score": score,
                "max_score": record.max_score if record else source.max_score,
                "verdict": verdict,
                "badge": badge,
                "adjusted": record is not None and bool(mine),
                "late_penalty": exact(record.late_penalty) if record else Fraction(0),
            }
        )
    return _page(
        "learner_summary.html.j2",
        learner_id=learner_id,
        course_name=course_name,
        rows=rows,
        total=total,
        max_total=sum((exact(source.max_score) for source in catalog.values()), Fraction(0)),
        graded_count=sum(1 for slug in catalog if slug in by_notebook),
        notebook_count=len(catalog),
        rejections=list(rejections),
    )


def write_learner_feedback(
    learner_id: str,
    records: Sequence[GradedRecord],
    *,
    catalog: Catalog,
    course_name: str,
    out_dir: Path,
    rejections: Sequence[Rejection] = (),
    manual: ManualScores | None = None,
    refresh_index: bool = True,
    hidden_names: bool = True,
) -> FeedbackPages:
    """Write ``<out_dir>/<learner>/<notebook>.html`` and ``index.html``.

    A page whose content would not change is left untouched, so writing the same
    feedback twice changes no file. With ``refresh_index=False`` (the rejections of the
    learner's last batch are not known) an existing ``index.html`` is rewritten only
    when a notebook page changed. ``learner_id`` must already be validated (intake
    does); every file is written atomically.
    """
    manual = manual or {}
    folder = learner_dir(out_dir, learner_id)
    written: list[Path] = []
    for record in records:
        if record.notebook not in catalog:
            continue
        path = folder / f"{record.notebook}.html"
        html = render_notebook_feedback(
            record.result,
            learner_id=learner_id,
            course_name=course_name,
            catalog=catalog,
            graded_at=record.graded_at,
            manual=manual.get(record.notebook, {}),
            late_penalty=record.late_penalty,
            hidden_names=hidden_names,
        )
        if _write_page(path, html):
            written.append(path)
    index = folder / "index.html"
    if refresh_index or written or not index.is_file():
        summary = render_learner_summary(
            learner_id,
            records,
            catalog=catalog,
            course_name=course_name,
            rejections=rejections,
            manual=manual,
        )
        if _write_page(index, summary):
            written.append(index)
    return FeedbackPages(folder=folder, written=tuple(written))


def refresh_feedback(
    store: GradebookStore,
    catalog: Catalog,
    *,
    course_name: str,
    out_dir: Path,
    learners: Iterable[str] | None = None,
    hidden_names: bool = True,
) -> list[FeedbackPages]:
    """Re-render feedback from the gradebook (no grading): every graded learner, or ``learners``.

    Picks up manual scores entered in formgrader since the pages were written. Pages
    whose content is unchanged are left alone, and a learner's summary page (which may
    list the rejections of their last batch) is rewritten only when a score on it changed.
    """
    records: dict[str, list[GradedRecord]] = {}
    for record in store.records():
        records.setdefault(record.learner_id, []).append(record)
    manual = store.manual_scores()
    chosen = sorted(records) if learners is None else list(learners)
    return [
        write_learner_feedback(
            learner,
            records.get(learner, []),
            catalog=catalog,
            course_name=course_name,
            out_dir=out_dir,
            manual=manual.get(learner, {}),
            hidden_names=hidden_names,
            refresh_index=False,
        )
        for learner in chosen
    ]
