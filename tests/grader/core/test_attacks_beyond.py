"""Issue 14's attacks on the grading core: each scores exactly the honest-but-wrong score."""

from __future__ import annotations

from typing import Any

import pytest

from grader.core.results import NotebookResult
from tests.grader.core.attacks_beyond import BEYOND_ATTACKS, HOOK_ATTACKS
from tests.grader.core.conftest import Course


def _scores(result: NotebookResult) -> dict[str, float]:
    return {part.grade_id: part.points for part in result.parts}


def _everything_shown(result: NotebookResult) -> str:
    lines = [*result.events]
    for part in result.parts:
        lines.append(part.message)
        lines.extend(check.message for check in part.checks)
    return "\n".join(lines)


@pytest.mark.parametrize("name", sorted(BEYOND_ATTACKS))
def test_attack_scores_exactly_the_honest_wrong_score(
    name: str, course: Course, honest_wrong: dict[str, Any]
) -> None:
    baseline = course.grade(honest_wrong, learner="honest")
    result = course.grade(BEYOND_ATTACKS[name](honest_wrong, course), learner=name)
    assert _scores(result) == _scores(baseline), result.events


def test_no_source_of_a_running_test_cell_can_be_recovered(
    course: Course, honest_wrong: dict[str, Any]
) -> None:
    attacked = BEYOND_ATTACKS["recovers-hidden-tests-from-frames-and-history"](honest_wrong, course)
    shown = _everything_shown(course.grade(attacked))
    assert "count each word" in shown  # the visible check ran and showed what it got:
    assert "{'recovered': 0}" in shown  # no line of the test cells, from anywhere
    for hidden in ("large numbers", "case folded", "THE cat"):
        assert hidden not in shown


@pytest.mark.parametrize("name", sorted(HOOK_ATTACKS))
def test_a_hook_that_could_watch_the_tests_rejects_that_notebook_alone(
    name: str, course: Course, honest_wrong: dict[str, Any]
) -> None:
    attack, hook = HOOK_ATTACKS[name]
    result = course.grade(attack(honest_wrong, course), learner=name)
    after = course.grade(honest_wrong, learner="honest")  # the same sandbox, next learner

    assert result.score == 0 and {part.status for part in result.parts} == {"error"}
    assert any(hook in event and "scores 0" in event for event in result.events), result.events
    assert after.score > 0 and not any("hook" in event for event in after.events)
    shown = _everything_shown(result)
    for hidden in ("large numbers", "case folded", "THE cat"):
        assert hidden not in shown


def test_a_forbidden_module_built_from_pasted_source_is_flagged(
    course: Course, honest_wrong: dict[str, Any]
) -> None:
    attacked = BEYOND_ATTACKS["forbidden-module-from-pasted-source"](honest_wrong, course)
    result = course.grade(attacked)
    words = next(part for part in result.parts if part.grade_id == "words-tests")
    assert words.status == "forbidden-import", result.events
    assert "context_lib.patterns" in words.message
    assert any("loaded context_lib.patterns" in event for event in result.events)


def test_a_stall_in_the_graders_own_work_costs_only_that_notebook(
    course: Course, honest_wrong: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import grader.core.grading as grading
    from tests.grader.core.nbbuild import insert_after

    real = grading.forbidden_imports_in

    def stalls_on_marker(code: str, forbidden: Any) -> list[str]:
        if "# stall the scan" in code:  # stands for a slow path not found yet
            while True:
                pass
        return real(code, forbidden)

    monkeypatch.setattr(grading, "forbidden_imports_in", stalls_on_marker)
    monkeypatch.setattr(grading, "PARENT_SECONDS", 0.5)
    stalled = course.grade(insert_after(honest_wrong, "setup", "# stall the scan\n", "stall"))
    assert stalled.score == 0
    assert any("ran out of time" in event for event in stalled.events), stalled.events
    assert {part.status for part in stalled.parts} == {"not-run"}
    baseline = course.grade(honest_wrong, learner="honest")  # the next notebook is unaffected
    assert baseline.score > 0


def test_a_stall_in_the_graders_own_work_is_bounded_in_a_worker_thread_too(
    course: Course, honest_wrong: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Dask worker grades in a thread, where no SIGALRM arrives: the limit holds there."""
    import threading

    import grader.core.grading as grading
    from tests.grader.core.nbbuild import insert_after

    real = grading.forbidden_imports_in

    def stalls_on_marker(code: str, forbidden: Any) -> list[str]:
        if "# stall the scan" in code:
            while True:
                pass
        return real(code, forbidden)

    monkeypatch.setattr(grading, "forbidden_imports_in", stalls_on_marker)
    monkeypatch.setattr(grading, "PARENT_SECONDS", 0.5)
    results: list[NotebookResult] = []
    stalled_nb = insert_after(honest_wrong, "setup", "# stall the scan\n", "stall")
    worker = threading.Thread(target=lambda: results.append(course.grade(stalled_nb)))
    worker.start()
    worker.join()
    (stalled,) = results
    assert {part.status for part in stalled.parts} == {"not-run"}
    assert any("ran out of time" in event for event in stalled.events), stalled.events
