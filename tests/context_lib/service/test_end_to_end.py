"""End to end: the Python client against real uvicorn servers on loopback."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from context_lib import Context, InvalidKeyError, NotSerializableError
from context_lib.service import (
    ContextService,
    KeyRing,
    PermissionDeniedError,
    QuotaExceededError,
    RedisBackend,
    ServiceClient,
    ServiceError,
)
from tests.context_lib.service.conftest import MASTER, LiveServer, add_tenant


def exercise(ctx: Any) -> list[Any]:
    """The same notebook-style code, run on a local Context and on the service."""
    ctx.set("network.latency_ms", 12.5, who="probe")
    ctx.set("network.retries", 3, who="probe")
    ctx["app.name"] = "pipeline"
    ctx.set("network.latency_ms", 14.0, who="probe")
    ctx.delete("network.retries", who="ops")
    return [
        ctx.get("network.latency_ms"),
        ctx.get("missing", "default"),
        ctx["app.name"],
        "app.name" in ctx,
        sorted(ctx.keys()),
        ctx.namespace("network"),
        ctx.to_dict(),
        [(c.seq, c.key, c.op, c.before, c.after) for c in ctx.history],
        [c.who for c in ctx.get_history(key="network.latency_ms")],
        [(c.key, c.after) for c in ctx.get_history(who="probe")],
        [c.after for c in ctx.get_history("network.latency_ms", "probe", 0.0)],
        "bad key" in ctx,
        3 in ctx,
    ]


def test_the_client_mirrors_a_local_context(
    live: LiveServer, shared_service: ContextService
) -> None:
    t = add_tenant(shared_service, "Notebook")
    with ServiceClient(live.url, t.write, context="lesson") as remote:
        assert exercise(remote) == exercise(Context())
        with pytest.raises(KeyError):
            remote["missing"]
        with pytest.raises(KeyError):
            remote.delete("missing")
        with pytest.raises(InvalidKeyError):
            remote.set("bad key", 1)
        with pytest.raises(NotSerializableError):
            remote.set("ok", {1, 2})
        assert remote.update({"a": 1, "b": 2}, delete=["app.name"]) == ["a", "b", "app.name"]
        assert len(remote) == 3 and sorted(remote) == ["a", "b", "network.latency_ms"]
        other = remote.with_context("other")
        other.set("x", 1)
        assert remote.contexts() == ["lesson", "other"]
        assert remote.clear() == ["a", "b", "network.latency_ms"]
        assert remote.analytics()["operations"]["set"]["count"] >= 3
    with ServiceClient(live.url, t.read) as reader, pytest.raises(PermissionDeniedError):
        reader.set("x", 1)


def test_client_raises_the_service_errors(live: LiveServer, shared_service: ContextService) -> None:
    t = add_tenant(shared_service, "Tiny", max_keys=1)
    with ServiceClient(live.url, t.write) as client:
        client.set("a", 1)
        with pytest.raises(QuotaExceededError) as info:
            client.set("b", 2)
        assert info.value.code == "quota_exceeded" and info.value.status == 413
    with (
        ServiceClient("http://127.0.0.1:9", "cck_x") as nowhere,
        pytest.raises(ServiceError) as err,
    ):
        nowhere.get("a")
    assert err.value.code == "unreachable" and "cannot reach" in str(err.value)


def hammer(url: str, key: str, clients: int, writes: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            with ServiceClient(url, key, context="load") as client:
                for i in range(writes):
                    client.set(f"client{n}.k{i}", {"n": n, "i": i})
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.slow
def test_eight_clients_times_a_thousand_writes_lose_nothing(
    live: LiveServer, shared_service: ContextService
) -> None:
    t = add_tenant(shared_service, "Load", max_keys=20_000, rate=1e6, burst=10**6)
    assert hammer(live.url, t.write, 8, 1000) == []
    p = shared_service.authorize(t.read, "read", "check")
    values = shared_service.get_context(p, "load")
    assert len(values) == 8000
    assert all(values[f"client{n}.k{i}"] == {"n": n, "i": i} for n in range(8) for i in range(1000))
    assert shared_service.info(p)["usage"]["keys"] == 8000
    entries, _ = shared_service.backend.read_audit(t.id)
    assert sum(e.action == "write" for e in entries) == 8000
    assert shared_service.verify_audit(t.id).ok


def test_values_are_encrypted_at_rest(tmp_path: Path) -> None:
    from context_lib.service import SQLiteBackend

    db = tmp_path / "service.db"
    service = ContextService(SQLiteBackend(db), KeyRing(MASTER))
    t = add_tenant(service, "Alice")
    secrets = ["alice@example.com", "SSN-123-45-6789", "launch-code-7731"]
    with LiveServer(service) as server, ServiceClient(server.url, t.write) as client:
        client.set("user.email", secrets[0], who="signup")
        client.update({"user.ssn": secrets[1], "plan": {"code": secrets[2]}})
        client.set("user.email", "changed@example.com")  # history holds the old value too
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("service.db"))
    assert b"user.email" in stored  # key names are metadata, stored as they are
    for secret in [*secrets, "changed@example.com"]:
        assert secret.encode() not in stored, secret
    service.backend.close()


@pytest.mark.redis
def test_two_service_nodes_share_one_redis(redis_url: str) -> None:
    nodes = [
        ContextService(RedisBackend(redis_url, prefix="e2e"), KeyRing(MASTER)) for _ in range(2)
    ]
    t = add_tenant(nodes[0], "Shared", rate=1e6, burst=10**6)
    with LiveServer(nodes[0]) as one, LiveServer(nodes[1]) as two:
        a = ServiceClient(one.url, t.write, context="c")
        b = ServiceClient(two.url, t.write, context="c")
        a.set("x", 1)
        assert b.get("x") == 1
        b.set("x", 2)
        assert a.get("x") == 2
        errors: list[BaseException] = []

        def writer(client: ServiceClient, n: int) -> Callable[[], None]:
            def run() -> None:
                try:
                    for i in range(100):
                        client.set(f"node{n}.k{i}", i)
                except BaseException as exc:
                    errors.append(exc)

            return run

        threads = [threading.Thread(target=writer(c, n)) for n, c in enumerate((a, b, a, b))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(a.keys()) == 1 + 4 * 100
        assert [c.after for c in a.get_history(key="x")] == [1, 2]
        a.close()
        b.close()
    assert nodes[1].verify_audit(t.id).ok
    for node in nodes:
        node.backend.close()
