"""Scriptlets that tests name by import reference (``module:attribute``), including in
child processes."""

from __future__ import annotations

import os
import signal
from typing import Any

from context_lib.runner import Scriptlet, StepContext


def record(ctx: StepContext, params: dict[str, Any]) -> None:
    """Append the step's name to ``log.steps`` (shows what ran, and in which order)."""
    key = f"log.{ctx.step}"
    ctx.set(key, params.get("value", True))


def die_if_asked(ctx: StepContext, params: dict[str, Any]) -> None:
    """Write something, then kill this very process with SIGKILL if CRASH_STEP names us."""
    ctx.set(f"log.{ctx.step}", "started")
    if os.environ.get("CRASH_STEP") == ctx.step:
        os.kill(os.getpid(), signal.SIGKILL)
    ctx.set(f"log.{ctx.step}", "finished")


class Greeter(Scriptlet):
    """A class-based scriptlet with a params schema."""

    name = "greeter"
    writes = ("greeting",)
    params_schema = {  # noqa: RUF012
        "type": "object",
        "properties": {"who": {"type": "string"}},
        "required": ["who"],
    }

    def run(self, ctx: StepContext, params: dict[str, Any]) -> None:
        """Greet ``who``."""
        ctx.set("greeting.text", f"hello {params['who']}")


def fail_if_asked(ctx: StepContext, params: dict[str, Any]) -> None:
    """Write, then raise if the FAIL_STEP environment variable names this step."""
    ctx.set(f"log.{ctx.step}", "written")
    if os.environ.get("FAIL_STEP") == ctx.step:
        raise RuntimeError(f"{ctx.step} was asked to fail")
