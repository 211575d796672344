"""Certificates read the late penalty from nbgrader's gradebook and subtract it once: the
level is decided on the penalised scores (a late Gold stays Gold only while the penalised
scores still meet Gold's thresholds)."""

from __future__ import annotations

import warnings
from pathlib import Path

from certificates.curriculum import EXERCISES
from context_course.gradebook_scores import read_gradebook
from scoring import DEFAULT_LEVELS, decide, parse_levels, percent
from tests.certificates.builders import COURSE_ID, Student, build_gradebook

LEVELS = parse_levels(DEFAULT_LEVELS, exercises=range(1, 9))[1]
ALL_TENS = Student("ana", "Ana", "Late", "ana@example.org", [10] * 8)


def _penalise(url: str, learner: str, slug: str, points: float) -> None:
    from nbgrader.api import Gradebook

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gradebook = Gradebook(url, course_id=COURSE_ID)
        try:
            gradebook.find_submission_notebook(slug, slug, learner).late_submission_penalty = points
            gradebook.db.commit()
        finally:
            gradebook.close()
            gradebook.engine.dispose()


def _level(url: str) -> tuple[float, str | None]:
    record = read_gradebook(url, COURSE_ID, ["ana"])[0]
    capstone = record.scores[8]
    scores = {n: percent(s.score, s.max_score) for n, s in record.scores.items()}
    level = decide(LEVELS, scores)
    return capstone.score, level.key if level else None


def test_a_late_capstone_costs_its_penalty_once_and_the_level_follows(tmp_path: Path) -> None:
    url = build_gradebook(tmp_path / "gradebook.db", [ALL_TENS])
    capstone = EXERCISES[-1].slug
    assert _level(url) == (10.0, "gold")
    _penalise(url, "ana", capstone, 2.0)  # 80 %: still ≥ 70 % on 08 and a 97.5 % average
    assert _level(url) == (8.0, "gold")
    _penalise(url, "ana", capstone, 4.0)  # 60 %: below Gold's 70 % on 08
    assert _level(url) == (6.0, "silver")
    _penalise(url, "ana", capstone, 25.0)  # more than the score: 0, never negative
    assert _level(url) == (0.0, "silver")
