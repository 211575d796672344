"""``context-course release [--check] [--course DIR]``, run in-process through ``main``."""

from __future__ import annotations

import importlib.util
import sys
import types
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from context_course.cli import main

ANSWER = """def double(x):
    \"\"\"Return 2 * x.\"\"\"
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION
"""
TESTS = """assert double(2) == 4, f"double(2) should be 4, got {double(2)!r}"
### BEGIN HIDDEN TESTS
observe("double of -3", double(-3))
### END HIDDEN TESTS
"""


def _notebook(answer: str = ANSWER) -> Any:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    base = {"schema_version": 3, "locked": False, "grade": False, "solution": True}
    nb.cells = [
        new_code_cell(answer, id="answer", metadata={"nbgrader": {**base, "grade_id": "answer"}}),
        new_code_cell(
            TESTS,
            id="tests",
            metadata={
                "nbgrader": {
                    **base,
                    "grade_id": "tests",
                    "solution": False,
                    "locked": True,
                    "grade": True,
                    "points": 100,
                }
            },
        ),
    ]
    return nb


@pytest.fixture
def course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    (root / "solutions" / "01-double").mkdir(parents=True)
    (root / "course.toml").write_text('[course]\nid = "demo"\n')
    nbformat.write(_notebook(), root / "solutions" / "01-double" / "01-double.ipynb")
    return root


@pytest.fixture
def no_linter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "grader.authoring.lint", None)  # import fails as if missing


def test_release_writes_learner_notebooks_then_check_passes(
    course: Path, no_linter: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["release", "--no-wheel", "--course", str(course)]) == 0
    assert capsys.readouterr().out == (
        "wrote exercises/01-double/01-double.ipynb\nexercises/: 1 written, 0 unchanged, 0 removed\n"
    )
    learner = (course / "exercises" / "01-double" / "01-double.ipynb").read_text()
    assert "raise NotImplementedError()" in learner and "return 2 * x" not in learner

    assert main(["release", "--check", "--course", str(course)]) == 0
    captured = capsys.readouterr()
    assert captured.out == (
        "note: authoring checks skipped (grader.authoring.lint is not available)\n"
        "exercises/ is up to date with solutions/ and leaks nothing\n"
    )
    assert captured.err == ""


