"""The errors of ``context_lib.runner``, in one place.

RunnerError (ContextError)              base of everything the runner raises on purpose
├── RecipeError (ValueError)            a recipe that cannot run; lists every problem found
├── ScriptletError                      a scriptlet that cannot be registered or found
├── WriteViolationError                 a step wrote a key outside its declared ``writes``
├── StepTimeoutError (TimeoutError)     a step ran longer than its ``timeout_s``
└── ResumeError                         a store that holds no resumable run of this recipe

Errors a scriptlet raises itself are not wrapped: :class:`RunResult` carries them as
they were raised, with the step that raised them.
"""

from __future__ import annotations

from collections.abc import Sequence

from context_lib.errors import ContextError

__all__ = [
    "RecipeError",
    "ResumeError",
    "RunnerError",
    "ScriptletError",
    "StepTimeoutError",
    "WriteViolationError",
]


class RunnerError(ContextError):
    """Base class of every error the runner raises on purpose."""


class RecipeError(RunnerError, ValueError):
    """A recipe that cannot run; ``problems`` lists each one with where it is.

    Raised while loading or checking a recipe, before any step runs.
    """

    def __init__(self, problems: Sequence[str], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        where = f"{source}: " if source else ""
        count = len(self.problems)
        head = "a problem" if count == 1 else f"{count} problems"
        super().__init__(f"{where}recipe has {head}: " + "; ".join(self.problems))


class ScriptletError(RunnerError):
    """A scriptlet that cannot be registered (bad name, duplicate) or found."""


class WriteViolationError(RunnerError):
    """A step wrote a key its scriptlet did not declare in ``writes``; nothing was kept."""

    def __init__(self, step: str, key: str, writes: Sequence[str]) -> None:
        self.step = step
        self.key = key
        self.writes = tuple(writes)
        allowed = ", ".join(repr(w) for w in self.writes) or "nothing"
        super().__init__(
            f"step {step!r} wrote key {key!r}, outside its declared writes ({allowed}); "
            "declare the key in the scriptlet's writes or write somewhere else"
        )


class StepTimeoutError(RunnerError, TimeoutError):
    """A step ran longer than its ``timeout_s``; its changes were undone."""

    def __init__(self, step: str, timeout_s: float) -> None:
        self.step = step
        self.timeout_s = timeout_s
        super().__init__(f"step {step!r} did not finish within {timeout_s:g} s")


class ResumeError(RunnerError):
    """The store holds no checkpoint this recipe can resume from."""
