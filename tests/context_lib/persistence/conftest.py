"""Fixtures for the persistence tests: one factory per backend, so every backend runs
the same contract suite."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from context_lib.persistence import JsonFileStore, MemoryStore, RedisStore, SQLiteStore
from context_lib.persistence._common import BackendStore

Opener = Callable[[], BackendStore]

ALL = ["memory", "json", "sqlite", "redis"]
DURABLE = ["json", "sqlite", "redis"]


def _opener(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Opener:
    """A function that opens (again) the same store of the given kind."""
    if kind == "memory":
        shared = MemoryStore()
        return lambda: shared
    if kind == "json":
        return lambda: JsonFileStore(tmp_path / "state.json")
    if kind == "sqlite":
        return lambda: SQLiteStore(tmp_path / "state.db", name="ctx")
    url: str = request.getfixturevalue("redis_url")
    name = f"t{uuid.uuid4().hex[:12]}"  # one Redis server serves the whole session
    return lambda: RedisStore(url, name=name)


def _closing(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """An opener of ``request.param``'s store that closes every store it opened."""
    opened: list[BackendStore] = []
    make = _opener(request.param, tmp_path, request)

    def open_it() -> BackendStore:
        store = make()
        opened.append(store)
        return store

    yield open_it
    for store in opened:
        store.close()


@pytest.fixture(params=ALL)
def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the store under test; calling it again reopens the same data."""
    yield from _closing(request, tmp_path)


@pytest.fixture
def store(reopen: Opener) -> BackendStore:
    """A fresh, empty store of each kind."""
    return reopen()


@pytest.fixture(params=DURABLE)
def reopen_durable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Like ``reopen``, for the backends whose data outlives the store object."""
    yield from _closing(request, tmp_path)
