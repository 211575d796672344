"""A late penalty given by the caller (the course hub) is recorded as nbgrader's
``late_submission_penalty`` and subtracted exactly once, by the one formula, from the score
in grades.csv, the feedback pages and the gradebook's score readers."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from nbgrader.api import Gradebook

from grader.pipeline.batch import grade_submissions
from grader.pipeline.catalog import load_catalog
from grader.pipeline.config import Course
from grader.pipeline.dispatch import SerialExecutor
from grader.pipeline.feedback import refresh_feedback
from grader.pipeline.gradebook import GradebookStore
from tests.grader.pipeline.builders import COURSE_ID, answer, folder_submission, make_course
from tests.grader.pipeline.fakes import FAKE
from tests.grader.pipeline.test_batch import quiet


def _grade(course: Course, subs: Path, late: dict[tuple[str, str], float]) -> None:
    grade_submissions(
        [subs],
        course=course,
        executor=SerialExecutor(FAKE),
        console=quiet(),
        show_progress=False,
        late_penalties=late,
    )


def _csv(course: Course) -> dict[str, dict[str, str]]:
    text = (course.output_dir / "grades.csv").read_text(encoding="utf-8")
    return {row["learner_id"]: row for row in csv.DictReader(io.StringIO(text))}


def _shown_scores(page: Path) -> list[str]:
    """The "x / y" scores a feedback page shows (tags stripped)."""
    text = re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8"))
    return re.findall(r"(\d+(?:\.\d+)?)\s*/\s*\d+", text)


def test_a_penalty_is_recorded_in_nbgrader_and_subtracted_once_everywhere(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    # ann: full marks on 01-alpha (5 points), 1.5 points late; bob: on time, full marks
    folder_submission(
        subs / "submitted", "ann", {"01-alpha": answer("pass test-a1", "pass test-a2")}
    )
    folder_submission(
        subs / "submitted", "bob", {"01-alpha": answer("pass test-a1", "pass test-a2")}
    )
    _grade(course, subs, {("ann", "01-alpha"): 1.5})

    with Gradebook(course.db_url(), course_id=COURSE_ID) as gb:
        late = gb.find_submission_notebook("01-alpha", "01-alpha", "ann")
        assert (late.score, late.late_submission_penalty) == (5.0, 1.5)  # nbgrader's fields
        assert (
            gb.find_submission_notebook("01-alpha", "01-alpha", "bob").late_submission_penalty
            is None
        )
        # nbgrader's own export counts max(0, score - penalty): the same number as ours
        nbgrader_score = max(0.0, gb.find_submission("01-alpha", "ann").score - 1.5)
    with GradebookStore(course.db_url(), course_id=COURSE_ID) as store:
        scores = {(s.learner_id, s.notebook): s for s in store.scores()}
        assert (scores["ann", "01-alpha"].score, scores["ann", "01-alpha"].late_penalty) == (
            3.5,
            1.5,
        )
        assert scores["bob", "01-alpha"].score == 5
        assert store.graded("ann", "01-alpha").late_penalty == 1.5  # type: ignore[union-attr]
    assert nbgrader_score == 3.5
    rows = _csv(course)
    assert (rows["ann"]["01-alpha"], rows["ann"]["total"]) == ("3.5", "3.5")
    assert (rows["bob"]["01-alpha"], rows["bob"]["total"]) == ("5", "5")
    pages = course.output_dir / "feedback"
    page = (pages / "ann" / "01-alpha.html").read_text(encoding="utf-8")
    assert "late: 1.5 points deducted" in page
    assert _shown_scores(pages / "ann" / "01-alpha.html")[0] == "3.5"
    summary = pages / "ann" / "index.html"
    assert "late: 1.5 points deducted" in summary.read_text(encoding="utf-8")
    assert "3.5" in _shown_scores(summary) and "5" not in _shown_scores(summary)[1:]
    assert "late:" not in (pages / "bob" / "01-alpha.html").read_text(encoding="utf-8")


def test_a_manual_score_then_the_penalty_and_a_regrade_on_time_clears_it(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    folder_submission(subs / "submitted", "ann", {"01-alpha": answer("pass test-a1")})
    _grade(course, subs, {("ann", "01-alpha"): 1.0})  # 2 of 5 points, 1 late
    with Gradebook(course.db_url(), course_id=COURSE_ID) as gb:
        grade = gb.find_grade("test-a2", "01-alpha", "01-alpha", "ann")
        grade.manual_score = 2.5  # the instructor gives 2.5 for part 2 in formgrader
        gb.db.commit()
    with GradebookStore(course.db_url(), course_id=COURSE_ID) as store:
        refresh_feedback(
            store,
            load_catalog(course.source_dir),
            course_name="Test",
            out_dir=course.output_dir / "feedback",
        )
        assert [s.score for s in store.scores()] == [3.5]  # 2 + 2.5 manual - 1 late
    assert _shown_scores(course.output_dir / "feedback" / "ann" / "01-alpha.html")[0] == "3.5"
    # a new submission graded without a penalty (not late) records none: nothing lingers
    folder_submission(
        subs / "submitted", "ann", {"01-alpha": answer("pass test-a1", "half test-a2")}
    )
    _grade(course, subs, {})
    with GradebookStore(course.db_url(), course_id=COURSE_ID) as store:
        assert [(s.score, s.late_penalty) for s in store.scores()] == [(4.5, 0)]
