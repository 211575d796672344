"""Grading on a Dask cluster: :class:`DaskExecutor`, the executor seam's distributed side.

``grade_submissions(..., executor=DaskExecutor("tcp://HOST:8786"))`` grades exactly as the
local process pool does — same grading function, same sandbox, now on the workers — and
the batch keeps its promises across machines:

* **The client decides and writes.** Workers return each outcome as JSON text
  (``JobOutcome.to_dict()``: the ``NotebookResult`` dict or a one-line error); the batch
  process parses it and is the only writer of the gradebook. A worker has no database
  URL and no course folder.
* **Nothing shared on disk.** A task ships what it grades: the source notebook, the
  learner's notebook and the files beside it, and the source's **reference values**.
  The client computes those once per source version into its own cache (the course's
  ``.cache/grader``, exactly as a local run does) and ships the cache file; the worker
  writes it into its private folder, so the grading core finds it there and never runs
  the reference solution again. Every worker therefore grades against the very values a
  local run uses (a reference run is never repeated, on any worker) and the workers need
  only the installed package. See :mod:`grader.pipeline.cluster_worker`.
* **A dead worker costs nothing.** When a worker dies mid-task the Dask scheduler runs
  the task again on another worker (up to ``distributed.scheduler.allowed-failures``
  deaths; then the notebook is reported failed, instructor-side, and the batch goes on).
  A task that raises (the worker's disk, say) is retried ``retries`` times by Dask.
  Each task's outcome is taken once, so no grade is written twice.
* **Bounded memory.** At most ``max_in_flight`` tasks are on the cluster at a time
  (default: twice the cluster's threads, re-read as workers come and go), so a batch of
  80,000 notebooks does not put 80,000 payloads in the scheduler.

A client killed mid-batch loses what was in flight only: the gradebook holds every
outcome already taken, and the next run grades what is missing.

:func:`start_local_cluster` (from :mod:`grader.pipeline.cluster_local`) starts a scheduler and
workers on loopback, for trying this out and for tests.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from grader.core.errors import GradingError
from grader.core.grading import MAX_NOTEBOOK_BYTES, learner_files
from grader.core.plan import load_source_plan
from grader.core.reference import GRADER_VERSION, load_reference
from grader.core.sandbox import get_sandbox
from grader.pipeline.cluster_errors import ClusterError
from grader.pipeline.cluster_local import LocalGradingCluster, start_local_cluster
from grader.pipeline.cluster_worker import SHIPMENT_VERSION, grade_shipped_job, installed_version
from grader.pipeline.dispatch import DEFAULT_GRADE_FUNCTION, GradeJob, JobOutcome

__all__ = [
    "ClusterError",
    "DaskExecutor",
    "LocalGradingCluster",
    "start_local_cluster",
]

#: A worker's outcome larger than this is refused (results are a few kilobytes).
MAX_OUTCOME_BYTES = 16 << 20


def _one_line(text: object, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass(frozen=True)
class _Source:
    """A source notebook as shipped: its bytes and its reference cache file."""

    name: str
    sha256: str
    data: bytes
    reference: dict[str, str] | None  # {"name": cache file name, "text": its JSON}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "data": self.data}


def _cached_reference(
    cache_dir: Path, source_hash: str, seed: int | None = None
) -> dict[str, str] | None:
    """The cache file holding ``source_hash``'s reference values for ``seed``, by content."""
    for path in sorted(cache_dir.glob("*.json")):
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text)
        except (OSError, ValueError):
            continue
        if (
            isinstance(data, dict)
            and data.get("source_hash") == source_hash
            and str(data.get("grader_version")) == GRADER_VERSION
            and data.get("seed") == seed
        ):
            return {"name": path.name, "text": text}
    return None


