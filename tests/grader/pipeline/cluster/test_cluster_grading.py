"""Grading through a real Dask cluster (a scheduler and 2 worker processes on loopback)
into a real PostgreSQL gradebook, with a worker SIGKILLed mid-batch."""

from __future__ import annotations

import io
import json
import os
import signal
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from nbgrader.api import Gradebook
from rich.console import Console
from sqlalchemy import create_engine, text

from grader.pipeline.batch import BatchSummary, grade_submissions
from grader.pipeline.cluster import DaskExecutor, LocalGradingCluster, start_local_cluster
from grader.pipeline.dispatch import GradeJob, JobOutcome, LocalProcessExecutor
from grader.pipeline.gradebook import GradebookStore
from tests.grader.pipeline.cluster.conftest import (
    COURSE_ID,
    SLUG,
    learner_notebook,
    make_course,
    make_submissions,
)

pytestmark = pytest.mark.slow


#: A learner whose first answer cell sleeps until the cell timeout (20 s) interrupts it:
#: while it is graded, the worker grading it certainly holds a task.
SLOW_LEARNER = "learner-slow"


def add_slow_learner(folder: Path) -> None:
    nb = learner_notebook("right")
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "add-answer":
            cell["source"] = "import time\ntime.sleep(3600)\n"
    path = folder / SLOW_LEARNER / SLUG / f"{SLUG}.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(nb), encoding="utf-8")


class KillAWorkerMidBatch:
    """Passes outcomes through; at the first one, SIGKILLs a worker that holds a task.

    The batch holds :data:`SLOW_LEARNER`, whose notebook keeps its worker busy for the
    whole cell timeout, and the outcome generator is paused while we look: so a worker
    holding a task is waited for (readiness, generously bounded), never raced.
    """

    def __init__(self, inner: DaskExecutor, cluster: LocalGradingCluster) -> None:
        self.inner = inner
        self.cluster = cluster
        self.killed: tuple[int, int] | None = None  # (worker index, tasks it held)

    def run(self, jobs: Sequence[GradeJob]) -> Iterator[JobOutcome]:
        for outcome in self.inner.run(jobs):
            yield outcome
            if self.killed is None:
                self._kill_a_busy_worker()

    def _kill_a_busy_worker(self) -> None:
        client = self.inner.client
        pids: dict[str, int] = client.run(os.getpid)
        deadline = time.monotonic() + 300  # a bound for a hung cluster, not a race
        processing: dict[str, Any] = client.processing()
        while not any(processing.get(a) for a in pids):
            assert time.monotonic() < deadline, "no worker took a task within 300 s"
            time.sleep(0.05)
            processing = client.processing()
        busy = max(pids, key=lambda address: len(processing.get(address, ())))
        index = next(i for i, w in enumerate(self.cluster.workers) if w.pid == pids[busy])
        self.cluster.kill_worker(index, signal.SIGKILL)
        self.killed = (index, len(processing.get(busy, ())))

    def close(self) -> None:
        self.inner.close()


def _grade(paths: list[Path], course: Any, db_url: str, executor: Any) -> BatchSummary:
    return grade_submissions(
        paths,
        course=course,
        db_url=db_url,
        executor=executor,
        console=Console(file=io.StringIO()),
        show_progress=False,
    )


def _verdicts(db_url: str) -> dict[str, tuple[float, Any]]:
    """learner → (score, parts without timings) as stored in the gradebook."""
    with GradebookStore(db_url, course_id=COURSE_ID) as store:
        return {
            r.learner_id: (
                r.score,
                [(p.grade_id, p.points, p.status, p.checks) for p in r.result.parts],
            )
            for r in store.records()
        }


def test_thirty_submissions_on_the_cluster_match_the_local_pool_despite_a_killed_worker(
    tmp_path: Path, postgres_db: str
) -> None:
    course = make_course(tmp_path / "course")
    kinds = make_submissions(tmp_path / "submitted", 30)
    add_slow_learner(tmp_path / "submitted")
    local_db = f"sqlite:///{tmp_path / 'local.db'}"
    with LocalProcessExecutor(2) as pool:
        local = _grade([tmp_path / "submitted"], course, local_db, pool)
    assert local.ok and local.count("graded") == 31, local.to_dict()

    with (
        start_local_cluster(2, nanny=False) as cluster,
        DaskExecutor(cluster.address) as dask_executor,
    ):
        killer = KillAWorkerMidBatch(dask_executor, cluster)
        remote = _grade([tmp_path / "submitted"], course, postgres_db, killer)
        assert killer.killed is not None
        index, held = killer.killed
        assert held >= 1  # the killed worker had work to lose
        assert cluster.workers[index].wait(timeout=120) == -signal.SIGKILL
        assert remote.ok and remote.count("graded") == 31, remote.to_dict()

        again = _grade([tmp_path / "submitted"], course, postgres_db, dask_executor)
        assert again.count("unchanged") == 31 and again.count("graded") == 0

    assert _verdicts(postgres_db) == _verdicts(local_db)
    scores = {i.learner_id: i.score for i in remote.items}
    assert scores == {i.learner_id: i.score for i in local.items}
    assert {scores[learner] for learner, kind in kinds.items() if kind == "right"} == {100.0}
    assert {scores[learner] for learner, kind in kinds.items() if kind == "wrong-add"} == {60.0}

    engine = create_engine(postgres_db)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT count(*), count(DISTINCT (learner_id, notebook)) FROM cc_graded_notebooks")
        ).one()
        grades = connection.execute(
            text("SELECT count(*), count(DISTINCT (cell_id, notebook_id)) FROM grade")
        ).one()
    engine.dispose()
    assert tuple(rows) == (31, 31)
    assert tuple(grades) == (93, 93)  # three graded parts per notebook, each once
    with Gradebook(postgres_db, course_id=COURSE_ID) as gradebook:
        assert len(gradebook.students) == 31
        for learner, score in scores.items():
            assert gradebook.find_submission_notebook(SLUG, SLUG, learner).score == score
