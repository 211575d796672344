"""grader.authoring.release: learner notebooks from sources, stable bytes, leak detection."""

from __future__ import annotations

import importlib.util
import json
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from context_course.learner_wheel import audit_wheel
from grader.authoring import release
from grader.authoring.release import (
    ReleaseError,
    build_release,
    check_release,
    find_assignments,
    find_leaks,
    normalise_notebook,
    secret_lines,
    write_release,
)
from grader.pipeline.config import Course, load_course

ANSWER = '''def add(a, b):
    """Return a + b."""
    ### BEGIN SOLUTION
    total = a + b
    return total
    ### END SOLUTION
'''
TESTS = """assert add(1, 2) == 3, f"add(1, 2) should be 3, got {add(1, 2)!r}"
### BEGIN HIDDEN TESTS
observe("negative numbers", add(-4, 1))
### END HIDDEN TESTS
"""


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: int = 0) -> Any:
    meta: dict[str, Any] = {
        "grade": grade,
        "solution": solution,
        "locked": locked,
        "grade_id": grade_id,
        "schema_version": 3,
    }
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def source_notebook(answer: str = ANSWER, tests: str = TESTS, **extra_meta: Any) -> Any:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata.update(extra_meta)
    nb.cells = [
        new_markdown_cell("# Adding numbers", id="title"),
        new_code_cell(
            "from grader import observe",
            id="setup",
            metadata=_meta("setup", grade=False, solution=False, locked=True),
        ),
        new_code_cell(
            answer,
            id="part1-answer",
            metadata=_meta("part1-answer", grade=False, solution=True, locked=False),
        ),
        new_code_cell(
            tests,
            id="part1-tests",
            metadata=_meta("part1-tests", grade=True, solution=False, locked=True, points=100),
        ),
    ]
    return nb


def make_course(root: Path, notebooks: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """A course folder with ``solutions/<slug>/<slug>.ipynb``; returns (solutions, exercises)."""
    solutions = root / "solutions"
    for slug, nb in (notebooks or {"01-adding": source_notebook()}).items():
        (solutions / slug).mkdir(parents=True)
        nbformat.write(nb, solutions / slug / f"{slug}.ipynb")
    return solutions, root / "exercises"


def learner(exercises: Path, slug: str = "01-adding") -> Any:
    return nbformat.read(exercises / slug / f"{slug}.ipynb", as_version=4)


def cell(nb: Any, cell_id: str) -> Any:
    return next(c for c in nb.cells if c.id == cell_id)


# ----------------------------------------------------------------------------- generation


def test_learner_version_replaces_solutions_and_drops_hidden_tests(tmp_path: Path) -> None:
    solutions, exercises = make_course(tmp_path)
    write_release(solutions, exercises)
    nb = learner(exercises)

    answer = cell(nb, "part1-answer").source
    assert 'def add(a, b):\n    """Return a + b."""' in answer
    assert "# YOUR CODE HERE\n    raise NotImplementedError()" in answer
    assert "total = a + b" not in answer
    tests = cell(nb, "part1-tests").source
    assert tests.startswith("assert add(1, 2) == 3")
    assert "observe" not in tests and "HIDDEN" not in tests
    assert cell(nb, "part1-tests").metadata["nbgrader"]["points"] == 100
    assert cell(nb, "part1-tests").metadata["editable"] is False
    assert [c.id for c in nb.cells] == ["title", "setup", "part1-answer", "part1-tests"]


def test_release_is_byte_identical_when_sources_do_not_change(tmp_path: Path) -> None:
    solutions, exercises = make_course(tmp_path)
    first = write_release(solutions, exercises)
    target = exercises / "01-adding" / "01-adding.ipynb"
    before = target.read_bytes()
    stamp = target.stat().st_mtime_ns

    second = write_release(solutions, exercises)

    assert first.written == ["01-adding/01-adding.ipynb"]
    assert second.written == [] and second.unchanged == ["01-adding/01-adding.ipynb"]
    assert target.read_bytes() == before
    assert target.stat().st_mtime_ns == stamp
    assert build_release(solutions)["01-adding/01-adding.ipynb"] == before


def test_outputs_in_a_source_never_reach_the_release(tmp_path: Path) -> None:
    nb = source_notebook()
    setup = cell(nb, "setup")
    setup.outputs = [new_output("stream", name="stdout", text="secret output\n")]
    setup.execution_count = 7
    solutions, exercises = make_course(tmp_path, {"01-adding": nb})

    write_release(solutions, exercises)
    released = cell(learner(exercises), "setup")

    assert released.outputs == [] and released.execution_count is None
    problems = [str(p) for p in check_release(solutions, exercises)]
    assert problems == [
        f"{solutions.as_posix()}/01-adding/01-adding.ipynb: cell setup has outputs committed; "
        "clear them (Kernel > Restart Kernel and Clear Outputs) and save"
    ]


def test_other_files_of_an_assignment_are_released_too(tmp_path: Path) -> None:
    solutions, _ = make_course(tmp_path)
    (solutions / "01-adding" / "recipe.yaml").write_text("steps: []\n")
    (solutions / "01-adding" / ".ipynb_checkpoints").mkdir()
    (solutions / "01-adding" / ".ipynb_checkpoints" / "x.ipynb").write_text("{}")

    files = build_release(solutions)

    assert sorted(files) == ["01-adding/01-adding.ipynb", "01-adding/recipe.yaml"]
    assert files["01-adding/recipe.yaml"] == b"steps: []\n"


def test_release_writes_no_gradebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    solutions, exercises = make_course(tmp_path / "course")
    monkeypatch.chdir(tmp_path)

    write_release(solutions, exercises)

    assert sorted(p.name for p in tmp_path.rglob("*.db")) == []
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.ipynb")) == [
        "course/exercises/01-adding/01-adding.ipynb",
        "course/solutions/01-adding/01-adding.ipynb",
    ]