def _learner_files(submitted: Path, source: Path) -> dict[str, bytes]:
    """The files the grading core would copy (its own ``learner_files``), read here.

    The notebook itself is read first so that an unreadable submission is an ``OSError``
    for the instructor, as it is when grading locally.
    """
    notebook = submitted.read_bytes()
    if len(notebook) > MAX_NOTEBOOK_BYTES:
        return {submitted.name: notebook}  # the core reports it as too large
    files = learner_files(submitted, [], exclude=source)
    files[submitted.name] = notebook
    return files


class DaskExecutor:
    """Grade jobs on a Dask cluster (see the module docstring for the guarantees).

    ``scheduler`` is the scheduler's address (``tcp://HOST:8786``) or an existing
    ``distributed.Client`` (not closed by :meth:`close`). Raises :class:`ClusterError`
    when the scheduler cannot be reached within ``connect_timeout`` seconds.
    """

    def __init__(
        self,
        scheduler: Any,
        *,
        grade_function: str = DEFAULT_GRADE_FUNCTION,
        retries: int = 2,
        max_in_flight: int | None = None,
        connect_timeout: float = 10.0,
        worker_timeout: float = 120.0,
    ) -> None:
        from distributed import Client

        if max_in_flight is not None and max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.grade_function = grade_function
        self.retries = retries
        self.max_in_flight = max_in_flight
        self.worker_timeout = worker_timeout
        self._threads = 0
        self._threads_checked = 0.0
        self._owned = not isinstance(scheduler, Client)
        if isinstance(scheduler, Client):
            self.client = scheduler
            self.address = str(getattr(scheduler.scheduler, "address", ""))
            return
        self.address = str(scheduler)
        try:
            self.client = Client(  # type: ignore[no-untyped-call]
                self.address, timeout=connect_timeout, set_as_default=False, name="context-course"
            )
        except (OSError, ValueError, TypeError) as exc:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {self.address}: {_one_line(exc)} "
                "(start one with `context-course cluster up` or `dask scheduler`)",
                address=self.address,
            ) from None

    # -- lifecycle -----------------------------------------------------------------

    def close(self) -> None:
        """Disconnect from the scheduler (tasks still on the cluster are released)."""
        if self._owned:
            self.client.close()  # type: ignore[no-untyped-call]

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the seam ----------------------------------------------------------------------

    def run(self, jobs: Sequence[GradeJob]) -> Iterator[JobOutcome]:
        """Yield one outcome per job as workers finish them (any order).

        Raises :class:`ClusterError` before the first outcome when no worker joins the
        cluster within ``worker_timeout`` seconds.
        """
        from distributed import as_completed

        if not jobs:
            return
        self._await_workers()
        queue = deque(jobs)
        sources: dict[tuple[Any, ...], _Source | JobOutcome] = {}
        pending: dict[str, tuple[GradeJob, Any]] = {}  # task key -> (job, its future)
        completed = as_completed(  # type: ignore[no-untyped-call]
            loop=self.client.loop, with_results=True, raise_errors=False
        )
        try:
            while queue or pending:
                while queue and len(pending) < self._window():
                    job = queue.popleft()
                    task = self._ship(job, sources)
                    if isinstance(task, JobOutcome):
                        yield task
                        continue
                    key = f"context-course-grade-{uuid.uuid4().hex}"
                    future = self.client.submit(
                        grade_shipped_job, task, key=key, retries=self.retries, pure=False
                    )
                    pending[key] = (job, future)
                    completed.add(future)  # type: ignore[no-untyped-call]
                if not pending:
                    continue
                future, result = next(completed)
                job, _ = pending.pop(str(future.key))
                outcome = self._outcome(future, result, job)
                future.release()
                yield outcome
        finally:
            if pending:
                self.client.cancel([future for _, future in pending.values()])  # type: ignore[no-untyped-call]

    # -- steps -----------------------------------------------------------------------

    def _await_workers(self) -> None:
        try:
            self.client.wait_for_workers(1, timeout=self.worker_timeout)
        except (TimeoutError, OSError) as exc:
            raise ClusterError(
                f"no Dask worker joined {self.address} within {self.worker_timeout:g} s "
                f"({_one_line(exc)}); start some with `dask worker {self.address}`",
                address=self.address,
            ) from None

    def _window(self) -> int:
        if self.max_in_flight is not None:
            return self.max_in_flight
        now = time.monotonic()
        if now - self._threads_checked > 2.0:
            threads = self.client.nthreads()  # type: ignore[no-untyped-call]
            self._threads = sum(threads.values())
            self._threads_checked = now
        return max(2, 2 * self._threads)

    def _source(self, job: GradeJob) -> _Source | JobOutcome:
        """Read the source notebook and make sure its reference values are cached."""
        path = Path(job.source)
        try:
            data = path.read_bytes()
            plan = load_source_plan(path)
            load_reference(
                plan,
                cache_dir=Path(job.cache_dir),
                sandbox=get_sandbox(plan.settings.forbidden_imports),
                cell_timeout=plan.settings.cell_timeout or job.cell_timeout,
                notebook_timeout=job.notebook_timeout,
                seed=job.seed,
            )
        except GradingError as exc:
            return JobOutcome(key=job.key, error=_one_line(exc), instructor_side=True)
        except OSError as exc:
            return JobOutcome(
                key=job.key,
                error=f"source notebook {path} cannot be read: {_one_line(exc)}",
                instructor_side=True,
            )
        return _Source(
            name=path.name,
            sha256=hashlib.sha256(data).hexdigest(),
            data=data,
            reference=_cached_reference(Path(job.cache_dir), plan.source_hash, job.seed),
        )

    def _ship(
        self, job: GradeJob, sources: dict[tuple[Any, ...], _Source | JobOutcome]
    ) -> dict[str, Any] | JobOutcome:
        """The task for ``job``, or an outcome when it cannot be shipped."""
        source_key = (job.source, job.cache_dir, job.cell_timeout, job.notebook_timeout, job.seed)
        if source_key not in sources:
            sources[source_key] = self._source(job)
        source = sources[source_key]
        if isinstance(source, JobOutcome):
            return JobOutcome(
                key=job.key, error=source.error, instructor_side=source.instructor_side
            )
        submitted = Path(job.submitted)
        try:
            files = _learner_files(submitted, Path(job.source))
        except OSError as exc:
            return JobOutcome(
                key=job.key,
                error=f"cannot read the submitted notebook {submitted}: {_one_line(exc)}",
                instructor_side=True,
            )
        return {
            "version": SHIPMENT_VERSION,
            "client_version": installed_version(),
            "job": job.to_dict(),
            "grade_function": self.grade_function,
            "source": source.to_dict(),
            "reference": source.reference,
            "submitted_name": submitted.name,
            "files": files,
        }

    def _outcome(self, future: Any, result: Any, job: GradeJob) -> JobOutcome:
        """The job's outcome from a finished, failed or lost task."""
        from distributed.scheduler import KilledWorker

        if future.status == "finished":
            try:
                if not isinstance(result, str) or len(result) > MAX_OUTCOME_BYTES:
                    raise ValueError("not JSON text of a sane size")
                outcome = JobOutcome.from_dict(json.loads(result))
                if outcome.key != job.key:
                    raise ValueError(f"outcome for {outcome.key!r}")
            except (ValueError, TypeError, KeyError) as exc:
                return JobOutcome(
                    key=job.key,
                    error=f"a worker sent a malformed outcome ({_one_line(exc)})",
                    instructor_side=True,
                )
            return outcome
        if future.status == "error":
            if isinstance(result, KilledWorker):
                error = (
                    "every Dask worker that ran this notebook died while grading it "
                    "(distributed.scheduler.allowed-failures); see the worker logs"
                )
            else:
                error = f"internal grader error on a worker: {type(result).__name__}: " + (
                    _one_line(result)
                )
            return JobOutcome(key=job.key, error=error, instructor_side=True)
        return JobOutcome(
            key=job.key,
            error=f"the cluster lost this job ({future.status}: the scheduler restarted or "
            "the connection dropped); run the same command again to grade what is missing",
            instructor_side=True,
        )
