"""Authoring checks for source notebooks (release --check)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.authoring.lint import audit_source, lint_source
from tests.grader.core.nbbuild import FIXTURES, graded, notebook, solution, write

GUESSABLE = (
    "arithmetic.ipynb: part {part}: an answer {answer} would collect 33% of its hidden points "
    "(at most 20%); add hidden checks whose answers differ, or weigh them more"
)


def _arithmetic(tmp_path: Path, *, weights: dict[str, dict[str, float]], traps: Any) -> Path:
    data = json.loads((FIXTURES / "arithmetic.ipynb").read_text("utf-8"))
    for cell in data["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in weights:
            cell["metadata"]["context_course"] = {"weights": weights[grade_id]}
    data["metadata"]["context_course"]["traps"] = traps
    path = tmp_path / "arithmetic.ipynb"
    path.write_text(json.dumps(data), "utf-8")
    return path


def test_the_fixture_source_is_clean_but_for_its_guessable_parts() -> None:
    assert lint_source(FIXTURES / "arithmetic.ipynb") == [
        GUESSABLE.format(part="mean-tests", answer="always raising ValueError"),
        GUESSABLE.format(part="words-tests", answer="always the empty dict"),
    ]


def test_weighing_the_checks_a_constant_cannot_pass_makes_a_part_unguessable(
    tmp_path: Path,
) -> None:
    source = _arithmetic(
        tmp_path,
        weights={"mean-tests": {"thirds": 3}, "words-tests": {"case folded": 3}},
        traps=[],
    )
    assert lint_source(source) == []


def test_traps_are_reported_with_the_points_their_checks_carry(tmp_path: Path) -> None:
    source = _arithmetic(
        tmp_path,
        weights={"mean-tests": {"thirds": 3}, "words-tests": {"case folded": 3}},
        traps=[
            {
                "id": "int-division",
                "teaches": "/ not //",
                "part": "mean-tests",
                "checks": ["thirds"],
            },
            {
                "id": "case",
                "teaches": "fold case",
                "part": "words-tests",
                "checks": ["sorted keys", "no such check"],
            },
            {"id": "ghost", "teaches": "nothing", "part": "no-such-part", "checks": ["x"]},
        ],
    )
    audit = audit_source(source)
    assert audit.traps == [
        "arithmetic.ipynb: trap 'int-division' (/ not //) is carried by mean-tests: 'thirds', "
        "15.0 of the part's 40 points",
        "arithmetic.ipynb: trap 'case' (fold case) is carried by words-tests: 'sorted keys', "
        "'no such check', 3.3 of the part's 20 points",
    ]
    assert audit.warnings == [
        "arithmetic.ipynb: trap 'case' names 'no such check', which is no check of words-tests",
        "arithmetic.ipynb: trap 'case' costs only 3.3 points; give its checks weight "
        "(metadata.context_course.weights of words-tests) so that it costs at least 10",
        "arithmetic.ipynb: trap 'ghost' names the unknown part 'no-such-part'",
    ]


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
