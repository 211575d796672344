"""One learner's notebook cannot help, hurt or spy on the next one graded by the same worker."""

from __future__ import annotations

from typing import Any

from tests.grader.core.attacks import (
    RIGHT_WORD_COUNTS,
    plants_answer_in_shared_places,
    uses_answer_left_by_another_notebook,
)
from tests.grader.core.conftest import Course
from tests.grader.core.nbbuild import answer


def _scores(result: Any) -> dict[str, float]:
    return {part.grade_id: part.points for part in result.parts}


def test_files_and_shared_memory_left_behind_do_not_reach_the_next_notebook(
    course: Course, honest_wrong: dict[str, Any]
) -> None:
    baseline = course.grade(honest_wrong, learner="honest")
    right = answer(honest_wrong, "words-answer", RIGHT_WORD_COUNTS)
    planter = course.grade(plants_answer_in_shared_places(right, course), learner="planter")
    assert _scores(planter)["words-tests"] == 20  # the plant ran, and its answer is right
    taker = course.grade(uses_answer_left_by_another_notebook(honest_wrong, course), "taker")
    assert _scores(taker) == _scores(baseline)
