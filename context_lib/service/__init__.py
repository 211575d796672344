"""Context-as-a-Service: many applications share contexts over HTTP, safely.

* :class:`ContextService` — tenants, role-based API keys (stored as keyed digests,
  revocable), per-tenant AES-GCM encryption at rest, a hash-chained audit log,
  quotas and rate limits, sliding-window analytics, export and erasure;
* :func:`create_app` — the Starlette HTTP API (``context-course serve``), with an
  OpenAPI document at ``/openapi.json``;
* :class:`ServiceClient` — a Python client shaped like a ``Context``;
* backends: :class:`SQLiteBackend` (embedded default) and :class:`RedisBackend`
  (several nodes behind a load balancer), opened from a URL by :func:`open_backend`.

Errors derive from :class:`ServiceError`, which carries a stable ``code`` and the
HTTP ``status`` (see :mod:`context_lib.service.errors`).
"""

from context_lib.service.app import create_app
from context_lib.service.audit import AuditEntry, AuditReport, verify_chain
from context_lib.service.client import ServiceClient
from context_lib.service.core import ContextService, Principal
from context_lib.service.crypto import KeyRing, load_master_key, new_master_key
from context_lib.service.errors import (
    AuditError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitedError,
    ServiceError,
    ServiceUnavailableError,
)
from context_lib.service.records import ApiKey, Backend, Tenant
from context_lib.service.redis_backend import RedisBackend
from context_lib.service.server import open_backend, open_service, serve
from context_lib.service.sqlite import SQLiteBackend

__all__ = [
    "ApiKey",
    "AuditEntry",
    "AuditError",
    "AuditReport",
    "AuthenticationError",
    "Backend",
    "BadRequestError",
    "ConfigurationError",
    "ContextService",
    "KeyRing",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Principal",
    "QuotaExceededError",
    "RateLimitedError",
    "RedisBackend",
    "SQLiteBackend",
    "ServiceClient",
    "ServiceError",
    "ServiceUnavailableError",
    "Tenant",
    "create_app",
    "load_master_key",
    "new_master_key",
    "open_backend",
    "open_service",
    "serve",
    "verify_chain",
]
