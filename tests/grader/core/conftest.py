"""Fixtures for the grading core: a course folder with a source notebook and a gradebook."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from grader.core.grading import grade_notebook
from grader.core.results import NotebookResult
from tests.grader.core.nbbuild import FIXTURES, answer, load, release, write

SOURCE_NAME = "arithmetic.ipynb"

WRONG_MEAN = '''def mean(values):
    """The arithmetic mean; ValueError for no values."""
    values = list(values)
    return sum(values) // len(values)
'''


@dataclass
class Course:
    """A course folder laid out like nbgrader's, in a temporary directory."""

    root: Path
    source: Path
    gradebook: Path
    cache_dir: Path

    def submission_path(self, learner: str = "learner") -> Path:
        return self.root / "submitted" / learner / "arithmetic" / SOURCE_NAME

    def grade(self, nb: dict[str, Any], learner: str = "learner", **options: Any) -> NotebookResult:
        path = write(nb, self.submission_path(learner))
        return grade_notebook(self.source, path, cache_dir=self.cache_dir, **options)


@pytest.fixture(scope="session")
def reference_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One reference cache for the session: the reference runs once per source version."""
    return tmp_path_factory.mktemp("reference-cache")


@pytest.fixture
def course(tmp_path: Path, reference_cache: Path) -> Course:
    root = tmp_path / "course"
    source = root / "source" / "arithmetic" / SOURCE_NAME
    source.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / SOURCE_NAME, source)
    gradebook = root / "gradebook.db"
    gradebook.write_bytes(b"SQLite format 3\x00 pretend gradebook")
    return Course(root=root, source=source, gradebook=gradebook, cache_dir=reference_cache)


@pytest.fixture
def source_nb() -> dict[str, Any]:
    return load(FIXTURES / SOURCE_NAME)


@pytest.fixture
def released(source_nb: dict[str, Any]) -> dict[str, Any]:
    """The learner notebook as generate_assignment would produce it (nothing answered)."""
    return release(source_nb)


@pytest.fixture
def honest_right(source_nb: dict[str, Any]) -> dict[str, Any]:
    """The learner notebook with the instructor's answers typed in (hidden tests removed)."""
    nb = release(source_nb)
    for grade_id in ("add-answer", "mean-answer", "words-answer"):
        index = next(i for i, c in enumerate(source_nb["cells"]) if c["id"] == grade_id)
        nb = answer(nb, grade_id, source_nb["cells"][index]["source"])
    return nb


@pytest.fixture
def honest_wrong(source_nb: dict[str, Any], released: dict[str, Any]) -> dict[str, Any]:
    """add right, mean with integer division (partly right), word_counts unanswered."""
    nb = answer(released, "add-answer", "def add(a, b):\n    return a + b\n")
    return answer(nb, "mean-answer", WRONG_MEAN)


Grader = Callable[..., NotebookResult]
