"""Gradebook: nbgrader's own API reads what we write; manual scores win; the roster rules."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from grader.core.results import CheckResult, NotebookResult, PartResult
from grader.pipeline.catalog import Catalog, load_catalog
from grader.pipeline.errors import GradebookError, RosterError
from grader.pipeline.gradebook import GRADED_NOTEBOOKS_TABLE, GradebookStore, split_name
from grader.pipeline.intake import LearnerInfo
from grader.pipeline.roster import import_roster_csv
from tests.grader.pipeline.builders import COURSE_ID, make_course


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return load_catalog(make_course(tmp_path / "course").source_dir)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gradebook.db'}"


def result(notebook: str, points: dict[str, tuple[float, float]]) -> NotebookResult:
    parts = tuple(
        PartResult(
            gid,
            got,
            maximum,
            "ok",
            (CheckResult("check", "visible", got == maximum, got, maximum),),
        )
        for gid, (got, maximum) in points.items()
    )
    return NotebookResult(
        notebook=notebook,
        score=sum(p.points for p in parts),
        max_score=sum(p.max_points for p in parts),
        parts=parts,
    )


def record(
    store: GradebookStore,
    catalog: Catalog,
    learner: LearnerInfo,
    res: NotebookResult,
    submission_hash: str = "a" * 64,
) -> None:
    store.record(
        res,
        learner=learner,
        source=catalog[res.notebook],
        submission_hash=submission_hash,
        course_version="t1",
        grader_version="9.9",
    )


def test_nbgrader_gradebook_reads_assignments_cells_and_scores(
    catalog: Catalog, db_url: str
) -> None:
    with GradebookStore(db_url, course_id=COURSE_ID) as store:
        store.register_catalog(catalog)
        store.register_catalog(catalog)  # idempotent
        record(
            store,
            catalog,
            LearnerInfo("ann", "Ann Lee", "ann@example.org"),
            result("01-alpha", {"test-a1": (2, 2), "test-a2": (1.5, 3)}),
        )
    with Gradebook(db_url, course_id=COURSE_ID) as gb:
        assert [a.name for a in gb.assignments] == ["01-alpha", "02-beta"]
        cells = {c.name: c.max_score for c in gb.find_notebook("01-alpha", "01-alpha").grade_cells}
        assert cells == {"test-a1": 2.0, "test-a2": 3.0}
        assert [s.name for s in gb.find_notebook("01-alpha", "01-alpha").solution_cells] == [
            "answer-01-alpha"
        ]
        student = gb.find_student("ann")
        assert (student.first_name, student.last_name, student.email) == (
            "Ann",
            "Lee",
            "ann@example.org",
        )
        nb = gb.find_submission_notebook("01-alpha", "01-alpha", "ann")
        assert nb.score == pytest.approx(3.5)
        assert nb.max_score == pytest.approx(5.0)
        assert nb.needs_manual_grade is False
        grade = gb.find_grade("test-a2", "01-alpha", "01-alpha", "ann")
        assert grade.auto_score == pytest.approx(1.5)
        assert grade.manual_score is None
        assert gb.find_submission("01-alpha", "ann").score == pytest.approx(3.5)
        students = {d["id"]: d for d in gb.student_dicts()}
        assert students["ann"]["score"] == pytest.approx(3.5)


def test_manual_scores_win_and_survive_regrading(catalog: Catalog, db_url: str) -> None:
    with GradebookStore(db_url, course_id=COURSE_ID) as store:
        store.register_catalog(catalog)
        record(store, catalog, LearnerInfo("ann"), result("02-beta", {"test-b1": (0, 5)}))
    with Gradebook(db_url, course_id=COURSE_ID) as gb:  # an instructor in formgrader
        grade = gb.find_grade("test-b1", "02-beta", "02-beta", "ann")
        grade.manual_score = 4.0
        gb.db.commit()
    with GradebookStore(db_url, course_id=COURSE_ID) as store:
        record(
            store,
            catalog,
            LearnerInfo("ann"),
            result("02-beta", {"test-b1": (1, 5)}),
            submission_hash="b" * 64,
        )
        (score,) = store.scores()
        assert (score.score, score.max_score, score.manual) == (4.0, 5.0, True)
        assert store.graded("ann", "02-beta").score == 1.0  # the automatic score of this run
    with Gradebook(db_url, course_id=COURSE_ID) as gb:
        grade = gb.find_grade("test-b1", "02-beta", "02-beta", "ann")
        assert (grade.auto_score, grade.manual_score, grade.score) == (1.0, 4.0, 4.0)


def test_cc_table_has_one_row_per_learner_and_notebook(catalog: Catalog, db_url: str) -> None:
    with GradebookStore(db_url, course_id=COURSE_ID) as store:
        store.register_catalog(catalog)
        for attempt in ("c", "d"):
            record(
                store,
                catalog,
                LearnerInfo("ann"),
                result("02-beta", {"test-b1": (5, 5)}),
                submission_hash=attempt * 64,
            )
        rows = store.records()
        assert len(rows) == 1
        row = rows[0]
        assert (row.learner_id, row.notebook, row.submission_hash) == ("ann", "02-beta", "d" * 64)
        assert row.source_hash == catalog["02-beta"].sha256
        assert (row.score, row.max_score, row.course_version, row.grader_version) == (
            5.0,
            5.0,
            "t1",
            "9.9",
        )
        assert row.result.parts[0].grade_id == "test-b1"
        assert row.graded_at.tzinfo is not None
        columns = {
            c["name"]
            for c in __import__("sqlalchemy")
            .inspect(store.engine)
            .get_columns(GRADED_NOTEBOOKS_TABLE)
        }
        assert columns == {
            "learner_id",
            "notebook",
            "submission_hash",
            "source_hash",
            "score",
            "max_score",
            "course_version",
            "grader_version",
            "result_json",
            "graded_at",
        }


def test_a_part_the_core_did_not_report_scores_zero(catalog: Catalog, db_url: str) -> None:
    with GradebookStore(db_url, course_id=COURSE_ID) as store:
        store.register_catalog(catalog)
        record(store, catalog, LearnerInfo("ann"), result("01-alpha", {"test-a1": (2, 2)}))
    with Gradebook(db_url, course_id=COURSE_ID) as gb:
        grade = gb.find_grade("test-a2", "01-alpha", "01-alpha", "ann")
        assert (grade.auto_score, grade.needs_manual_grade) == (0.0, False)


def test_failed_write_leaves_nothing_behind(catalog: Catalog, db_url: str) -> None:
    with GradebookStore(db_url, course_id=COURSE_ID) as store:
        # Not registered: the write must fail as a whole, student included.
        with pytest.raises(GradebookError, match="not registered"):
            record(store, catalog, LearnerInfo("ann"), result("01-alpha", {"test-a1": (2, 2)}))
        assert store.students() == [] and store.records() == []


def test_bad_database_url_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GradebookError, match="not a database URL"):
        GradebookStore("this is not a url", course_id=COURSE_ID)
    with pytest.raises(GradebookError, match="cannot open the gradebook"):
        GradebookStore(f"sqlite:///{tmp_path}/missing/dir/x.db", course_id=COURSE_ID)


def test_roster_import_creates_updates_and_wins_over_proposals(
    catalog: Catalog, db_url: str, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "id,first_name,last_name,email\nann,Ann,Lee,ann@example.org\nbob,Bob,,\n",
        encoding="utf-8",
    )
    with GradebookStore(db_url, course_id=COURSE_ID) as store:
        store.register_catalog(catalog)
        first = import_roster_csv(roster, store)
        assert (first.added, first.updated) == (["ann", "bob"], [])
        record(
            store,
            catalog,
            LearnerInfo("ann", "Mallory Evil", "evil@example.org"),
            result("02-beta", {"test-b1": (5, 5)}),
        )
        record(
            store,
            catalog,
            LearnerInfo("cy", "Cy Young", "cy@example.org"),
            result("02-beta", {"test-b1": (5, 5)}),
        )
        roster.write_text(
            "email,id,first_name,last_name\nann@new.org,ann,Ann,Lee\n", encoding="utf-8"
        )
        second = import_roster_csv(roster, store)
        assert (second.added, second.updated, second.unchanged) == ([], ["ann"], [])
        people = {s.id: s for s in store.students()}
    assert (people["ann"].first_name, people["ann"].email) == ("Ann", "ann@new.org")
    assert (people["cy"].first_name, people["cy"].last_name) == ("Cy", "Young")
    assert people["bob"].email == ""


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "is empty"),
        ("id,first_name\nann,Ann\n", "missing column(s) last_name, email"),
        ("id,first_name,last_name,email\na/b,A,B,\n", "line 2: learner id 'a/b'"),
        ("id,first_name,last_name,email\nann,A,B,\nann,C,D,\n", "line 3: learner 'ann' is"),
        ("id,first_name,last_name,email\nann,A,B,nope\n", "line 2: 'nope' is not an email"),
    ],
)
def test_bad_roster_is_rejected_with_its_line_and_imports_nothing(
    db_url: str, tmp_path: Path, content: str, expected: str
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("id,first_name,last_name,email\nok,O,K,\n" * 0 + content, encoding="utf-8")
    with GradebookStore(db_url, course_id=COURSE_ID) as store:
        with pytest.raises(RosterError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            import_roster_csv(roster, store)
        assert store.students() == []


def test_split_name() -> None:
    assert split_name("Ada King Lovelace") == ("Ada King", "Lovelace")
    assert split_name("Plato") == ("Plato", "")
    assert split_name("  ") == ("", "")


@pytest.mark.postgres
def test_postgresql_gradebook_by_url(catalog: Catalog, postgres_url: str) -> None:
    import psycopg

    name = f"gradebook_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    with GradebookStore(url, course_id=COURSE_ID) as store:
        store.register_catalog(catalog)
        record(store, catalog, LearnerInfo("ann"), result("02-beta", {"test-b1": (3, 5)}))
        assert store.graded("ann", "02-beta").score == 3.0
    with Gradebook(url, course_id=COURSE_ID) as gb:
        assert gb.find_submission_notebook("02-beta", "02-beta", "ann").score == 3.0


@pytest.mark.slow
def test_nbgrader_export_reads_our_gradebook(catalog: Catalog, db_url: str, tmp_path: Path) -> None:
    with GradebookStore(db_url, course_id=COURSE_ID) as store:
        store.register_catalog(catalog)
        record(
            store,
            catalog,
            LearnerInfo("ann", "Ann Lee", "ann@example.org"),
            result("01-alpha", {"test-a1": (2, 2), "test-a2": (1.5, 3)}),
        )
    out = tmp_path / "export.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nbgrader",
            "export",
            f"--CourseDirectory.root={tmp_path}",
            f"--CourseDirectory.db_url={db_url}",
            f"--CourseDirectory.course_id={COURSE_ID}",
            f"--CsvExportPlugin.to={out}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = {
        (r["assignment"], r["student_id"]): r for r in csv.DictReader(io.StringIO(out.read_text()))
    }
    ann = rows[("01-alpha", "ann")]
    assert (float(ann["score"]), float(ann["max_score"]), ann["email"]) == (
        3.5,
        5.0,
        "ann@example.org",
    )


def test_points_the_source_does_not_give_are_never_recorded(catalog: Catalog, db_url: str) -> None:
    # A notebook whose metadata claims other points: whatever the core reports, the
    # gradebook counts only the source's parts, each at most its points there.
    claimed = result(
        "01-alpha",
        {"test-a1": (20, 20), "test-a2": (-4, 3), "learner-added-cell": (1000, 1000)},
    )
    assert claimed.score == 1016
    with GradebookStore(db_url, course_id=COURSE_ID) as store:
        store.register_catalog(catalog)
        record(store, catalog, LearnerInfo("ann"), claimed)
        (row,) = store.records()
        assert (row.score, row.max_score) == (2.0, 5.0)
        (score,) = store.scores()
        assert (score.score, score.max_score) == (2.0, 5.0)


def test_grades_csv_defuses_formulas_in_learner_text(
    catalog: Catalog, db_url: str, tmp_path: Path
) -> None:
    from grader.pipeline.batch import write_grades_csv

    names = {"eve": '=HYPERLINK("http://x.test") Eve', "gus": "＝1+1 Gus", "hal": "Hal O'Neil"}
    with GradebookStore(db_url, course_id=COURSE_ID) as store:
        store.register_catalog(catalog)
        for learner, name in {**names, "fay": "Fay"}.items():
            beta = result("02-beta", {"test-b1": (5, 5)})
            record(store, catalog, LearnerInfo(learner, name), beta)
    with Gradebook(db_url, course_id=COURSE_ID) as gb:  # edited by hand, not stripped
        gb.update_or_create_student("fay", first_name=" =1+1", last_name="\t@SUM(A1)")
    with GradebookStore(db_url, course_id=COURSE_ID) as store:
        path = write_grades_csv(store, catalog, tmp_path / "grades.csv")
    rows = {r["learner_id"]: r for r in csv.DictReader(io.StringIO(path.read_text("utf-8")))}
    for learner in ("eve", "fay", "gus"):
        assert rows[learner]["first_name"].startswith("'"), rows[learner]
    assert rows["fay"]["last_name"].startswith("'")
    assert rows["hal"]["first_name"] == "Hal"
