"""Batched workers and group commit: nothing is acknowledged before it is committed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from context_lib.service import (
    AuthenticationError,
    ContextService,
    QuotaExceededError,
    SQLiteBackend,
)
from context_lib.service.workers import Workers
from tests.context_lib.service.conftest import add_tenant


def test_results_and_errors_come_back_to_their_callers() -> None:
    pool = Workers("test", threads=2)

    def boom() -> int:
        raise ValueError("boom")

    async def main() -> list[object]:
        return await asyncio.gather(
            pool.run(lambda: 1), pool.run(boom), pool.run(lambda: 3), return_exceptions=True
        )

    try:
        one, error, three = asyncio.run(main())
    finally:
        pool.close()
    assert (one, three) == (1, 3) and isinstance(error, ValueError)


def test_a_failed_group_commit_fails_every_request_of_the_batch() -> None:
    ran: list[int] = []

    @contextlib.contextmanager
    def failing_commit() -> Iterator[None]:
        yield
        raise RuntimeError("disk full at commit")

    pool = Workers("test", threads=1, around=failing_commit)

    async def main() -> list[object]:
        jobs = [pool.run(lambda i=i: ran.append(i) or i) for i in range(5)]  # type: ignore[func-returns-value]
        return await asyncio.gather(*jobs, return_exceptions=True)

    try:
        results = asyncio.run(main())
    finally:
        pool.close()
    assert ran  # the work ran ...
    assert all(isinstance(r, RuntimeError) for r in results)  # ... but none was acknowledged


def test_group_commit_undoes_only_the_failing_write(
    service: ContextService, tmp_path: Path
) -> None:
    t = add_tenant(service, "Grouped", max_keys=2)
    p = service.authorize(t.write, "write", "set")
    backend = service.backend
    assert isinstance(backend, SQLiteBackend)
    with backend.group():
        service.write(p, "app", {"a": 1})
        with pytest.raises(QuotaExceededError):
            service.write(p, "app", {"b": 2, "c": 3})
        service.write(p, "app", {"b": 2})
        assert service.get_context(p, "app") == {"a": 1, "b": 2}  # the group sees its writes
    assert service.get_context(p, "app") == {"a": 1, "b": 2}
    assert [c["key"] for c in service.history(p, "app")] == ["a", "b"]
    assert service.verify_audit().ok


def test_the_writers_cache_sees_changes_made_through_another_connection(
    service: ContextService, tmp_path: Path
) -> None:
    """The writer caches keys, tenants and chain heads while it holds the write lock;
    a change committed by another connection (an operator command, another service
    process) must count at the next write."""
    t = add_tenant(service, "Cached", max_keys=2)
    p = service.authorize(t.write, "write", "set")
    backend = service.backend
    assert isinstance(backend, SQLiteBackend)
    with backend.group():  # fills the cache
        service.authorize(t.write, "write", "set")
        service.write(p, "app", {"a": 1})
    other = ContextService(SQLiteBackend(tmp_path / "service.db"), service.keyring)
    try:
        other.set_limits(t.id, max_keys=1)
        with pytest.raises(QuotaExceededError):
            service.write(p, "app", {"b": 2})
        other.revoke_key(t.id, p.key_id)
        other.write(other.authorize(t.admin, "admin", "set"), "app", {"a": 5})
    finally:
        other.close()
    with backend.group():  # as the writer thread authorizes
        with pytest.raises(AuthenticationError):
            service.authorize(t.write, "write", "set")
        admin = service.authorize(t.admin, "admin", "set")
        assert service.write(admin, "app", {"a": 6}) == ["a"]
    assert [c["after"] for c in service.history(admin, "app")] == [1, 5, 6]
    assert service.verify_audit(t.id).ok  # the chain continued after the other's entries
