"""Test cells become checks: the child runs only the observed side of each assert."""

from __future__ import annotations

import pytest

from grader.core.checks import LEARNER, REFERENCE, plan_test_cell, render_message
from grader.core.errors import GradingError
from grader.core.nbsource import Cell


def make_test_cell(source: str, **metadata: object) -> Cell:
    return Cell(
        index=4,
        id="t",
        cell_type="code",
        source=source,
        nbgrader={"grade": True, "solution": False, "grade_id": "t", "points": 10},
        metadata=dict(metadata),
    )


SOURCE = """x = compute()
assert x == 41 + 1, f"expected 42, got {x!r}"
assert 7 == seven(), "seven"
assert isinstance(x, int)
### BEGIN HIDDEN TESTS
observe("doubled", double(21))
observe("raises", lambda: fail())
assert secret() == 1234567
### END HIDDEN TESTS
"""


def test_the_learner_code_never_holds_an_expected_value() -> None:
    plan = plan_test_cell(make_test_cell(SOURCE))
    code = plan.code(LEARNER)
    assert "41 + 1" not in code and "1234567" not in code and "== 7" not in code
    assert "__cc_assert__('assert 1', lambda: x)" in code
    assert "__cc_assert__('assert 2', lambda: seven())" in code  # sides swapped: 7 is literal
    assert "__cc_truth__('assert 3', lambda: isinstance(x, int))" in code
    assert "__cc_observe__('doubled', lambda: double(21))" in code
    assert "__cc_expect__" not in code


def test_the_reference_code_reports_expected_values() -> None:
    code = plan_test_cell(make_test_cell(SOURCE)).code(REFERENCE)
    assert "__cc_expect__('assert 1', lambda: 41 + 1)" in code
    assert "__cc_expect__('assert 4', lambda: 1234567)" in code


def test_every_top_level_statement_is_isolated() -> None:
    code = plan_test_cell(make_test_cell("a = 1\nb = 2\n")).code(LEARNER)
    assert code.count("except BaseException as __cc_exc__") == 2


def test_checks_carry_kind_labels_and_messages() -> None:
    plan = plan_test_cell(make_test_cell(SOURCE))
    kinds = [(c.key, c.kind, c.compare) for c in plan.asserts]
    assert kinds == [
        ("assert 1", "visible", "equal"),
        ("assert 2", "visible", "equal"),
        ("assert 3", "visible", "truth"),
        ("assert 4", "hidden", "equal"),
    ]
    assert plan.asserts[3].label == "hidden assert 4"
    assert plan.asserts[3].message == ()
    assert plan.static_probe_labels == ("doubled", "raises")
    message = render_message(plan.asserts[0].message, plan.asserts[0].observed_source, "41")
    assert message == "expected 42, got 41"


def test_boolean_probes_are_recognised() -> None:
    plan = plan_test_cell(
        make_test_cell('observe("is int", isinstance(v, int))\nobserve("v", v)\n')
    )
    assert plan.boolean_probe_labels == ("is int",)


def test_invalid_python_in_a_test_cell_is_an_instructor_error() -> None:
    with pytest.raises(GradingError, match="not valid Python"):
        plan_test_cell(make_test_cell("assert (\n"))


def test_weights_must_be_positive_numbers() -> None:
    cell = make_test_cell("assert f() == 1\n", context_course={"weights": {"assert 1": -1}})
    with pytest.raises(GradingError, match="positive"):
        plan_test_cell(cell)
    good = make_test_cell("assert f() == 1\n", context_course={"weights": {"assert 1": 3}})
    assert plan_test_cell(good).weights == {"assert 1": 3.0}
