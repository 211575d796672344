"""Grade the hub's queued submissions through the ordinary pipeline, one at a time.

The worker owns one warm executor for the service's lifetime (a local process pool, or
the Dask cluster named in ``course.toml``), so a submission does not pay for starting
grading processes. Queued notebooks are staged in nbgrader's folder layout under the
learner ids the hub proved, and graded in batches by :func:`grader.pipeline.batch.grade_submissions`
— the same function ``context-course grade`` calls — which records it in the gradebook
and writes the learner's feedback pages.

A late submission's penalty (decided by :func:`context_course.hub.rules.late_decision`
when it was received, kept on its queue row as a percentage) goes to the pipeline in
points of the notebook's maximum (:func:`scoring.late_penalty_points`), which records it
as nbgrader's ``late_submission_penalty`` with the grade. Every score shown afterwards
(``grades.csv``, feedback pages, the dashboard, certificates) subtracts it once, through
:func:`scoring.effective_score`; the score kept on the queue row is read back from the
gradebook the same way.
"""

from __future__ import annotations

import io
import tempfile
import threading
from fractions import Fraction
from pathlib import Path

from rich.console import Console

from context_course.hub.queue import QueueItem, SubmissionQueue
from grader.pipeline.batch import grade_submissions
from grader.pipeline.catalog import Catalog, load_catalog
from grader.pipeline.config import Course
from grader.pipeline.dispatch import Executor, LocalProcessExecutor
from grader.pipeline.gradebook import GradebookStore
from scoring import late_penalty_points

__all__ = ["GradingWorker", "grade_items"]


def grade_items(
    items: list[QueueItem],
    queue: SubmissionQueue,
    course: Course,
    executor: Executor,
    catalog: Catalog | None = None,
) -> None:
    """Grade claimed rows (at most one per learner and notebook) in one pipeline batch and
    record each outcome on its row (never raises)."""
    catalog = catalog or load_catalog(course.source_dir)
    with tempfile.TemporaryDirectory(prefix="context-course-hub-") as tmp:
        staged: dict[tuple[str, str], QueueItem] = {}
        for item in items:
            try:
                data = queue.path_of(item.id).read_bytes()
            except OSError as exc:
                queue.finish(item.id, ok=False, message=f"the stored notebook is unreadable: {exc}")
                continue
            folder = Path(tmp) / item.learner_id / item.notebook
            folder.mkdir(parents=True)
            (folder / f"{item.notebook}.ipynb").write_bytes(data)
            staged[(item.learner_id, item.notebook)] = item
        if not staged:
            return
        late = {
            key: float(late_penalty_points(item.penalty_percent, catalog[item.notebook].max_score))
            for key, item in staged.items()
            if item.penalty_percent > 0 and item.notebook in catalog
        }
        try:
            summary = grade_submissions(
                sorted({Path(tmp) / learner for learner, _ in staged}),
                course=course,
                executor=executor,
                console=Console(file=io.StringIO()),
                show_progress=False,
                late_penalties=late,
            )
        except Exception as exc:  # an instructor-side problem: say it on every row
            for item in staged.values():
                queue.finish(item.id, ok=False, message=f"grading failed: {exc}")
            return
    for rejected in summary.rejected:
        row = _take(staged, rejected.learner_id or "", rejected.notebook or "")
        if row is not None:
            queue.finish(row.id, ok=False, message=rejected.reason)
    net = _scores(course, {(g.learner_id, g.notebook) for g in summary.items})
    for graded in summary.items:
        row = _take(staged, graded.learner_id, graded.notebook)
        if row is not None:
            score = net.get((graded.learner_id, graded.notebook))
            queue.finish(
                row.id,
                ok=graded.status in ("graded", "unchanged"),
                message=graded.message or graded.status,
                score=float(score) if score is not None else graded.score,
                max_score=graded.max_score,
            )
    for left in staged.values():
        queue.finish(left.id, ok=False, message="nothing was graded")


def _scores(course: Course, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Fraction]:
    """The gradebook's scores (manual wins, late penalty subtracted) of ``keys``."""
    if not keys:
        return {}
    with GradebookStore(course.db_url(), course_id=course.id) as store:
        found = {(s.learner_id, s.notebook): s.score for s in store.scores()}
    return {key: found[key] for key in keys if key in found}


def _take(
    staged: dict[tuple[str, str], QueueItem], learner: str, notebook: str
) -> QueueItem | None:
    key = (learner, notebook)
    return staged.pop(key) if key in staged else None


class GradingWorker:
    """A background thread draining the queue; :meth:`wake` after every new submission."""

    def __init__(
        self, queue: SubmissionQueue, course: Course, executor: Executor | None = None
    ) -> None:
        self.queue = queue
        self.course = course
        self.catalog = load_catalog(course.source_dir)
        self._owned = executor is None
        self.workers = course.grader.worker_count
        self.executor: Executor = executor or LocalProcessExecutor(self.workers)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.idle = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hub-grader", daemon=True)

    def start(self) -> None:
        recovered = self.queue.recover()
        if recovered:
            self._wake.set()
        self._wake.set()
        self._thread.start()

    def wake(self) -> None:
        self.idle.clear()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=60)
        if self._owned:
            self.executor.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            while not self._stop.is_set():
                # what arrived while the last batch was graded goes in the next one, so the
                # pool stays busy under load and one submission alone goes straight through;
                # a batch pays fixed costs (catalog, gradebook, grades.csv, the pool's
                # tail), so under a burst it takes up to 16 notebooks per worker
                batch = self.queue.claim_batch(max(32, 16 * self.workers))
                if not batch:
                    break
                grade_items(batch, self.queue, self.course, self.executor, self.catalog)
            self.idle.set()
