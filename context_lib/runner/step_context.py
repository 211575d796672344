"""``StepContext``: the view of the context a running step gets.

It reads like a :class:`~context_lib.Context` and writes through to it, with two
differences: every change is attributed to the step (``who=<step name>``), and when the
scriptlet declares ``writes``, a write to any other key raises
:class:`~context_lib.runner.WriteViolationError` before it happens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from context_lib.context import Context, MergeReport, MergeStrategy
from context_lib.history import Change, HistoryView
from context_lib.runner.errors import StepTimeoutError, WriteViolationError
from context_lib.runner.scriptlet import matches_pattern
from context_lib.values import JSONValue

__all__ = ["StepContext"]


class StepContext:
    """What a scriptlet's ``run(ctx, params)`` receives as ``ctx``.

    ``step`` is the running step's name; ``attempt`` counts from 1.
    """

    __slots__ = ("_ctx", "_deadline", "_timeout", "_writes", "attempt", "step", "written")

    def __init__(
        self,
        ctx: Context,
        step: str,
        *,
        writes: tuple[str, ...] | None = None,
        attempt: int = 1,
        timeout_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ctx = ctx
        self.step = step
        self.attempt = attempt
        self._writes = writes
        self._timeout = timeout_s
        self._deadline = None if timeout_s is None else clock() + timeout_s
        self.written: dict[str, None] = {}
        """Keys this step changed, in first-change order."""

    @property
    def context(self) -> Context:
        """The underlying context (read-only use; write through this object instead)."""
        return self._ctx

    # ---------------------------------------------------------------- checks

    def check_time(self) -> None:
        """Raise :class:`StepTimeoutError` if the step has run past its ``timeout_s``.

        Called on every read and write; long computations may call it themselves.
        """
        if self._deadline is not None and time.monotonic() > self._deadline:
            assert self._timeout is not None
            raise StepTimeoutError(self.step, self._timeout)

    def _allow(self, key: str) -> None:
        self.check_time()
        writes = self._writes
        if writes is not None and not any(matches_pattern(key, p) for p in writes):
            raise WriteViolationError(self.step, key, writes)

    # ---------------------------------------------------------------- reading

    def get(self, key: str, default: Any = None) -> Any:
        """Like :meth:`Context.get`."""
        self.check_time()
        return self._ctx.get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.check_time()
        return self._ctx[key]

    def __contains__(self, key: object) -> bool:
        return key in self._ctx

    def __len__(self) -> int:
        return len(self._ctx)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ctx)

    def keys(self, prefix: str | None = None) -> list[str]:
        """Like :meth:`Context.keys`."""
        self.check_time()
        return self._ctx.keys(prefix)

    def values(self) -> list[Any]:
        """Like :meth:`Context.values`."""
        return self._ctx.values()

    def items(self) -> list[tuple[str, Any]]:
        """Like :meth:`Context.items`."""
        return self._ctx.items()

    def namespace(self, prefix: str) -> dict[str, Any]:
        """Like :meth:`Context.namespace`."""
        self.check_time()
        return self._ctx.namespace(prefix)

    def to_dict(self) -> dict[str, Any]:
        """Like :meth:`Context.to_dict`."""
        return self._ctx.to_dict()

    def to_nested(self) -> dict[str, Any]:
        """Like :meth:`Context.to_nested`."""
        return self._ctx.to_nested()

    @property
    def history(self) -> HistoryView:
        """The context's history so far."""
        return self._ctx.history

    def get_history(
        self, key: str | None = None, who: str | None = None, since: float | None = None
    ) -> list[Change]:
        """Like :meth:`Context.get_history`."""
        return self._ctx.get_history(key, who, since)

    # ---------------------------------------------------------------- writing

    def set(self, key: str, value: JSONValue, who: str | None = None) -> None:
        """Set ``key``; the change is attributed to the step whatever ``who`` says."""
        self._allow(key)
        self._ctx.set(key, value, who=self.step)
        self.written[key] = None

    def __setitem__(self, key: str, value: JSONValue) -> None:
        self.set(key, value)

    def delete(self, key: str, who: str | None = None) -> None:
        """Delete ``key`` (``KeyError`` if it is not set), attributed to the step."""
        self._allow(key)
        self._ctx.delete(key, who=self.step)
        self.written[key] = None

    def __delitem__(self, key: str) -> None:
        self.delete(key)

    def update(
        self, items: Mapping[str, Any] | Iterable[tuple[str, Any]], who: str | None = None
    ) -> None:
        """Set many keys at once (all checked first), attributed to the step."""
        pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
        for key, _ in pairs:
            if isinstance(key, str):
                self._allow(key)
        self._ctx.update(pairs, who=self.step)
        self.written.update(dict.fromkeys(k for k, _ in pairs))

    def merge_from(
        self,
        other: Context | Mapping[str, Any],
        strategy: MergeStrategy = "last_writer_wins",
        prefix: str | None = None,
        who: str | None = None,
    ) -> MergeReport:
        """Like :meth:`Context.merge_from`, attributed to the step.

        With declared ``writes`` the merge is checked after it ran; a key outside them
        fails the step, and the runner undoes the whole step.
        """
        self.check_time()
        report = self._ctx.merge_from(other, strategy, prefix, who=self.step)
        for key in report.applied:
            self._allow(key)
            self.written[key] = None
        return report

    @contextmanager
    def atomic(self) -> Iterator[StepContext]:
        """A nested all-or-nothing block inside the step (see :meth:`Context.atomic`)."""
        written = dict(self.written)
        try:
            with self._ctx.atomic():
                yield self
        except BaseException:
            self.written = written
            raise

    def __repr__(self) -> str:
        return f"<StepContext of step {self.step!r} (attempt {self.attempt}) on {self._ctx!r}>"
