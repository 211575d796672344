"""Feedback names the learner's first mistake: the test line that raised, not the NameError
after it; never a value left over from an earlier cell; "got" once; bounded messages.

The same verdict serves grading, ``check`` (the saved notebook in the sandbox) and the
notebook's check panel (the live kernel); each scenario is asserted on all three.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from grader.core.checks import names_to_forget
from grader.core.grading import grade_notebook
from grader.core.localcheck import check_saved_notebook, load_checks, run_part_live
from grader.core.results import CheckResult, PartResult
from grader.core.verdict import MESSAGE_LIMIT, NOT_ATTEMPTED
from tests.grader.core.nbbuild import code_cell, graded, load, notebook, release, solution, write

EXAMPLE = "got = ['a', 'b', 'd']  # a worked example left this behind\nnode = 'stale-node'\n"

ANSWER = """def settings(stored):
    ### BEGIN SOLUTION
    return dict(stored)
    ### END SOLUTION


def lookup(ring, key):
    ### BEGIN SOLUTION
    return ring[0]
    ### END SOLUTION
"""

TESTS = """got = settings({"host": "db1"})
assert got == {"host": "db1"}, f"settings copies what is stored, got {got!r}"
node = lookup(["n1"], "k")
assert node == "n1", f"one node owns every key; got {node!r}"
### BEGIN HIDDEN TESTS
secret_node = lookup(["hidden-node-xyz"], "k")
observe("a single node owns everything", secret_node)
observe("a lookup on a one-node ring", lambda: lookup(["zz-hidden-input"], "q"))
### END HIDDEN TESTS
"""


@pytest.fixture
def source(tmp_path: Path) -> Path:
    cells = [
        code_cell(EXAMPLE, "example"),
        solution("answer", ANSWER),
        graded("part1-tests", TESTS, 10),
    ]
    return write(notebook(cells), tmp_path / "source" / "cause.ipynb")


def _three_ways(source: Path, tmp_path: Path, answer: str | None) -> dict[str, list[CheckResult]]:
    """The part's checks as grading, ``check`` and the check panel report them."""
    learner = release(load(source))
    if answer is not None:
        learner["cells"][1]["source"] = answer
    graded_path = write(learner, tmp_path / "learner" / "cause.ipynb")
    grading = grade_notebook(source, graded_path, cache_dir=tmp_path / "cache")
    released = write(release(load(source)), tmp_path / "release" / "cause.ipynb")
    mine = write(learner, tmp_path / "workspace" / "cause.ipynb")
    checked = check_saved_notebook(released, mine, cell_timeout=20, notebook_timeout=60)
    namespace: dict[str, Any] = {}
    exec(EXAMPLE, namespace)
    exec(learner["cells"][1]["source"], namespace)
    live: PartResult = run_part_live(load_checks(released), "part1-tests", namespace)
    return {
        "grading": list(grading.parts[0].checks),
        "check": list(checked.parts[0].checks),
        "panel": list(live.checks),
    }


def test_an_untouched_answer_reads_not_attempted_never_a_stale_value(
    source: Path, tmp_path: Path
) -> None:
    for way, checks in _three_ways(source, tmp_path, None).items():
        assert checks, way
        for check in checks:
            assert not check.passed
            assert check.message.startswith(NOT_ATTEMPTED), (way, check.message)
            assert "NameError" not in check.message
            assert "'a', 'b', 'd'" not in check.message and "stale-node" not in check.message
            assert check.message.count("got") <= 1, (way, check.message)


def test_a_check_after_a_line_that_raised_names_that_line_and_its_exception(
    source: Path, tmp_path: Path
) -> None:
    answer = (
        "def settings(stored):\n    return dict(stored)\n\n"
        "def lookup(ring, key):\n    return ring[len(ring)]\n"
    )
    for way, checks in _three_ways(source, tmp_path, answer).items():
        by_label = {check.label: check for check in checks}
        assert by_label["got == {'host': 'db1'}"].passed, way
        node = by_label["node == 'n1'"]
        assert node.message == (
            "the test line `node = lookup(['n1'], 'k')` raised IndexError: list index out of "
            "range. one node owns every key"
        ), way
        if way == "grading":  # hidden: the exception's type only, never a hidden input
            assert by_label["a single node owns everything"].message == (
                "an earlier line of the hidden test raised IndexError"
            )
            assert by_label["a lookup on a one-node ring"].message == (
                "did not behave like the reference solution (it raised IndexError)"
            )


def test_a_wrong_value_says_got_once(source: Path, tmp_path: Path) -> None:
    answer = (
        "def settings(stored):\n    return {'port': 5432}\n\n"
        "def lookup(ring, key):\n    return ring[0]\n"
    )
    for way, checks in _three_ways(source, tmp_path, answer).items():
        message = checks[0].message
        assert message == (
            "expected {'host': 'db1'}, got {'port': 5432}. settings copies what is stored"
        ), way
        assert message.count("got") == 1, way


def test_exception_messages_are_bounded_escaped_and_never_echo_hidden_code(
    source: Path, tmp_path: Path
) -> None:
    answer = (
        "def settings(stored):\n    raise ValueError('bad\\x1b[31m ' + 'x' * 5000)\n\n"
        "def lookup(ring, key):\n    raise KeyError(ring[0])\n"
    )
    for way, checks in _three_ways(source, tmp_path, answer).items():
        first = checks[0].message
        assert "\x1b" not in first and "\\x1b" in first, way
        shown = first.split("ValueError: ", 1)[1].split(". settings", 1)[0]
        assert len(shown) <= MESSAGE_LIMIT and shown.endswith("…"), way
        assert all(ch.isprintable() for ch in first)
        if way == "grading":
            hidden = [c for c in checks if c.kind == "hidden"]
            text = " ".join(c.message for c in hidden)
            assert "hidden-node-xyz" not in text and "zz-hidden-input" not in text
            assert "KeyError" in text


def test_a_visible_exception_message_that_repeats_hidden_code_shows_the_type_only(
    source: Path, tmp_path: Path
) -> None:
    answer = (
        "def settings(stored):\n    return dict(stored)\n\n"
        "def lookup(ring, key):\n    raise LookupError('secret_node = lookup([')\n"
    )
    checks = _three_ways(source, tmp_path, answer)
    node = next(c for c in checks["grading"] if c.label == "node == 'n1'")
    assert node.message == (
        "the test line `node = lookup(['n1'], 'k')` raised LookupError. one node owns every key"
    )
    # locally there is no hidden code to protect: the learner sees their own message
    local = next(c for c in checks["check"] if c.label == "node == 'n1'")
    assert "LookupError: secret_node = lookup([" in local.message


def test_only_names_the_cell_assigns_before_reading_are_forgotten() -> None:
    tree = ast.parse(
        "got = f()\nx = g(x)\ny += 1\nfor item in items:\n    total = item\n"
        "def helper():\n    return later\nlater = 1\n"
    )
    # `item` is read in the statement that binds it: conservatively kept
    assert names_to_forget(tree) == ["got", "total", "helper"]


def test_the_parent_keeps_a_bounded_message_and_ignores_a_malformed_one() -> None:
    from grader.core.executor import MAX_ERROR_MESSAGE, _observation

    base = {"t": "obs", "n": 1, "check": "line 3", "kind": "statement", "status": "error"}
    long = _observation({**base, "value": "KeyError", "message": "k" * 10_000})
    assert long is not None and long.message == "k" * MAX_ERROR_MESSAGE
    odd = _observation({**base, "value": "KeyError", "message": {"nested": "x"}})
    assert odd is not None and odd.message == "" and odd.value == "KeyError"
