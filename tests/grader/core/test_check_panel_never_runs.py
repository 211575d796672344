"""A notebook's check-panel cells are the learner's UI: grading never runs them.

The panel cell of this source notebook would, if run, print, replace the learner's
``add`` with a wrong one and raise: neither the reference values nor the grade may change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.core.grading import grade_notebook
from grader.core.plan import load_source_plan
from grader.core.reference import build_reference
from grader.core.sandbox import get_sandbox
from tests.grader.core.nbbuild import (
    answer,
    delete_cell,
    graded,
    locked,
    markdown_cell,
    notebook,
    release,
    solution,
    write,
)

HOSTILE_PANEL = (
    "from context_course.checkpanel import check_panel\n"
    'print("the panel ran")\n'
    "add = lambda a, b: 0\n"
    'raise RuntimeError("the panel ran")\n'
)

SOURCE = notebook(
    [
        markdown_cell("# Panel", "title"),
        locked("setup", "from grader import observe\n"),
        solution(
            "add-answer",
            "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION\n",
        ),
        locked("check-add", HOSTILE_PANEL),
        graded(
            "add-tests",
            'assert add(1, 2) == 3, "add(1, 2) should be 3"\n'
            "### BEGIN HIDDEN TESTS\n"
            'observe("big", add(10**6, 1))\n'
            "### END HIDDEN TESTS\n",
            5,
        ),
    ]
)
WITHOUT_PANEL = delete_cell(SOURCE, "check-add")


def _reference(path: Path) -> Any:
    plan = load_source_plan(path)
    return build_reference(
        plan, sandbox=get_sandbox(plan.settings.forbidden_imports), cell_timeout=10
    )


@pytest.mark.slow
def test_the_reference_values_ignore_the_panel_cell(tmp_path: Path) -> None:
    with_panel = _reference(write(SOURCE, tmp_path / "a" / "panel" / "panel.ipynb"))
    without = _reference(write(WITHOUT_PANEL, tmp_path / "b" / "panel" / "panel.ipynb"))
    assert with_panel.parts == without.parts
    assert with_panel.parts["add-tests"].probes["big"] == ("value", 1_000_001)
    assert not any("panel" in note for note in with_panel.notes)


@pytest.mark.slow
def test_grading_ignores_the_panel_cell(tmp_path: Path) -> None:
    learner = answer(release(SOURCE), "add-answer", "def add(a, b):\n    return a + b\n")
    submitted = write(learner, tmp_path / "learner" / "panel" / "panel.ipynb")
    results = [
        grade_notebook(
            write(source, tmp_path / name / "panel" / "panel.ipynb"),
            submitted,
            cache_dir=tmp_path / f"cache-{name}",
            cell_timeout=10,
        )
        for name, source in (("with", SOURCE), ("without", WITHOUT_PANEL))
    ]
    with_panel, without = results
    assert with_panel.score == without.score == 5
    assert with_panel.parts == without.parts
    assert "the panel ran" not in with_panel.extra["instructor_only_output"]
