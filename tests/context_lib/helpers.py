"""Builders shared by the context_lib tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable


def ticking_clock(start: float = 1000.0, step: float = 1.0) -> Callable[[], float]:
    """A deterministic clock: start, start+step, start+2*step, …"""
    ticks = itertools.count()
    return lambda: start + step * next(ticks)
