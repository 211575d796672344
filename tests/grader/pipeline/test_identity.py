"""Who a grade belongs to: look-alike ids, impersonating manifests, borrowed emails."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from rich.console import Console

from context_course.submit import has_secret, submit_workspace
from context_course.workspace import Workspace
from grader.core.results import NotebookResult, PartResult
from grader.pipeline.batch import BatchSummary, grade_submissions
from grader.pipeline.catalog import load_catalog
from grader.pipeline.config import Course
from grader.pipeline.dispatch import SerialExecutor
from grader.pipeline.errors import GradebookError, IntakeError, RosterError
from grader.pipeline.gradebook import GradebookStore
from grader.pipeline.identity import (
    SIGNATURE_NAME,
    SubmissionKeys,
    default_key_path,
    normalise_secret,
    skeleton,
)
from grader.pipeline.intake import MANIFEST_NAME, LearnerInfo
from grader.pipeline.manifest import validate_learner_id
from grader.pipeline.roster import (
    import_roster_csv,
    read_roster_csv,
    secrets_path,
    write_secrets_csv,
)
from tests.grader.pipeline.builders import (
    COURSE_ID,
    answer,
    folder_submission,
    make_course,
    notebook,
    rewrite_zip,
    write_notebook,
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


# ------------------------------------------------------------------ look-alike letters


@pytest.mark.parametrize(
    ("existing", "lookalike"),
    [("ada", "\u0430da"), ("olga", "\u03bflga"), ("paul", "\u0440aul"), ("bill", "biII")],
)
def test_a_look_alike_of_a_known_learner_is_refused(
    tmp_path: Path, existing: str, lookalike: str
) -> None:
    assert skeleton(existing) == skeleton(lookalike)
    course = make_course(tmp_path / "course")
    roster(course, f"{existing},A,B,{existing}@example.org\n")
    later = folder_submission(tmp_path / "b" / "submitted", lookalike, {"01-alpha": answer()})
    summary = grade(course, later)
    (rejection,) = summary.rejected
    assert rejection.learner_id == lookalike
    assert set(students(course)) == {existing}
    assert not (course.output_dir / "feedback" / lookalike).exists()


def test_a_roster_refuses_look_alike_ids() -> None:
    assert skeleton("ada") != skeleton("adam")
    assert skeleton("Ada") == skeleton("\uff41\uff44\uff41") == skeleton("\u0430da")


# ------------------------------------------------------------------ signed submissions


def _issue(course: Course, rows: str) -> dict[str, str]:
    """Import a roster and issue secrets, as `context-course roster import` does."""
    path = course.root / "roster.csv"
    path.write_text("id,first_name,last_name,email\n" + rows, encoding="utf-8")
    with GradebookStore(course.db_url(), course_id=COURSE_ID) as store:
        import_roster_csv(path, store)
    keys = SubmissionKeys.load_or_create(COURSE_ID, default_key_path(course.root))
    out = write_secrets_csv(read_roster_csv(path), keys, secrets_path(path))
    assert out.stat().st_mode & 0o077 == 0  # private to the instructor
    with out.open(encoding="utf-8") as handle:
        return {row["id"]: row["secret"] for row in csv.DictReader(handle)}


def test_secrets_are_per_learner_and_never_in_the_gradebook(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    issued = _issue(course, "ann,Ann,Lee,ann@example.org\nbob,Bob,B,bob@example.org\n")
    assert issued["ann"] != issued["bob"]
    assert _issue(course, "ann,Ann,Lee,ann@example.org\n")["ann"] == issued["ann"]  # stable
    database = (course.root / "gradebook.db").read_bytes()
    for secret in issued.values():
        assert secret.encode() not in database
        assert normalise_secret(secret).encode() not in database


def test_a_signed_zip_counts_and_unsigned_or_forged_ones_touch_nobody(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    issued = _issue(course, "ann,Ann,Lee,ann@example.org\nbob,Bob,B,bob@example.org\n")
    subs = tmp_path / "subs"
    honest = zip_submission(subs, "ann", {"01-alpha": answer("pass test-a1")}, secret=issued["ann"])
    assert grade(course, honest).ok
    before = scores(course)
    page = course.output_dir / "feedback" / "ann" / "01-alpha.html"
    page_before = page.read_bytes()
    attacks = [
        # unsigned, claiming ann with no email (the old overwrite)
        zip_submission(subs / "u", "ann", {"01-alpha": answer()}),
        # signed with bob's secret but naming ann
        zip_submission(subs / "b", "ann", {"01-alpha": answer()}, secret=issued["bob"]),
        # a made-up id
        zip_submission(subs / "m", "mallory", {"01-alpha": answer()}),
        # a made-up secret
        zip_submission(subs / "g", "ann", {"01-alpha": answer()}, secret="AAAA-BBBB-CCCC"),
    ]
    # ann's own zip, altered after it was signed (a notebook swapped, the hash updated)
    altered = zip_submission(subs / "a", "ann", {"01-alpha": answer()}, secret=issued["ann"])
    rewrite_zip(altered, lambda members: _retarget(members, "ann-altered"))
    attacks.append(altered)
    summary = grade(course, *attacks)
    assert len(summary.unverified) == len(attacks)
    assert summary.items == [] and not summary.ok
    assert scores(course) == before
    assert set(students(course)) == {"ann", "bob"}
    assert page.read_bytes() == page_before
    assert sorted(p.name for p in (course.output_dir / "feedback").iterdir()) == ["ann"]
    filed = sorted(p.suffix for p in (course.output_dir / "unverified").iterdir())
    assert filed == [".txt"] * len(attacks) + [".zip"] * len(attacks)
    assert all("graded for nobody" in r.reason for r in summary.unverified)


def _retarget(members: dict[str, bytes], learner: str) -> dict[str, bytes]:
    manifest = json.loads(members[MANIFEST_NAME])
    manifest["learner"]["id"] = learner
    members[MANIFEST_NAME] = json.dumps(manifest).encode()
    return members


def test_a_rejected_zip_claiming_a_learner_writes_nothing_on_their_page(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    first = zip_submission(subs / "1", "ann", {"01-alpha": answer("pass test-a1")})
    assert grade(course, first).ok  # an open course: no secrets issued
    index = course.output_dir / "feedback" / "ann" / "index.html"
    before = index.read_bytes()
    hostile = zip_submission(subs / "2", "ann", {"01-alpha": answer()})
    rewrite_zip(hostile, lambda m: {**m, "<b>owned</b>.txt": b"x"})  # an unlisted member
    summary = grade(course, hostile)
    (rejection,) = summary.rejected
    assert rejection.learner_id == "ann" and not rejection.proven
    assert str(rejection).startswith("unverified zip claiming 'ann'")
    assert index.read_bytes() == before
    assert scores(course) == {("ann", "01-alpha"): 2.0}


def test_submit_signs_with_the_remembered_secret_and_grading_accepts_it(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    issued = _issue(course, "ann,Ann,Lee,ann@example.org\n")
    root = tmp_path / "ws"
    for slug in ("01-alpha", "02-beta"):
        write_notebook(root / slug / f"{slug}.ipynb", notebook(slug, answer("pass test-a1")))
    ws = Workspace(
        root=root,
        course_id=COURSE_ID,
        course_version="t1",
        source="test",
        records={"01-alpha": {}, "02-beta": {}},
    )
    ws.save()
    submit_workspace(ws, learner_id="ann", secret=issued["ann"].lower(), output=tmp_path / "1.zip")
    assert has_secret(ws)
    assert (ws.state_dir / "learner.json").stat().st_mode & 0o077 == 0
    second, _ = submit_workspace(ws, output=tmp_path / "two.zip")  # remembered
    with zipfile.ZipFile(second) as archive:
        assert SIGNATURE_NAME in archive.namelist()
    summary = grade(course, second)
    assert summary.unverified == [] and summary.rejected == []
    assert {item.learner_id for item in summary.items} == {"ann"}
