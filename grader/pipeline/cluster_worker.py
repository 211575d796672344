"""The Dask worker's side of cluster grading: one shipped job in, one JSON outcome out.

A cluster worker shares no folder with the instructor's machine, so a task carries
everything it grades (see :class:`~grader.pipeline.cluster.DaskExecutor`): the source notebook's
bytes, the reference values the client computed for it (the cache file's name and text),
the learner's notebook and the files beside it. :func:`grade_shipped_job` writes them
into the worker's own folder and runs the same unit as every executor,
:func:`grader.pipeline.dispatch.run_job`, so the sandbox runs on the worker exactly as it does on
one machine. The outcome goes back as JSON text (``JobOutcome.to_dict()``); the worker
never touches the gradebook.

The worker's folder (``<dask local directory>/context-course``, private to its user)::

    sources/<sha256>/<slug>.ipynb     source notebooks, content-addressed, written once
    references/<cache file>.json      reference values as the client shipped them
    jobs/<random>/<slug>.ipynb        one learner's files while they are graded

The sandboxed child never sees any of it (it runs in its own mount namespace with a
private ``/tmp``); the grading core copies only the learner's files into it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from grader.pipeline.dispatch import DEFAULT_GRADE_FUNCTION, GradeJob, JobOutcome, run_job

__all__ = [
    "SHIPMENT_VERSION",
    "grade_shipped_job",
    "installed_version",
    "worker_folder",
]

#: The layout of a shipped job; a worker refuses a shipment of another version.
SHIPMENT_VERSION = 1


@functools.cache
def installed_version() -> str:
    """The installed ``context-course`` version (compared between client and workers)."""
    try:
        return metadata.version("context-course")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


def worker_folder() -> Path:
    """This worker's private folder (created on first use)."""
    base: Path
    try:
        from distributed import get_worker

        base = Path(get_worker().local_directory)
    except (ImportError, ValueError):  # not inside a Dask worker (tests, serial use)
        base = Path(tempfile.gettempdir()) / f"context-course-worker-{os.getuid()}"
    folder = base / "context-course"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _safe_name(name: str) -> str:
    """A plain file name (no folder part, no dot-file, nothing to escape with)."""
    if not name or name != Path(name).name or name.startswith(".") or "\x00" in name:
        raise ValueError(f"unsafe file name in a shipped job: {name!r}")
    return name


def _write_once(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically unless it already holds exactly that."""
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _refusal(key: str, message: str) -> str:
    return json.dumps(JobOutcome(key=key, error=message, instructor_side=True).to_dict())


def grade_shipped_job(task: dict[str, Any], *, folder: Path | None = None) -> str:
    """Grade one shipped job on this worker; return the outcome as JSON text.

    ``task`` holds ``version`` (:data:`SHIPMENT_VERSION`), ``client_version`` (the
    client's ``context-course`` version), ``job`` (a :class:`~grader.pipeline.dispatch.GradeJob`
    dict; its paths are the client's and are replaced here), ``grade_function``,
    ``source`` (``name``, ``sha256``, ``data``), ``reference`` (``name``, ``text``) or
    ``None`` (the worker then computes the reference itself), ``submitted_name`` and
    ``files`` (file name → bytes: the learner's notebook and the files beside it).

    A worker whose ``context-course`` differs from the client's refuses the job (the
    scores could differ); so does a malformed shipment. Learner problems never raise:
    like every executor, this returns an outcome. Only a failure of the worker's own
    disk raises (``OSError``), which Dask retries on another attempt.

    ``folder`` replaces the worker's folder (:func:`worker_folder`), e.g. in tests.
    """
    job = GradeJob.from_dict(task["job"])
    if task.get("version") != SHIPMENT_VERSION:
        return _refusal(
            job.key,
            f"this worker understands shipment version {SHIPMENT_VERSION}, the client sent "
            f"{task.get('version')!r}: install the same context-course on the client and workers",
        )
    if task.get("client_version") != installed_version():
        return _refusal(
            job.key,
            f"a worker runs context-course {installed_version()}, the client "
            f"{task.get('client_version')}: install the same version everywhere so scores agree",
        )
    try:
        source_name = _safe_name(str(task["source"]["name"]))
        submitted_name = _safe_name(str(task["submitted_name"]))
        files = {_safe_name(str(name)): bytes(data) for name, data in task["files"].items()}
        reference = task.get("reference")
        reference_name = None if reference is None else _safe_name(str(reference["name"]))
    except (KeyError, TypeError, ValueError) as exc:
        return _refusal(job.key, f"malformed job shipment: {exc}")
    source_data = bytes(task["source"]["data"])
    digest = hashlib.sha256(source_data).hexdigest()
    if digest != task["source"].get("sha256"):
        return _refusal(job.key, "the source notebook was damaged in transit (hash mismatch)")

    root = worker_folder() if folder is None else folder
    source = root / "sources" / digest / source_name
    _write_once(source, source_data)
    cache_dir = root / "references"
    if reference is not None and reference_name is not None:
        _write_once(cache_dir / reference_name, str(reference["text"]).encode("utf-8"))
    jobs = root / "jobs"
    jobs.mkdir(parents=True, exist_ok=True, mode=0o700)
    job_folder = Path(tempfile.mkdtemp(dir=jobs))
    try:
        for name, data in files.items():
            (job_folder / name).write_bytes(data)
        local = GradeJob(
            key=job.key,
            source=str(source),
            submitted=str(job_folder / submitted_name),
            cache_dir=str(cache_dir),
            cell_timeout=job.cell_timeout,
            notebook_timeout=job.notebook_timeout,
            seed=job.seed,
            second_run=job.second_run,
        )
        grade_function = str(task.get("grade_function") or DEFAULT_GRADE_FUNCTION)
        outcome = run_job(local.to_dict(), grade_function)
    finally:
        shutil.rmtree(job_folder, ignore_errors=True)
    return json.dumps(outcome, ensure_ascii=False)
