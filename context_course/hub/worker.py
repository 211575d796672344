"""Grade the hub's queued submissions through the ordinary pipeline, one at a time.

The worker owns one warm executor for the service's lifetime (a local process pool, or
the Dask cluster named in ``course.toml``), so a submission does not pay for starting
grading processes. Each queued notebook is staged in nbgrader's folder layout under the
learner id the hub proved, and graded by :func:`grader.pipeline.batch.grade_submissions`
— the same function ``context-course grade`` calls — which records it in the gradebook
and writes the learner's feedback pages.
"""

from __future__ import annotations

import io
import tempfile
import threading
from pathlib import Path

from rich.console import Console

from context_course.hub.queue import QueueItem, SubmissionQueue
from grader.pipeline.batch import grade_submissions
from grader.pipeline.config import Course
from grader.pipeline.dispatch import Executor, LocalProcessExecutor

__all__ = ["GradingWorker", "grade_item"]


def grade_item(item: QueueItem, queue: SubmissionQueue, course: Course, executor: Executor) -> None:
    """Grade one claimed row and record its outcome in the queue (never raises)."""
    try:
        data = queue.path_of(item.id).read_bytes()
    except OSError as exc:
        queue.finish(item.id, ok=False, message=f"the stored notebook is unreadable: {exc}")
        return
    with tempfile.TemporaryDirectory(prefix="context-course-hub-") as tmp:
        folder = Path(tmp) / item.learner_id / item.notebook
        folder.mkdir(parents=True)
        (folder / f"{item.notebook}.ipynb").write_bytes(data)
        try:
            summary = grade_submissions(
                [Path(tmp) / item.learner_id],
                course=course,
                executor=executor,
                console=Console(file=io.StringIO()),
                show_progress=False,
            )
        except Exception as exc:  # an instructor-side problem: say it on the row
            queue.finish(item.id, ok=False, message=f"grading failed: {exc}")
            return
    for rejected in summary.rejected:
        queue.finish(item.id, ok=False, message=rejected.reason)
        return
    for graded in summary.items:
        ok = graded.status in ("graded", "unchanged")
        queue.finish(
            item.id,
            ok=ok,
            message=graded.message or graded.status,
            score=graded.score,
            max_score=graded.max_score,
        )
        return
    queue.finish(item.id, ok=False, message="nothing was graded")


class GradingWorker:
    """A background thread draining the queue; :meth:`wake` after every new submission."""

    def __init__(
        self, queue: SubmissionQueue, course: Course, executor: Executor | None = None
    ) -> None:
        self.queue = queue
        self.course = course
        self._owned = executor is None
        self.executor: Executor = executor or LocalProcessExecutor(
            max(1, min(2, course.grader.worker_count))
        )
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
                item = self.queue.claim_next()
                if item is None:
                    break
                grade_item(item, self.queue, self.course, self.executor)
            self.idle.set()
