"""An older signed zip handed in again never replaces a newer one (issue 14, replay)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from rich.console import Console

from grader.pipeline.batch import render_summary
from grader.pipeline.config import Course
from tests.grader.pipeline.builders import answer, make_course, zip_submission
from tests.grader.pipeline.test_identity import _issue, grade, scores


def _two_signed_zips(course: Course, folder: Path) -> tuple[Path, Path]:
    issued = _issue(course, "ann,Ann,Lee,ann@example.org\n")
    older = zip_submission(folder / "old", "ann", {"01-alpha": answer()}, secret=issued["ann"])
    newer = zip_submission(
        folder / "new", "ann", {"01-alpha": answer("pass test-a1")}, secret=issued["ann"]
    )
    return older, newer


def test_a_replayed_older_signed_zip_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    older, newer = _two_signed_zips(course, tmp_path / "subs")
    kept = tmp_path / "kept.zip"
    shutil.copy(older, kept)  # what an attacker saved from an earlier e-mail
    assert grade(course, older).ok
    assert grade(course, newer).ok
    graded = scores(course)
    page = course.output_dir / "feedback" / "ann" / "01-alpha.html"
    page_before = page.read_bytes()

    summary = grade(course, kept)

    assert summary.items == []
    assert [r.reason for r in summary.rejected] == [
        "a replay: an older signed submission than the one already accepted for this "
        "learner; graded for nobody"
    ]
    assert scores(course) == graded
    assert page.read_bytes() == page_before


def test_in_one_batch_the_newest_signed_zip_counts_whatever_the_order(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    older, newer = _two_signed_zips(course, tmp_path / "subs")
    # the older zip sorts first and second: it is refused either way
    first = grade(course, newer, older)
    assert [r.reason.split(":")[0] for r in first.rejected] == ["a replay"]
    graded = scores(course)

    assert grade(course, newer).rejected == []  # the same zip again is not a replay
    assert scores(course) == graded


def test_a_course_without_secrets_says_which_ids_it_took_on_their_word(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    claimed = zip_submission(subs, "mallory", {"01-alpha": answer("pass test-a1")})
    output = io.StringIO()

    summary = grade(course, claimed)
    render_summary(summary, Console(file=output, width=300))

    assert summary.on_their_word == ["mallory"] == summary.to_dict()["on_their_word"]
    assert "WARNING: 1 learner id(s) taken on the learner's word" in output.getvalue()
    _issue(course, "ann,Ann,Lee,ann@example.org\n")  # once secrets exist, nothing is
    signed_only = grade(course, claimed)
    assert signed_only.on_their_word == [] and len(signed_only.unverified) == 1
