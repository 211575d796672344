"""The error of cluster grading (part of the pipeline's tree, under ``PipelineError``)."""

from __future__ import annotations

from grader.pipeline.errors import PipelineError

__all__ = ["ClusterError"]


class ClusterError(PipelineError):
    """A Dask cluster cannot be used: unreachable scheduler, no worker, failed start.

    ``address`` is the scheduler's address when known; ``str(error)`` is one line that
    says what to do.
    """

    def __init__(self, message: str, *, address: str = "") -> None:
        super().__init__(message)
        self.address = address
