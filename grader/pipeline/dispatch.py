"""The executor seam: where graded notebooks are computed, behind one small interface.

(Not to be confused with :mod:`grader.core.executor`, the grading core's cell executor.)

The batch hands an :class:`Executor` a list of :class:`GradeJob` and consumes
:class:`JobOutcome` values as they complete, in any order. Jobs and outcomes are plain
JSON-friendly data (paths as strings, results as ``NotebookResult.to_dict()``), so an
executor may run them in local processes (:class:`LocalProcessExecutor`, the default),
in this process (:class:`SerialExecutor`, for debugging) or on a Dask cluster
(:class:`grader.pipeline.cluster.DaskExecutor`, behind the same interface). Executors
compute; they never write grades: the parent process is the gradebook's only writer.

The grade function is named by an import path (``"grader.core.grading:grade_notebook"``)
so it can be resolved wherever the job runs.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import multiprocessing.util
import os
import secrets
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from grader.core.results import NotebookResult
from grader.core.sandbox import share_isolation_warning

__all__ = [
    "DEFAULT_GRADE_FUNCTION",
    "Executor",
    "GradeFunction",
    "GradeJob",
    "JobOutcome",
    "LocalProcessExecutor",
    "SerialExecutor",
    "grading_seed",
    "resolve_grade_function",
    "run_job",
]

DEFAULT_GRADE_FUNCTION = "grader.core.grading:grade_notebook"


class GradeFunction(Protocol):
    """The grading core's entry point (see ``grader.core.grading.grade_notebook``)."""

    def __call__(
        self,
        source: Path,
        submitted: Path,
        *,
        cache_dir: Path,
        cell_timeout: float = ...,
        notebook_timeout: float = ...,
        seed: int | None = ...,
        second_run: bool = ...,
    ) -> NotebookResult: ...


def grading_seed() -> int:
    """A fresh seed for one grading (a ``grade`` batch): hidden tests draw their inputs
    from it (:func:`grader.grading_random`), and the reference runs for it too.

    One per batch, not per submission: the reference runs once per notebook and seed, and
    learners graded in one batch had all submitted before its inputs existed.
    """
    return secrets.randbelow(1 << 62)


@dataclass(frozen=True)
class GradeJob:
    """Grade one learner's notebook against its source."""

    key: str  # unique within a batch, e.g. "ada/01-basic-operations"
    source: str
    submitted: str
    cache_dir: str
    cell_timeout: float
    notebook_timeout: float
    seed: int | None = None  # the grading's seed for hidden tests' inputs (one per batch)
    second_run: bool = True  # course.toml [grader] second_run

    def to_dict(self) -> dict[str, Any]:
        """Plain data for crossing process or machine boundaries."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradeJob:
        """The inverse of :meth:`to_dict`."""
        return cls(**data)


@dataclass(frozen=True)
class JobOutcome:
    """A graded notebook, or why it could not be graded (one line)."""

    key: str
    result: NotebookResult | None = None
    error: str = ""
    instructor_side: bool = False  # a GradingError: the course or machine needs fixing

    def to_dict(self) -> dict[str, Any]:
        """Plain data for crossing process or machine boundaries."""
        return {
            "key": self.key,
            "result": None if self.result is None else self.result.to_dict(),
            "error": self.error,
            "instructor_side": self.instructor_side,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobOutcome:
        """The inverse of :meth:`to_dict`."""
        result = data.get("result")
        return cls(
            key=str(data["key"]),
            result=None if result is None else NotebookResult.from_dict(result),
            error=str(data.get("error", "")),
            instructor_side=bool(data.get("instructor_side", False)),
        )


class Executor(Protocol):
    """Runs grade jobs somewhere and yields their outcomes as they complete."""

    def run(self, jobs: Sequence[GradeJob]) -> Iterator[JobOutcome]:
        """Yield one outcome per job, in completion order; never raise for one job."""
        ...

    def close(self) -> None:
        """Release workers; jobs still running are abandoned."""
        ...


def resolve_grade_function(reference: str) -> GradeFunction:
    """Import ``"module:attribute"`` and return it."""
    module_name, _, attribute = reference.partition(":")
    module = importlib.import_module(module_name)
    function: GradeFunction = getattr(module, attribute)
    return function


def _one_line(text: object, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def run_job(job: dict[str, Any], grade_function: str = DEFAULT_GRADE_FUNCTION) -> dict[str, Any]:
    """Grade one job (plain data in, plain data out); the unit every executor runs.

    Never raises: a ``GradingError`` (an instructor-side problem) or any other failure
    becomes an outcome with a one-line ``error``.
    """
    spec = GradeJob.from_dict(job)
    try:
        grade = resolve_grade_function(grade_function)
    except (ImportError, AttributeError) as exc:
        return JobOutcome(
            key=spec.key,
            error=f"the grading core {grade_function!r} is not available ({_one_line(exc)})",
            instructor_side=True,
        ).to_dict()
    try:
        result = grade(
            Path(spec.source),
            Path(spec.submitted),
            cache_dir=Path(spec.cache_dir),
            cell_timeout=spec.cell_timeout,
            notebook_timeout=spec.notebook_timeout,
            seed=spec.seed,
            second_run=spec.second_run,
        )
    except Exception as exc:
        if type(exc).__name__ == "GradingError":
            return JobOutcome(key=spec.key, error=_one_line(exc), instructor_side=True).to_dict()
        return JobOutcome(
            key=spec.key,
            error=f"internal grader error: {type(exc).__name__}: {_one_line(exc)}",
            instructor_side=True,
        ).to_dict()
    return JobOutcome(key=spec.key, result=result).to_dict()


class SerialExecutor:
    """Runs jobs one after the other in this process (debugging, tiny batches)."""

    def __init__(self, grade_function: str = DEFAULT_GRADE_FUNCTION) -> None:
        self.grade_function = grade_function

    def run(self, jobs: Sequence[GradeJob]) -> Iterator[JobOutcome]:
        """Yield outcomes in job order."""
        for job in jobs:
            yield JobOutcome.from_dict(run_job(job.to_dict(), self.grade_function))

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)  # the batch process died: do not outlive it


def _worker_init(parent: int) -> None:
    """Make a worker exit when the batch process ``parent`` dies (even by SIGKILL).

    ``parent`` comes from the batch process itself: a worker still starting up when the
    batch died has already been handed to another parent by the time this runs.
    """
    if os.getppid() != parent:
        os._exit(1)
    if sys.platform.startswith("linux"):
        # The kernel's own guarantee: SIGKILL this worker when its parent dies.
        import ctypes

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the call took effect
            os._exit(1)
    # And a watcher thread, for other systems (and as a second line on Linux).
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


_tracker_stop_registered = False


def _stop_resource_tracker() -> None:
    """Stop multiprocessing's resource tracker and wait for it (see below)."""
    from multiprocessing import resource_tracker

    tracker = getattr(resource_tracker, "_resource_tracker", None)
    stop = getattr(tracker, "_stop", None)
    if stop is not None:
        with contextlib.suppress(Exception):
            stop()


