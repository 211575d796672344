"""The learner commands (lab, submit, check, progress) run in-process through ``main``.

Every error path must end in one ``error: …`` line and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from context_course import workspace as workspace_module
from context_course.cli import main
from context_course.workspace import open_workspace
from tests.learner_course import SOLVED_ADD, adding_notebook, make_course, write_notebook

Launch = tuple[list[str], Path, Mapping[str, str] | None]


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return make_course(tmp_path / "course")


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch) -> list[Launch]:
    """Record the JupyterLab command, folder and environment instead of starting a server."""
    calls: list[Launch] = []

    def fake_start(argv: list[str], cwd: Path, env: Mapping[str, str] | None = None) -> int:
        calls.append((argv, cwd, env))
        return 0

    monkeypatch.setattr("context_course.cli.learner.start_lab", fake_start)
    return calls


def _flat(text: str) -> str:
    """Rich's boxed usage errors as one line of words."""
    return " ".join(text.replace("│", " ").split())


def _one_error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def workspace(course: Path, tmp_path: Path, launched: list[Launch]) -> Path:
    root = tmp_path / "ws"
    assert main(["lab", "--from", str(course), "--workspace", str(root), "--no-browser"]) == 0
    return root


# --------------------------------------------------------------------------- lab


def test_lab_creates_the_workspace_and_starts_jupyterlab_there(
    course: Path,
    tmp_path: Path,
    launched: list[Launch],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "ws"
    code = main(["lab", "--from", str(course), "-w", str(root), "--port", "8899", "--no-browser"])
    out = capsys.readouterr().out
    assert code == 0
    assert "01-adding: added" in out and "02-words: added" in out
    assert open_workspace(root).slugs == ["01-adding", "02-words"]
    ((argv, cwd, _env),) = launched
    assert cwd == root.resolve()
    assert f"--ServerApp.root_dir={root.resolve()}" in argv
    assert "--port=8899" in argv and "--no-browser" in argv


def test_lab_hides_nbgrader_instructor_ui_in_its_own_session_config(
    course: Path,
    tmp_path: Path,
    launched: list[Launch],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "/elsewhere")
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "my-settings"))
    root = tmp_path / "ws"
    assert main(["lab", "--from", str(course), "-w", str(root), "--no-browser"]) == 0
    ((_argv, _cwd, env),) = launched
    assert env is not None
    session = root.resolve() / ".context-course" / "jupyter-config"
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(session), "/elsewhere"]
    assert env["JUPYTER_CONFIG_DIR"] == str(tmp_path / "my-settings")  # learner's settings kept
    page = json.loads((session / "labconfig" / "page_config.json").read_text())
    assert page == {"disabledExtensions": {"@jupyter/nbgrader": True}}
    server = json.loads((session / "jupyter_server_config.json").read_text())
    assert (
        server["ServerApp"]["jpserver_extensions"]["nbgrader.server_extensions.formgrader"] is False
    )
    assert not (tmp_path / "my-settings").exists()  # nothing written to the learner's settings


def test_lab_in_the_current_folder_uses_the_default_workspace(
    course: Path,
    tmp_path: Path,
    launched: list[Launch],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["lab", "--from", str(course)]) == 0
    assert (tmp_path / "context-course-workspace/01-adding/01-adding.ipynb").is_file()
    # run again from inside the workspace: the same workspace is used, work is kept
    mine = tmp_path / "context-course-workspace/01-adding/01-adding.ipynb"
    write_notebook(adding_notebook(add_body=SOLVED_ADD), mine)
    monkeypatch.chdir(tmp_path / "context-course-workspace" / "01-adding")
    assert main(["lab", "--from", str(course)]) == 0
    assert "return a + b" in mine.read_text()
    assert not (tmp_path / "context-course-workspace/01-adding/context-course-workspace").exists()
    assert len(launched) == 2 and "--no-browser" not in launched[0][0]


