"""The root of every ``grader`` error, and the grading core's own: an instructor-side problem.

The whole tree (``str(error)`` is always one line a person can act on)::

    GraderError                                  grader.core.errors
    ├── GradingError                             a source notebook cannot be graded against
    ├── CourseConfigError                        grader.pipeline.config: course.toml invalid
    ├── PipelineError                            grader.pipeline.errors
    │   ├── CatalogError, IntakeError, GradebookError, RosterError
    │   └── ClusterError                         grader.pipeline.cluster_errors
    └── ReleaseError                             grader.authoring.release

(``grader.child`` raises nothing across the sandbox: the child only reports values.)
Nothing a learner's notebook does raises: learner problems end in the
:class:`~grader.core.results.NotebookResult`. :class:`GradingError` means the *source* notebook
(or the machine) is unusable for grading; the message says what to fix.
"""

from __future__ import annotations

__all__ = ["GraderError", "GradingError", "IntakeError"]


class GraderError(Exception):
    """Root of every error the ``grader`` package raises on purpose."""


class GradingError(GraderError):
    """The source notebook cannot be graded against (or the grader cannot run at all).

    ``notebook`` and ``part`` name where the problem is, when known.
    """

    def __init__(self, message: str, *, notebook: str = "", part: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.notebook = notebook
        self.part = part


class IntakeError(GraderError):
    """Learner-supplied data (a submission, a notebook, a manifest) is malformed or too large.

    ``reason`` says why, in one line. Defined here because the grading core reads learner
    notebooks too (bounded parsing); the pipeline re-exports it as its own.
    """

    def __init__(self, reason: str, *, notebook: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.notebook = notebook
