"""Every course notebook through the real grader: references score 100, blank learners 0.

The reference solution is graded as if a learner had submitted it and must earn every
point; the unmodified learner notebook from ``exercises/`` must earn nothing on any part
(every part needs code). One reference cache per session keeps the reference runs shared.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.core.grading import grade_notebook
from grader.core.results import NotebookResult

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(ROOT.glob("solutions/*/*.ipynb"))
by_source = pytest.mark.parametrize("path", SOURCES, ids=[p.parent.name for p in SOURCES])

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reference-cache")


def failures(result: NotebookResult) -> list[str]:
    """Every check that did not pass, with its part and message, for a readable assert."""
    return [
        f"{part.grade_id}/{check.label}: {check.message}"
        for part in result.parts
        for check in part.checks
        if not check.passed
    ] + [
        f"{part.grade_id}: {part.status} {part.message}"
        for part in result.parts
        if part.status != "ok"
    ]


@by_source
def test_the_reference_solution_scores_100(path: Path, cache_dir: Path) -> None:
    result = grade_notebook(path, path, cache_dir=cache_dir)

    assert failures(result) == []
    assert (result.score, result.max_score) == (100, 100), result.events


@by_source
def test_the_unmodified_learner_notebook_scores_0_on_every_part(
    path: Path, cache_dir: Path
) -> None:
    learner = ROOT / "exercises" / path.relative_to(ROOT / "solutions")

    result = grade_notebook(path, learner, cache_dir=cache_dir)

    assert {part.grade_id: part.points for part in result.parts} == {
        part.grade_id: 0 for part in result.parts
    }
    assert result.score == 0 and result.max_score == 100
