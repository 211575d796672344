"""Who a grade belongs to: look-alike ids, impersonating manifests, borrowed emails."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from grader.core.results import NotebookResult, PartResult
from grader.pipeline.batch import BatchSummary, grade_submissions
from grader.pipeline.catalog import load_catalog
from grader.pipeline.config import Course
from grader.pipeline.dispatch import SerialExecutor
from grader.pipeline.errors import GradebookError, IntakeError, RosterError
from grader.pipeline.gradebook import GradebookStore
from grader.pipeline.intake import LearnerInfo
from grader.pipeline.manifest import validate_learner_id
from grader.pipeline.roster import import_roster_csv
from tests.grader.pipeline.builders import (
    COURSE_ID,
    answer,
    folder_submission,
    make_course,
    zip_submission,
)
from tests.grader.pipeline.fakes import FAKE


def grade(course: Course, *paths: Path) -> BatchSummary:
    return grade_submissions(
        list(paths),
        course=course,
        executor=SerialExecutor(FAKE),
        console=Console(file=io.StringIO()),
        show_progress=False,
    )


def roster(course: Course, text: str) -> None:
    path = course.root / "roster.csv"
    path.write_text("id,first_name,last_name,email\n" + text, encoding="utf-8")
    with GradebookStore(course.db_url(), course_id=COURSE_ID) as store:
        import_roster_csv(path, store)


def students(course: Course) -> dict[str, str]:
    with GradebookStore(course.db_url(), course_id=COURSE_ID) as store:
        return {s.id: s.email for s in store.students()}


def scores(course: Course) -> dict[tuple[str, str], float]:
    with GradebookStore(course.db_url(), course_id=COURSE_ID) as store:
        return {(r.learner_id, r.notebook): r.score for r in store.records()}


# ------------------------------------------------------------------ look-alike ids


@pytest.mark.parametrize("lookalike", ["ａｄａ", "ﬁona", "ａda"])
def test_compatibility_forms_of_letters_are_not_learner_ids(lookalike: str) -> None:
    with pytest.raises(IntakeError, match="look-alike characters"):
        validate_learner_id(lookalike)


def test_an_id_differing_only_in_case_from_a_known_learner_is_rejected(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    first = folder_submission(tmp_path / "a" / "submitted", "ada", {"01-alpha": answer()})
    grade(course, first)
    (feedback := course.output_dir / "feedback" / "ada" / "index.html").unlink()
    later = folder_submission(
        tmp_path / "b" / "submitted", "Ada", {"01-alpha": answer("pass test-a1")}
    )
    summary = grade(course, later)
    (rejection,) = summary.rejected
    assert rejection.learner_id == "Ada" and "differs only in letter case" in rejection.reason
    assert "'ada'" in rejection.reason
    assert scores(course) == {("ada", "01-alpha"): 0.0}  # ada's grade untouched
    assert set(students(course)) == {"ada"}
    # No feedback folder for "Ada": on macOS and Windows it would be ada's.
    assert not feedback.exists()
    assert [p.name for p in (course.output_dir / "feedback").iterdir()] == ["ada"]


def test_two_ids_differing_only_in_case_in_one_batch_grade_the_first_only(
    tmp_path: Path,
) -> None:
    course = make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    folder = folder_submission(subs / "submitted", "bob", {"01-alpha": answer()})
    zipped = zip_submission(subs, "BOB", {"02-beta": answer("pass test-b1")})
    summary = grade(course, folder, zipped)
    assert [r.learner_id for r in summary.rejected] == ["BOB"]
    assert set(students(course)) == {"bob"}


def test_the_gradebook_itself_refuses_a_look_alike_learner(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    catalog = load_catalog(course.source_dir)
    result = NotebookResult(
        notebook="02-beta", score=5, max_score=5, parts=(PartResult("test-b1", 5, 5, "ok"),)
    )
    with GradebookStore(course.db_url(), course_id=COURSE_ID) as store:
        store.register_catalog(catalog)

        def record(learner: str) -> None:
            store.record(
                result,
                learner=LearnerInfo(learner),
                source=catalog["02-beta"],
                submission_hash="c" * 64,
                course_version="t1",
                grader_version="1",
            )

        record("cy")
        with pytest.raises(GradebookError, match="differs only in letter case"):
            record("CY")
        assert [s.id for s in store.students()] == ["cy"]


# ------------------------------------------------------------------ emails


def test_a_zip_naming_a_learner_with_another_email_is_rejected(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    roster(course, "bob,Bob,Builder,bob@example.org\n")
    honest = zip_submission(tmp_path / "h", "bob", {"02-beta": answer("pass test-b1")},
                            email="Bob@Example.org")  # fmt: skip
    assert grade(course, honest).ok  # same mailbox, other letter case
    forged = zip_submission(tmp_path / "m", "bob", {"02-beta": answer()}, email="m@evil.test")
    summary = grade(course, forged)
    (rejection,) = summary.rejected
    assert (
        "on record with another email" in rejection.reason and "roster import" in rejection.reason
    )
    assert scores(course) == {("bob", "02-beta"): 5.0}  # bob's grade was not replaced
    assert students(course) == {"bob": "bob@example.org"}


def test_a_new_learner_cannot_take_another_learners_email(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    roster(course, "ann,Ann,Lee,ann@example.org\n")
    zipped = zip_submission(tmp_path, "mallory", {"01-alpha": answer()}, email="ANN@example.org")
    summary = grade(course, zipped)
    assert summary.ok  # graded: the work counts, the borrowed identity does not
    assert students(course) == {"ann": "ann@example.org", "mallory": ""}


# ------------------------------------------------------------------ roster


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("ann,A,L,a@x.org\nANN,B,M,b@x.org\n", "ids ignore letter case"),
        ("ann,A,L,same@x.org\nbob,B,M,Same@x.org\n", "is already 'ann''s (line 2)"),
    ],
)
def test_a_roster_with_look_alike_ids_or_a_shared_email_imports_nothing(
    tmp_path: Path, rows: str, message: str
) -> None:
    course = make_course(tmp_path / "course")
    with pytest.raises(RosterError, match="line 3") as caught:
        roster(course, rows)
    assert message in str(caught.value)
    assert students(course) == {}


def test_a_roster_is_checked_against_the_learners_already_known(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    roster(course, "ann,Ann,Lee,ann@example.org\n")
    with pytest.raises(RosterError, match="from 'ann', already in the gradebook"):
        roster(course, "Ann,Ann,Lee,ann2@example.org\n")
    with pytest.raises(RosterError, match="would belong to both 'ann' and 'bob'"):
        roster(course, "bob,Bob,B,ann@example.org\n")
    roster(course, "ann,Ann,Lee,new@example.org\nbob,Bob,B,ann@example.org\n")  # a swap is fine
    assert students(course) == {"ann": "new@example.org", "bob": "ann@example.org"}
