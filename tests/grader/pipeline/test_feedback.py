"""Feedback and class report pages: what they show, what they never show, escaping."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from grader.core.results import CheckResult, NotebookResult, PartResult
from grader.pipeline.catalog import Catalog, load_catalog
from grader.pipeline.feedback import (
    render_learner_summary,
    render_notebook_feedback,
    write_learner_feedback,
)
from grader.pipeline.gradebook import GradebookStore, GradedRecord
from grader.pipeline.intake import LearnerInfo, Rejection
from grader.pipeline.report import build_class_report, histogram_svg, render_class_report
from tests.grader.pipeline.builders import COURSE_ID, make_course

EVIL = "<script>alert('x')</script>"


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return load_catalog(make_course(tmp_path / "course").source_dir)


def alpha_result() -> NotebookResult:
    return NotebookResult(
        notebook="01-alpha",
        score=2.0,
        max_score=5.0,
        parts=(
            PartResult(
                "test-a1",
                2.0,
                2.0,
                "ok",
                (
                    CheckResult("add(1, 2) == 3", "visible", True, 1.0, 1.0),
                    CheckResult("SECRET-LABEL-1", "hidden", True, 1.0, 1.0, "SECRET expected 41"),
                ),
            ),
            PartResult(
                "test-a2",
                0.0,
                3.0,
                "ok",
                (
                    CheckResult(
                        f"add(-1, 1) == 0 {EVIL}",
                        "visible",
                        False,
                        0.0,
                        1.0,
                        f"expected 0, got {EVIL}",
                    ),
                    CheckResult("SECRET-LABEL-2", "hidden", True, 1.0, 1.0, "SECRET 42"),
                    CheckResult("SECRET-LABEL-3", "hidden", False, 0.0, 1.0, "SECRET 43"),
                ),
            ),
        ),
    )


def test_notebook_page_shows_parts_messages_hints_and_hidden_counts_only(
    catalog: Catalog,
) -> None:
    html = render_notebook_feedback(
        alpha_result(),
        learner_id="ann",
        course_name="Test Course",
        catalog=catalog,
        hidden_names=False,  # course.toml [grader] hidden_check_names = false
    )
    assert "Alpha: adding things" in html and "Adding two numbers" in html
    assert "passed" in html and "failed" in html
    assert "1 of 2 hidden checks passed" in html
    assert "Negative numbers are numbers too." in html  # hint of the failed part
    assert "Use the + operator." not in html  # the passed part's hint is not shown
    assert "SECRET" not in html
    assert EVIL not in html
    assert "expected 0, got &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert re.search(r"<span class=\"big\">2</span>\s*<span class=\"of\">/ 5 points", html)


def test_failed_hidden_checks_are_named_by_label_never_by_message(catalog: Catalog) -> None:
    html = render_notebook_feedback(
        alpha_result(), learner_id="ann", course_name="Test Course", catalog=catalog
    )
    assert "1 of 2 hidden checks passed; not yet right:" in html
    assert "<li>SECRET-LABEL-3</li>" in html  # the failed one, by its behaviour label
    assert "SECRET-LABEL-1" not in html and "SECRET-LABEL-2" not in html  # passed ones
    assert "SECRET 43" not in html and "SECRET expected" not in html  # never a message


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("non-deterministic", "different results"),
        ("timeout", "ran out of time"),
        ("crashed", "Python stopped"),
        ("forbidden-import", "does not allow"),
        ("error", "raised an error"),
    ],
)
def test_timeouts_and_crashes_are_explained_in_plain_words(
    catalog: Catalog, status: str, words: str
) -> None:
    result = NotebookResult(
        notebook="02-beta",
        score=0.0,
        max_score=5.0,
        parts=(
            PartResult(
                "test-b1",
                0.0,
                5.0,
                status,  # type: ignore[arg-type]
                message="part test-b1 timed out after 30 s",
            ),
        ),
        events=(f"the learner printed {EVIL}",),
    )
    html = render_notebook_feedback(result, learner_id="ann", course_name="C", catalog=catalog)
    assert words in html
    assert "part test-b1 timed out after 30 s" in html
    assert EVIL not in html and "&lt;script&gt;" in html


def ann_record(result_json: str, graded_at: datetime) -> GradedRecord:
    """Learner ann's graded 01-alpha (2 of 5 points), as the gradebook stores it."""
    return GradedRecord(
        learner_id="ann",
        notebook="01-alpha",
        submission_hash="a" * 64,
        source_hash="b" * 64,
        score=2.0,
        max_score=5.0,
        course_version="t1",
        grader_version="1",
        result_json=result_json,
        graded_at=graded_at,
    )


