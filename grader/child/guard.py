"""Inside the sandboxed child: what of the learner's could watch a test cell run.

A test cell arrives as a code object compiled by the parent (no source text, no line
text, a neutral file name, no ``linecache`` entry, never in IPython's history). What
could still watch it run is a hook the learner's code installed in the process:

- a trace or profile function (``sys.settrace``/``sys.setprofile``, and the
  ``threading`` versions that new threads inherit), or a ``sys.monitoring`` tool
  (Python 3.12+): :func:`watchers` names them, :func:`clear` removes them before a test
  cell runs, and the runner reports what it found, before and after the cell, to the
  parent, which rejects the notebook;
- an audit hook (``sys.addaudithook``, which sees every ``exec`` and ``marshal.loads``):
  audit hooks cannot be removed, so the grader installs its own first (when the zygote
  imports this module, before any learner code exists) and, once :func:`arm` is called,
  refuses every later one (an audit hook that raises a ``RuntimeError`` on the
  ``sys.addaudithook`` event stops the new hook being added) and records the attempt.

This runs in the learner's process, so a learner who reaches into the grader's own
objects can hide their tracks; what they would then see is a code object without source
(its constants and names), never an expected value, and probe inputs drawn for this
grading alone (see README, "How grading judges learners' work").
"""

from __future__ import annotations

import sys
import threading
from typing import Any

__all__ = ["arm", "clear", "watchers"]

_state = {"armed": False, "attempts": 0}


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "sys.addaudithook" and _state["armed"]:
        _state["attempts"] += 1
        raise RuntimeError("audit hooks are not available while grading")  # refuses it
    if event == "object.__setattr__" and args and args[0] is _audit:
        raise RuntimeError("the grader's audit hook cannot be changed")  # e.g. __code__


sys.addaudithook(_audit)


def arm() -> None:
    """From now on, refuse and count audit hooks (call before any learner code runs)."""
    _state["armed"] = True
    _state["attempts"] = 0


def watchers() -> list[str]:
    """The hooks that could watch the next cell run, as plain names (empty: none)."""
    found: list[str] = []
    if sys.gettrace() is not None:
        found.append("sys.settrace")
    if sys.getprofile() is not None:
        found.append("sys.setprofile")
    if threading.gettrace() is not None:
        found.append("threading.settrace")
    if threading.getprofile() is not None:
        found.append("threading.setprofile")
    if _state["attempts"]:
        found.append("sys.addaudithook")
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is not None:
        for tool in range(6):
            if monitoring.get_tool(tool) is not None:
                found.append("sys.monitoring")
                break
    return found


def clear() -> None:
    """Remove trace and profile functions (this thread's and those new threads get)."""
    sys.settrace(None)
    sys.setprofile(None)
    threading.settrace(None)
    threading.setprofile(None)
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is not None:
        for tool in range(6):
            if monitoring.get_tool(tool) is not None:
                monitoring.set_events(tool, 0)
