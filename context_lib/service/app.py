"""The HTTP API of the Context service: a thin Starlette shell over ``ContextService``.

Each endpoint reads and parses its request on the event loop (bodies are size-limited
and must be I-JSON, see :mod:`context_lib.service.validation`), then makes **one**
hop to a worker thread (:mod:`context_lib.service.workers`, which runs queued requests
in batches) that authenticates (``Authorization: Bearer <key>`` or ``X-API-Key``),
checks the role and calls the service: no database call ever runs on the event loop,
so a slow or locked store delays only the requests that need it
(``/health`` keeps answering). Every error is ``{"code": …, "message": …}`` with a
stable code; a store busy past its bounded wait answers 503 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from context_lib.service.core import MAX_HISTORY, ContextService, Principal
from context_lib.service.crypto import KeyRing
from context_lib.service.errors import (
    BadRequestError,
    PayloadTooLargeError,
    RateLimitedError,
    ServiceError,
    ServiceUnavailableError,
)
from context_lib.service.openapi import openapi_document
from context_lib.service.validation import parse_body, query_float, query_int
from context_lib.service.workers import Workers

__all__ = ["DEFAULT_MAX_BODY", "create_app"]

DEFAULT_MAX_BODY = 1024 * 1024
MAX_TOP = 1000
_ONE_KEY_WRITES = frozenset({"set", "delete"})  # the value routes' PUT and DELETE
log = logging.getLogger("context_lib.service")
# The work of one request, run in a worker thread once the caller is authorized.
Work = Callable[[Principal], Any]
Prepare = Callable[[Request], Awaitable[Work]]


_ENCODER = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"))


class Json(JSONResponse):
    """JSON answers in ASCII (any stored text renders) and never ``NaN``/``Infinity``."""

    def render(self, content: Any) -> bytes:
        # orjson when its output is the same: ASCII text, and no float it would write
        # as null (every stored number is finite, so NaN can only come from a bug).
        with contextlib.suppress(TypeError):  # a lone surrogate, an integer past 64 bits
            body = orjson.dumps(content)
            if body.isascii() and b"null" not in body:
                return body
        return _ENCODER.encode(content).encode()


class _Api:
    def __init__(self, service: ContextService, max_body: int) -> None:
        self.service = service
        self.max_body = max_body
        # Writes queue for the one writer (SQLite has one anyway); reads for a few
        # readers, so a write waiting for a lock never holds up a read.
        self.writer = Workers(
            "service-writer",
            threads=1,
            around=getattr(service.backend, "group", None),
            prefetch=getattr(service.backend, "prefetch_values", None),
        )
        self.readers = Workers("service-reader", threads=3)

    async def body(self, request: Request) -> dict[str, Any]:
        declared = request.headers.get("content-length")
        if (
            declared is not None
            and declared.isascii()
            and declared.isdigit()
            and len(declared) < 20
            and int(declared) > self.max_body
        ):
            raise PayloadTooLargeError(
                f"request body is {declared} bytes; the limit is {self.max_body}"
            )
        # The ASGI messages read directly: Request.stream()'s async generator costs
        # more than the rest of reading a small body.
        chunks, size, more = [], 0, True
        while more:
            message = await request.receive()
            if message["type"] != "http.request":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            size += len(chunk)
            if size > self.max_body:
                raise PayloadTooLargeError(
                    f"request body exceeds the limit of {self.max_body} bytes"
                )
            chunks.append(chunk)
        data = parse_body(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        if not isinstance(data, dict):
            raise BadRequestError(
                f"request body must be a JSON object, not {type(data).__name__}",
                code="invalid_json",
            )
        return data

    def endpoint(
        self, op: str, role: str, prepare: Prepare
    ) -> Callable[[Request], Awaitable[Response]]:
        service = self.service

        async def run(request: Request) -> Response:
            start = time.perf_counter()
            # Parse first, but report a parse error only once the caller is known:
            # an unauthenticated request learns nothing but 401.
            refused: ServiceError | None = None
            work: Work | None = None
            try:
                work = await prepare(request)
            except ServiceError as exc:
                refused = exc
            api_key = _api_key(request)
            source = request.client.host if request.client else "-"
            outcome: list[Principal] = []

            def job() -> Any:
                principal = service.authorize(api_key, role, op, source=source)
                outcome.append(principal)
                if refused is not None:
                    raise refused
                assert work is not None
                return work(principal)

            pool = self.readers if request.method == "GET" else self.writer
            hint = None
            if refused is None and op in _ONE_KEY_WRITES:  # its old value, read ahead
                params = request.path_params
                key_id = KeyRing.key_id_of(api_key) if api_key else None
                hint = (key_id, params["context"], [params["key"]])
            try:
                result = await pool.run(job, hint)
                status = 201 if request.method == "POST" else 200
                if isinstance(result, Iterator):
                    response: Response = StreamingResponse(
                        result, status_code=status, media_type="application/json"
                    )
                else:
                    response = Json(result, status_code=status)
            except ServiceError as exc:
                response = error_response(exc)
            except Exception:
                log.exception("unexpected error in %s %s", request.method, request.url.path)
                response = Json(
                    {"code": "internal_error", "message": "internal error; see the server log"},
                    status_code=500,
                )
            if outcome:
                key = request.path_params.get("key") if op == "set" else None
                context = request.path_params.get("context")
                service.record(
                    outcome[0].tenant_id,
                    op,
                    time.perf_counter() - start,
                    error=response.status_code >= 400,
                    key=f"{context}/{key}" if key and response.status_code < 400 else None,
                )
            return response

        return run


def _api_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key") or None


def error_response(exc: ServiceError) -> Response:
    """The JSON response for a service error (with ``Retry-After`` when it has one)."""
    headers = {}
    if isinstance(exc, RateLimitedError | ServiceUnavailableError):
        headers["Retry-After"] = str(max(1, round(exc.retry_after + 0.5)))
    return Json(exc.as_dict(), status_code=exc.status, headers=headers)


def _who(data: dict[str, Any]) -> str | None:
    who = data.get("who")
    if who is not None and not isinstance(who, str):
        raise BadRequestError("'who' must be a string or null")
    return who


def create_app(
    service: ContextService,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    purge_interval: float | None = 3600.0,
) -> Starlette:
    """The Starlette application serving ``service``.

    ``purge_interval`` seconds between applications of the tenants' retention
    periods (``None``: never, leave it to ``context-course serve purge``).
    """
    api = _Api(service, max_body)
    s = service
    ctx = "context"

    async def tenant_get(r: Request) -> Work:
        return s.info

    async def tenant_patch(r: Request) -> Work:
        data = await api.body(r)
        if set(data) != {"retention_days"}:
            raise BadRequestError('send {"retention_days": <days or null>}')

        def work(p: Principal) -> Any:
            s.set_limits(p.tenant_id, actor=p.key_id, retention_days=data["retention_days"])
            return s.info(p)

        return work

    async def tenant_delete(r: Request) -> Work:
        confirm = r.query_params.get("confirm")

        def work(p: Principal) -> Any:
            if confirm != p.tenant_id:
                raise BadRequestError(
                    "erasing a tenant cannot be undone: repeat the request with "
                    "?confirm=<your tenant id>",
                    code="confirmation_required",
                )
            s.erase(p.tenant_id, p.key_id)
            return {"erased": p.tenant_id}

        return work

    async def export(r: Request) -> Work:
        return s.export_stream

    async def audit(r: Request) -> Work:
        return s.audit_trail

    async def analytics(r: Request) -> Work:
        top = query_int(r.query_params.get("top"), "top", 10, 1, MAX_TOP)
        return lambda p: s.analytics(p, top)

    async def keys_get(r: Request) -> Work:
        return lambda p: {"keys": s.api_keys(p)}

    async def keys_post(r: Request) -> Work:
        data = await api.body(r)

        def work(p: Principal) -> Any:
            record, secret = s.issue_key(
                p.tenant_id, data.get("role", ""), data.get("name", ""), p.key_id
            )
            return {
                "key_id": record.key_id,
                "role": record.role,
                "name": record.name,
                "api_key": secret,
            }

        return work

    async def keys_delete(r: Request) -> Work:
        key_id = r.path_params["key_id"]

        def work(p: Principal) -> Any:
            s.revoke(p, key_id)
            return {"revoked": key_id}

        return work

    async def contexts(r: Request) -> Work:
        return lambda p: {"contexts": s.contexts(p)}

    async def context_get(r: Request) -> Work:
        name, prefix = r.path_params[ctx], r.query_params.get("prefix")
        return lambda p: {"context": name, "values": s.get_context(p, name, prefix)}

    async def context_patch(r: Request) -> Work:
        data = await api.body(r)
        unknown = set(data) - {"set", "delete", "who"}
        if unknown:
            raise BadRequestError(f"unknown field(s) {sorted(unknown)}; use set, delete, who")
        values, delete = data.get("set", {}), data.get("delete", [])
        if not isinstance(values, dict):
            raise BadRequestError("'set' must be an object of key: value")
        if not isinstance(delete, list):
            raise BadRequestError("'delete' must be a list of keys")
        name, who = r.path_params[ctx], _who(data)
        return lambda p: {"changed": s.write(p, name, values, delete, who=who)}

    async def context_delete(r: Request) -> Work:
        name, who = r.path_params[ctx], r.query_params.get("who")
        return lambda p: {"changed": s.delete_context(p, name, who)}

    async def keys_list(r: Request) -> Work:
        name, prefix = r.path_params[ctx], r.query_params.get("prefix")
        return lambda p: {"keys": s.keys(p, name, prefix)}

    async def history(r: Request) -> Work:
        q = r.query_params
        name, key = r.path_params[ctx], q.get("key")
        since = query_float(q.get("since"), "since")
        after = query_int(q.get("after"), "after", -1, 0, 2**53 - 1)
        limit = query_int(q.get("limit"), "limit", MAX_HISTORY, 1, MAX_HISTORY)

        def work(p: Principal) -> Any:
            changes, more = s.history_page(
                p, name, key, since=since, after=None if after < 0 else after, limit=limit
            )
            return {"history": changes, "next_after": changes[-1]["seq"] if more else None}

        return work

    async def value_get(r: Request) -> Work:
        name, key = r.path_params[ctx], r.path_params["key"]
        return lambda p: {"key": key, "value": s.get(p, name, key)}

    async def value_put(r: Request) -> Work:
        data = await api.body(r)
        if "value" not in data:
            raise BadRequestError('send {"value": <JSON value>, "who": <optional string>}')
        name, key, who = r.path_params[ctx], r.path_params["key"], _who(data)
        return lambda p: {"changed": s.write(p, name, {key: data["value"]}, who=who)}

    async def value_delete(r: Request) -> Work:
        name, key, who = r.path_params[ctx], r.path_params["key"], r.query_params.get("who")
        return lambda p: {"changed": s.write(p, name, None, [key], who=who, must_exist=True)}

    async def health(request: Request) -> Response:
        return Json({"status": "ok"})

    document = openapi_document(max_body)

    async def openapi(request: Request) -> Response:
        return Json(document)

    e = api.endpoint
    set_value = Route(
        "/v1/contexts/{context}/values/{key}", e("set", "write", value_put), methods=["PUT"]
    )
    routes = [
        # The hot paths first: Starlette tries routes in order.
        Route("/v1/contexts/{context}/values/{key}", e("get", "read", value_get), methods=["GET"]),
        set_value,
        Route(
            "/v1/contexts/{context}/values/{key}",
            e("delete", "write", value_delete),
            methods=["DELETE"],
        ),
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/v1/tenant", e("tenant.info", "read", tenant_get), methods=["GET"]),
        Route("/v1/tenant", e("tenant.retention", "admin", tenant_patch), methods=["PATCH"]),
        Route("/v1/tenant", e("tenant.erase", "admin", tenant_delete), methods=["DELETE"]),
        Route("/v1/export", e("tenant.export", "admin", export), methods=["GET"]),
        Route("/v1/audit", e("audit.read", "admin", audit), methods=["GET"]),
        Route("/v1/analytics", e("analytics", "read", analytics), methods=["GET"]),
        Route("/v1/keys", e("key.list", "admin", keys_get), methods=["GET"]),
        Route("/v1/keys", e("key.create", "admin", keys_post), methods=["POST"]),
        Route("/v1/keys/{key_id}", e("key.revoke", "admin", keys_delete), methods=["DELETE"]),
        Route("/v1/contexts", e("contexts", "read", contexts), methods=["GET"]),
        Route("/v1/contexts/{context}", e("context.get", "read", context_get), methods=["GET"]),
        Route("/v1/contexts/{context}", e("update", "write", context_patch), methods=["PATCH"]),
        Route(
            "/v1/contexts/{context}",
            e("context.delete", "write", context_delete),
            methods=["DELETE"],
        ),
        Route("/v1/contexts/{context}/keys", e("keys", "read", keys_list), methods=["GET"]),
        Route("/v1/contexts/{context}/history", e("history", "read", history), methods=["GET"]),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        codes = {404: "not_found", 405: "method_not_allowed"}
        message = {
            404: "no such endpoint",
            405: f"{request.method} is not allowed here",
        }
        return Json(
            {
                "code": codes.get(exc.status_code, "http_error"),
                "message": message.get(exc.status_code, str(exc.detail)),
            },
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(_every(1.0, service.housekeeping, "housekeeping"))]
        if purge_interval is not None:
            tasks.append(
                asyncio.create_task(
                    _every(purge_interval, service.purge_expired, "applying retention periods")
                )
            )
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await run_in_threadpool(service.housekeeping)  # flush what is pending
            api.writer.close()
            api.readers.close()

    app = _App(
        routes=routes,
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
        direct=set_value,
    )
    app.state.service = service
    return app


class _App(Starlette):
    """Starlette, with one route (``direct``, the write of one value) served directly.

    Starlette hands every request through two middlewares, two exception wrappers and
    its router (a regex per route tried) before the endpoint runs: 9 % of the machine
    instructions of a write served in-process (valgrind; HTTP parsing aside). A request
    for ``direct`` (its method, and its own path pattern) skips them: the same endpoint
    answers it with the same response (a test compares the two ways). The endpoint
    catches every error it knows; anything else propagates to the server, which logs
    it and answers 500, as Starlette's error middleware does. A PUT under a
    ``root_path`` (a mounted app) takes Starlette's way. Middleware added with
    ``add_middleware`` does not see these writes: add it here too, or drop ``direct``.
    """

    def __init__(self, *, direct: Route, **options: Any) -> None:
        super().__init__(**options)
        self.direct = direct
        self._methods = direct.methods or set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.direct
        if (
            scope["type"] == "http"
            and scope["method"] in self._methods
            and not scope.get("root_path")
        ):
            match = route.path_regex.match(scope["path"])
            if match is not None:
                scope["app"] = self
                convert = route.param_convertors
                scope["path_params"] = {
                    name: convert[name].convert(value) for name, value in match.groupdict().items()
                }
                response = await route.endpoint(Request(scope, receive, send))
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


async def _every(seconds: float, func: Callable[[], object], what: str) -> None:
    """Run ``func`` in a worker thread every ``seconds``; a failure is logged and retried."""
    while True:
        try:
            await run_in_threadpool(func)
        except Exception:  # keep serving; the next round retries
            log.exception("%s failed", what)
        await asyncio.sleep(seconds)