def test_release_finds_the_course_from_the_current_folder(
    course: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(course / "solutions")
    assert main(["release", "--no-wheel"]) == 0
    assert main(["release", "--no-wheel"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "exercises/: 0 written, 1 unchanged, 0 removed"
    )


def test_check_lists_one_line_per_problem_and_exits_1(
    course: Path, no_linter: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["release", "--no-wheel", "--course", str(course)]) == 0
    learner = course / "exercises" / "01-double" / "01-double.ipynb"
    nb = nbformat.read(learner, as_version=4)
    nb.cells[0].source = ANSWER.replace("    ### BEGIN SOLUTION\n", "").replace(
        "    ### END SOLUTION\n", ""
    )
    nbformat.write(nb, learner)
    capsys.readouterr()

    assert main(["release", "--check", "--course", str(course)]) == 1

    err = capsys.readouterr().err.splitlines()
    assert err == [
        "error: exercises/01-double/01-double.ipynb: out of date with "
        "solutions/01-double/01-double.ipynb; run `context-course release`",
        "error: exercises/01-double/01-double.ipynb: cell answer leaks solution or hidden-test "
        "text: 'return 2 * x'",
        "2 problem(s) with exercises/; fix the sources, then run `context-course release`",
    ]


def test_check_prints_authoring_warnings_without_failing(
    course: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    linted: list[str] = []

    def lint_source(path: Path) -> list[str]:
        linted.append(path.name)
        return [f"{path.name}: part 'tests' has only boolean probes"]

    fake = types.ModuleType("grader.authoring.lint")
    fake.lint_source = lint_source  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "grader.authoring.lint", fake)
    assert main(["release", "--no-wheel", "--course", str(course)]) == 0
    capsys.readouterr()

    assert main(["release", "--check", "--course", str(course)]) == 0

    assert linted == ["01-double.ipynb"]
    assert capsys.readouterr().out.splitlines() == [
        "warning: 01-double.ipynb: part 'tests' has only boolean probes",
        "exercises/ is up to date with solutions/ and leaks nothing",
    ]


def test_a_source_nbgrader_rejects_is_one_line(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = _notebook(ANSWER.replace("    ### END SOLUTION\n", ""))
    nbformat.write(broken, course / "solutions" / "01-double" / "01-double.ipynb")

    assert main(["release", "--course", str(course)]) == 1

    assert capsys.readouterr().err == (
        "error: cannot generate the learner version of '01-double': "
        "RuntimeError: no end solution statement found\n"
    )
    assert not (course / "exercises").exists()


def test_a_folder_without_course_toml_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["release", "--check", "--course", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path}/course.toml does not exist; is {tmp_path} a course folder?\n"
    )


def test_release_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["release", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example:" in out and "--check" in out and "--course" in out
    assert "--wheel-dir" in out and "--no-wheel" in out


@pytest.mark.slow
def test_release_builds_the_learner_wheel_with_the_course_inside(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["release", "--course", str(course)]) == 0
    out = capsys.readouterr().out.splitlines()
    (wheel,) = (course / "dist").glob("context_course-*.whl")
    assert out[-1] == (
        f"wrote dist/{wheel.name}: the learner package "
        f"(learners: pip install {wheel.name}, then context-course lab)"
    )
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        learner = archive.read("context_course/_course/exercises/01-double/01-double.ipynb")
        toml = archive.read("context_course/_course/course.toml")
    assert learner == (course / "exercises" / "01-double" / "01-double.ipynb").read_bytes()
    assert toml == (course / "course.toml").read_bytes()
    assert {"grader/__init__.py", "context_lib/__init__.py", "certificates/__init__.py"} <= names
    assert not any("solutions" in name or name.startswith("tests/") for name in names)

    elsewhere = tmp_path / "wheels"
    assert main(["release", "--course", str(course), "--wheel-dir", str(elsewhere)]) == 0
    assert [p.name for p in elsewhere.iterdir()] == [wheel.name]


def test_release_without_a_wheel_builds_none(course: Path) -> None:
    assert main(["release", "--no-wheel", "--course", str(course)]) == 0
    assert (course / "exercises" / "01-double" / "01-double.ipynb").is_file()
    assert not (course / "dist").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--check", "--no-wheel"], "error: --check builds no wheel; drop --wheel-dir/--no-wheel"),
        (
            ["--check", "--wheel-dir", "w"],
            "error: --check builds no wheel; drop --wheel-dir/--no-wheel",
        ),
        (
            ["--no-wheel", "--wheel-dir", "w"],
            "error: --wheel-dir and --no-wheel contradict each other; choose one",
        ),
    ],
)
def test_contradicting_wheel_options_are_one_line(
    course: Path, args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["release", "--course", str(course), *args]) == 2
    assert capsys.readouterr().err == expected + "\n"
    assert not (course / "exercises").exists() and not (course / "dist").exists()


def test_a_release_that_cannot_build_its_wheel_is_one_line(
    course: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("context_course.learner_wheel.project_root", lambda: None)
    monkeypatch.setattr("context_course.cli.release.project_root", lambda: Path("/nowhere"))
    assert main(["release", "--course", str(course), "--wheel-dir", str(course / "w")]) == 1
    assert capsys.readouterr().err == (
        "error: the learner package is built from a source checkout of context-course "
        "(pyproject.toml next to grader/); this installation has none\n"
    )
    assert not (course / "w").exists()


def test_outside_a_source_checkout_release_notes_that_no_wheel_was_built(
    course: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("context_course.cli.release.project_root", lambda: None)
    assert main(["release", "--course", str(course)]) == 0
    assert capsys.readouterr().err.startswith("note: learner package not built: ")
    assert not (course / "dist").exists()


def test_a_missing_hatchling_is_one_line_and_names_the_fix(
    course: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "hatchling" else real(name, *a),
    )
    assert main(["release", "--course", str(course)]) == 1
    assert capsys.readouterr().err == (
        "error: building the learner package needs hatchling: pip install 'hatchling>=1.25' "
        "(it comes with context-course[dev]), or pass --no-wheel\n"
    )
    assert not (course / "dist").exists()
