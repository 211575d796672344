"""Authoring checks for source notebooks (release --check)."""

from __future__ import annotations

from pathlib import Path

from grader.authoring.lint import lint_source
from tests.grader.core.nbbuild import FIXTURES, graded, notebook, solution, write


def test_the_fixture_source_is_clean() -> None:
    assert lint_source(FIXTURES / "arithmetic.ipynb") == []


def test_authoring_mistakes_are_reported(tmp_path: Path) -> None:
    source = write(
        notebook(
            [
                solution(
                    "answer",
                    "import random\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n"
                    "    ### END SOLUTION\n",
                ),
                graded(
                    "weak",
                    "### BEGIN HIDDEN TESTS\nobserve('is one', f() == 1)\n"
                    "observe('noise', random.random())\nobserve('twice', f())\n"
                    "assert f() in (1, 2)\n### END HIDDEN TESTS\n",
                    30,
                ),
                graded("visible-only", "assert f() == 1\n", 30),
            ]
        ),
        tmp_path / "sloppy.ipynb",
    )
    warnings = lint_source(source)
    assert (
        "sloppy.ipynb: part weak has no visible assert (learners get no instant feedback)"
        in warnings
    )
    assert "sloppy.ipynb: part visible-only has no hidden checks (observe probes)" in warnings
    assert any("probe 'is one' observes only a boolean" in w for w in warnings)
    assert any("probe 'noise' observed different values" in w for w in warnings)
    assert "sloppy.ipynb: the test cells' points sum to 60, not 100" in warnings
    assert any(
        w.startswith("sloppy.ipynb: part weak: hidden assert 1 is not `value == expected`")
        for w in warnings
    )


def test_duplicate_labels_are_reported(tmp_path: Path) -> None:
    source = write(
        notebook(
            [
                solution(
                    "answer",
                    "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n",
                ),
                graded(
                    "dup",
                    "assert f() == 1\n### BEGIN HIDDEN TESTS\nobserve('x', f())\n"
                    "observe('x', f() + 1)\n### END HIDDEN TESTS\n",
                    100,
                ),
            ]
        ),
        tmp_path / "dup.ipynb",
    )
    warnings = lint_source(source)
    assert "dup.ipynb: part dup uses the probe label 'x' 2 times" in warnings
    assert any("observes the label 'x' twice" in w for w in warnings)
