"""Fixtures of the service tests: a service over SQLite or Redis, tenants, live servers."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from context_lib.service import (
    ContextService,
    KeyRing,
    RedisBackend,
    SQLiteBackend,
    create_app,
)
from context_lib.service.witness import Witness
from tests.conftest import free_port, wait_for_port

MASTER = bytes(range(32))


@dataclass
class TenantKeys:
    """A tenant and one API key per role."""

    id: str
    admin: str
    write: str
    read: str


def make_service(
    kind: str, tmp_path: Path, redis_url: str | None = None, **options: Any
) -> ContextService:
    """A service over a fresh store, with its audit witness in ``tmp_path``."""
    if kind == "sqlite":
        backend: SQLiteBackend | RedisBackend = SQLiteBackend(tmp_path / "service.db")
    else:
        assert redis_url is not None
        backend = RedisBackend(redis_url, prefix=f"test-{secrets.token_hex(4)}")
    keyring = KeyRing(MASTER)
    witness = Witness(tmp_path / f"witness-{secrets.token_hex(4)}.log", keyring.witness_key)
    return ContextService(backend, keyring, witness=witness, **options)


def add_tenant(service: ContextService, name: str, **limits: object) -> TenantKeys:
    tenant = service.create_tenant(name, **limits)
    keys = {
        role: service.issue_key(tenant.id, role, f"{role} key")[1]
        for role in ("admin", "write", "read")
    }
    return TenantKeys(tenant.id, keys["admin"], keys["write"], keys["read"])


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ContextService]:
    svc = make_service("sqlite", tmp_path)
    yield svc
    svc.close()


@pytest.fixture(params=["sqlite", "redis"])
def any_service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ContextService]:
    """The service over each backend (Redis needs a redis-server, see tests/conftest.py)."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    svc = make_service(request.param, tmp_path, url)
    yield svc
    svc.close()


@pytest.fixture
def alice(service: ContextService) -> TenantKeys:
    return add_tenant(service, "Alice Corp")


@pytest.fixture
def bob(service: ContextService) -> TenantKeys:
    return add_tenant(service, "Bob Ltd")


class LiveServer:
    """The app served by a real uvicorn on a free loopback port, in a thread."""

    def __init__(self, service: ContextService, **app_options: object) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(service, purge_interval=None, **app_options)  # type: ignore[arg-type]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_for_port(self.port)  # the thread's server binds when ready
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(120)


@pytest.fixture(scope="module")
def shared_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContextService]:
    """One service for a whole test module (tests make their own tenants)."""
    svc = make_service("sqlite", tmp_path_factory.mktemp("service"))
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def live(shared_service: ContextService) -> Iterator[LiveServer]:
    """A real uvicorn serving ``shared_service`` on a free loopback port."""
    with LiveServer(shared_service, max_body=64 * 1024) as server:
        yield server


@pytest.fixture
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=120) as client:
        yield client