def test_normalise_drops_outputs_and_volatile_metadata_and_is_idempotent() -> None:
    nb = source_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    setup = cell(nb, "setup")
    setup.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    setup.outputs = [new_output("execute_result", data={"text/plain": "1"}, execution_count=1)]
    setup.execution_count = 1

    once = normalise_notebook(nbformat.writes(nb))
    again = normalise_notebook(once)

    assert once == again and once.endswith(b"}\n")
    doc = json.loads(once)
    assert doc["metadata"]["language_info"] == {"name": "python"}
    assert "widgets" not in doc["metadata"]
    setup_doc = doc["cells"][1]
    assert (setup_doc["outputs"], setup_doc["execution_count"]) == ([], None)
    assert "execution" not in setup_doc["metadata"]


def test_find_assignments_lists_folders_with_notebooks(tmp_path: Path) -> None:
    solutions, _ = make_course(tmp_path, {"02-b": source_notebook(), "01-a": source_notebook()})
    (solutions / "notes").mkdir()
    (solutions / "notes" / "readme.md").write_text("not an assignment")

    assert find_assignments(solutions) == ["01-a", "02-b"]
    with pytest.raises(ReleaseError, match="does not exist"):
        find_assignments(tmp_path / "missing")


# ----------------------------------------------------------------------------- bad sources


def test_unclosed_solution_region_is_a_clear_error_and_changes_nothing(tmp_path: Path) -> None:
    solutions, exercises = make_course(tmp_path)
    write_release(solutions, exercises)
    before = (exercises / "01-adding" / "01-adding.ipynb").read_bytes()
    broken = source_notebook(answer=ANSWER.replace("    ### END SOLUTION\n", ""))
    nbformat.write(broken, solutions / "01-adding" / "01-adding.ipynb")

    with pytest.raises(ReleaseError) as caught:
        write_release(solutions, exercises)

    assert str(caught.value) == (
        "cannot generate the learner version of '01-adding': "
        "RuntimeError: no end solution statement found"
    )
    assert (exercises / "01-adding" / "01-adding.ipynb").read_bytes() == before


