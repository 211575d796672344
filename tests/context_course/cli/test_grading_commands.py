"""``context-course grade``, ``feedback``, ``report``, ``roster import``, run through ``main``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

import context_course.cli.grading as grading_cli
from context_course.cli import main
from grader.pipeline.config import load_course
from grader.pipeline.gradebook import GradebookStore
from tests.conftest import free_port
from tests.grader.pipeline.builders import (
    COURSE_ID,
    answer,
    folder_submission,
    make_course,
    zip_submission,
)
from tests.grader.pipeline.fakes import FAKE


@pytest.fixture
def course_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(grading_cli, "GRADE_FUNCTION", FAKE)
    return make_course(tmp_path / "course", workers=1).root


@pytest.fixture
def subs(tmp_path: Path) -> Path:
    folder = tmp_path / "subs"
    folder_submission(folder / "submitted", "ann", {"01-alpha": answer("pass test-a1")})
    zip_submission(folder, "bob", {"02-beta": answer("pass test-b1")}, name="Bob Builder")
    return folder


def test_grade_json_then_rerun_is_a_no_op_and_force_regrades(
    course_dir: Path, subs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["grade", str(subs), "--course", str(course_dir), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["counts"] == {
        "graded": 2,
        "unchanged": 0,
        "rejected": 0,
        "unverified": 0,
        "failed": 0,
    }
    assert {(i["learner_id"], i["score"]) for i in first["items"]} == {("ann", 2.0), ("bob", 5.0)}
    assert main(["grade", str(subs), "--course", str(course_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["unchanged"] == 2
    assert main(["grade", str(subs), "--course", str(course_dir), "--json", "--force"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["graded"] == 2
    grades = (course_dir / "output" / "grades.csv").read_text(encoding="utf-8")
    rows = {r["learner_id"]: r for r in csv.DictReader(io.StringIO(grades))}
    assert (rows["ann"]["01-alpha"], rows["bob"]["02-beta"], rows["bob"]["last_name"]) == (
        "2",
        "5",
        "Builder",
    )
    assert (course_dir / "output" / "feedback" / "ann" / "01-alpha.html").is_file()


def test_grade_prints_a_summary_table_and_exits_1_on_rejections(
    course_dir: Path, subs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (subs / "broken.zip").write_bytes(b"not a zip")
    code = main(["grade", str(subs), "--course", str(course_dir), "--workers", "1"])
    out = capsys.readouterr().out
    assert code == 1
    assert "Grading summary" in out and "ann" in out and "bob" in out
    assert any(line.startswith("rejected: unknown learner (") for line in out.splitlines())
    assert "graded 2, unchanged 0, rejected 1, failed 0" in out


def test_grade_with_another_database_url(
    course_dir: Path, subs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    assert main(["grade", str(subs), "--course", str(course_dir), "--db", url]) == 0
    with GradebookStore(url, course_id=COURSE_ID) as store:
        assert [r.learner_id for r in store.records()] == ["ann", "bob"]
    assert not (course_dir / "gradebook.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["grade", "nowhere"], "nowhere: no such file or folder"),
        (["grade", "{subs}", "--workers", "0"], "--workers must be at least 1"),
        (["grade", "{subs}", "--timeout", "-1"], "--timeout must be a positive"),
        (["grade", "{subs}", "--db", "not a url"], "is not a database URL"),
        (["report", "--db", "nope://x"], "not a database URL"),
        (["report", "--db", "sqlite:////nonexistent-folder/gb.db"], "cannot open the gradebook"),
        (["report", "--db", "postgresql://nobody@127.0.0.1:9/x"], "cannot open the gradebook"),
        (["roster", "import", "missing.csv"], "missing.csv does not exist"),
        (["roster", "import", "{subs}"], "is a folder, not a CSV file"),
        (["roster", "import", "{subs}/bob.zip"], "is not UTF-8 text"),
    ],
)
def test_mistakes_are_one_line_errors(
    course_dir: Path,
    subs: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    argv = [a.replace("{subs}", str(subs)) for a in args]
    assert main([*argv, "--course", str(course_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err
    assert len(err.splitlines()) == 1


def test_commands_outside_a_course_folder_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report"]) == 2
    assert "no course.toml" in capsys.readouterr().err


def test_report_writes_the_class_report(
    course_dir: Path, subs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["grade", str(subs), "--course", str(course_dir)]) == 0
    capsys.readouterr()
    assert main(["report", "--course", str(course_dir)]) == 0
    assert "class report: " in capsys.readouterr().out
    html = (course_dir / "output" / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html and "Adding two numbers" in html


def test_roster_import(
    course_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "id,first_name,last_name,email\nann,Ann,Lee,ann@example.org\n", encoding="utf-8"
    )
    assert main(["roster", "import", str(roster), "--course", str(course_dir)]) == 0
    assert "1 added, 0 updated, 0 unchanged" in capsys.readouterr().out
    roster.write_text("id,first_name,last_name,email\nann/x,A,B,\n", encoding="utf-8")
    assert main(["roster", "import", str(roster), "--course", str(course_dir)]) == 2
    assert "line 2: learner id 'ann/x'" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["grade"], ["feedback"], ["report"], ["roster", "import"]])
def test_every_command_has_help_with_an_example(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--help"]) == 0
    assert "Example: " in capsys.readouterr().out


@pytest.mark.slow
def test_an_unreachable_configured_scheduler_is_one_line(
    course_dir: Path, subs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    toml = course_dir / "course.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8") + f'scheduler = "{address}"\n', encoding="utf-8"
    )
    assert main(["grade", str(subs), "--course", str(course_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: cannot reach the Dask scheduler at {address}")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty; expected a header id,first_name,last_name,email"),
        ("name,mail\nann,a@x.org\n", "line 1: missing column(s) id, first_name, last_name, email"),
        ("id,first_name,last_name,email\nann,Ann\n", "line 2: expected 4 columns"),
        (
            "id,first_name,last_name,email\nann,A\x00,Lee,a@x.org\n",
            "line 2: first_name is not a short line",
        ),
        ("id,first_name,last_name,email\nann,Ann,Lee,not-mail\n", "is not an email address"),
    ],
)
def test_a_bad_roster_csv_is_one_line_and_imports_nothing(
    course_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    message: str,
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(content, encoding="utf-8")
    assert main(["roster", "import", str(roster), "--course", str(course_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1
    with GradebookStore(f"sqlite:///{course_dir / 'gradebook.db'}", course_id=COURSE_ID) as store:
        assert store.students() == []


def test_an_unwritable_output_folder_is_one_line(
    course_dir: Path, subs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (course_dir / "output").write_text("a file where the output folder should be")
    assert main(["grade", str(subs), "--course", str(course_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "Not a directory" in err and len(err.splitlines()) == 1
    assert "grades already recorded stay in the gradebook" in err
    assert main(["report", "--course", str(course_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot write the class report") and len(err.splitlines()) == 1


def test_an_unreadable_course_toml_is_one_line(
    course_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    read_text = Path.read_text

    def refuse(path: Path, *args: object, **kwargs: object) -> str:
        if path.name == "course.toml":  # as chmod 000 would, for a user other than root
            raise PermissionError(13, "Permission denied", str(path))
        return read_text(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", refuse)
    assert main(["report", "--course", str(course_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "course.toml: Permission denied" in err


def test_feedback_rerenders_manual_scores_without_grading(
    course_dir: Path, subs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["grade", str(subs), "--course", str(course_dir)]) == 0
    capsys.readouterr()
    assert main(["feedback", "--course", str(course_dir)]) == 0
    assert "feedback: 0 pages updated for 2 learners in " in capsys.readouterr().out
    # A manual score entered through nbgrader's own API, as formgrader does.
    with Gradebook(load_course(course_dir).db_url(), course_id=COURSE_ID) as gb:
        gb.find_grade("test-a2", "01-alpha", "01-alpha", "ann").manual_score = 3.0
        gb.db.commit()
    assert main(["feedback", "--learner", "bob", "--course", str(course_dir)]) == 0
    assert "feedback: 0 pages updated for 1 learner in " in capsys.readouterr().out
    assert main(["feedback", "--learner", "ann", "--course", str(course_dir)]) == 0
    assert "feedback: 2 pages updated for 1 learner in " in capsys.readouterr().out
    page = (course_dir / "output" / "feedback" / "ann" / "01-alpha.html").read_text("utf-8")
    assert "adjusted by your instructor" in page and ">5<" in page
    assert main(["feedback", "--learner", "nobody", "--course", str(course_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: learner 'nobody' has no graded notebook in the gradebook"
