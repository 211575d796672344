"""The write of one value, served past Starlette's middleware and router, answers and
stores exactly what Starlette's own route does.

Two services over fresh stores get the same requests: one through the app as served,
one through ``Starlette.__call__`` (the middleware stack and router, as before the
direct route). Answers, stored values, history and audit must agree, and the app as
served must not have used its middleware stack for the requests the direct route takes.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from context_lib.service import ContextService, create_app
from tests.conftest import free_port, wait_for_port
from tests.context_lib.service.conftest import TenantKeys, add_tenant, make_service

MAX_BODY = 200
VALUES = "/v1/contexts/app/values/"


class ViaStarlette:
    """The same app, every request through Starlette's middleware stack and router."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await Starlette.__call__(self.app, scope, receive, send)


class Counted:
    """An ASGI app that counts the requests it is given."""

    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.calls += 1
        await self.inner(scope, receive, send)


@dataclass
class Side:
    service: ContextService
    tenant: TenantKeys
    http: httpx.Client
    stack: Counted  # the app's Starlette middleware stack, counted


@contextlib.contextmanager
def serve(tmp_path: Path, direct: bool) -> Iterator[Side]:
    service = make_service("sqlite", tmp_path)
    tenant = add_tenant(service, "Alice")
    app = create_app(service, max_body=MAX_BODY, purge_interval=None)
    port = free_port()
    config = uvicorn.Config(
        app if direct else ViaStarlette(app), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for_port(port)
        assert app.middleware_stack is not None  # built by the lifespan's startup
        stack = Counted(app.middleware_stack)
        app.middleware_stack = stack
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            yield Side(service, tenant, http, stack)
    finally:
        server.should_exit = True
        thread.join(60)
        service.close()


def requests(t: TenantKeys) -> list[tuple[str, str, dict[str, str], bytes, bool]]:
    """(method, path, headers, body, whether the direct route takes it)."""
    w = {"Authorization": f"Bearer {t.write}", "Content-Type": "application/json"}
    return [
        ("PUT", VALUES + "db.port", w, b'{"value": 5432}', True),
        ("PUT", VALUES + "db.port", w, b'{"value": 5432}', True),  # unchanged
        ("PUT", VALUES + "db.port", w, b'{"value": {"n": 1.5}, "who": "ops"}', True),
        ("PUT", VALUES + "a%20b", w, b'{"value": 1}', True),  # decoded: a refused key
        ("PUT", VALUES + "k", w, b'{"value": "\\ud800"}', True),  # a lone surrogate
        ("PUT", VALUES + "k", w, b'{"value": 1e999}', True),
        ("PUT", VALUES + "k", w, b"[1, 2]", True),
        ("PUT", VALUES + "k", w, b"{not json", True),
        ("PUT", VALUES + "k", w, b'{"who": "x"}', True),
        ("PUT", VALUES + "k", w, b'{"value": "' + b"x" * MAX_BODY + b'"}', True),
        ("PUT", VALUES + "k", {}, b'{"value": 1}', True),  # no key
        ("PUT", VALUES + "k", {"X-API-Key": t.read}, b'{"value": 1}', True),  # read role
        ("PUT", VALUES + "k", {"Authorization": "Bearer cck_000000000000_x"}, b"{}", True),
        ("PUT", VALUES + "k/", w, b'{"value": 1}', False),  # not the route's path
        ("PUT", "/v1/contexts/app/values", w, b'{"value": 1}', False),
        ("GET", VALUES + "db.port", {"X-API-Key": t.read}, b"", False),
        ("DELETE", VALUES + "db.port", w, b"", False),
        ("PUT", VALUES + "db.port", w, b'{"value": [true, null, "x"]}', True),
    ]


def answer(response: httpx.Response) -> tuple[Any, ...]:
    return (
        response.status_code,
        response.content,
        response.headers.get("content-type"),
        response.headers.get("content-length"),
        response.headers.get("retry-after"),
    )


def stored(side: Side) -> tuple[Any, ...]:
    principal = side.service.authorize(side.tenant.admin, "admin", "test")
    history = side.service.history(principal, "app")
    audit = side.service.audit_trail(principal)
    return (
        side.service.get_context(principal, "app"),
        [(h["key"], h["op"], h["before"], h["after"], h["who"] == "ops") for h in history],
        [(e["action"], e["status"]) for e in audit["entries"]],
        audit["verified"],
    )


def test_the_direct_route_answers_and_stores_what_starlettes_route_does(
    tmp_path: Path,
) -> None:
    with (
        serve(tmp_path / "direct", direct=True) as fast,
        serve(tmp_path / "starlette", direct=False) as slow,
    ):
        for side in (fast, slow):
            side.service.issue_key(side.tenant.id, "write")  # the same audit on both
        assert len(requests(fast.tenant)) == len(requests(slow.tenant))
        for mine, theirs in zip(requests(fast.tenant), requests(slow.tenant), strict=True):
            method, path, _, body, direct = mine
            before = fast.stack.calls
            got = fast.http.request(method, path, headers=mine[2], content=body)
            expected = slow.http.request(method, path, headers=theirs[2], content=body)
            assert answer(got) == answer(expected), (method, path, body)
            assert (fast.stack.calls == before) == direct, (method, path)
            assert slow.stack.calls > 0
        assert stored(fast) == stored(slow)
        assert stored(fast)[0] == {"db.port": [True, None, "x"]} and stored(fast)[3]
