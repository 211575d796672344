"""A wall-clock limit on the grader's own work on one learner's data.

Everything the grading process does with learner data outside the sandbox (reading a
zip, validating a notebook, restoring cells, scanning code for imports, judging values)
is bounded in size, and every step is linear; :func:`time_limit` is the backstop, so a
learner who finds a slow path anyway costs their own submission and never a worker.

In a process's main thread (the CLI's batch and every pool worker) it uses ``SIGALRM``
(``setitimer``), so it interrupts Python code, including code blocked in a system call.
In any other thread (a Dask worker runs its tasks in threads, where no signal arrives) a
timer thread raises the exception in the limited thread asynchronously
(``PyThreadState_SetAsyncExc``, part of CPython's C API): that interrupts Python code at
its next bytecode, not a blocking system call, which is enough for the grader's own work
(pure-Python, bounded reads). Limits nest: an inner limit never extends an outer one.

Belongs with the grading core (``grader/core`` after the restructure).
"""

from __future__ import annotations

import ctypes
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from grader.core.errors import GraderError

__all__ = ["TimeLimitExceeded", "time_limit"]


class TimeLimitExceeded(GraderError):
    """The grader's work on one learner's data ran past its wall-clock limit."""

    def __init__(self, what: str, seconds: float) -> None:
        super().__init__(f"{what} took longer than {seconds:g} s")
        self.what = what
        self.seconds = seconds


@contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise :class:`TimeLimitExceeded` in the block once ``seconds`` have passed."""
    if seconds <= 0:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        with _thread_time_limit(seconds, what):
            yield
        return
    outer_remaining, _ = signal.getitimer(signal.ITIMER_REAL)
    outer_handler = signal.getsignal(signal.SIGALRM)
    started = time.monotonic()
    own = seconds if not outer_remaining else min(seconds, outer_remaining)

    def expired(signum: int, frame: FrameType | None) -> None:
        if outer_remaining and outer_remaining <= seconds and callable(outer_handler):
            outer_handler(signum, frame)  # the outer limit is the one that ran out
        raise TimeLimitExceeded(what, seconds)

    signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, own)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer_handler)
        if outer_remaining:
            left = outer_remaining - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))


@contextmanager
def _thread_time_limit(seconds: float, what: str) -> Iterator[None]:
    """:func:`time_limit` outside the main thread: a timer raises in this thread."""

    class Expired(TimeLimitExceeded):
        def __init__(self) -> None:
            super().__init__(what, seconds)

    target = ctypes.c_ulong(threading.get_ident())
    lock = threading.Lock()
    state = {"inside": True, "fired": False}

    def fire() -> None:
        with lock:
            if state["inside"]:
                state["fired"] = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(target, ctypes.py_object(Expired))

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            state["inside"] = False
            if state["fired"]:  # raised too late to land in the block: take it back
                ctypes.pythonapi.PyThreadState_SetAsyncExc(target, None)
