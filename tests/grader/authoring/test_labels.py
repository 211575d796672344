"""release --check flags hidden-check labels that read like an input and its answer:
feedback names failed hidden checks by label, so a label names a behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.authoring.lint import label_gives_away, lint_source
from tests.grader.core.nbbuild import graded, notebook, solution, write


@pytest.mark.parametrize(
    "label",
    [
        "1 -> True, 0.5 -> 0.5, x -> y",
        "ring 4 -> 5 moved",
        "f(2) == 4",
        "version 1.0 is not version 1",
        "lists: 1, 1.0 and True are different items",
    ],
)
def test_a_label_with_an_input_and_its_answer_is_flagged(label: str) -> None:
    assert label_gives_away(label)


@pytest.mark.parametrize(
    "label",
    ["changes of type count as changes", "a tie keeps ours", "p50 of seven values", "state at 3"],
)
def test_a_behaviour_label_passes(label: str) -> None:
    assert not label_gives_away(label)


def test_lint_names_the_part_and_the_label(tmp_path: Path) -> None:
    source = write(
        notebook(
            [
                solution(
                    "answer",
                    "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n",
                ),
                graded(
                    "double-tests",
                    "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nfor n in (3, 5):\n"
                    "    observe(f'{n} -> {2 * n}', f(n))\n"
                    "observe('doubling a negative number', f(-4))\n### END HIDDEN TESTS\n",
                    100,
                ),
            ]
        ),
        tmp_path / "double.ipynb",
    )
    flagged = [w for w in lint_source(source) if "reads like an input and its answer" in w]
    assert len(flagged) == 2 and all("part double-tests" in w for w in flagged)
    assert "'3 -> 6'" in flagged[0] and "'5 -> 10'" in flagged[1]
