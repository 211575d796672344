"""``context-course check`` and official grading judge the visible checks alike.

Both run the notebook through :func:`grader.core.grading.run_and_judge`; this corpus of
learner notebooks (right, wrong, a runaway cell, a cell that raises before a test, an
answer built by iterating a set) must get identical per-check verdicts for every visible
check, whether graded against the instructor's source or checked against the learner
copy of the notebook.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.core.grading import grade_notebook
from grader.core.localcheck import check_saved_notebook
from grader.core.results import NotebookResult
from tests.grader.core.nbbuild import (
    answer,
    graded,
    locked,
    markdown_cell,
    notebook,
    release,
    solution,
    write,
)

SOURCE = notebook(
    [
        markdown_cell("# Corpus", "title"),
        locked("setup", "from grader import observe\n"),
        markdown_cell("## Part 1: add", "add-task"),
        solution(
            "add-answer",
            "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION\n",
        ),
        graded(
            "add-tests",
            'assert add(1, 2) == 3, "add(1, 2) should be 3"\n'
            "assert add(-1, 1) == 0\n"
            "### BEGIN HIDDEN TESTS\n"
            'observe("big", add(10**12, 1))\n'
            "### END HIDDEN TESTS\n",
            6,
        ),
        markdown_cell("## Part 2: letters", "letters-task"),
        solution(
            "letters-answer",
            "def letters(word):\n    ### BEGIN SOLUTION\n    return set(word)\n"
            "    ### END SOLUTION\n",
        ),
        graded(
            "letters-tests",
            'assert letters("hello") == {"h", "e", "l", "o"}, "each letter once"\n'
            'assert sorted(letters("abc")) == ["a", "b", "c"]\n',
            4,
        ),
    ]
)

RIGHT_LETTERS = "def letters(word):\n    return set(word)\n"
# iterates a set whose order differs between processes (string hashing is randomised)
SET_ORDER_LETTERS = (
    "def letters(word):\n"
    "    seen = set()\n"
    "    for ch in set(word):\n"
    "        seen.add(ch)\n"
    "    return seen if len(seen) == 4 else list(seen)\n"
)


def _learner(**answers: str) -> dict[str, Any]:
    nb = release(SOURCE)
    for grade_id, code in answers.items():
        nb = answer(nb, grade_id, code)
    return nb


CORPUS: dict[str, dict[str, Any]] = {
    "correct": _learner(
        **{"add-answer": "def add(a, b):\n    return a + b\n", "letters-answer": RIGHT_LETTERS}
    ),
    "wrong": _learner(
        **{
            "add-answer": "def add(a, b):\n    return a - b\n",
            "letters-answer": "def letters(word):\n    return list(word)[1:]\n",
        }
    ),
    "unanswered": _learner(),
    "runaway cell": _learner(
        **{"add-answer": "while True:\n    pass\n", "letters-answer": RIGHT_LETTERS}
    ),
    # interrupted, it catches the interrupt and then defines add: grading kills the cell
    # and leaves it out of the replay, so the test must not see that add, locally either
    "runaway cell that catches the interrupt": _learner(
        **{
            "add-answer": "try:\n    while True:\n        pass\nexcept KeyboardInterrupt:\n"
            "    pass\ndef add(a, b):\n    return a + b\n",
            "letters-answer": RIGHT_LETTERS,
        }
    ),
    "raises before a test": _learner(
        **{
            "add-answer": "def add(a, b):\n    return a + b\nraise ValueError('oops')\n",
            "letters-answer": RIGHT_LETTERS,
        }
    ),
    "set ordering": _learner(
        **{"add-answer": "def add(a, b):\n    return a + b\n", "letters-answer": SET_ORDER_LETTERS}
    ),
}


def _visible(result: NotebookResult) -> list[tuple[str, str, bool, str]]:
    """Each visible check's verdict and message (its points differ by design: a local check
    shares the part's points among the visible checks only)."""
    return [
        (part.grade_id, check.label, check.passed, check.message)
        for part in result.parts
        for check in part.checks
        if check.kind == "visible"
    ]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("agreement")
    source = write(SOURCE, root / "source" / "corpus" / "corpus.ipynb")
    learner_copy = write(release(SOURCE), root / "release" / "corpus" / "corpus.ipynb")
    return source, learner_copy, root / "cache"


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CORPUS))
def test_check_and_grading_agree_on_every_visible_check(
    case: str, folders: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    source, learner_copy, cache = folders
    submitted = write(CORPUS[case], tmp_path / "learner" / "corpus" / "corpus.ipynb")
    graded_result = grade_notebook(
        source, submitted, cache_dir=cache, cell_timeout=3, notebook_timeout=60
    )
    checked = check_saved_notebook(learner_copy, submitted, cell_timeout=3, notebook_timeout=60)
    assert _visible(graded_result), "the corpus notebook has visible checks"
    assert _visible(checked) == _visible(graded_result)
    assert [p.status for p in checked.parts] == [p.status for p in graded_result.parts]


@pytest.mark.slow
def test_the_corpus_tells_right_from_wrong(
    folders: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """The agreement above is not agreement on nothing: verdicts differ across the corpus."""
    _, learner_copy, _ = folders
    verdicts = {}
    for case in ("correct", "wrong", "runaway cell"):
        submitted = write(CORPUS[case], tmp_path / case / "corpus" / "corpus.ipynb")
        result = check_saved_notebook(learner_copy, submitted, cell_timeout=3, notebook_timeout=60)
        verdicts[case] = [passed for _, _, passed, _ in _visible(result)]
    assert verdicts["correct"] == [True, True, True, True]
    assert verdicts["wrong"] == [False, False, False, False]
    assert verdicts["runaway cell"][:2] == [False, False]
