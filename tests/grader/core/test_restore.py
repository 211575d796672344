"""Restoring test and locked cells from the source."""

from __future__ import annotations

from typing import Any

from grader.core.nbsource import read_cells
from grader.core.restore import restore_cells
from tests.grader.core.nbbuild import code_cell, delete_cell, edit_cell, insert_after


def _run(
    source: dict[str, Any], learner: dict[str, Any]
) -> tuple[list[tuple[str, str]], tuple[str, ...]]:
    restored = restore_cells(read_cells(source), read_cells(learner))
    return [(c.role, c.code) for c in restored.cells], restored.notes


def test_the_learner_answer_runs_and_tests_come_from_the_source(
    source_nb: dict[str, Any], honest_wrong: dict[str, Any]
) -> None:
    cells, notes = _run(source_nb, honest_wrong)
    tests = [code for role, code in cells if role == "test"]
    assert all("BEGIN HIDDEN TESTS" in code for code in tests)
    assert any("sum(values) // len(values)" in code for role, code in cells if role == "solution")
    assert notes == ()


def test_deleted_edited_and_retyped_test_cells_are_put_back(
    source_nb: dict[str, Any], honest_wrong: dict[str, Any]
) -> None:
    learner = delete_cell(honest_wrong, "add-tests")
    learner = edit_cell(learner, "mean-tests", source="assert True\n")
    learner = edit_cell(learner, "words-tests", cell_type="markdown")
    cells, notes = _run(source_nb, learner)
    assert [role for role, _ in cells].count("test") == 3
    assert notes == (
        "the test cell of part add-tests was missing; the original was put back",
        "the test cell of part mean-tests had been edited; the original was put back",
        "the test cell of part words-tests had been changed to markdown; it was restored",
    )


def test_added_cells_run_where_the_learner_put_them(
    source_nb: dict[str, Any], honest_wrong: dict[str, Any]
) -> None:
    learner = insert_after(honest_wrong, "mean-answer", "helper = 1\n", "mine")
    cells, _ = _run(source_nb, learner)
    roles = [role for role, _ in cells]
    added = roles.index("added")
    assert roles[added - 1] == "solution" and roles[added + 1] == "test"


def test_a_missing_answer_cell_runs_as_released(
    source_nb: dict[str, Any], honest_wrong: dict[str, Any]
) -> None:
    cells, notes = _run(source_nb, delete_cell(honest_wrong, "words-answer"))
    assert any("raise NotImplementedError()" in code for role, code in cells if role == "solution")
    assert "your answer cell words-answer was missing; it was graded as unanswered" in notes


def test_a_metadata_swap_cannot_turn_an_answer_into_a_test(source_nb: dict[str, Any]) -> None:
    learner = {
        **source_nb,
        "cells": [
            code_cell(
                "def add(a, b):\n    return 0\n",
                "add-answer",
                grade_id="add-tests",
                grade=True,
                points=99,
            )
        ],
    }
    cells, _ = _run(source_nb, learner)
    tests = [code for role, code in cells if role == "test"]
    assert len(tests) == 3 and all("assert" in code for code in tests)


def test_a_text_cell_turned_into_code_runs_as_the_learners_code(
    source_nb: dict[str, Any], honest_wrong: dict[str, Any]
) -> None:
    learner = edit_cell(
        honest_wrong, "words-task", cell_type="code", source="def word_counts(text):\n    ...\n"
    )
    learner = delete_cell(learner, "words-answer")
    cells, _ = _run(source_nb, learner)
    roles = [role for role, _ in cells]
    position = roles.index("added")
    assert cells[position][1].startswith("def word_counts(text)")
    assert roles[position + 1 :][:2] == ["solution", "test"]  # before the part's test cell
