"""Several graders writing one PostgreSQL gradebook at once lose nothing.

Each round starts graders together on a fresh database (so they also race to create the
schema and register the course) over disjoint learners plus learners they share (each
grading a different notebook of theirs). The grading core is the pipeline tests' fake,
so the test is about the gradebook's transactions, not about grading.
"""

from __future__ import annotations

import io
import threading
import uuid
from pathlib import Path

import psycopg
import pytest
from nbgrader.api import Gradebook
from rich.console import Console

from grader.pipeline.batch import BatchSummary, grade_submissions
from grader.pipeline.dispatch import SerialExecutor
from grader.pipeline.gradebook import GradebookStore
from tests.grader.pipeline.builders import COURSE_ID, answer, folder_submission, make_course

pytestmark = pytest.mark.slow

FAKE = "tests.grader.pipeline.fakes:fake_grade"
GRADERS = {  # grader -> (own learners' prefix, the notebook it grades for shared learners)
    "a": ("a", "01-alpha"),
    "b": ("b", "02-beta"),
    "c": ("c", "01-alpha"),
}
SHARED = [f"shared{i}" for i in range(4)]
ANSWERS = {"01-alpha": answer("pass test-a1"), "02-beta": answer("pass test-b1")}
SCORES = {"01-alpha": 2.0, "02-beta": 5.0}


def _fresh_database(postgres_url: str) -> str:
    name = f"cc_{uuid.uuid4().hex[:12]}"
    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"


def _round(root: Path, db_url: str) -> tuple[dict[str, BatchSummary], dict[tuple[str, str], float]]:
    expected: dict[tuple[str, str], float] = {}
    jobs: dict[str, tuple[Path, Path]] = {}
    for grader, (prefix, shared_notebook) in GRADERS.items():
        course = make_course(root / grader / "course")
        submitted = root / grader / "submitted"
        for index in range(6):
            learner = f"{prefix}{index}"
            folder_submission(submitted, learner, ANSWERS)
            expected.update({(learner, slug): SCORES[slug] for slug in ANSWERS})
        if shared_notebook != "01-alpha" or grader == "a":  # "c" regrades a's shared notebooks
            for learner in SHARED:
                folder_submission(submitted, learner, {shared_notebook: ANSWERS[shared_notebook]})
                expected[(learner, shared_notebook)] = SCORES[shared_notebook]
        jobs[grader] = (course.root, submitted)
    start = threading.Barrier(len(GRADERS))
    summaries: dict[str, BatchSummary] = {}
    failures: list[BaseException] = []

    def grade(grader: str) -> None:
        from grader.pipeline.config import load_course

        course_root, submitted = jobs[grader]
        course = load_course(course_root)
        start.wait()
        try:
            summaries[grader] = grade_submissions(
                [submitted],
                course=course,
                db_url=db_url,
                executor=SerialExecutor(FAKE),
                console=Console(file=io.StringIO()),
                show_progress=False,
            )
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=grade, args=(g,)) for g in GRADERS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    return summaries, expected


@pytest.mark.parametrize("round_number", range(3))
def test_graders_writing_one_postgresql_gradebook_at_once_lose_nothing(
    tmp_path: Path, postgres_url: str, round_number: int
) -> None:
    db_url = _fresh_database(postgres_url)
    summaries, expected = _round(tmp_path, db_url)
    for grader, summary in summaries.items():
        assert summary.ok, (grader, [i.message for i in summary.items if i.status == "failed"])
    with GradebookStore(db_url, course_id=COURSE_ID) as store:
        stored = {(r.learner_id, r.notebook): r.score for r in store.records()}
        assert len(store.students()) == len({learner for learner, _ in expected})
    assert stored == expected
    with Gradebook(db_url, course_id=COURSE_ID) as gradebook:
        for (learner, notebook), score in expected.items():
            assert gradebook.find_submission_notebook(notebook, notebook, learner).score == score
