"""grader: assessment for the Context course: intake, sandbox, verdict, gradebook, CLI."""

from grader.observe import observe

__all__ = ["observe"]
