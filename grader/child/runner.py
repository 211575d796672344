"""Inside the sandboxed child: run cells through IPython and report observed values.

This module runs in the untrusted process, next to the learner's code, so it decides
nothing: it executes each cell it is sent, and writes one JSON line per observation and
one when the cell ends, on the channel the parent reads (with its own size limits).
Anything here can be tampered with by learner code; the parent's verdict does not depend
on it behaving.

Channel protocol (newline-delimited JSON, parent → child)::

    {"t": "cell", "n": 7, "code": "..."}     run this (learner or source) cell as text
    {"t": "test", "n": 7, "code": B64, "seed": S}  run a test cell: a marshalled code object
    {"t": "bye"}                             exit

child → parent::

    {"t": "ready"}
    {"t": "obs", "n": 7, "check": "assert 1" | label, "kind": K, "status": S, "value": V,
     "message": M}
    {"t": "done", "n": 7, "error": "NameError" | null, "loaded": ["pkg.mod", ...],
     "watched": ["sys.settrace", ...]}

``kind`` is ``assert``/``truth``/``expect`` (visible or hidden asserts), ``probe``
(``observe``) or ``statement`` (a top-level statement of a test cell raised). ``status`` is
``value`` (``value`` holds the encoded value), ``raises`` (an ``observe(label, callable)``
raised: ``value`` is the exception class name) or ``error`` (evaluating the probe raised).
With ``error``, ``message`` (optional) holds the start of the exception's message, and a
``statement`` observation's ``check`` is ``"line N"``: the test cell's line that raised.

``loaded`` names the forbidden modules that are *in use* after the cell, whatever the
import text said: module objects under a forbidden name in ``sys.modules`` (however they
got there: ``importlib`` with a computed name, pasted source executed into a new module
object) and functions, classes or modules in the notebook's namespace whose
``__module__``/``__name__`` is a forbidden name. Learner code could hide its tracks from
this report (it runs in the same process); the report catches the ordinary shortcut, and
the sandbox's filesystem view stays the enforcement.

A test cell never arrives as text: it is a code object the parent compiled (see
:mod:`grader.core.testcode`), run with ``exec`` in the notebook's namespace, not through
IPython (so no history, no input transformers, no cell hooks). Before it runs, the runner
seeds :func:`grader.grading_random` with the grading's seed and removes trace and profile
functions; ``watched`` names the learner's hooks found before or after it (see
:mod:`grader.child.guard`).
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import json
import marshal
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from grader.child import guard
from grader.child.observe import set_grading_seed, set_sink
from grader.child.values import encode_value

__all__ = ["MAX_MESSAGE_BYTES", "Runner"]

MAX_MESSAGE_BYTES = 4 << 20
# bound now, in the zygote, before any learner code could replace the built-ins
_exec = builtins.exec
_loads = marshal.loads


def _exception_name(exc: BaseException) -> str:
    name = getattr(type(exc), "__name__", "Exception")
    return name if isinstance(name, str) and name.isidentifier() else "Exception"


MAX_EXCEPTION_MESSAGE = 300  # characters of an exception's message sent (the parent trims more)


def _exception_message(exc: BaseException) -> str:
    try:
        text = BaseException.__str__(exc)
    except Exception:
        return ""
    return text[:MAX_EXCEPTION_MESSAGE] if isinstance(text, str) else ""


class Runner:
    """Runs cells in an IPython ``InteractiveShell`` and reports over ``channel_fd``."""

    def __init__(self, shell: Any, channel_fd: int, forbidden: Sequence[str] = ()) -> None:
        self.shell = shell
        self.fd = channel_fd
        self.current = -1
        self._buffer = b""
        self.forbidden = tuple(forbidden)
        self._already = {name for name in sys.modules if self._is_forbidden(name)}

    def _is_forbidden(self, name: object) -> bool:
        return isinstance(name, str) and any(
            name == banned or name.startswith(banned + ".") for banned in self.forbidden
        )

    def loaded_forbidden(self) -> list[str]:
        """Forbidden modules in use now (see the module docstring); at most ten names."""
        if not self.forbidden:
            return []
        found = {name for name in list(sys.modules) if self._is_forbidden(name)} - self._already
        namespace = getattr(self.shell, "user_ns", {})
        for value in list(namespace.values()) if isinstance(namespace, dict) else []:
            for attribute in ("__module__", "__name__"):
                try:
                    name = object.__getattribute__(value, attribute)
                except Exception:
                    continue
                if self._is_forbidden(name):
                    found.add(str(name))
        return sorted(found)[:10]

    # -- channel -------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, ensure_ascii=False, allow_nan=False).encode("utf-8")
        if len(data) >= MAX_MESSAGE_BYTES:
            message = {**message, "status": "error", "value": "ValueTooLarge"}
            data = json.dumps(message, ensure_ascii=False, allow_nan=False).encode("utf-8")
        view = memoryview(data + b"\n")
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def receive(self) -> dict[str, Any] | None:
        while b"\n" not in self._buffer:
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        message = json.loads(line)
        return message if isinstance(message, dict) else None

    # -- observations --------------------------------------------------------------
    def _report(self, check: Any, kind: str, status: str, value: Any, message: str = "") -> None:
        label = check if isinstance(check, str) else str(type(check).__name__)
        try:
            encoded = encode_value(value) if status == "value" else value
            sent = {
                "t": "obs",
                "n": self.current,
                "check": label,
                "kind": kind,
                "status": status,
                "value": encoded,
            }
            if message:
                sent["message"] = message
            self.send(sent)
        except Exception as exc:  # an unencodable value must not stop the cell
            self.send(
                {
                    "t": "obs",
                    "n": self.current,
                    "check": label,
                    "kind": kind,
                    "status": "error",
                    "value": _exception_name(exc),
                }
            )

    def _evaluate(self, check: str, kind: str, thunk: Callable[[], Any], truth: bool) -> None:
        try:
            value = thunk()
            if truth:
                value = bool(value)
        except BaseException as exc:
            self._report(check, kind, "error", _exception_name(exc), _exception_message(exc))
            return
        self._report(check, kind, "value", value)

    def assert_(self, check: str, thunk: Callable[[], Any]) -> None:
        self._evaluate(check, "assert", thunk, truth=False)

    def truth(self, check: str, thunk: Callable[[], Any]) -> None:
        self._evaluate(check, "truth", thunk, truth=True)

    def expect(self, check: str, thunk: Callable[[], Any]) -> None:
        self._evaluate(check, "expect", thunk, truth=False)

    def probe(self, label: Any, thunk: Callable[[], Any]) -> None:
        try:
            value = thunk()
        except BaseException as exc:
            self._report(label, "probe", "error", _exception_name(exc), _exception_message(exc))
            return
        if callable(value):
            try:
                value = value()
            except BaseException as exc:
                self._report(label, "probe", "raises", _exception_name(exc))
                return
        self._report(label, "probe", "value", value)

    def statement_error(self, exc: BaseException, line: Any = None) -> None:
        where = f"line {line}" if type(line) is int else "statement"
        self._report(where, "statement", "error", _exception_name(exc), _exception_message(exc))

    def _sink(self, label: str, kind: str, value: Any) -> None:
        # a plain grader.child.observe() call that escaped the rewrite (e.g. called indirectly)
        self._report(label, "probe", "raises" if kind == "raises" else "value", value)

    # -- main loop -----------------------------------------------------------------
    def install(self) -> None:
        """Make the probe functions visible to the rewritten cells."""
        names = {
            "__cc_assert__": self.assert_,
            "__cc_truth__": self.truth,
            "__cc_expect__": self.expect,
            "__cc_observe__": self.probe,
            "__cc_statement_error__": self.statement_error,
        }
        for name, function in names.items():
            setattr(builtins, name, function)
        set_sink(self._sink)

    def run_test(self, payload: str, seed: object) -> tuple[BaseException | None, list[str]]:
        """Run a compiled test cell; the exception it ended with and the hooks watching."""
        watched = guard.watchers()
        guard.clear()
        set_grading_seed(seed if isinstance(seed, int) else None)
        error: BaseException | None = None
        try:
            _exec(_loads(base64.b64decode(payload)), self.shell.user_ns)
        except BaseException as exc:
            error = exc
        watched += [name for name in guard.watchers() if name not in watched]
        guard.clear()
        return error, watched

    def run(self) -> None:
        """Serve cells until the parent says bye or the channel closes."""
        self.install()
        guard.arm()
        self.send({"t": "ready"})
        while True:
            message = self.receive()
            kind = message.get("t") if message is not None else None
            if message is None or kind not in ("cell", "test"):
                return
            self.current = int(message["n"])
            watched: list[str] = []
            if kind == "test":
                error, watched = self.run_test(str(message["code"]), message.get("seed"))
            else:
                result = self.shell.run_cell(str(message["code"]), store_history=False)
                error = result.error_before_exec or result.error_in_exec
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
            self.send(
                {
                    "t": "done",
                    "n": self.current,
                    "error": _exception_name(error) if error is not None else None,
                    "loaded": self.loaded_forbidden(),
                    "watched": watched,
                }
            )
