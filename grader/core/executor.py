"""The trusted side of execution: run a plan of cells in sandbox sessions, with timeouts.

:func:`execute` sends cells one at a time to a session (see :mod:`grader.child.runner` for the
protocol), reads what comes back with size limits, and enforces the per-cell and
per-notebook wall clocks. Nothing the child says is believed beyond "these are the values
I observed during the cell you sent": a malformed or oversized message marks the cell's
observations malformed, a forged message for another cell is ignored.

What the parent keeps is bounded whatever the child sends: observations are kept only for
cells planned as observed (test cells), at most :data:`MAX_CELL_BYTES` of them per cell and
:data:`MAX_OBSERVED_BYTES` per run (beyond that the cell's observations are malformed), and
a long line the parent will not keep is skipped without being parsed.

The runaway policy, interrupt then kill: a cell that exceeds its time, or a process that
dies (``os._exit``, a signal, a crashed interpreter), costs only that cell. A cell past its
own time limit is first interrupted (SIGINT, a ``KeyboardInterrupt`` in the cell, sent to
the notebook's process alone) and given :data:`INTERRUPT_GRACE` seconds to stop; if it
stops and the process still runs an empty cell cleanly, execution continues in the same
process with its state intact (no replay). That is done only where it cannot change the
verdict on the cell's own part: for an observed (test) cell, or when no observed cell
follows. Otherwise (an unobserved cell before a test, the interrupt ignored, the process
broken, or the notebook as a whole out of time) the session is killed (with everything it
spawned), a fresh one replays the cells that had completed (their observations are not
counted twice), skipping the runaway cell, and execution continues with the next cell.
Either way the cell counts as timed out, and nothing it sends after its time ran out is
kept: catching the interrupt earns nothing. Every such event is recorded in plain words.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from grader.child.values import MalformedValue, parse_observed
from grader.core.sandbox import Sandbox, SandboxLimits, Session

__all__ = [
    "INTERRUPT_GRACE",
    "MAX_CELL_BYTES",
    "MAX_ERROR_MESSAGE",
    "MAX_LINE_BYTES",
    "MAX_OBSERVED_BYTES",
    "CellOutcome",
    "CellStatus",
    "Execution",
    "Observation",
    "PlannedCell",
    "execute",
]

CellStatus = Literal["ok", "error", "timeout", "crashed", "not-run"]
MAX_LINE_BYTES = 5 << 20
MAX_CELL_BYTES = 4 << 20  # observations kept per cell (the child's own cap per value is 4 MB)
MAX_OBSERVED_BYTES = 8 << 20  # observations kept per run (reference values are a few KB)
MAX_OBSERVATIONS = 100_000
SHORT_LINE = 512  # a line this short is always parsed: "done" messages fit
MAX_OUTPUT_KEPT = 64 << 10
MAX_RESTARTS = 8
READY_TIMEOUT = 20.0
INTERRUPT_GRACE = 1.0  # seconds an interrupted cell has to stop before its process is killed
_HEALTH_CHECK = -1  # the number of the empty cell that shows an interrupted process still works
MAX_ERROR_MESSAGE = 300  # characters of an exception's message kept
_KINDS = frozenset({"assert", "truth", "expect", "probe", "statement"})
_STATUSES = frozenset({"value", "raises", "error"})


@dataclass(frozen=True)
class PlannedCell:
    """A cell to run: its code and how to name it to people."""

    code: str
    name: str  # "cell 5", "the test cell of part p1"
    observed: bool = True  # keep its observations (False: the verdict never reads them)
    compiled: str = ""  # a test cell: its code object (grader.core.testcode), sent for code


def _cell_message(cell: PlannedCell, number: int, seed: int | None) -> dict[str, Any]:
    """What the child is sent to run ``cell``: test cells as code objects, never text."""
    if cell.compiled:
        return {"t": "test", "n": number, "code": cell.compiled, "seed": seed}
    return {"t": "cell", "n": number, "code": cell.code}


@dataclass(frozen=True)
class Observation:
    """One validated observation from the child."""

    check: str
    kind: str
    status: Literal["value", "raises", "error", "malformed"]
    value: Any = None
    message: str = ""  # an error's message as the child reported it (untrusted, <= 300 chars)


@dataclass
class CellOutcome:
    """What happened to one planned cell."""

    status: CellStatus = "not-run"
    seconds: float = 0.0
    error: str | None = None  # exception class name reported by the child (informative)
    observations: list[Observation] = field(default_factory=list)
    malformed: bool = False  # the child sent something unreadable while this cell ran
    detail: str = ""  # plain words when status is timeout/crashed/not-run
    loaded: list[str] = field(default_factory=list)  # forbidden modules in use after it
    watched: list[str] = field(default_factory=list)  # learner hooks seen around a test cell


@dataclass
class Execution:
    """The result of running a plan."""

    outcomes: list[CellOutcome]
    events: list[str] = field(default_factory=list)
    cell_seconds: float = 0.0
    output: bytes = b""
    output_bytes: int = 0
    observed_bytes: int = 0
    sessions: int = 0


class _Channel:
    """Reads newline-delimited JSON from a session with hard size limits."""

    def __init__(
        self, session: Session, execution: Execution, sandbox: Sandbox | None = None
    ) -> None:
        self.session = session
        self.sandbox = sandbox
        self.execution = execution
        self.buffer = bytearray()
        self.scanned = 0  # the buffer holds no newline before this offset
        self.skipping = False  # dropping the rest of a line that is too long
        self.eof = False
        self.selector = selectors.DefaultSelector()
        session.channel.setblocking(False)
        os.set_blocking(session.output_fd, False)
        self.selector.register(session.channel, selectors.EVENT_READ, "channel")
        self.selector.register(session.output_fd, selectors.EVENT_READ, "output")
        self.output_open = True
        self.oversized = False
        self.parse_limit = MAX_LINE_BYTES  # longer lines are skipped unparsed
        self.skipped = False  # a line was skipped since the cell began

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.selector.close()

    def interrupt(self) -> bool:
        """Interrupt the session's process (see :meth:`Sandbox.interrupt`)."""
        return self.sandbox.interrupt(self.session) if self.sandbox is not None else False

    def send(self, message: dict[str, Any]) -> bool:
        data = json.dumps(message).encode() + b"\n"
        self.session.channel.setblocking(True)
        self.session.channel.settimeout(5.0)
        try:
            self.session.channel.sendall(data)
        except OSError:
            return False
        finally:
            self.session.channel.setblocking(False)
        return True

    def _drain_output(self) -> None:
        while True:
            try:
                chunk = os.read(self.session.output_fd, 1 << 16)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self.selector.unregister(self.session.output_fd)
                self.output_open = False
                return
            self.execution.output_bytes += len(chunk)
            room = MAX_OUTPUT_KEPT - len(self.execution.output)
            if room > 0:
                self.execution.output += chunk[:room]

    def _longest(self) -> int:
        return max(SHORT_LINE, min(self.parse_limit, MAX_LINE_BYTES))

    def _read_channel(self) -> list[bytes]:
        """Complete lines received so far; a line longer than we would parse is dropped
        as it arrives (and ``skipped`` set), never buffered whole."""
        lines: list[bytes] = []
        while True:
            try:
                chunk = self.session.channel.recv(1 << 16)
            except BlockingIOError:
                return lines
            except OSError:
                chunk = b""
            if not chunk:
                self.eof = True
                return lines
            self.buffer += chunk
            while True:
                newline = self.buffer.find(b"\n", self.scanned)
                if newline < 0:
                    self.scanned = len(self.buffer)
                    break
                if self.skipping:
                    self.skipping = False
                else:
                    lines.append(bytes(self.buffer[:newline]))
                del self.buffer[: newline + 1]
                self.scanned = 0
            if len(self.buffer) > self._longest():
                self.buffer.clear()
                self.scanned = 0
                self.skipping = True
                self.skipped = True

    def messages(self, deadline: float) -> list[tuple[dict[str, Any], int]] | None:
        """The next messages with their sizes, ``[]`` at EOF, ``None`` past the deadline."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            events = self.selector.select(timeout=remaining)
            parsed: list[tuple[dict[str, Any], int]] = []
            for key, _ in events:
                if key.data == "output":
                    self._drain_output()
                    continue
                for line in self._read_channel():
                    if len(line) > self._longest():
                        self.skipped = True
                        continue
                    try:
                        message = json.loads(line)
                    except (ValueError, RecursionError):
                        self.oversized = True
                        continue
                    if isinstance(message, dict):
                        parsed.append((message, len(line)))
                    else:
                        self.oversized = True
            if parsed:
                return parsed
            if self.eof:
                return []


def _observation(message: dict[str, Any]) -> Observation | None:
    check, kind, status = message.get("check"), message.get("kind"), message.get("status")
    if not isinstance(check, str) or len(check) > 1000 or kind not in _KINDS:
        return None
    if status not in _STATUSES:
        return Observation(check, str(kind), "malformed")
    value = message.get("value")
    if status in ("raises", "error"):
        if not isinstance(value, str) or len(value) > 200:
            return Observation(check, str(kind), "malformed")
        text = message.get("message")
        text = text[:MAX_ERROR_MESSAGE] if isinstance(text, str) else ""
        return Observation(check, str(kind), status, value, text)
    try:
        return Observation(check, str(kind), "value", parse_observed(value))
    except (MalformedValue, RecursionError):
        return Observation(check, str(kind), "malformed")


def _wait_done(channel: _Channel, number: int, deadline: float) -> str | None:
    """Wait for cell ``number`` to say it is done, keeping nothing else it sends.

    Returns the exception class it reported (``""`` for none), or ``None`` if it did not
    finish by ``deadline`` or the process ended.
    """
    channel.parse_limit = 0  # long lines (observations) are skipped unparsed
    while True:
        messages = channel.messages(deadline)
        if not messages:
            return None
        for message, _ in messages:
            if message.get("n") == number and message.get("t") == "done":
                error = message.get("error")
                return error if isinstance(error, str) else ""


def _interrupt(channel: _Channel, number: int, grace_deadline: float) -> bool:
    """Interrupt the cell that ran out of time; whether the process is still usable.

    Usable means: the cell stopped before ``grace_deadline`` and then an empty cell ran
    without an error (the interrupt did not break the runner, and was not still pending).
    """
    if not channel.interrupt():
        return False
    if _wait_done(channel, number, grace_deadline) is None:
        return False
    if not channel.send({"t": "cell", "n": _HEALTH_CHECK, "code": ""}):
        return False
    return _wait_done(channel, _HEALTH_CHECK, grace_deadline) == ""


def _run_cell(
    channel: _Channel,
    number: int,
    request: dict[str, Any],
    timeout: float,
    *,
    observed: bool,
    grace_until: float | None = None,
) -> tuple[CellOutcome, bool]:
    """Run one cell; return its outcome and whether the session is still usable.

    Observations are kept only when ``observed``, within the cell's and the run's budgets,
    and only until the cell's time runs out. With ``grace_until``, a cell that runs out of
    time is interrupted and may stop until then (see :func:`_interrupt`); without, or if
    that fails, the session is not usable.
    """
    execution = channel.execution
    outcome = CellOutcome()
    budget = min(MAX_CELL_BYTES, MAX_OBSERVED_BYTES - execution.observed_bytes) if observed else 0
    channel.parse_limit, channel.skipped, channel.oversized = budget, False, False
    started = time.monotonic()
    if not channel.send(request):
        outcome.status, outcome.detail = "crashed", "the notebook's process had already ended"
        return outcome, False
    deadline = started + timeout
    received = 0
    while True:
        messages = channel.messages(deadline)
        outcome.seconds = time.monotonic() - started
        if messages is None:
            outcome.status = "timeout"
            if grace_until is None:
                return outcome, False
            usable = _interrupt(channel, number, max(grace_until, time.monotonic()))
            outcome.seconds = time.monotonic() - started
            return outcome, usable
        if not messages:
            outcome.status = "crashed"
            return outcome, False
        for message, size in messages:
            if message.get("n") != number:
                continue
            kind = message.get("t")
            if kind == "done":
                error = message.get("error")
                outcome.error = error if isinstance(error, str) and len(error) < 200 else None
                outcome.status = "error" if outcome.error else "ok"
                outcome.loaded = _module_names(message.get("loaded"))
                outcome.watched = _module_names(message.get("watched"))
                outcome.malformed = outcome.malformed or channel.oversized
                if observed and channel.skipped:
                    outcome.malformed = True
                return outcome, True
            if kind != "obs" or not observed:
                continue
            received += 1
            if size > budget or received > MAX_OBSERVATIONS:
                outcome.malformed = True  # over budget: nothing more is kept for this cell
                budget = channel.parse_limit = 0
                continue
            budget -= size
            channel.parse_limit = budget
            execution.observed_bytes += size
            observation = _observation(message)
            if observation is None:
                outcome.malformed = True
            else:
                outcome.observations.append(observation)
        if observed and (channel.oversized or channel.skipped):
            outcome.malformed = True


def _wait_ready(channel: _Channel, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        messages = channel.messages(deadline)
        if not messages:
            return False
        if any(m.get("t") == "ready" for m, _ in messages):
            return True


def _describe_status(status: str) -> str:
    if status.startswith("signal "):
        number = status.split()[1]
        names = {
            "9": "was killed (SIGKILL)",
            "11": "crashed (segmentation fault)",
            "6": "aborted",
            "24": "ran out of CPU time",
        }
        return names.get(number, f"was killed by signal {number}")
    if status.startswith("exit "):
        return f"exited (status {status.split()[1]})"
    return "ended"


def execute(
    cells: Sequence[PlannedCell],
    *,
    sandbox: Sandbox,
    files: dict[str, bytes],
    limits: SandboxLimits,
    cell_timeout: float,
    notebook_timeout: float,
    timeout_for: Callable[[int], float] | None = None,
    seed: int | None = None,
) -> Execution:
    """Run ``cells`` in order in sandbox sessions; see the module docstring for the policy.

    ``seed`` seeds :func:`grader.grading_random` before each test cell (``None``: the
    fixed default seed).
    """
    execution = Execution(outcomes=[CellOutcome() for _ in cells])
    notebook_deadline = time.monotonic() + notebook_timeout
    skip: set[int] = set()
    position = 0
    restarts = 0
    while position < len(cells):
        if restarts > MAX_RESTARTS:
            execution.events.append(
                f"stopped after {MAX_RESTARTS} restarts of the notebook's process; "
                f"{cells[position].name} and the cells after it did not run"
            )
            break
        session = sandbox.open_session(files, limits)
        execution.sessions += 1
        crashed_at: int | None = None
        channel = _Channel(session, execution, sandbox)
        try:
            if not _wait_ready(channel, READY_TIMEOUT):
                status = sandbox.end_session(session)
                execution.events.append(
                    f"the notebook's process did not start ({_describe_status(status)})"
                )
                restarts += 1
                continue
            usable = True
            # replay what had completed, without counting its observations again
            for index in range(position):
                if index in skip or execution.outcomes[index].status not in ("ok", "error"):
                    continue
                remaining = notebook_deadline - time.monotonic()
                if remaining <= 0:
                    break
                limit = min(timeout_for(index) if timeout_for else cell_timeout, remaining)
                request = _cell_message(cells[index], index, seed)
                replay, usable = _run_cell(channel, index, request, limit, observed=False)
                execution.cell_seconds += replay.seconds
                if not usable:
                    skip.add(index)
                    execution.events.append(
                        f"{cells[index].name} {_replay_words(replay)} when re-run after a "
                        "restart; it was left out of the re-run"
                    )
                    break
            if not usable:
                restarts += 1
                continue
            while position < len(cells):
                remaining = notebook_deadline - time.monotonic()
                if remaining <= 0:
                    break
                own = timeout_for(position) if timeout_for else cell_timeout
                limit = min(own, remaining)
                outcome, usable = _run_cell(
                    channel,
                    position,
                    _cell_message(cells[position], position, seed),
                    limit,
                    observed=cells[position].observed,
                    grace_until=(
                        min(time.monotonic() + limit + INTERRUPT_GRACE, notebook_deadline)
                        if limit >= own and _may_continue(cells, position)
                        else None
                    ),
                )
                execution.outcomes[position] = outcome
                execution.cell_seconds += outcome.seconds
                if outcome.status == "timeout":
                    name = cells[position].name
                    if limit < own:
                        outcome.detail = (
                            f"the notebook ran out of time ({notebook_timeout:g} s in total)"
                        )
                        execution.events.append(
                            f"{name} was stopped: the notebook ran out of "
                            f"time ({notebook_timeout:g} s in total)"
                        )
                    else:
                        outcome.detail = f"timed out after {own:g} s"
                        execution.events.append(
                            f"{name} timed out after {own:g} s"
                            + ("; it was interrupted and grading continued" if usable else "")
                        )
                if not usable:
                    skip.add(position)
                    if outcome.status == "crashed":
                        crashed_at = position
                    position += 1
                    break
                position += 1
        finally:
            channel.close()
            status = sandbox.end_session(session, grace=0.5 if channel.eof else 0.0)
        if crashed_at is not None:
            words = _describe_status(status)
            execution.outcomes[
                crashed_at
            ].detail = f"the notebook's process {words} while running it"
            execution.events.append(
                f"the notebook's process {words} while running {cells[crashed_at].name}; "
                "grading continued in a fresh process"
            )
        if position < len(cells) and notebook_deadline - time.monotonic() <= 0:
            break
        restarts += 1
    for index in range(position, len(cells)):
        outcome = execution.outcomes[index]
        if outcome.status == "not-run" and not outcome.detail:
            outcome.detail = "not run: the notebook ran out of time"
    if position < len(cells) and notebook_deadline - time.monotonic() <= 0:
        execution.events.append(
            f"the notebook ran out of time ({notebook_timeout:g} s); "
            f"{len(cells) - position} cell(s) did not run"
        )
    return execution


def _may_continue(cells: Sequence[PlannedCell], position: int) -> bool:
    """Whether the process may carry on after interrupting the cell at ``position``.

    Only where that cannot change a verdict: the cell is observed (a test cell: what it
    sends after its time ran out is dropped), or no observed cell follows. An unobserved
    cell (learner code) followed by a test cell is killed and left out of the replay, as
    the test would otherwise run on whatever the cell did after catching the interrupt.
    (Past the notebook's own limit nothing more runs, so nothing is interrupted either.)
    """
    return cells[position].observed or not any(cell.observed for cell in cells[position + 1 :])


def _replay_words(outcome: CellOutcome) -> str:
    return "timed out" if outcome.status == "timeout" else "ended the process"


def _module_names(value: object) -> list[str]:
    """The ``loaded`` list of a ``done`` message, if it is a short list of dotted names."""
    if not isinstance(value, list):
        return []
    return [
        name
        for name in value[:10]
        if isinstance(name, str)
        and len(name) <= 200
        and all(part.isidentifier() for part in name.split("."))
    ]
