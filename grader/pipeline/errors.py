"""The one exception tree of the grading pipeline (intake, gradebook, roster, batch, reports).

::

    PipelineError                 anything the pipeline refuses, with a one-line message
                                  (a grader.core.errors.GraderError, the package's root)
    ├── CatalogError              the course's source notebooks are missing or malformed
    ├── IntakeError               one submission (or one notebook of it) is malformed
    ├── GradebookError            the gradebook database cannot be opened or written
    └── RosterError               a roster file is malformed (nothing was imported)

Learner problems never escape the batch as exceptions: intake turns an
:class:`IntakeError` into a :class:`~grader.pipeline.intake.Rejection` line and grades the rest.
"""

from __future__ import annotations

from grader.core.errors import GraderError

__all__ = ["CatalogError", "GradebookError", "IntakeError", "PipelineError", "RosterError"]


class PipelineError(GraderError):
    """Root of the grading pipeline's errors; ``str(error)`` is one readable line."""


class CatalogError(PipelineError):
    """The course's source notebooks (``solutions/``) are missing or malformed."""


class IntakeError(PipelineError):
    """A submission, or one notebook in it, is malformed; ``reason`` says why."""

    def __init__(self, reason: str, *, notebook: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.notebook = notebook


class GradebookError(PipelineError):
    """The gradebook database could not be opened, read or written."""


class RosterError(PipelineError):
    """A roster file is malformed; the message names the line. Nothing was imported."""