def test_duplicate_grade_ids_are_reported_by_name(tmp_path: Path) -> None:
    nb = source_notebook()
    cell(nb, "part1-answer").metadata["nbgrader"]["grade_id"] = "part1-tests"
    solutions, exercises = make_course(tmp_path, {"01-adding": nb})

    with pytest.raises(ReleaseError, match="Duplicate grade id: part1-tests"):
        write_release(solutions, exercises)
    assert not exercises.exists()


# ----------------------------------------------------------------------------- checking


def test_a_fresh_release_has_no_problems(tmp_path: Path) -> None:
    solutions, exercises = make_course(
        tmp_path, {"01-a": source_notebook(), "02-b": source_notebook()}
    )
    write_release(solutions, exercises)

    assert check_release(solutions, exercises) == []


def test_check_reports_missing_out_of_date_and_stale_files(tmp_path: Path) -> None:
    solutions, exercises = make_course(
        tmp_path, {"01-a": source_notebook(), "02-b": source_notebook()}
    )
    write_release(solutions, exercises)
    (exercises / "01-a" / "01-a.ipynb").unlink()
    changed = source_notebook(tests=TESTS.replace("add(1, 2) == 3", "add(2, 2) == 4"))
    nbformat.write(changed, solutions / "02-b" / "02-b.ipynb")
    (exercises / "02-b" / "old.txt").write_text("left over")
    (exercises / "README.md").write_text("top-level files are not part of any assignment")

    problems = [
        str(p)
        for p in check_release(
            solutions, exercises, display_source="solutions", display_release="exercises"
        )
    ]

    assert problems == [
        "exercises/01-a/01-a.ipynb: missing; run `context-course release`",
        "exercises/02-b/02-b.ipynb: out of date with solutions/02-b/02-b.ipynb; "
        "run `context-course release`",
        "exercises/02-b/old.txt: not generated from solutions/; run `context-course release`",
    ]


def test_write_release_repairs_what_check_reports(tmp_path: Path) -> None:
    solutions, exercises = make_course(tmp_path)
    write_release(solutions, exercises)
    (exercises / "01-adding" / "old.txt").write_text("left over")
    (exercises / "09-gone").mkdir()
    (exercises / "09-gone" / "09-gone.ipynb").write_text("{}")
    (exercises / "README.md").write_text("kept")

    report = write_release(solutions, exercises)

    assert report.removed == ["01-adding/old.txt", "09-gone/09-gone.ipynb"]
    assert not (exercises / "09-gone").exists()
    assert (exercises / "README.md").read_text() == "kept"
    assert check_release(solutions, exercises) == []


def test_check_finds_solution_and_hidden_test_lines_pasted_into_the_release(
    tmp_path: Path,
) -> None:
    solutions, exercises = make_course(tmp_path)
    write_release(solutions, exercises)
    path = exercises / "01-adding" / "01-adding.ipynb"
    nb = learner(exercises)
    cell(nb, "part1-answer").source += "\n    return total"
    cell(nb, "title").source += '\n\nobserve("negative numbers", add(-4, 1))'
    nbformat.write(nb, path)

    leaks = [str(p) for p in check_release(solutions, exercises) if "leaks" in p.message]

    shown = path.as_posix()
    assert leaks == [
        f"{shown}: cell title leaks solution or hidden-test text: "
        "'observe(\"negative numbers\", add(-4, 1))'",
        f"{shown}: cell part1-answer leaks solution or hidden-test text: 'return total'",
    ]


