"""The attack suite: every hostile submission scores exactly what honest work earns."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from grader.core.results import NotebookResult
from tests.grader.core.attacks import ATTACKS, SLOW_ATTACKS, Attack
from tests.grader.core.conftest import Course
from tests.services import require_service


def _scores(result: NotebookResult) -> dict[str, float]:
    return {part.grade_id: part.points for part in result.parts}


def _parent_of(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((ln for ln in status.splitlines() if ln.startswith("PPid:")), "PPid: 0")
    return int(line.split()[1])


def _session_processes() -> list[int]:
    """Our descendants running as one of the sandbox's per-notebook uids."""
    found = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid < 200_000:
                continue
        except OSError:
            continue
        pid = int(entry.name)
        ancestor = pid
        while ancestor > 1:
            ancestor = _parent_of(ancestor)
            if ancestor == me:
                found.append(pid)
                break
    return found


@pytest.fixture
def baseline(course: Course, honest_wrong: dict[str, Any]) -> NotebookResult:
    return course.grade(honest_wrong, learner="honest")


def test_honest_right_scores_full_marks(course: Course, honest_right: dict[str, Any]) -> None:
    result = course.grade(honest_right)
    assert result.score == result.max_score == 100
    assert all(part.status == "ok" for part in result.parts)


def test_honest_wrong_scores_partial_credit(baseline: NotebookResult) -> None:
    assert _scores(baseline) == {
        "add-tests": 40.0,
        "mean-tests": pytest.approx(40 / 3),
        "words-tests": 0.0,
    }


#: Attacks only the sandbox's own view of the filesystem stops (bubblewrap's mount
#: namespace): without bubblewrap, `grade` warns that this isolation is missing.
NEEDS_MOUNT_NAMESPACE = {
    "reads-gradebook-and-reference-cache",
    "reads-source-notebook",
    "writes-gradebook",
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_scores_exactly_the_honest_wrong_score(
    name: str, course: Course, honest_wrong: dict[str, Any], baseline: NotebookResult
) -> None:
    if name in NEEDS_MOUNT_NAMESPACE:
        require_service("bubblewrap")
    gradebook_before = course.gradebook.read_bytes()
    source_before = course.source.read_bytes()
    attack: Attack = ATTACKS[name]
    result = course.grade(attack(honest_wrong, course), learner=name)
    assert result.score == baseline.score, result.events
    assert _scores(result) == _scores(baseline)
    assert course.gradebook.read_bytes() == gradebook_before
    assert course.source.read_bytes() == source_before
    assert _session_processes() == []


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SLOW_ATTACKS))
def test_runaway_attack_costs_only_its_own_part(
    name: str, course: Course, honest_wrong: dict[str, Any]
) -> None:
    # 5 s: the runaway cell meets it, the honest cells never do, even on a loaded machine.
    baseline = course.grade(honest_wrong, learner="honest", cell_timeout=5)
    result = course.grade(SLOW_ATTACKS[name](honest_wrong, course), learner=name, cell_timeout=5)
    assert _scores(result) == _scores(baseline)
    assert any("timed out after 5 s" in event for event in result.events), result.events
    assert _session_processes() == []


def test_runaway_in_a_test_cell_is_reported_in_plain_words(
    course: Course, honest_wrong: dict[str, Any]
) -> None:
    attacked = SLOW_ATTACKS["infinite-loop-ignoring-interrupts"](honest_wrong, course)
    result = course.grade(attacked, cell_timeout=1)
    words = next(part for part in result.parts if part.grade_id == "words-tests")
    assert words.status == "timeout"
    assert "timed out after 1 s" in words.message
    assert words.points == 0


def test_crash_is_reported_and_grading_continues(
    course: Course, honest_wrong: dict[str, Any]
) -> None:
    result = course.grade(ATTACKS["os-exit-in-added-cell"](honest_wrong, course))
    assert any("exited (status 3)" in event for event in result.events), result.events
    assert result.extra["sessions"] == 2


def test_forbidden_import_says_why_the_part_scored_nothing(
    course: Course, honest_wrong: dict[str, Any]
) -> None:
    result = course.grade(ATTACKS["forbidden-import"](honest_wrong, course))
    words = next(part for part in result.parts if part.grade_id == "words-tests")
    assert words.status == "forbidden-import"
    assert "context_lib.patterns" in words.message
    assert all(not check.passed for check in words.checks)


def test_restored_test_cells_are_reported(course: Course, honest_wrong: dict[str, Any]) -> None:
    result = course.grade(ATTACKS["deletes-test-cell"](honest_wrong, course))
    assert "the test cell of part words-tests was missing; the original was put back" in (
        result.events
    )
    assert {part.grade_id for part in result.parts} == {"add-tests", "mean-tests", "words-tests"}


def test_no_process_outlives_grading(course: Course, honest_wrong: dict[str, Any]) -> None:
    course.grade(ATTACKS["double-forked-daemon"](honest_wrong, course))
    assert _session_processes() == []
    assert os.path.exists(course.gradebook)


@pytest.mark.slow
def test_the_whole_notebook_timeout_stops_grading_in_plain_words(
    course: Course, honest_wrong: dict[str, Any]
) -> None:
    from tests.grader.core.nbbuild import insert_after

    baseline = course.grade(honest_wrong, learner="honest")
    stalling = insert_after(honest_wrong, "setup", "import time\ntime.sleep(60)\n", "stall")
    result = course.grade(stalling, learner="staller", cell_timeout=30, notebook_timeout=2)
    assert baseline.score > 0
    assert result.score == 0
    assert any("the notebook ran out of time (2 s" in event for event in result.events), (
        result.events
    )
    assert {part.status for part in result.parts} <= {"timeout", "not-run"}
    assert _session_processes() == []
