"""The one exception tree of the grading pipeline (intake, gradebook, roster, batch, reports).

::

    PipelineError                 anything the pipeline refuses, with a one-line message
                                  (a grader.core.errors.GraderError, the package's root)
    ├── CatalogError              the course's source notebooks are missing or malformed
    ├── GradebookError            the gradebook database cannot be opened or written
    └── RosterError               a roster file is malformed (nothing was imported)

:class:`~grader.core.errors.IntakeError` (one submission, or one notebook of it, is
malformed) is the grading core's, re-exported here: the core reads learner notebooks too.

Learner problems never escape the batch as exceptions: intake turns an
:class:`IntakeError` into a :class:`~grader.pipeline.intake.Rejection` line and grades the rest.
"""

from __future__ import annotations

from grader.core.errors import GraderError, IntakeError

__all__ = ["CatalogError", "GradebookError", "IntakeError", "PipelineError", "RosterError"]


class PipelineError(GraderError):
    """Root of the grading pipeline's errors; ``str(error)`` is one readable line."""


class CatalogError(PipelineError):
    """The course's source notebooks (``solutions/``) are missing or malformed."""


class GradebookError(PipelineError):
    """The gradebook database could not be opened, read or written."""


class RosterError(PipelineError):
    """A roster file is malformed; the message names the line. Nothing was imported."""
