"""The OpenAPI 3.1 document of the Context service (served at ``/openapi.json``)."""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_document"]

_ERROR = {"$ref": "#/components/responses/Error"}
_JSON_ANY: dict[str, Any] = {}


def _op(
    summary: str,
    role: str | None,
    *,
    body: dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    ok: int = 200,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {str(ok): {"description": "success", "content": {"application/json": {}}}},
    }
    if role is not None:
        op["description"] = f"Needs an API key with the `{role}` role (or higher)."
        op["security"] = [{"apiKey": []}]
        for status in ("400", "401", "403", "404", "413", "429", "503"):
            op["responses"][status] = _ERROR
    else:
        op["security"] = []
    if body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    if params:
        op["parameters"] = params
    return op


def _path(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


_CONTEXT = _path("context", "context name: 1-64 of [A-Za-z0-9_-]")
_KEY = _path("key", "dotted key: segments of [A-Za-z0-9_-] joined by '.'")
_PREFIX = _query("prefix", {"type": "string"}, "only keys under `prefix.`")
_WHO = {"type": ["string", "null"], "maxLength": 200}


def openapi_document(max_body: int) -> dict[str, Any]:
    """The OpenAPI document, stating the body size limit ``max_body`` in bytes."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Context service",
            "version": "1",
            "description": (
                "Multi-tenant Context-as-a-Service. Authenticate with "
                "`Authorization: Bearer <API key>`; every query is scoped to the key's "
                "tenant. Errors are JSON `{code, message}` with a stable `code`. "
                f"Request bodies are limited to {max_body} bytes (413) and must be I-JSON "
                "(RFC 7493: finite numbers, integers within +-(2**53-1), no lone surrogates). "
                "A store busy past its bounded wait answers 503 with Retry-After."
            ),
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Error": {
                    "description": "an error",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["code", "message"],
                                "properties": {
                                    "code": {"type": "string"},
                                    "message": {"type": "string"},
                                },
                            }
                        }
                    },
                }
            },
        },
        "paths": {
            "/health": {"get": _op("liveness probe (no tenant data)", None)},
            "/openapi.json": {"get": _op("this document", None)},
            "/v1/tenant": {
                "get": _op("the tenant's limits and usage", "read"),
                "patch": _op(
                    "set the history retention period",
                    "admin",
                    body={
                        "type": "object",
                        "properties": {"retention_days": {"type": ["number", "null"]}},
                    },
                ),
                "delete": _op(
                    "erase the tenant (data, keys, data key); the audit log records it",
                    "admin",
                    params=[_query("confirm", {"type": "string"}, "the tenant id, to confirm")],
                ),
            },
            "/v1/export": {
                "get": _op("all data, every change and the audit trail, streamed JSON", "admin")
            },
            "/v1/audit": {"get": _op("the tenant's audit chain and its verification", "admin")},
            "/v1/analytics": {
                "get": _op(
                    "counts, latency percentiles, most written keys",
                    "read",
                    params=[
                        _query(
                            "top", {"type": "integer", "minimum": 1, "maximum": 1000}, "top N keys"
                        )
                    ],
                )
            },
            "/v1/keys": {
                "get": _op("the tenant's API keys (never the secrets)", "admin"),
                "post": _op(
                    "issue an API key (shown once)",
                    "admin",
                    ok=201,
                    body={
                        "type": "object",
                        "required": ["role"],
                        "properties": {
                            "role": {"enum": ["read", "write", "admin"]},
                            "name": {"type": "string", "maxLength": 100},
                        },
                    },
                ),
            },
            "/v1/keys/{key_id}": {
                "delete": _op(
                    "revoke an API key", "admin", params=[_path("key_id", "the key's id")]
                )
            },
            "/v1/contexts": {"get": _op("the tenant's contexts", "read")},
            "/v1/contexts/{context}": {
                "get": _op("every value of a context", "read", params=[_CONTEXT, _PREFIX]),
                "patch": _op(
                    "set and delete many keys in one transaction",
                    "write",
                    params=[_CONTEXT],
                    body={
                        "type": "object",
                        "properties": {
                            "set": {"type": "object", "additionalProperties": _JSON_ANY},
                            "delete": {"type": "array", "items": {"type": "string"}},
                            "who": _WHO,
                        },
                    },
                ),
                "delete": _op("delete every key of a context", "write", params=[_CONTEXT]),
            },
            "/v1/contexts/{context}/keys": {
                "get": _op("the keys of a context", "read", params=[_CONTEXT, _PREFIX])
            },
            "/v1/contexts/{context}/history": {
                "get": _op(
                    "changes, oldest first",
                    "read",
                    params=[
                        _CONTEXT,
                        _query("key", {"type": "string"}, "only this key"),
                        _query(
                            "since",
                            {"type": "number"},
                            "changes at or after this epoch time, oldest first (a page)",
                        ),
                        _query(
                            "after",
                            {"type": "integer", "minimum": 0},
                            "changes with seq above this, oldest first; continue with the "
                            "answer's next_after until it is null",
                        ),
                        _query(
                            "limit",
                            {"type": "integer", "minimum": 1, "maximum": 1000},
                            "page size; without since/after: the newest N",
                        ),
                    ],
                )
            },
            "/v1/contexts/{context}/values/{key}": {
                "get": _op("one value", "read", params=[_CONTEXT, _KEY]),
                "put": _op(
                    "set one value",
                    "write",
                    params=[_CONTEXT, _KEY],
                    body={
                        "type": "object",
                        "required": ["value"],
                        "properties": {"value": _JSON_ANY, "who": _WHO},
                    },
                ),
                "delete": _op(
                    "delete one key",
                    "write",
                    params=[_CONTEXT, _KEY, _query("who", {"type": "string"}, "author")],
                ),
            },
        },
    }
