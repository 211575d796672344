"""grader: assessment for the Context course: intake, sandbox, verdict, gradebook, CLI."""

__all__: list[str] = []
