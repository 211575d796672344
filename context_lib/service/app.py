"""The HTTP API of the Context service: a thin Starlette shell over ``ContextService``.

Each endpoint authenticates (``Authorization: Bearer <key>`` or ``X-API-Key``),
checks the role, parses and size-limits the body, calls one service method and
answers JSON. Every error is ``{"code": …, "message": …}`` with a stable code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from context_lib.service.core import ContextService, Principal
from context_lib.service.errors import (
    BadRequestError,
    PayloadTooLargeError,
    RateLimitedError,
    ServiceError,
)
from context_lib.service.openapi import openapi_document

__all__ = ["DEFAULT_MAX_BODY", "create_app"]

DEFAULT_MAX_BODY = 1024 * 1024
log = logging.getLogger("context_lib.service")
T = TypeVar("T")
Handler = Callable[[Request, Principal], Awaitable[Any]]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class _Api:
    def __init__(self, service: ContextService, max_body: int) -> None:
        self.service = service
        self.max_body = max_body
        self.blocking = bool(getattr(service.backend, "blocking_io", True))

    async def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a service call inline (local backends) or in a thread (network ones)."""
        if self.blocking:
            return await run_in_threadpool(func, *args, **kwargs)
        return func(*args, **kwargs)

    async def body(self, request: Request) -> dict[str, Any]:
        declared = request.headers.get("content-length")
        if (
            declared is not None
            and declared.isascii()
            and declared.isdigit()
            and int(declared) > self.max_body
        ):
            raise PayloadTooLargeError(
                f"request body is {declared} bytes; the limit is {self.max_body}"
            )
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                raise PayloadTooLargeError(
                    f"request body exceeds the limit of {self.max_body} bytes"
                )
            chunks.append(chunk)
        raw = b"".join(chunks)
        try:
            data = json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise BadRequestError(
                f"request body is not valid JSON: {exc}", code="invalid_json"
            ) from exc
        if not isinstance(data, dict):
            raise BadRequestError(
                f"request body must be a JSON object, not {type(data).__name__}",
                code="invalid_json",
            )
        return data

    def endpoint(
        self, op: str, role: str, handler: Handler
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            start = time.perf_counter()
            principal: Principal | None = None
            try:
                principal = await self.call(self.service.authorize, _api_key(request), role, op)
                result = await handler(request, principal)
                status = 201 if request.method == "POST" else 200
                response: Response = JSONResponse(result, status_code=status)
            except ServiceError as exc:
                response = error_response(exc)
            except Exception:
                log.exception("unexpected error in %s %s", request.method, request.url.path)
                response = JSONResponse(
                    {"code": "internal_error", "message": "internal error; see the server log"},
                    status_code=500,
                )
            if principal is not None:
                key = request.path_params.get("key") if op == "set" else None
                context = request.path_params.get("context")
                self.service.record(
                    principal.tenant_id,
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


def error_response(exc: ServiceError) -> JSONResponse:
    """The JSON response for a service error."""
    headers = {}
    if isinstance(exc, RateLimitedError):
        headers["Retry-After"] = str(max(1, round(exc.retry_after + 0.5)))
    return JSONResponse(exc.as_dict(), status_code=exc.status, headers=headers)


def _query_float(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):  # "nan" would silently match nothing
        raise BadRequestError(f"query parameter {name!r} must be a number, not {raw!r}")
    return value


def _query_int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()):  # "²".isdigit() is true, but int() refuses it
        raise BadRequestError(f"query parameter {name!r} must be an integer, not {raw!r}")
    return int(raw)


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

    async def tenant_get(r: Request, p: Principal) -> Any:
        return await api.call(s.info, p)

    async def tenant_patch(r: Request, p: Principal) -> Any:
        data = await api.body(r)
        if set(data) != {"retention_days"}:
            raise BadRequestError('send {"retention_days": <days or null>}')
        await api.call(
            s.set_limits, p.tenant_id, actor=p.key_id, retention_days=data["retention_days"]
        )
        return await api.call(s.info, p)

    async def tenant_delete(r: Request, p: Principal) -> Any:
        if r.query_params.get("confirm") != p.tenant_id:
            raise BadRequestError(
                "erasing a tenant cannot be undone: repeat the request with "
                "?confirm=<your tenant id>",
                code="confirmation_required",
            )
        await api.call(s.erase, p.tenant_id, p.key_id)
        return {"erased": p.tenant_id}

    async def export(r: Request, p: Principal) -> Any:
        return await api.call(s.export, p)

    async def audit(r: Request, p: Principal) -> Any:
        return await api.call(s.audit_trail, p)

    async def analytics(r: Request, p: Principal) -> Any:
        return await api.call(s.analytics, p, _query_int(r, "top", 10))

    async def keys_get(r: Request, p: Principal) -> Any:
        return {"keys": await api.call(s.api_keys, p)}

    async def keys_post(r: Request, p: Principal) -> Any:
        data = await api.body(r)
        record, secret = await api.call(
            s.issue_key, p.tenant_id, data.get("role"), data.get("name", ""), p.key_id
        )
        return {
            "key_id": record.key_id,
            "role": record.role,
            "name": record.name,
            "api_key": secret,
        }

    async def keys_delete(r: Request, p: Principal) -> Any:
        await api.call(s.revoke, p, r.path_params["key_id"])
        return {"revoked": r.path_params["key_id"]}

    async def contexts(r: Request, p: Principal) -> Any:
        return {"contexts": await api.call(s.contexts, p)}

    async def context_get(r: Request, p: Principal) -> Any:
        values = await api.call(s.get_context, p, r.path_params[ctx], r.query_params.get("prefix"))
        return {"context": r.path_params[ctx], "values": values}

    async def context_patch(r: Request, p: Principal) -> Any:
        data = await api.body(r)
        unknown = set(data) - {"set", "delete", "who"}
        if unknown:
            raise BadRequestError(f"unknown field(s) {sorted(unknown)}; use set, delete, who")
        values, delete = data.get("set", {}), data.get("delete", [])
        if not isinstance(values, dict):
            raise BadRequestError("'set' must be an object of key: value")
        if not isinstance(delete, list):
            raise BadRequestError("'delete' must be a list of keys")
        changed = await api.call(s.write, p, r.path_params[ctx], values, delete, who=_who(data))
        return {"changed": changed}

    async def context_delete(r: Request, p: Principal) -> Any:
        who = r.query_params.get("who")
        return {"changed": await api.call(s.delete_context, p, r.path_params[ctx], who)}

    async def keys_list(r: Request, p: Principal) -> Any:
        prefix = r.query_params.get("prefix")
        return {"keys": await api.call(s.keys, p, r.path_params[ctx], prefix)}

    async def history(r: Request, p: Principal) -> Any:
        changes = await api.call(
            s.history,
            p,
            r.path_params[ctx],
            r.query_params.get("key"),
            _query_float(r, "since"),
            _query_int(r, "limit", 1000),
        )
        return {"history": changes}

    async def value_get(r: Request, p: Principal) -> Any:
        key = r.path_params["key"]
        return {"key": key, "value": await api.call(s.get, p, r.path_params[ctx], key)}

    async def value_put(r: Request, p: Principal) -> Any:
        data = await api.body(r)
        if "value" not in data:
            raise BadRequestError('send {"value": <JSON value>, "who": <optional string>}')
        key = r.path_params["key"]
        changed = await api.call(
            s.write, p, r.path_params[ctx], {key: data["value"]}, who=_who(data)
        )
        return {"changed": changed}

    async def value_delete(r: Request, p: Principal) -> Any:
        key = r.path_params["key"]
        changed = await api.call(
            s.write,
            p,
            r.path_params[ctx],
            None,
            [key],
            who=r.query_params.get("who"),
            must_exist=True,
        )
        return {"changed": changed}

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    document = openapi_document(max_body)

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    e = api.endpoint
    routes = [
        # The hot paths first: Starlette tries routes in order.
        Route("/v1/contexts/{context}/values/{key}", e("get", "read", value_get), methods=["GET"]),
        Route("/v1/contexts/{context}/values/{key}", e("set", "write", value_put), methods=["PUT"]),
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
            404: f"no endpoint {request.url.path}",
            405: f"{request.method} is not allowed here",
        }
        return JSONResponse(
            {
                "code": codes.get(exc.status_code, "http_error"),
                "message": message.get(exc.status_code, str(exc.detail)),
            },
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = []
        if purge_interval is not None:

            async def purge_forever() -> None:
                while True:
                    try:
                        await run_in_threadpool(service.purge_expired)
                    except Exception:  # keep serving; the next round retries
                        log.exception("applying retention periods failed")
                    await asyncio.sleep(purge_interval)

            tasks.append(asyncio.create_task(purge_forever()))
        checkpoint = getattr(service.backend, "checkpoint", None)
        if checkpoint is not None:

            async def checkpoint_forever() -> None:
                while True:
                    await asyncio.sleep(1.0)
                    try:
                        await run_in_threadpool(checkpoint)
                    except Exception:  # a busy database: the next round retries
                        log.exception("checkpointing the store failed")

            tasks.append(asyncio.create_task(checkpoint_forever()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = Starlette(
        routes=routes, exception_handlers={HTTPException: http_error}, lifespan=lifespan
    )
    app.state.service = service
    return app
