"""grade_notebook: scores, feedback wording, hashes, the reference cache and errors."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from grader.core.grading import GradingError, grade_notebook
from grader.core.results import NotebookResult
from tests.grader.core.conftest import Course
from tests.grader.core.nbbuild import FIXTURES, graded, load, notebook, solution, write


def _part(result: NotebookResult, grade_id: str) -> Any:
    return next(part for part in result.parts if part.grade_id == grade_id)


def test_result_identifies_source_submission_and_timing(
    course: Course, honest_wrong: dict[str, Any]
) -> None:
    result = course.grade(honest_wrong)
    submitted = course.submission_path()
    assert result.notebook == "arithmetic"
    assert result.submission_hash == hashlib.sha256(submitted.read_bytes()).hexdigest()
    assert result.source_hash == hashlib.sha256(course.source.read_bytes()).hexdigest()
    assert 0 < result.learner_seconds <= result.wall_seconds
    assert NotebookResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_visible_feedback_says_expected_and_got_with_the_author_message(
    course: Course, honest_wrong: dict[str, Any]
) -> None:
    mean = _part(course.grade(honest_wrong), "mean-tests")
    by_label = {check.label: check for check in mean.checks}
    assert by_label["mean([2, 4]) == 3"].passed
    failed = by_label["mean([1, 2]) == 1.5"]
    assert not failed.passed
    assert failed.message == "expected 1.5, got 1. mean([1, 2]) should be 1.5"
    truth = by_label["isinstance(mean([5]), float)"]
    assert truth.message == "this assert failed: isinstance(mean([5]), float). mean returns a float"
    assert mean.hidden_summary == "1 of 3 hidden checks passed"


def test_hidden_feedback_never_reveals_code_or_expected_values(
    course: Course, honest_wrong: dict[str, Any]
) -> None:
    result = course.grade(honest_wrong)
    hidden = [c for part in result.parts for c in part.checks if c.kind == "hidden"]
    text = " ".join(c.message for c in hidden)
    for secret in ("1.3333", "ValueError", "mean([1, 1, 2])", "observe(", "'the': 3"):
        assert secret not in text
    thirds = next(c for c in hidden if c.label == "thirds")
    assert thirds.message == "did not match the reference solution"


def test_printed_output_is_never_feedback(course: Course, honest_wrong: dict[str, Any]) -> None:
    from tests.grader.core.attacks import ATTACKS

    result = course.grade(ATTACKS["prints-fake-results"](honest_wrong, course))
    assert "All tests passed" in result.extra["instructor_only_output"]
    messages = [c.message for p in result.parts for c in p.checks] + [
        p.message for p in result.parts
    ]
    assert not any("All tests passed" in m for m in messages)


def test_unreadable_submission_is_a_result_not_an_exception(course: Course) -> None:
    path = course.submission_path()
    path.parent.mkdir(parents=True)
    path.write_text("{ not json", encoding="utf-8")
    result = grade_notebook(course.source, path, cache_dir=course.cache_dir)
    assert result.score == 0 and result.max_score == 100
    assert result.events == ("the submitted notebook is not a notebook",)
    assert all(part.status == "not-run" for part in result.parts)


def test_reference_values_are_cached_per_source_hash(
    tmp_path: Path, honest_wrong: dict[str, Any]
) -> None:
    cache = tmp_path / "cache"
    submitted = write(honest_wrong, tmp_path / "learner" / "arithmetic.ipynb")
    grade_notebook(FIXTURES / "arithmetic.ipynb", submitted, cache_dir=cache)
    files = sorted(p.name for p in cache.glob("*.json"))
    assert len(files) == 1 and files[0].startswith("arithmetic-")
    cached = json.loads((cache / files[0]).read_text())
    assert cached["parts"]["mean-tests"]["probes"]["empty raises"] == ["raises", "ValueError"]
    assert not list(cache.glob("*.tmp"))


def _grade_in_child(args: tuple[str, str, str]) -> float:
    source, submitted, cache = args
    return grade_notebook(Path(source), Path(submitted), cache_dir=Path(cache)).score


@pytest.mark.slow
def test_parallel_graders_share_one_reference_cache(
    tmp_path: Path, honest_wrong: dict[str, Any], honest_right: dict[str, Any]
) -> None:
    cache = tmp_path / "cache"
    jobs = []
    for index, nb in enumerate([honest_wrong, honest_right, honest_wrong, honest_right]):
        path = write(nb, tmp_path / f"learner{index}" / "arithmetic.ipynb")
        jobs.append((str(FIXTURES / "arithmetic.ipynb"), str(path), str(cache)))
    with ProcessPoolExecutor(max_workers=2) as pool:
        scores = list(pool.map(_grade_in_child, jobs))
    assert scores == [pytest.approx(53.333334), 100.0, pytest.approx(53.333334), 100.0]
    assert len(list(cache.glob("*.json"))) == 1


def test_a_source_whose_solution_fails_its_own_test_is_an_instructor_error(
    tmp_path: Path, honest_wrong: dict[str, Any]
) -> None:
    source = write(
        notebook(
            [
                solution(
                    "answer",
                    "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n",
                ),
                graded("check", "assert f() == 2, 'f is 2'\n", 100),
            ]
        ),
        tmp_path / "broken.ipynb",
    )
    learner = write(load(source), tmp_path / "learner" / "broken.ipynb")
    with pytest.raises(GradingError, match="fails its own assert 1"):
        grade_notebook(source, learner, cache_dir=tmp_path / "cache")


def test_a_source_that_is_not_a_notebook_is_an_instructor_error(tmp_path: Path) -> None:
    source = tmp_path / "nope.ipynb"
    source.write_text("[]", encoding="utf-8")
    with pytest.raises(GradingError, match="not an nbformat 4 notebook"):
        grade_notebook(source, source, cache_dir=tmp_path / "cache")


def test_weights_in_cell_metadata_split_the_points(tmp_path: Path) -> None:
    source = write(
        notebook(
            [
                solution(
                    "answer",
                    "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n",
                ),
                graded(
                    "check",
                    "assert f(1) == 1\n### BEGIN HIDDEN TESTS\n"
                    "observe('big', f(10))\n### END HIDDEN TESTS\n",
                    100,
                    weights={"big": 3},
                ),
            ]
        ),
        tmp_path / "weighted.ipynb",
    )
    learner = load(source)
    learner["cells"][0]["source"] = "def f(x):\n    return 1\n"
    path = write(learner, tmp_path / "learner" / "weighted.ipynb")
    result = grade_notebook(source, path, cache_dir=tmp_path / "cache")
    assert [(c.label, c.points, c.max_points) for c in result.parts[0].checks] == [
        ("f(1) == 1", 25.0, 25.0),
        ("big", 0.0, 75.0),
    ]


def test_a_notebook_with_absurdly_many_cells_is_refused_in_plain_words(
    course: Course, honest_wrong: dict[str, Any]
) -> None:
    from grader.core.grading import MAX_CELLS
    from tests.grader.core.nbbuild import code_cell

    bloated = dict(honest_wrong)
    bloated["cells"] = honest_wrong["cells"] + [
        code_cell("x = 1\n", f"filler-{i}") for i in range(MAX_CELLS)
    ]
    result = course.grade(bloated)
    assert result.score == 0
    assert result.events == (
        f"the submitted notebook has {MAX_CELLS + len(honest_wrong['cells'])} cells, more than "
        f"the {MAX_CELLS} a notebook may have",
    )