def test_summary_page_lists_every_notebook_and_rejections(catalog: Catalog) -> None:
    record = ann_record("{}", datetime.now(UTC))
    rejection = Rejection(
        origin="x.zip",
        reason=f"notebook 02-beta is not JSON {EVIL}",
        learner_id="ann",
        notebook="02-beta",
    )
    html = render_learner_summary(
        "ann", [record], catalog=catalog, course_name="Test Course", rejections=[rejection]
    )
    assert 'href="01-alpha.html"' in html and "Beta: merging" in html
    assert "not graded yet" in html
    assert "1 of 2 notebooks graded" in html
    assert EVIL not in html and "is not JSON &lt;script&gt;" in html


def test_class_report_has_pass_rates_and_distributions(catalog: Catalog, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gb.db'}"
    with GradebookStore(url, course_id=COURSE_ID) as store:
        store.register_catalog(catalog)
        for learner in ("ann", "bob", "cy", "dee"):
            result = (
                alpha_result()
                if learner != "dee"
                else NotebookResult(
                    notebook="01-alpha",
                    score=5.0,
                    max_score=5.0,
                    parts=(
                        PartResult("test-a1", 2.0, 2.0, "ok"),
                        PartResult("test-a2", 3.0, 3.0, "ok"),
                    ),
                )
            )
            store.record(
                result,
                learner=LearnerInfo(learner),
                source=catalog["01-alpha"],
                submission_hash="a" * 64,
                course_version="t1",
                grader_version="1",
            )
        report = build_class_report(store, catalog, "Test Course")
    rates = {(p.notebook, p.grade_id): (p.passed, p.attempts) for p in report.parts}
    assert rates == {
        ("01-alpha", "test-a1"): (4, 4),
        ("01-alpha", "test-a2"): (1, 4),
        ("02-beta", "test-b1"): (0, 0),
    }
    alpha = report.notebooks[0]
    assert sorted(alpha.scores) == [2.0, 2.0, 2.0, 5.0]
    assert alpha.mean == pytest.approx(2.75)
    assert report.learners == 4
    assert sorted(report.totals) == [20.0, 20.0, 20.0, 50.0]
    html = render_class_report(report)
    assert html.count("<svg") == 1 + 2 * 2 - 1  # totals + per notebook (beta: no histogram)
    assert "25% (1/4)" in html and "100% (4/4)" in html
    assert "Nobody has been graded on this notebook yet." in html


def test_histogram_bins_include_100_percent_in_the_last_bin() -> None:
    svg = str(histogram_svg([0.0, 5.0, 100.0, 100.0, 95.0]))
    assert "0–10%: 2 learners" in svg
    assert "90–100%: 3 learners" in svg


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_manual_score_replaces_the_part_and_counts_in_the_total(catalog: Catalog) -> None:
    html = render_notebook_feedback(
        alpha_result(), learner_id="ann", course_name="C", catalog=catalog, manual={"test-a2": 2.5}
    )
    text = _text(html)
    assert "4.5 / 5 points" in text  # 2 automatic + 2.5 by hand
    assert "2.5 / 3" in text
    assert "Score adjusted by your instructor (automatic grading gave 0)" in text
    assert text.count("adjusted by your instructor") == 2  # the part's note and the total
    plain = _text(
        render_notebook_feedback(alpha_result(), learner_id="ann", course_name="C", catalog=catalog)
    )
    assert "2 / 5 points" in plain and "by your instructor" not in plain


def test_summary_page_totals_count_manual_scores(catalog: Catalog) -> None:
    result = alpha_result()
    record = ann_record(json.dumps(result.to_dict()), datetime.now(UTC))
    text = _text(
        render_learner_summary(
            "ann",
            [record],
            catalog=catalog,
            course_name="C",
            manual={"01-alpha": {"test-a1": 0.0, "test-a2": 3.0}},
        )
    )
    assert "3 / 5 (adjusted by your instructor)" in text
    assert "3 / 10 points over the course" in text


def test_the_same_feedback_written_twice_leaves_the_pages_untouched(
    catalog: Catalog, tmp_path: Path
) -> None:
    result = alpha_result()
    record = ann_record(json.dumps(result.to_dict()), datetime(2026, 1, 1, tzinfo=UTC))
    options = {"catalog": catalog, "course_name": "C", "out_dir": tmp_path}
    first = write_learner_feedback("ann", [record], **options)  # type: ignore[arg-type]
    assert sorted(p.name for p in first.written) == ["01-alpha.html", "index.html"]
    stamps = {p: p.stat().st_mtime_ns for p in first.written}
    again = write_learner_feedback("ann", [record], **options)  # type: ignore[arg-type]
    assert again.written == ()
    assert {p: p.stat().st_mtime_ns for p in first.written} == stamps
    adjusted = write_learner_feedback(
        "ann",
        [record],
        manual={"01-alpha": {"test-a2": 1.0}},
        **options,  # type: ignore[arg-type]
    )
    assert sorted(p.name for p in adjusted.written) == ["01-alpha.html", "index.html"]
    assert "3 / 5" in _text((tmp_path / "ann" / "01-alpha.html").read_text(encoding="utf-8"))
