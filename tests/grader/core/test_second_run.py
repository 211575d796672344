"""Determinism: grading, ``check`` and ``release --check`` run a notebook twice, the second
time in a zygote with another PYTHONHASHSEED, and name the parts whose observations differ.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.authoring.lint import lint_source
from grader.core.grading import grade_notebook
from grader.core.localcheck import check_saved_notebook
from grader.core.sandbox import get_sandbox
from tests.grader.core.nbbuild import graded, load, notebook, release, solution, write

MANY = "[f'tag-{i}' for i in range(40)] * 2"

ANSWER = """def tags(items):
    ### BEGIN SOLUTION
    return sorted(set(items))
    ### END SOLUTION


def count(items):
    ### BEGIN SOLUTION
    return len(items)
    ### END SOLUTION
"""

TAGS_TESTS = f"""many = {MANY}
assert tags(many) == sorted(set(many)), "each tag once, sorted"
### BEGIN HIDDEN TESTS
observe("duplicates are dropped", len(tags(many)))
### END HIDDEN TESTS
"""

COUNT_TESTS = """assert count([1, 2]) == 2
### BEGIN HIDDEN TESTS
observe("an empty list", count([]))
### END HIDDEN TESTS
"""

SET_ORDER = "def tags(items):\n    return list(set(items))\n\ndef count(items):\n    return 7\n"


def _source(tmp_path: Path, answer: str = ANSWER) -> Path:
    cells = [
        solution("answer", answer),
        graded("tags-tests", TAGS_TESTS, 50),
        graded("count-tests", COUNT_TESTS, 50),
    ]
    return write(notebook(cells), tmp_path / "source" / "order.ipynb")


def _learner(source: Path, tmp_path: Path, answer: str, folder: str) -> Path:
    nb = release(load(source))
    nb["cells"][0]["source"] = answer
    return write(nb, tmp_path / folder / "order.ipynb")


def test_the_second_sandbox_has_another_hash_seed() -> None:
    first, second = get_sandbox(()), get_sandbox((), other_hash_seed=True)
    assert first is not second
    assert first.hash_seed == "" and second.hash_seed.isdigit()


def test_grading_fails_a_part_whose_observations_differ_between_runs(tmp_path: Path) -> None:
    source = _source(tmp_path)
    submitted = _learner(source, tmp_path, SET_ORDER, "learner")
    result = grade_notebook(source, submitted, cache_dir=tmp_path / "cache")
    tags, count = result.parts
    assert tags.status == "non-deterministic" and tags.points == 0
    assert "different results" in tags.message and "tags-tests" in tags.message
    # a deterministic wrong answer is judged as usual, never called unstable
    assert count.status == "ok" and count.points == 0
    assert any("part tags-tests gave different results" in e for e in result.events)
    # without the second run the part is judged on its one run
    once = grade_notebook(source, submitted, cache_dir=tmp_path / "cache", second_run=False)
    assert once.parts[0].status == "ok"
    assert not any("different results" in e for e in once.events)


def test_check_warns_naming_the_part(tmp_path: Path) -> None:
    source = _source(tmp_path)
    released = write(release(load(source)), tmp_path / "release" / "order.ipynb")
    mine = _learner(source, tmp_path, SET_ORDER, "workspace")
    result = check_saved_notebook(released, mine, cell_timeout=20, notebook_timeout=60)
    warnings = [e for e in result.events if "different results" in e]
    assert len(warnings) == 1 and "part tags-tests" in warnings[0]
    assert result.parts[0].status == "ok"  # a warning: the visible verdict is unchanged
    solved = _learner(source, tmp_path, ANSWER, "solved")
    assert not any(
        "different results" in e
        for e in check_saved_notebook(released, solved, cell_timeout=20).events
    )


@pytest.mark.slow
def test_release_check_flags_a_reference_solution_that_depends_on_set_order(
    tmp_path: Path,
) -> None:
    unordered = ANSWER.replace("return sorted(set(items))", "return list(set(items))")
    cells = [
        solution("answer", unordered),
        graded(
            "tags-tests",
            f"many = {MANY}\nassert len(tags(many)) == 40\n### BEGIN HIDDEN TESTS\n"
            "observe('each tag once', tags(many))\n### END HIDDEN TESTS\n",
            50,
        ),
        graded("count-tests", COUNT_TESTS, 50),
    ]
    warnings = lint_source(write(notebook(cells), tmp_path / "source" / "unordered.ipynb"))
    assert any(
        "tags-tests" in w and "different hash seeds (non-deterministic)" in w for w in warnings
    ), warnings
    assert not any("count-tests" in w and "non-deterministic" in w for w in warnings)


def test_a_runaway_cell_is_not_paid_for_twice(tmp_path: Path) -> None:
    source = _source(tmp_path)
    endless = SET_ORDER.replace("return 7", "while True:\n        pass")
    submitted = _learner(source, tmp_path, endless, "learner")
    result = grade_notebook(source, submitted, cache_dir=tmp_path / "cache", cell_timeout=2)
    assert result.parts[1].status == "timeout"
    assert any("second run (another hash seed) was skipped" in e for e in result.events)
    assert result.parts[0].status == "ok"  # judged on the one run
