"""The one exception of the grading core: an instructor-side problem.

Nothing a learner's notebook does raises: learner problems end in the
:class:`~grader.core.results.NotebookResult`. :class:`GradingError` means the *source* notebook
(or the machine) is unusable for grading; the message says what to fix.
"""

from __future__ import annotations

__all__ = ["GradingError"]


class GradingError(Exception):
    """The source notebook cannot be graded against (or the grader cannot run at all).

    ``notebook`` and ``part`` name where the problem is, when known.
    """

    def __init__(self, message: str, *, notebook: str = "", part: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.notebook = notebook
        self.part = part