def test_leftover_region_markers_and_region_text_are_leaks() -> None:
    source = source_notebook()

    problems = [str(p) for p in find_leaks(source, source_notebook(), "x.ipynb")]

    assert problems == [
        "x.ipynb: cell part1-answer contains a 'BEGIN SOLUTION' marker",
        "x.ipynb: cell part1-answer contains a 'END SOLUTION' marker",
        "x.ipynb: cell part1-answer leaks solution or hidden-test text: 'total = a + b'",
        "x.ipynb: cell part1-answer leaks solution or hidden-test text: 'return total'",
        "x.ipynb: cell part1-tests contains a 'BEGIN HIDDEN TESTS' marker",
        "x.ipynb: cell part1-tests contains a 'END HIDDEN TESTS' marker",
        "x.ipynb: cell part1-tests leaks solution or hidden-test text: "
        "'observe(\"negative numbers\", add(-4, 1))'",
    ]


def test_secret_lines_are_those_only_regions_hold() -> None:
    answer = ANSWER.replace('"""Return a + b."""', '"""Return a + b."""\n    total = a + b')
    nb = source_notebook(answer=answer)

    assert secret_lines(nb) == {'observe("negative numbers", add(-4, 1))', "return total"}


def test_public_names_are_curated() -> None:
    assert set(release.__all__) == {
        "HIDDEN_TESTS",
        "IGNORED",
        "SOLUTION",
        "Problem",
        "ReleaseError",
        "ReleaseReport",
        "build_release",
        "check_release",
        "find_assignments",
        "find_leaks",
        "normalise_notebook",
        "secret_lines",
        "write_release",
    }
    assert all(getattr(release, name).__doc__ for name in release.__all__ if not name.isupper())


# ----------------------------------------------------------------------------- learner package


def _course(root: Path) -> Course:
    make_course(root)
    (root / "course.toml").write_text('[course]\nid = "adding"\n')
    write_release(root / "solutions", root / "exercises")
    return load_course(root)