def test_lab_reports_a_jupyterlab_failure(
    course: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("context_course.cli.learner.start_lab", lambda argv, cwd, env=None: 3)
    assert main(["lab", "--from", str(course), "-w", str(tmp_path / "ws")]) == 3
    assert _one_error_line(capsys.readouterr().err) == "error: JupyterLab exited with code 3"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--from", "{tmp}/missing"], "is not a folder"),
        (["--from", "{tmp}/empty"], "holds no learner notebooks"),
    ],
)
def test_lab_errors_are_one_line(
    args: list[str],
    expected: str,
    course: Path,
    tmp_path: Path,
    launched: list[Launch],
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.txt").write_text("x")
    argv = ["lab", *(a.format(tmp=tmp_path, course=course) for a in args)]
    assert main(argv) != 0
    assert expected in _one_error_line(capsys.readouterr().err)
    assert launched == []


@pytest.mark.parametrize(
    ("args", "shown"),
    [(["--port", "70000"], "65535"), (["-w", "{tmp}/file.txt"], "is a file")],
)
def test_lab_bad_flags_are_usage_errors(
    args: list[str],
    shown: str,
    course: Path,
    tmp_path: Path,
    launched: list[Launch],
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "file.txt").write_text("x")
    argv = ["lab", "--from", str(course), *(a.format(tmp=tmp_path) for a in args)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and shown in _flat(err)
    assert launched == []


def test_lab_outside_any_course_without_a_shipped_course(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    launched: list[Launch],
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(workspace_module, "shipped_course_root", lambda: None)
    assert main(["lab"]) != 0
    assert "no course found" in _one_error_line(capsys.readouterr().err)


# --------------------------------------------------------------------------- submit


def test_submit_bundles_the_workspace(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_notebook(adding_notebook(add_body=SOLVED_ADD), workspace / "01-adding/01-adding.ipynb")
    capsys.readouterr()
    out_file = tmp_path / "ada.zip"
    code = main(
        [
            "submit",
            "--id",
            "ada",
            "--name",
            "Ada",
            "--email",
            "ada@example.org",
            "-o",
            str(out_file),
            "-w",
            str(workspace),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert f"wrote {out_file}" in captured.out
    assert "02-words: not started" in captured.err
    with zipfile.ZipFile(out_file) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["learner"]["email"] == "ada@example.org"
    assert [n["name"] for n in manifest["notebooks"]] == ["01-adding", "02-words"]


def test_submit_run_from_inside_the_workspace_writes_beside_it(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace / "01-adding")
    assert main(["submit", "--id", "ada"]) == 0
    assert (workspace.parent / "tiny-course-ada.zip").is_file()
    assert list(workspace.rglob("*.zip")) == []


def test_submit_run_from_elsewhere_also_writes_beside_the_workspace(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "elsewhere"
    here.mkdir()
    monkeypatch.chdir(here)
    assert main(["submit", "--id", "ada", "-w", str(workspace)]) == 0
    assert (workspace.parent / "tiny-course-ada.zip").is_file()
    assert list(here.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "pass --id"),
        (["--id", "a/b"], "path separator"),
        (["--id", "ada", "-o", "{ws}/inside.zip"], "inside the workspace"),
        (["--id", "ada", "-o", "{tmp}/x.txt"], "must end in .zip"),
        (["--id", "ada", "-o", "{tmp}/file.txt/x.zip"], "cannot write"),
    ],
)
def test_submit_errors_are_one_line(
    args: list[str],
    expected: str,
    workspace: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    (tmp_path / "file.txt").write_text("x")
    argv = ["submit", "-w", str(workspace), *(a.format(ws=workspace, tmp=tmp_path) for a in args)]
    assert main(argv) != 0
    assert expected in _one_error_line(capsys.readouterr().err)


def test_submit_without_a_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["submit", "--id", "ada"]) != 0
    assert "run `context-course lab` first" in _one_error_line(capsys.readouterr().err)
    assert main(["submit", "--id", "ada", "-w", str(tmp_path)]) != 0
    assert "not a context-course workspace" in _one_error_line(capsys.readouterr().err)


def test_unknown_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["submit", "--bogus"]) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("command", ["lab", "submit", "check", "progress", "demo"])
def test_help_has_an_example(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    assert f"context-course {command}" in capsys.readouterr().out


# --------------------------------------------------------------------------- check, progress


@pytest.mark.slow
def test_check_runs_the_saved_notebook_and_records_progress(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_notebook(adding_notebook(add_body=SOLVED_ADD), workspace / "01-adding/01-adding.ipynb")
    capsys.readouterr()
    code = main(["check", "1", "-w", str(workspace), "--json"])
    results = json.loads(capsys.readouterr().out)
    assert code == 1  # part 2 is not solved
    (result,) = results
    parts = {p["grade_id"]: p for p in result["parts"]}
    assert parts["part1-tests"]["points"] == 10
    assert [c["passed"] for c in parts["part1-tests"]["checks"]] == [True, True]
    assert parts["part2-tests"]["checks"][0]["message"].startswith("not attempted yet")

    assert main(["progress", "-w", str(workspace), "--json"]) == 0
    state = json.loads(capsys.readouterr().out)
    assert (state["parts_passing"], state["parts_total"]) == (1, 3)
    assert state["notebooks"][0]["points_passing"] == 10

    assert main(["progress", "-w", str(workspace)]) == 0
    out = capsys.readouterr().out
    assert "1 of 3 parts pass locally" in out and "hidden tests run at grading" in out


@pytest.mark.slow
def test_check_shows_a_table(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["check", "02-words", "-w", str(workspace)]) == 1
    out = capsys.readouterr().out
    assert "02-words: visible tests" in out
    assert "1 visible check(s) fail" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["check", "9"], "no notebook '9' in this workspace; choose one of 1, 2"),
        (["check", "words"], "no notebook 'words'"),
    ],
)
def test_check_errors_are_one_line(
    args: list[str], expected: str, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main([*args, "-w", str(workspace)]) != 0
    assert expected in _one_error_line(capsys.readouterr().err)


def test_check_a_deleted_notebook(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workspace / "02-words/02-words.ipynb").unlink()
    capsys.readouterr()
    assert main(["check", "2", "-w", str(workspace)]) != 0
    assert "is missing; run `context-course lab`" in _one_error_line(capsys.readouterr().err)


def test_check_a_corrupt_notebook(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workspace / "02-words/02-words.ipynb").write_text("{oops")
    capsys.readouterr()
    assert main(["check", "2", "-w", str(workspace)]) != 0
    assert "not a readable JSON notebook" in _one_error_line(capsys.readouterr().err)


def test_progress_and_check_need_a_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for command in ("check", "progress"):
        assert main([command]) != 0
        assert "no workspace" in _one_error_line(capsys.readouterr().err)


def test_progress_before_any_check(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["progress", "-w", str(workspace)]) == 0
    out = capsys.readouterr().out
    assert "not checked yet" in out and "0 of 3 parts pass locally" in out


def test_every_progress_column_has_a_label(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one line per row: the header is one line
    capsys.readouterr()
    assert main(["progress", "-w", str(workspace)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if "notebook" in line and "parts passing" in line)
    cells = [cell.strip() for cell in header.strip("┃│| ").split("┃")]
    assert cells == ["notebook", "parts passing", "points (visible tests)", "status"], header
