"""The class report (``context-course report``): pass rates and score distributions.

Everything is read from the gradebook: per-part pass rates from the stored results in
``cc_graded_notebooks``, notebook and course scores from nbgrader's tables (so manual
scores entered in formgrader count). Plots are inline SVG generated here: the page is
one self-contained HTML file with no script and nothing fetched from elsewhere.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

from markupsafe import Markup, escape

from grader.pipeline.atomic import write_atomic
from grader.pipeline.catalog import Catalog
from grader.pipeline.feedback import template_environment
from grader.pipeline.gradebook import GradebookStore, grader_version
from scoring import exact, percent

__all__ = [
    "ClassReport",
    "NotebookStats",
    "PartStats",
    "bar_chart_svg",
    "build_class_report",
    "histogram_svg",
    "render_class_report",
    "write_class_report",
]

_PASS = "#17803d"
_PARTIAL = "#a15c00"
_FAIL = "#b42318"
_BAR = "#1f5fbf"
_INK = "#1d2330"
_MUTED = "#5b6475"
_LINE = "#e3e7ee"


@dataclass(frozen=True)
class PartStats:
    """How a class did on one graded part."""

    notebook: str
    grade_id: str
    title: str
    attempts: int
    passed: int  # learners with full points on the part

    @property
    def pass_rate(self) -> float:
        """Share of learners with full points (0 when nobody was graded)."""
        return self.passed / self.attempts if self.attempts else 0.0


@dataclass(frozen=True)
class NotebookStats:
    """Score distribution of one notebook (effective scores: manual wins)."""

    slug: str
    title: str
    max_score: float
    scores: tuple[float, ...]

    @property
    def percents(self) -> list[float]:
        """Each score as a percentage of the maximum."""
        return [float(percent(s, self.max_score)) for s in self.scores]

    @property
    def mean(self) -> float:
        """Mean score (0 when nobody was graded)."""
        return statistics.fmean(self.scores) if self.scores else 0.0

    @property
    def median(self) -> float:
        """Median score (0 when nobody was graded)."""
        return statistics.median(self.scores) if self.scores else 0.0


@dataclass
class ClassReport:
    """All the numbers of the class report."""

    course_name: str
    learners: int = 0
    notebooks: list[NotebookStats] = field(default_factory=list)
    parts: list[PartStats] = field(default_factory=list)
    totals: list[float] = field(default_factory=list)  # each learner's course total, in %


def build_class_report(store: GradebookStore, catalog: Catalog, course_name: str) -> ClassReport:
    """Gather pass rates and distributions from the gradebook."""
    report = ClassReport(course_name=course_name)
    effective: dict[str, dict[str, Fraction]] = {}
    for score in store.scores():
        if score.notebook in catalog:
            effective.setdefault(score.notebook, {})[score.learner_id] = score.score
    passed: dict[tuple[str, str], list[bool]] = {}
    for record in store.records():
        if record.notebook not in catalog:
            continue
        for part in record.result.parts:
            full = part.max_points > 0 and part.points >= part.max_points - 1e-9
            passed.setdefault((record.notebook, part.grade_id), []).append(full)
    learners: dict[str, Fraction] = {}
    for slug, source in catalog.items():
        scores = effective.get(slug, {})
        for learner, value in scores.items():
            learners[learner] = learners.get(learner, Fraction(0)) + value
        report.notebooks.append(
            NotebookStats(
                slug=slug,
                title=source.title or slug,
                max_score=source.max_score,
                scores=tuple(float(scores[k]) for k in sorted(scores)),
            )
        )
        for cell in source.grade_cells:
            outcomes = passed.get((slug, cell.grade_id), [])
            report.parts.append(
                PartStats(
                    notebook=slug,
                    grade_id=cell.grade_id,
                    title=cell.title or cell.grade_id,
                    attempts=len(outcomes),
                    passed=sum(outcomes),
                )
            )
    course_max = sum((exact(source.max_score) for source in catalog.values()), Fraction(0))
    report.learners = len(learners)
    report.totals = [float(percent(total, course_max)) for _, total in sorted(learners.items())]
    return report


def _color(share: float) -> str:
    return _PASS if share >= 0.8 else _PARTIAL if share >= 0.5 else _FAIL


#: A generous average glyph width at font-size 13 (0.62 em), for fitting text in the SVG.
_CHAR_W = 8.1


def bar_chart_svg(items: Sequence[tuple[str, float, str]], *, width: int = 760) -> Markup:
    """Horizontal bars: ``(label, share in [0, 1], note)`` per row, as an SVG element.

    Each label sits on its own line above its bar, starting at the left edge, so no label
    is cut off whatever its length (one longer than the chart is shortened with "…" and
    shown whole in its tooltip); the note after a bar always fits inside the chart.
    """
    row = 42
    note_w = max((len(f"100% {note}") for _, _, note in items), default=0) * _CHAR_W + 8
    bar_w = width - note_w
    fits = int(width / _CHAR_W)
    height = row * len(items) + 22
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'style="max-width:100%;height:auto" viewBox="0 0 {width} {height}" '
        'font-family="system-ui, sans-serif" font-size="13">',
    ]
    for tick in (0, 25, 50, 75, 100):
        x = bar_w * tick / 100
        anchor = "start" if tick == 0 else "end" if tick == 100 else "middle"
        out.append(
            f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 18}" stroke="{_LINE}"/>'
            f'<text x="{x:.1f}" y="{height - 4}" fill="{_MUTED}" text-anchor="{anchor}">'
            f"{tick}%</text>"
        )
    for index, (label, share, note) in enumerate(items):
        y = index * row
        share = min(max(share, 0.0), 1.0)
        shown = label if len(label) <= fits else label[: fits - 1] + "…"
        out.append(
            f'<text x="0" y="{y + 14}" fill="{_INK}" text-anchor="start">'
            f"<title>{escape(label)}</title>{escape(shown)}</text>"
            f'<rect x="0" y="{y + 20}" width="{bar_w * share:.1f}" height="16" rx="3" '
            f'fill="{_color(share)}"/>'
            f'<text x="{bar_w * share + 6:.1f}" y="{y + 33}" fill="{_MUTED}">'
            f"{round(share * 100)}% {escape(note)}</text>"
        )
    out.append("</svg>")
    return Markup("".join(out))


def histogram_svg(
    percents: Sequence[float], *, bins: int = 10, width: int = 360, height: int = 180
) -> Markup:
    """A histogram of percentages (0–100) in ``bins`` equal bins, as an SVG element."""
    counts = [0] * bins
    for value in percents:
        counts[min(int(max(value, 0.0) / (100 / bins)), bins - 1)] += 1
    top = max(counts) or 1
    left, bottom, pad, right = 28, 34, 20, 22
    plot_w, plot_h = width - left - right, height - bottom - pad
    step = plot_w / bins
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'style="max-width:100%;height:auto" viewBox="0 0 {width} {height}" '
        'font-family="system-ui, sans-serif" font-size="11">',
        f'<line x1="{left}" y1="{pad + plot_h}" x2="{left + plot_w}" y2="{pad + plot_h}" '
        f'stroke="{_MUTED}"/>',
    ]
    for index, count in enumerate(counts):
        h = plot_h * count / top
        x = left + index * step
        lo = index * 100 // bins
        out.append(
            f'<rect x="{x + 2:.1f}" y="{pad + plot_h - h:.1f}" width="{step - 4:.1f}" '
            f'height="{h:.1f}" rx="2" fill="{_BAR}"><title>{lo}–{lo + 100 // bins}%: '
            f"{count} learner{'s' if count != 1 else ''}</title></rect>"
        )
        if count:
            out.append(
                f'<text x="{x + step / 2:.1f}" y="{pad + plot_h - h - 3:.1f}" fill="{_INK}" '
                f'text-anchor="middle">{count}</text>'
            )
        if index % 2 == 0:
            out.append(
                f'<text x="{x:.1f}" y="{height - bottom + 16}" fill="{_MUTED}" '
                f'text-anchor="middle">{lo}%</text>'
            )
    out.append(
        f'<text x="{left + plot_w:.1f}" y="{height - bottom + 16}" fill="{_MUTED}" '
        f'text-anchor="middle">100%</text>'
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" fill="{_MUTED}" '
        f'text-anchor="middle">score (% of maximum)</text></svg>'
    )
    return Markup("".join(out))


def render_class_report(report: ClassReport) -> str:
    """The class report as one self-contained HTML page."""
    by_notebook = {
        nb.slug: bar_chart_svg(
            [
                (part.title, part.pass_rate, f"({part.passed}/{part.attempts})")
                for part in report.parts
                if part.notebook == nb.slug
            ]
        )
        for nb in report.notebooks
    }
    return (
        template_environment()
        .get_template("class_report.html.j2")
        .render(
            report=report,
            part_charts=by_notebook,
            histograms={nb.slug: histogram_svg(nb.percents) for nb in report.notebooks},
            total_histogram=histogram_svg(report.totals, width=760, height=200),
            grader_version=grader_version(),
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        )
    )


def write_class_report(
    store: GradebookStore, catalog: Catalog, *, course_name: str, path: Path
) -> Path:
    """Build, render and atomically write the class report to ``path``."""
    report = build_class_report(store, catalog, course_name)
    return write_atomic(path, render_class_report(report))
