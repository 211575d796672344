"""Builders shared by the context_lib tests."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest


def ticking_clock(start: float = 1000.0, step: float = 1.0) -> Callable[[], float]:
    """A deterministic clock: start, start+step, start+2*step, …"""
    ticks = itertools.count()
    return lambda: start + step * next(ticks)


def track_sqlite_connections(monkeypatch: pytest.MonkeyPatch) -> list[sqlite3.Connection]:
    """Every SQLite connection opened from now on (for the rest of the test)."""
    made: list[sqlite3.Connection] = []
    real = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(sqlite3, "connect", connect)
    return made


def assert_all_closed(connections: list[sqlite3.Connection]) -> None:
    """At least one connection was opened, and every one of them is closed."""
    assert connections
    for conn in connections:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            conn.execute("SELECT 1")
