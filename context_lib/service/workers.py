"""Worker threads that run the service's blocking calls in batches, off the event loop.

Handing each request to a thread pool costs two thread switches per request; on a busy
machine each switch waits for a time slice, and that, not the work, bounds the
throughput. A :class:`Workers` pool instead keeps a queue: the jobs submitted during
one turn of the event loop are handed over together (one append, and one byte written
to a pipe only if a thread sleeps on it); a thread that wakes up
takes every job waiting (up to ``batch``),
runs them one after the other, and hands all their results back to the event loop in
one call. Under load, one switch pays for many requests; when idle, a request costs
the same two switches as before.

With ``around`` (the SQLite backend's ``group``), a batch runs inside one transaction
and every request in it is answered only after its commit: group commit, so one disk
commit serves many acknowledged writes. The app keeps two pools: one writer (SQLite
takes one writer at a time anyway) and a few readers, so a write waiting for a lock
held by another process never holds up a read, and the event loop waits for neither.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

__all__ = ["Workers"]

T = TypeVar("T")
_Job = tuple[Callable[[], Any], asyncio.Future[Any], asyncio.AbstractEventLoop, Any]
_Outcome = tuple[asyncio.Future[Any], Any, BaseException | None]


def _settle(results: list[_Outcome]) -> None:
    for future, value, error in results:
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


class Workers:
    """``threads`` daemon threads running queued calls in batches of up to ``batch``."""

    def __init__(
        self,
        name: str,
        threads: int = 1,
        batch: int = 32,
        around: Callable[[], AbstractContextManager[object]] | None = None,
        prefetch: Callable[[list[Any]], object] | None = None,
    ) -> None:
        self._around = around
        self._prefetch = prefetch
        # The jobs of one turn of the event loop travel as one item; None stops a thread.
        self._items: collections.deque[list[_Job] | None] = collections.deque()
        # An idle thread sleeps in a read of this pipe; a byte written wakes it. Both
        # system calls release the GIL, so the event loop never holds it while the
        # thread it woke takes the CPU (a queue's wake-up does, and the woken thread
        # then only waits for the GIL: two wasted switches per batch).
        self._bell_in = self._bell_out = -1  # the pipe is made when the threads start
        self._sleeping = 0  # threads asleep (or about to be) on the pipe
        self._lock = threading.Lock()  # orders closing against handing over
        self._batch = batch
        self._closed = False
        self._outbox: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        self._threads = [
            threading.Thread(target=self._serve, name=f"{name}-{i}", daemon=True)
            for i in range(threads)
        ]
        self._started = False

    async def run(self, func: Callable[[], T], hint: Any = None) -> T:
        """Run ``func`` in a worker thread; its result (or exception) comes back here.

        ``hint`` (not ``None``): handed, with the other hints of the batch, to
        ``prefetch`` before the batch runs (inside ``around``).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        # The jobs submitted during one turn of the event loop are handed over together,
        # at its end: one put and at most one wake-up for all of them.
        outbox = self._outbox.get(loop)
        if outbox is None:
            outbox = self._outbox[loop] = []
            loop.call_soon(self._hand_over, loop)
        outbox.append((func, future, loop, hint))
        return await future

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        jobs = self._outbox.pop(loop)
        with self._lock:
            if not self._closed:
                if not self._started:  # started on first use: an app never served costs none
                    self._started = True
                    self._bell_in, self._bell_out = os.pipe()
                    for thread in self._threads:
                        thread.start()
                self._items.append(jobs)
                if self._sleeping:
                    os.write(self._bell_out, b"\0")
                return
        for _, future, _, _ in jobs:
            if not future.done():
                future.set_exception(RuntimeError("the worker pool is closed"))

    def _serve(self) -> None:
        jobs: list[_Job] = []  # taken from the queue, not run yet
        stop = False  # this thread's None was taken: finish ``jobs``, then return
        while True:
            if not jobs:
                if stop:
                    return
                first = self._next()
                if first is None:
                    return
                jobs = first
            while not stop and len(jobs) < self._batch:  # all else waiting, up to a batch
                try:
                    more = self._items.popleft()
                except IndexError:
                    break
                if more is None:
                    stop = True
                else:
                    jobs.extend(more)
            batch, jobs = jobs[: self._batch], jobs[self._batch :]
            outcomes = self._run_batch(batch)
            by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
            for (_, _, loop, _), outcome in zip(batch, outcomes, strict=True):
                by_loop.setdefault(loop, []).append(outcome)
            for loop, results in by_loop.items():
                with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                    loop.call_soon_threadsafe(_settle, results)

    def _next(self) -> list[_Job] | None:
        """The next item, sleeping on the pipe until there is one."""
        while True:
            try:
                return self._items.popleft()
            except IndexError:
                pass
            with self._lock:
                self._sleeping += 1
            try:
                # Announced first, looked again second: an item handed over in between
                # is found here, or its hand-over saw the announcement and rang.
                try:
                    return self._items.popleft()
                except IndexError:
                    os.read(self._bell_in, 1)  # one byte: one thread woken
            finally:
                with self._lock:
                    self._sleeping -= 1

    def _run_batch(self, batch: list[_Job]) -> list[_Outcome]:
        """Run the jobs, inside ``around`` (e.g. one transaction) when given; if
        ``around`` fails (to begin or to commit), every job of the batch fails with it:
        none of them is acknowledged as done."""
        outcomes: list[_Outcome] = []
        try:
            with self._around() if self._around is not None else contextlib.nullcontext():
                hints = [hint for _, _, _, hint in batch if hint is not None]
                if hints and self._prefetch is not None:
                    # Only a read-ahead: each job still reads what it needs, so a
                    # failure here costs the batch nothing but the saving.
                    with contextlib.suppress(Exception):
                        self._prefetch(hints)
                for func, future, _, _ in batch:
                    try:
                        outcomes.append((future, func(), None))
                    except Exception as exc:  # handed to the awaiting request
                        outcomes.append((future, None, exc))
        except Exception as exc:
            return [(future, None, exc) for _, future, _, _ in batch]
        return outcomes

    def close(self) -> None:
        """Finish the queued jobs, then stop the threads."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if not self._started:
                return
            for _ in self._threads:
                self._items.append(None)
            os.write(self._bell_out, b"\0" * len(self._threads))
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=30)
        if not any(thread.is_alive() for thread in self._threads):
            os.close(self._bell_in)
            os.close(self._bell_out)
