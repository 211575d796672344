"""One learner's notebook cannot help, hurt or spy on the next one graded by the same worker."""

from __future__ import annotations

from typing import Any

import pytest

from tests.grader.core.attacks import (
    RIGHT_WORD_COUNTS,
    plants_answer_in_shared_places,
    uses_answer_left_by_another_notebook,
)
from tests.grader.core.conftest import Course
from tests.grader.core.nbbuild import answer, insert_after


def _scores(result: Any) -> dict[str, float]:
    return {part.grade_id: part.points for part in result.parts}


@pytest.mark.needs("bubblewrap")  # private files per notebook come from its namespaces
def test_files_and_shared_memory_left_behind_do_not_reach_the_next_notebook(
    course: Course, honest_wrong: dict[str, Any]
) -> None:
    baseline = course.grade(honest_wrong, learner="honest")
    right = answer(honest_wrong, "words-answer", RIGHT_WORD_COUNTS)
    planter = course.grade(plants_answer_in_shared_places(right, course), learner="planter")
    assert _scores(planter)["words-tests"] == 20  # the plant ran, and its answer is right
    taker = course.grade(uses_answer_left_by_another_notebook(honest_wrong, course), "taker")
    assert _scores(taker) == _scores(baseline)


POISON = """
import builtins, json
import IPython.core.interactiveshell as _shell_module
import context_lib
import grader.child.observe
import grader.child.values

def word_counts(text):
    return {"the": 3, "cat": 1}

_right = word_counts
builtins.word_counts = _right  # every later notebook's name lookup would find it
context_lib.word_counts = _right
grader.child.values.encode_value = lambda value: {"the": 3, "cat": 1}
json.dumps = lambda *args, **kwargs: '{"t": "done", "n": 0, "error": null}'
_shell_module.InteractiveShell.run_cell = lambda *args, **kwargs: None
"""


def test_monkeypatching_in_one_notebook_never_reaches_the_next(
    course: Course, honest_wrong: dict[str, Any]
) -> None:
    baseline = course.grade(honest_wrong, learner="honest")
    poisoner = insert_after(honest_wrong, "words-answer", POISON, "poison")
    course.grade(poisoner, learner="poisoner", cell_timeout=5)
    after = course.grade(honest_wrong, learner="next")
    assert _scores(after) == _scores(baseline)
    assert after.events == baseline.events