def _wheel(path: Path, files: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _good_files(course: Course) -> dict[str, str | bytes]:
    learner_nb = (course.release_dir / "01-adding" / "01-adding.ipynb").read_bytes()
    return {
        "grader/__init__.py": "",
        "context_lib/__init__.py": "",
        "certificates/__init__.py": "",
        "context_course/__init__.py": "",
        "scoring/__init__.py": "",
        "context_course/_course/course.toml": (course.root / "course.toml").read_bytes(),
        "context_course/_course/exercises/01-adding/01-adding.ipynb": learner_nb,
        "context_course-0.1.0.dist-info/METADATA": "Name: context-course\n",
    }


def test_a_wheel_holding_the_learner_release_passes_the_audit(tmp_path: Path) -> None:
    course = _course(tmp_path / "course")
    wheel = _wheel(tmp_path / "ok.whl", _good_files(course))
    assert audit_wheel(wheel, course) == []


def test_the_audit_finds_everything_that_gives_answers_away(tmp_path: Path) -> None:
    course = _course(tmp_path / "course")
    files = _good_files(course)
    source_nb = (course.source_dir / "01-adding" / "01-adding.ipynb").read_bytes()
    leaky = json.loads(files.pop("context_course/_course/exercises/01-adding/01-adding.ipynb"))
    leaky["cells"][2]["source"] = "def add(a, b):\n    return total\n"
    files.update(
        {
            "context_course/_course/exercises/01-adding/01-adding.ipynb": json.dumps(leaky),
            "context_course/_course/solutions/01-adding/01-adding.ipynb": source_nb,
            "tests/test_adding.py": "",
            "grader/notes.txt": "### BEGIN HIDDEN TESTS\n",
            "grader/stray.ipynb": "{}",
        }
    )
    del files["certificates/__init__.py"]
    problems = [p.message for p in audit_wheel(_wheel(tmp_path / "bad.whl", files), course)]
    assert problems == [
        "lacks certificates/__init__.py",
        "context_course/_course/exercises/01-adding/01-adding.ipynb holds solution or hidden-test "
        "text: 'return total'",
        "holds context_course/_course/solutions/01-adding/01-adding.ipynb, "
        "from a folder no learner gets",
        "holds the notebook context_course/_course/solutions/01-adding/01-adding.ipynb "
        "outside the course",
        "context_course/_course/solutions/01-adding/01-adding.ipynb holds '### BEGIN SOLUTION'",
        "context_course/_course/solutions/01-adding/01-adding.ipynb holds '### BEGIN HIDDEN TESTS'",
        "context_course/_course/solutions/01-adding/01-adding.ipynb holds solution or "
        "hidden-test text: "
        "'observe(\"negative numbers\", add(-4, 1))'",
        "holds tests/test_adding.py, outside the packages",
        "holds tests/test_adding.py, from a folder no learner gets",
        "grader/notes.txt holds '### BEGIN HIDDEN TESTS'",
        "holds the notebook grader/stray.ipynb outside the course",
    ]


def test_the_audit_reports_a_file_that_is_not_a_wheel(tmp_path: Path) -> None:
    course = _course(tmp_path / "course")
    (tmp_path / "x.whl").write_text("not a zip")
    (problem,) = audit_wheel(tmp_path / "x.whl", course)
    assert problem.path == "x.whl" and problem.message.startswith("is not a readable wheel")


def _hook_module() -> Any:
    path = Path(__file__).resolve().parents[3] / "tools" / "learner_wheel_hook.py"
    spec = importlib.util.spec_from_file_location("learner_wheel_hook", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_build_hook_ships_course_toml_and_the_release_only(tmp_path: Path) -> None:
    hook = _hook_module()
    course = _course(tmp_path / "course")
    (course.release_dir / "01-adding" / "data.csv").write_text("a,b\n")
    (course.release_dir / "01-adding" / ".ipynb_checkpoints").mkdir()
    (course.release_dir / "01-adding" / ".ipynb_checkpoints" / "x.ipynb").write_text("{}")
    (course.release_dir / "README.txt").write_text("loose file")
    files = hook.learner_course_files(course.root)
    root = course.root.resolve()
    assert files == {
        str(root / "course.toml"): "context_course/_course/course.toml",
        str(root / "exercises/01-adding/01-adding.ipynb"): (
            "context_course/_course/exercises/01-adding/01-adding.ipynb"
        ),
        str(
            root / "exercises/01-adding/data.csv"
        ): "context_course/_course/exercises/01-adding/data.csv",
    }


def test_the_build_hook_refuses_a_leaking_or_empty_release(tmp_path: Path) -> None:
    hook = _hook_module()
    course = _course(tmp_path / "course")
    (course.release_dir / "01-adding" / "notes.md").write_text("### BEGIN SOLUTION\n")
    with pytest.raises(hook.LearnerCourseError, match=r"notes\.md holds 'BEGIN SOLUTION'"):
        hook.learner_course_files(course.root)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "course.toml").write_text('[course]\nrelease = "../elsewhere"\n')
    with pytest.raises(hook.LearnerCourseError, match="must be a folder inside the course"):
        hook.learner_course_files(empty)
    (empty / "course.toml").write_text("[course]\n")
    with pytest.raises(hook.LearnerCourseError, match="holds no learner notebooks"):
        hook.learner_course_files(empty)


def test_the_build_hook_adds_the_course_to_standard_wheels_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _hook_module()
    course = _course(tmp_path / "course")
    monkeypatch.setenv(module.COURSE_ENV, str(course.root))
    hook = module.LearnerCourseHook(str(tmp_path), {}, None, None, str(tmp_path / "out"), "wheel")
    editable: dict[str, Any] = {"force_include": {}}
    hook.initialize("editable", editable)
    assert editable == {"force_include": {}}  # `pip install -e .` stays as it was
    standard: dict[str, Any] = {"force_include": {}}
    hook.initialize("standard", standard)
    assert standard["force_include"] == module.learner_course_files(course.root)
    sdist = module.LearnerCourseHook(str(tmp_path), {}, None, None, str(tmp_path), "sdist")
    untouched: dict[str, Any] = {"force_include": {}}
    sdist.initialize("standard", untouched)
    assert untouched == {"force_include": {}}
