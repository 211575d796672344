"""The recipe runner: scriptlets, recipes (YAML/JSON) and a runner with retries,
rollback, checkpoints and resume.

>>> from context_lib.runner import Runner, ScriptletRegistry, scriptlet
>>> reg = ScriptletRegistry()
>>> @scriptlet("count", writes=["counts.*"], registry=reg)
... def count(ctx, params):
...     ctx.set("counts.words", len(params["text"].split()))
>>> result = Runner(registry=reg).run([{"name": "c", "scriptlet": "count",
...                                     "params": {"text": "a b c"}}])
>>> result.ok, result.context.get("counts.words")
(True, 3)
"""

from context_lib.runner.errors import (
    RecipeError,
    ResumeError,
    RunnerError,
    ScriptletError,
    StepTimeoutError,
    WriteViolationError,
)
from context_lib.runner.recipe import Recipe, Step, load_recipe, parse_recipe
from context_lib.runner.runner import RUNNER_NAMESPACE, RunEvent, Runner, RunResult, StepResult
from context_lib.runner.scriptlet import (
    FunctionScriptlet,
    Scriptlet,
    ScriptletRegistry,
    matches_pattern,
    registry,
    scriptlet,
)
from context_lib.runner.step_context import StepContext

__all__ = [
    "RUNNER_NAMESPACE",
    "FunctionScriptlet",
    "Recipe",
    "RecipeError",
    "ResumeError",
    "RunEvent",
    "RunResult",
    "Runner",
    "RunnerError",
    "Scriptlet",
    "ScriptletError",
    "ScriptletRegistry",
    "Step",
    "StepContext",
    "StepResult",
    "StepTimeoutError",
    "WriteViolationError",
    "load_recipe",
    "matches_pattern",
    "parse_recipe",
    "registry",
    "scriptlet",
]
