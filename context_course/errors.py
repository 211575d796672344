"""The product's one exception root.

::

    ContextCourseError
    ├── UserError        context_course.cli.app: a command's own one-line refusal
    ├── WorkspaceError   context_course.workspace: a workspace or release cannot be used
    ├── DemoError        context_course.demo: the demo cannot run
    ├── CourseInitError  context_course.course_init: a course folder cannot be created
    ├── MissingExtraError context_course.extras: a command needs an extra not installed
    ├── HubError, HubRulesError, HubClientError  context_course.hub: the course hub

The CLI (:func:`context_course.cli.main`) turns this root and the libraries' roots
(``grader.core.errors.GraderError``, ``certificates.errors.CertificateError``,
``context_lib.errors.ContextError``) into one ``error: ...`` line, in one place.
"""

from __future__ import annotations

__all__ = ["ContextCourseError"]


class ContextCourseError(Exception):
    """Root of every error the course product raises on purpose."""
