"""The product's one exception root.

::

    ContextCourseError
    ├── UserError        context_course.cli.app: a command's own one-line refusal
    ├── WorkspaceError   context_course.workspace: a workspace or release cannot be used
    └── DemoError        context_course.demo: the demo cannot run

The CLI (:func:`context_course.cli.main`) turns this root and the libraries' roots
(``grader.core.errors.GraderError``, ``certificates.errors.CertificateError``,
``context_lib.errors.ContextError``) into one ``error: ...`` line, in one place.
"""

from __future__ import annotations

__all__ = ["ContextCourseError"]


class ContextCourseError(Exception):
    """Root of every error the course product raises on purpose."""
