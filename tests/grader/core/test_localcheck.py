"""Local visible checks agree with the grader's verdict on the visible tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.core.localcheck import check_saved_notebook, load_checks, run_part_live
from tests.learner_course import (
    SOLVED_ADD,
    SOLVED_DOUBLE,
    adding_notebook,
    make_course,
    write_notebook,
)


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return make_course(tmp_path / "course") / "exercises/01-adding/01-adding.ipynb"


def _namespace(code: str) -> dict[str, object]:
    scope: dict[str, object] = {}
    exec(code, scope)
    return scope


def test_parts_titles_points_and_hints_come_from_the_notebook(release: Path) -> None:
    checks = load_checks(release)
    assert list(checks.parts) == ["part1-tests", "part2-tests"]
    part = checks.parts["part1-tests"]
    assert part.title == "Part 1 (10 points): add two numbers"
    assert part.points == 10
    assert part.hints == ("Use the + operator.", "return a + b")
    assert checks.parts["part2-tests"].hints == ()


def test_parts_between_check_cells(release: Path) -> None:
    checks = load_checks(release)
    assert checks.parts_between(None, "check-part1") == ["part1-tests"]
    assert checks.parts_between("check-part1", "check-part2") == ["part2-tests"]
    assert checks.parts_between("check-part2", None) == []


def test_a_correct_answer_passes_every_visible_check(release: Path) -> None:
    result = run_part_live(
        load_checks(release), "part1-tests", _namespace("def add(a, b): return a + b")
    )
    assert [c.passed for c in result.checks] == [True, True]
    assert result.points == 10


def test_a_wrong_answer_fails_with_the_graders_message(release: Path) -> None:
    result = run_part_live(
        load_checks(release), "part1-tests", _namespace("def add(a, b): return a - b")
    )
    first, second = result.checks
    assert not first.passed and not second.passed
    assert first.message == "expected 3, got -1. add(1, 2) should be 3"
    assert second.message == "expected 0, got -2"
    assert result.points == 0


def test_a_missing_answer_reports_the_exception(release: Path) -> None:
    result = run_part_live(load_checks(release), "part1-tests", {})
    assert result.checks[0].message.startswith("your code raised NameError")


def test_an_always_equal_object_does_not_pass(release: Path) -> None:
    hostile = (
        "class Anything:\n"
        "    def __eq__(self, other): return True\n"
        "def add(a, b): return Anything()\n"
    )
    result = run_part_live(load_checks(release), "part1-tests", _namespace(hostile))
    assert not any(c.passed for c in result.checks)


def test_the_learners_variables_are_not_rebound(release: Path) -> None:
    scope = _namespace("def add(a, b): return a + b")
    before = dict(scope)
    run_part_live(load_checks(release), "part1-tests", scope)
    assert scope == before


def test_exiting_from_learner_code_is_a_failed_check(release: Path) -> None:
    scope = _namespace("import sys\ndef add(a, b): sys.exit(3)")
    result = run_part_live(load_checks(release), "part1-tests", scope)
    assert result.checks[0].message.startswith("your code raised SystemExit")


@pytest.mark.slow
def test_the_saved_notebook_in_the_sandbox_agrees_with_the_live_check(
    release: Path, tmp_path: Path
) -> None:
    mine = write_notebook(
        adding_notebook(add_body=SOLVED_ADD), tmp_path / "ws/01-adding/01-adding.ipynb"
    )
    result = check_saved_notebook(release, mine, cell_timeout=20, notebook_timeout=60)
    part1, part2 = result.parts
    live = run_part_live(
        load_checks(release), "part1-tests", _namespace("def add(a, b): return a + b")
    )
    assert part1.checks == live.checks
    assert part1.points == 10
    assert not part2.checks[0].passed
    assert part2.checks[0].message == (
        "not attempted yet (the answer still raises NotImplementedError). double(4) should be 8"
    )
    assert result.score == 10 and result.max_score == 15


@pytest.mark.slow
def test_the_sandbox_check_survives_an_exit_and_a_timeout(release: Path, tmp_path: Path) -> None:
    nb = adding_notebook(
        add_body="    import os\n    os._exit(0)", double_body="    while True:\n        pass"
    )
    mine = write_notebook(nb, tmp_path / "ws/01-adding/01-adding.ipynb")
    result = check_saved_notebook(release, mine, cell_timeout=2, notebook_timeout=30)
    assert result.score == 0
    assert any("timed out" in event for event in result.events), result.events
    assert any("process" in event for event in result.events), result.events
    assert all(not c.passed for part in result.parts for c in part.checks)


def test_a_solved_double_passes(release: Path) -> None:
    scope = _namespace("def double(x):\n" + SOLVED_DOUBLE)
    assert run_part_live(load_checks(release), "part2-tests", scope).points == 5
