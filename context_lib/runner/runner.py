"""The runner: steps in dependency order, retries, rollback, checkpoints and resume.

Every attempt of a step runs inside :meth:`Context.atomic`: if it raises, every change
it made is undone before the next attempt (or before the run stops), so a failed step
never leaves partial writes. With a store, the context is checkpointed after each
successful step as a delta that also records which steps are complete (under
``_runner.*``) in the same transaction; :meth:`Runner.resume` continues from there.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from context_lib.context import Context
from context_lib.persistence import BatchStore, Store, load, save, save_delta
from context_lib.runner.errors import (
    RecipeError,
    ResumeError,
    ScriptletError,
    StepTimeoutError,
    WriteViolationError,
)
from context_lib.runner.recipe import Recipe, Step, load_recipe
from context_lib.runner.scriptlet import Scriptlet, ScriptletRegistry, registry
from context_lib.runner.step_context import StepContext
from context_lib.values import copy_value

__all__ = ["RUNNER_NAMESPACE", "RunEvent", "RunResult", "Runner", "StepResult"]

RUNNER_NAMESPACE = "_runner"
"""Keys the runner keeps in a checkpointed context: ``_runner.recipe``, ``_runner.completed``."""
_RECIPE_KEY = f"{RUNNER_NAMESPACE}.recipe"
_COMPLETED_KEY = f"{RUNNER_NAMESPACE}.completed"
_RUNNER_WHO = "runner"

StepStatus = Literal["ok", "failed", "not_run", "already_done"]
# A step's contract violation is a bug in the scriptlet, not bad luck: never retried.
_NOT_RETRIED = (WriteViolationError,)


@dataclass
class StepResult:
    """How one step went: ``status``, ``attempts`` made, time taken, keys it changed."""

    name: str
    status: StepStatus
    attempts: int = 0
    duration_s: float = 0.0
    written: list[str] = field(default_factory=list)
    error: BaseException | None = None
    """The exception of the last failed attempt (``None`` if the step succeeded)."""


@dataclass
class RunResult:
    """The outcome of a run: the context, every step's result, and what failed."""

    recipe: str
    context: Context
    steps: list[StepResult]
    failed_step: str | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """Whether every step completed."""
        return self.failed_step is None

    def step(self, name: str) -> StepResult:
        """The result of the step called ``name``."""
        for result in self.steps:
            if result.name == name:
                return result
        raise KeyError(name)

    def describe_failure(self) -> str:
        """One line: which step failed, after how many attempts, with what error."""
        if self.failed_step is None:
            return f"recipe {self.recipe!r} completed"
        result = self.step(self.failed_step)
        tries = "attempt" if result.attempts == 1 else "attempts"
        err = self.error
        what = f"{type(err).__name__}: {err}" if err is not None else "unknown error"
        return f"step {self.failed_step!r} failed after {result.attempts} {tries}: {what}"


@dataclass(frozen=True)
class RunEvent:
    """A progress report: ``kind`` is one of ``start``, ``retry``, ``done``, ``failed``,
    ``already_done`` or ``checkpoint``."""

    kind: Literal["start", "retry", "done", "failed", "already_done", "checkpoint"]
    step: str
    attempt: int = 0
    attempts: int = 0
    error: BaseException | None = None
    result: StepResult | None = None


RecipeLike = Recipe | str | Path | Mapping[str, Any]


