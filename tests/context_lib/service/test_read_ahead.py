"""The writer's read-ahead: a batch's old values read in one query give what the
per-write reads give.

Before a batch runs, the writer reads the stored values of the keys its requests name
(``SQLiteBackend.prefetch_values``, one query per tenant and context) into the open group's
cache. Every write must then see exactly what it would have read itself: the same
changed keys, history (``before`` included), key count and audit chain, whatever the
batch does to those keys before, and after any flush in the middle of the group.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from context_lib.service import ContextService, QuotaExceededError, SQLiteBackend
from context_lib.service.workers import Workers
from tests.context_lib.service.conftest import add_tenant, make_service

KEYS = ["a", "b", "c", "d"]
# (key, value to set, or None to delete)
OPS = st.lists(
    st.tuples(st.sampled_from(KEYS), st.none() | st.integers(0, 2)), min_size=1, max_size=10
)


def _run(
    tmp: Path, before: list[tuple[str, int]], ops: list[tuple[str, int | None]], ahead: bool
) -> dict[str, Any]:
    service = make_service("sqlite", tmp)
    try:
        t = add_tenant(service, "T", max_keys=3)
        p = service.authorize(t.write, "write", "set")
        for key, stored in before:  # committed before the batch
            service.write(p, "app", {key: stored})
        backend = service.backend
        assert isinstance(backend, SQLiteBackend)
        outcomes: list[object] = []
        with backend.group():
            if ahead:
                backend.prefetch_values(
                    [(p.key_id, "app", [k for k, _ in ops]), (None, "app", KEYS)]
                )
            for key, value in ops:
                try:
                    if value is None:
                        outcomes.append(service.write(p, "app", None, [key]))
                    else:
                        outcomes.append(service.write(p, "app", {key: value}))
                except QuotaExceededError:
                    outcomes.append("quota")
        history = [(c["key"], c["op"], c["before"], c["after"]) for c in service.history(p, "app")]
        return {
            "outcomes": outcomes,
            "values": service.get_context(p, "app"),
            "history": history,
            "count": service.info(p)["usage"]["keys"],
            "audit": service.verify_audit().ok,
        }
    finally:
        service.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=st.lists(st.tuples(st.sampled_from(KEYS), st.integers(0, 2)), max_size=3),
    ops=OPS,
)
def test_a_batch_read_ahead_gives_what_each_write_reads_itself(
    before: list[tuple[str, int]], ops: list[tuple[str, int | None]]
) -> None:
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        expected = _run(Path(one), before, ops, ahead=False)
        got = _run(Path(two), before, ops, ahead=True)
    assert got == expected
    assert got["audit"]


def test_what_was_read_ahead_is_dropped_when_the_group_writes_its_rows(
    service: ContextService,
) -> None:
    """A read in the group writes the staged rows first; a key read ahead as absent
    and written before that must count as present afterwards."""
    t = add_tenant(service, "T")
    p = service.authorize(t.write, "write", "set")
    backend = service.backend
    assert isinstance(backend, SQLiteBackend)
    with backend.group():
        backend.prefetch_values([(p.key_id, "app", ["k"])])
        assert service.write(p, "app", {"k": 1}) == ["k"]
        assert service.get_context(p, "app") == {"k": 1}  # flushes the staged rows
        assert service.write(p, "app", {"k": 2}) == ["k"]
        assert service.write(p, "app", {"k": 2}) == []  # the same value: no change
    changes = [(c["before"], c["after"]) for c in service.history(p, "app")]
    assert changes == [(None, 1), (1, 2)]
    assert service.info(p)["usage"]["keys"] == 1


def test_hints_of_unknown_keys_or_outside_a_group_are_ignored(service: ContextService) -> None:
    t = add_tenant(service, "T")
    p = service.authorize(t.write, "write", "set")
    backend = service.backend
    assert isinstance(backend, SQLiteBackend)
    backend.prefetch_values([(p.key_id, "app", ["k"]), (None, "app", ["k"])])  # no group open
    with backend.group():
        backend.prefetch_values([("nonexistent1", "app", ["k"]), (None, "app", ["k"])])
        assert service.write(p, "app", {"k": 1}) == ["k"]
    assert service.get(p, "app", "k") == 1


def test_the_pool_hands_a_batchs_hints_to_prefetch_and_survives_its_failure() -> None:
    seen: list[list[object]] = []

    def prefetch(hints: list[object]) -> None:
        seen.append(hints)
        raise RuntimeError("the read-ahead failed")

    pool = Workers("test", threads=1, prefetch=prefetch)

    def job(i: int) -> Callable[[], int]:
        return lambda: i

    async def main() -> list[int]:
        jobs = [pool.run(job(i), hint=("hint", i) if i % 2 else None) for i in range(6)]
        return list(await asyncio.gather(*jobs))

    try:
        results = asyncio.run(main())
    finally:
        pool.close()
    assert results == list(range(6))  # a failed read-ahead fails no job
    assert sorted(h for hints in seen for h in hints) == [("hint", 1), ("hint", 3), ("hint", 5)]  # type: ignore[type-var]


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_value_writes_over_http_read_their_old_value_ahead(
    shared_service: ContextService, http: httpx.Client, method: str
) -> None:
    """The value routes give the writer their key as a hint: the batch reads it in
    the read-ahead query, not in a query of its own."""
    t = add_tenant(shared_service, f"T {method}")
    backend = shared_service.backend
    assert isinstance(backend, SQLiteBackend)
    headers = {"Authorization": f"Bearer {t.write}"}
    http.put("/v1/contexts/app/values/k", json={"value": 1}, headers=headers).raise_for_status()
    statements: list[str] = []
    backend._db.set_trace_callback(statements.append)
    try:
        if method == "PUT":
            answer = http.put("/v1/contexts/app/values/k", json={"value": 2}, headers=headers)
        else:
            answer = http.delete("/v1/contexts/app/values/k", headers=headers)
    finally:
        backend._db.set_trace_callback(None)
    assert answer.status_code == 200 and answer.json() == {"changed": ["k"]}
    reads = [s for s in statements if s.startswith("SELECT") and "FROM vals" in s]
    assert len(reads) == 1 and " IN (" in reads[0]