def _stop_resource_tracker_at_exit() -> None:
    """No process of ours may outlive the command that started it.

    A ``spawn`` pool's semaphores start multiprocessing's resource tracker, a helper
    process designed to outlive its parent: it ends only when it sees the parent's end of
    its pipe close, a moment *after* the parent exited. So at exit this process closes
    that pipe itself and waits for the tracker, which does exactly what it would have
    done anyway, only before the command returns. It runs as multiprocessing's last exit
    finalizer (after the semaphores' own clean-up, which needs the tracker). Python has
    no public call for this; the tracker's ``_stop`` (3.8+) is what its own test suite
    uses, and without it the tracker is left to end on its own, as before.
    """
    global _tracker_stop_registered
    if not _tracker_stop_registered:
        multiprocessing.util.Finalize(None, _stop_resource_tracker, exitpriority=-1000)
        _tracker_stop_registered = True


class LocalProcessExecutor:
    """A pool of worker processes on this machine (the default executor).

    A worker that dies (a crash the grading core could not contain) must not cost other
    learners their grade: the pool is rebuilt and the jobs it held become *suspects*,
    re-run one at a time with nothing else in flight. A suspect that kills its worker
    while running alone is the culprit; after ``max_attempts`` such deaths it fails.
    """

    def __init__(
        self,
        workers: int,
        *,
        grade_function: str = DEFAULT_GRADE_FUNCTION,
        max_attempts: int = 2,
        start_method: str = "spawn",
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self.grade_function = grade_function
        self.max_attempts = max_attempts
        self._context = multiprocessing.get_context(start_method)
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        share_isolation_warning()  # the workers and this process warn once between them
        _stop_resource_tracker_at_exit()
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=self._context,
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )

    def run(self, jobs: Sequence[GradeJob]) -> Iterator[JobOutcome]:
        """Yield outcomes as workers finish them; keeps a few jobs queued per worker."""
        queue = deque(jobs)
        suspects: deque[GradeJob] = deque()
        deaths: dict[str, int] = {}
        pending: dict[Future[dict[str, Any]], GradeJob] = {}
        isolated = False  # the one job in flight runs alone (a suspect)
        pool = self._pool = self._pool or self._new_pool()
        try:
            while queue or suspects or pending:
                if suspects:
                    if not pending:
                        job = suspects.popleft()
                        pending[pool.submit(run_job, job.to_dict(), self.grade_function)] = job
                        isolated = True
                else:
                    isolated = False
                    while queue and len(pending) < self.workers * 2:
                        job = queue.popleft()
                        future = pool.submit(run_job, job.to_dict(), self.grade_function)
                        pending[future] = job
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                broken = False
                for future in done:
                    job = pending.pop(future)
                    try:
                        data = future.result()
                    except BrokenProcessPool:
                        broken = True
                        if not isolated:
                            suspects.append(job)
                            continue
                        deaths[job.key] = deaths.get(job.key, 0) + 1
                        if deaths[job.key] < self.max_attempts:
                            suspects.appendleft(job)
                            continue
                        yield JobOutcome(
                            key=job.key,
                            error="the grading worker process died while grading this "
                            f"notebook ({deaths[job.key]} times)",
                            instructor_side=True,
                        )
                    except Exception as exc:
                        yield JobOutcome(
                            key=job.key,
                            error=f"internal grader error: {_one_line(exc)}",
                            instructor_side=True,
                        )
                    else:
                        yield JobOutcome.from_dict(data)
                if broken:
                    suspects.extend(pending.values())
                    pending.clear()
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = self._pool = self._new_pool()
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        """Stop the workers (running jobs are abandoned, queued ones cancelled)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> LocalProcessExecutor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