class Runner:
    """Runs recipes against a context, optionally checkpointing to a store.

    * ``store``: where to checkpoint after every successful step (``None``: no
      checkpoints). A run with a store first saves the whole starting context, so the
      store holds exactly this run's state.
    * ``registry``: where recipes' scriptlet names are looked up (a
      :class:`ScriptletRegistry` or a plain dict of names to scriptlets/functions);
      default: the global registry that ``@scriptlet`` fills.
    * ``history``: also persist the change history (an audit trail across resumes);
      default: whenever the store can (every bundled store; a plain
      :class:`~context_lib.persistence.Store` such as a cache or shard wrapper cannot).
    * ``on_event``: called with a :class:`RunEvent` as steps start, retry and finish.
    * ``retry_delay_s``: pause between attempts of a failing step.

    >>> from context_lib.runner import Runner
    >>> steps = [{"name": "hello", "scriptlet": "greet", "params": {"who": "world"}}]
    >>> def greet(ctx, params):
    ...     ctx.set("greeting", f"hello {params['who']}")
    >>> result = Runner(registry={"greet": greet}).run(steps)
    >>> result.ok, result.context.get("greeting"), result.context.history[-1].who
    (True, 'hello world', 'hello')
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        registry: ScriptletRegistry | Mapping[str, object] | None = None,
        history: bool | None = None,
        on_event: Callable[[RunEvent], None] | None = None,
        retry_delay_s: float = 0.0,
    ) -> None:
        self.store = store
        self.registry = _as_registry(registry)
        self.history = isinstance(store, BatchStore) if history is None else history
        self.on_event = on_event
        self.retry_delay_s = retry_delay_s

    # ------------------------------------------------------------------ public

    def check(self, recipe: RecipeLike) -> tuple[Recipe, dict[str, Scriptlet]]:
        """Load and fully check a recipe (scriptlets exist, params fit) without running it.

        Raises :class:`RecipeError` listing every problem.
        """
        parsed = as_recipe(recipe)
        found: dict[str, Scriptlet] = {}
        problems: list[str] = []
        for step in parsed.steps:
            try:
                item = self.registry.get_scriptlet(step.scriptlet)
            except ScriptletError as exc:
                problems.append(f"step {step.name!r}: {exc}")
                continue
            found[step.name] = item
            problems.extend(f"step {step.name!r}: {p}" for p in item.check_params(step.params))
        if problems:
            raise RecipeError(problems, parsed.source)
        return parsed, found

    def run(self, recipe: RecipeLike, ctx: Context | None = None) -> RunResult:
        """Run every step in dependency order against ``ctx`` (default: a new context).

        The recipe is checked completely before the first step runs. A step that still
        fails after its retries stops the run; the result names it and its exception,
        and the context holds everything the steps before it did.
        """
        parsed, found = self.check(recipe)
        ctx = Context() if ctx is None else ctx
        if self.store is not None:
            ctx.set(_RECIPE_KEY, parsed.name, who=_RUNNER_WHO)
            ctx.set(_COMPLETED_KEY, [], who=_RUNNER_WHO)
            save(ctx, self.store, with_history=self.history)
        return self._execute(parsed, found, ctx, [])

    @classmethod
    def resume(
        cls,
        recipe: RecipeLike,
        store: Store,
        *,
        registry: ScriptletRegistry | Mapping[str, object] | None = None,
        history: bool | None = None,
        on_event: Callable[[RunEvent], None] | None = None,
        retry_delay_s: float = 0.0,
    ) -> RunResult:
        """Continue a checkpointed run of ``recipe`` after its last completed step.

        The context is loaded from ``store``; steps it records as complete are not run
        again. Raises :class:`ResumeError` if the store holds no run of this recipe.
        """
        runner = cls(
            store,
            registry=registry,
            history=history,
            on_event=on_event,
            retry_delay_s=retry_delay_s,
        )
        parsed, found = runner.check(recipe)
        ctx = load(store, with_history=runner.history)
        stored = ctx.get(_RECIPE_KEY)
        if stored is None:
            raise ResumeError(
                "the store holds no checkpointed run; start one with Runner(store).run(recipe)"
            )
        if stored != parsed.name:
            raise ResumeError(
                f"the store holds a run of recipe {stored!r}, not {parsed.name!r}; "
                "use the recipe that run started with, or start a new run"
            )
        completed = ctx.get(_COMPLETED_KEY, [])
        names = set(parsed.step_names)
        if not isinstance(completed, list) or not all(c in names for c in completed):
            raise ResumeError(
                f"the checkpoint lists completed steps {completed!r} that recipe "
                f"{parsed.name!r} does not have; was the recipe changed?"
            )
        done = set(completed)
        for step in parsed.steps:
            missing = [d for d in step.depends_on if d not in done]
            if step.name in done and missing:
                raise ResumeError(
                    f"step {step.name!r} is checkpointed as done but now depends on "
                    f"{', '.join(map(repr, missing))}, which did not run before it; "
                    "was the recipe changed? Start a new run"
                )
        return runner._execute(parsed, found, ctx, list(completed))

    # ------------------------------------------------------------------ internals

    def _emit(self, event: RunEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _execute(
        self,
        recipe: Recipe,
        found: Mapping[str, Scriptlet],
        ctx: Context,
        completed: list[str],
    ) -> RunResult:
        results = {s.name: StepResult(s.name, "not_run") for s in recipe.steps}
        ordered = [results[s.name] for s in recipe.order()]
        outcome = RunResult(recipe.name, ctx, ordered)
        for step in recipe.order():
            result = results[step.name]
            if step.name in completed:
                result.status = "already_done"
                self._emit(RunEvent("already_done", step.name, result=result))
                continue
            self._run_step(step, found[step.name], ctx, result)
            if result.status == "ok":
                completed.append(step.name)
                error = self._checkpoint(ctx, completed, step.name)
                if error is None:
                    continue
                result.status, result.error = "failed", error
            outcome.failed_step, outcome.error = step.name, result.error
            break
        return outcome

    def _run_step(self, step: Step, item: Scriptlet, ctx: Context, result: StepResult) -> None:
        attempts = step.retries + 1
        started = time.perf_counter()
        for attempt in range(1, attempts + 1):
            result.attempts = attempt
            self._emit(RunEvent("start", step.name, attempt, attempts))
            view = StepContext(
                ctx, step.name, writes=item.writes, attempt=attempt, timeout_s=step.timeout_s
            )
            try:
                with ctx.atomic(), _alarm(step):
                    item.run(view, copy_value(dict(step.params)))
                    view.check_time()
            except Exception as exc:  # the step failed: atomic() undid its changes
                result.error = exc
                last = attempt == attempts or isinstance(exc, _NOT_RETRIED)
                if last:
                    result.status = "failed"
                    result.duration_s = time.perf_counter() - started
                    self._emit(RunEvent("failed", step.name, attempt, attempts, exc, result))
                    return
                self._emit(RunEvent("retry", step.name, attempt, attempts, exc))
                if self.retry_delay_s:
                    time.sleep(self.retry_delay_s)
                continue
            result.status, result.error = "ok", None
            result.written = list(view.written)
            result.duration_s = time.perf_counter() - started
            self._emit(RunEvent("done", step.name, attempt, attempts, result=result))
            return

    def _checkpoint(self, ctx: Context, completed: list[str], step: str) -> BaseException | None:
        if self.store is None:
            return None
        # Mark, then save outside any atomic() block (a store write cannot be undone); a
        # checkpoint that failed is unmarked again, so the context agrees with the store.
        ctx.set(_COMPLETED_KEY, list(completed), who=_RUNNER_WHO)
        try:
            save_delta(ctx, self.store, with_history=self.history)
        except Exception as exc:
            completed.pop()
            ctx.set(_COMPLETED_KEY, list(completed), who=_RUNNER_WHO)
            return exc
        self._emit(RunEvent("checkpoint", step))
        return None


def as_recipe(recipe: RecipeLike) -> Recipe:
    """A :class:`Recipe` from a recipe, a file path, or parsed data (mapping or list)."""
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, str | Path):
        return load_recipe(recipe)
    return Recipe.from_data(recipe)


def _as_registry(reg: ScriptletRegistry | Mapping[str, object] | None) -> ScriptletRegistry:
    if reg is None:
        return registry
    if isinstance(reg, ScriptletRegistry):
        return reg
    return ScriptletRegistry(reg)


@contextmanager
def _alarm(step: Step) -> Iterator[None]:
    """Interrupt a step that overruns ``timeout_s`` (main thread, POSIX, no other timer).

    Elsewhere the step is stopped at its next context access instead, and a step that
    returns late is failed all the same; either way its changes are undone.
    """
    timeout = step.timeout_s
    usable = (
        timeout is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if not usable:
        yield
        return
    assert timeout is not None

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise StepTimeoutError(step.name, timeout)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
