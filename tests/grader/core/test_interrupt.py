"""Interrupt, then kill: a runaway cell that stops when interrupted keeps its process."""

from __future__ import annotations

from typing import Any

import pytest

from grader.core.executor import Execution, PlannedCell, execute
from grader.core.sandbox import SandboxLimits, get_sandbox
from tests.grader.core.conftest import Course
from tests.grader.core.nbbuild import answer

LOOP = "while True:\n    pass\n"
# the interrupt lands inside the inner loop, which is inside the try: it never gets out
STUBBORN = (
    "while True:\n"
    "    try:\n"
    "        while True:\n"
    "            pass\n"
    "    except KeyboardInterrupt:\n"
    "        pass\n"
)
IGNORED = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n" + LOOP


def _run(*codes: str, cell_timeout: float = 3) -> Execution:
    """Run cells; 3 s: the runaway cells meet it, trivial ones never do, even under load."""
    return execute(
        [PlannedCell(code=code, name=f"cell {i}") for i, code in enumerate(codes)],
        sandbox=get_sandbox(()),
        files={},
        limits=SandboxLimits(),
        cell_timeout=cell_timeout,
        notebook_timeout=60,
    )


def _values(execution: Execution, index: int) -> list[Any]:
    return [obs.value for obs in execution.outcomes[index].observations]


def test_an_interruptible_loop_times_out_and_the_process_carries_on() -> None:
    execution = _run(
        "state = [1]",
        "state.append(2)\n" + LOOP,
        '__cc_observe__("state", lambda: state)',
    )
    assert [o.status for o in execution.outcomes] == ["ok", "timeout", "ok"]
    assert execution.outcomes[1].detail == "timed out after 3 s"
    assert execution.sessions == 1
    # the same process: what ran before the interrupt is still there (no replay)
    assert _values(execution, 2) == [[1, 2]]
    assert any("cell 1 timed out after 3 s; it was interrupted" in e for e in execution.events)


def test_what_a_cell_sends_after_catching_the_interrupt_is_not_kept() -> None:
    caught = (
        "def slow():\n"
        "    try:\n"
        "        while True:\n"
        "            pass\n"
        "    except KeyboardInterrupt:\n"
        "        return 42\n"
        '__cc_observe__("before", lambda: 1)\n'
        '__cc_observe__("caught", slow)\n'
    )
    execution = _run(caught, '__cc_observe__("after", lambda: 2)')
    assert execution.outcomes[0].status == "timeout"
    assert _values(execution, 0) == [1]
    assert _values(execution, 1) == [2]
    assert execution.sessions == 1


@pytest.mark.parametrize("code", [STUBBORN, IGNORED], ids=["catches", "sig-ign"])
def test_a_loop_that_ignores_the_interrupt_is_killed_and_replayed(code: str) -> None:
    execution = _run("state = [1]", code, '__cc_observe__("state", lambda: state)')
    assert [o.status for o in execution.outcomes] == ["ok", "timeout", "ok"]
    assert execution.sessions == 2
    assert _values(execution, 2) == [[1]]
    assert "cell 1 timed out after 3 s" in execution.events


def test_the_interrupt_reaches_only_the_notebooks_own_process() -> None:
    spawn = (
        "import subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'import time\\nwhile True: time.sleep(0.01)'])\n"
    )
    execution = _run(spawn, LOOP, '__cc_observe__("child alive", lambda: child.poll())')
    assert execution.sessions == 1
    assert _values(execution, 2) == [None]


def test_an_interrupted_part_scores_what_a_killed_one_does(
    course: Course, honest_right: dict[str, Any]
) -> None:
    interruptible = answer(
        honest_right,
        "words-answer",
        # stops at the first interrupt and returns at once from then on
        "stopped = []\n"
        "def word_counts(text):\n"
        "    try:\n"
        "        while not stopped:\n"
        "            pass\n"
        "    except KeyboardInterrupt:\n"
        "        stopped.append(True)\n"
        "    return {}\n",
    )
    ignoring = answer(
        honest_right,
        "words-answer",
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "def word_counts(text):\n" + "    while True:\n        pass\n",
    )
    # 5 s: the runaway cells meet it, the honest ones never do, even on a loaded machine.
    interrupted = course.grade(interruptible, learner="interrupted", cell_timeout=5)
    killed = course.grade(ignoring, learner="killed", cell_timeout=5)
    assert any("it was interrupted and grading continued" in e for e in interrupted.events)
    assert not any("interrupted" in e for e in killed.events)
    assert any("timed out after 5 s" in e for e in killed.events)
    scores = {p.grade_id: (p.points, p.status) for p in interrupted.parts}
    assert scores == {p.grade_id: (p.points, p.status) for p in killed.parts}
    assert scores["words-tests"] == (0, "timeout")
    assert scores["add-tests"][0] > 0


def test_a_learner_cell_before_a_test_is_killed_and_left_out_even_if_interruptible() -> None:
    # what the cell did after catching the interrupt would reach the test that follows
    catches = (
        "try:\n" + "    while True:\n        pass\nexcept KeyboardInterrupt:\n    x = 'forged'\n"
    )
    execution = execute(
        [
            PlannedCell(code="x = 'honest'", name="cell 0", observed=False),
            PlannedCell(code=catches, name="cell 1", observed=False),
            PlannedCell(code='__cc_observe__("x", lambda: x)', name="cell 2"),
        ],
        sandbox=get_sandbox(()),
        files={},
        limits=SandboxLimits(),
        cell_timeout=5,  # cell 0 never meets it, even on a loaded machine
        notebook_timeout=60,
    )
    assert [o.status for o in execution.outcomes] == ["ok", "timeout", "ok"]
    assert execution.sessions == 2
    assert _values(execution, 2) == ["honest"]


def test_later_parts_are_graded_in_the_same_process(
    course: Course, honest_right: dict[str, Any]
) -> None:
    full = course.grade(honest_right, learner="full")
    # the mean tests run away once, are interrupted, and the words part comes after them
    looping = answer(
        honest_right,
        "mean-answer",
        "stopped = []\n"
        "def mean(values):\n"
        "    values = list(values)\n"
        "    while not stopped:\n"
        "        try:\n"
        "            while True:\n"
        "                pass\n"
        "        except KeyboardInterrupt:\n"
        "            stopped.append(True)\n"
        "    return sum(values) / len(values)\n",
    )
    result = course.grade(looping, learner="looping", cell_timeout=5)  # honest cells: far less
    assert result.extra["sessions"] == 1
    parts = {part.grade_id: part for part in result.parts}
    assert parts["mean-tests"].status == "timeout"
    assert parts["mean-tests"].points == 0
    for part in full.parts:
        if part.grade_id != "mean-tests":
            assert parts[part.grade_id].points == part.points == part.max_points
