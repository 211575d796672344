"""The exception tree of ``context_lib.service``, in one place.

Every error carries a stable machine ``code``, the HTTP ``status`` it maps to and a
human message; the HTTP API sends them as ``{"code": …, "message": …}`` and the client
raises the same classes again.

ServiceError (ContextError)              base; ``code``, ``status``, ``message``
├── BadRequestError            400       malformed JSON, wrong types, invalid keys
├── AuthenticationError        401       no API key, an unknown or a revoked one
├── PermissionDeniedError      403       the key's role does not allow the operation
├── NotFoundError              404       no such context, key, API key or tenant
├── PayloadTooLargeError       413       a body over the size limit
├── QuotaExceededError         413       the write would pass the tenant's key quota
├── RateLimitedError           429       too many requests; ``retry_after`` seconds
├── ConfigurationError         500       the service cannot start (store URL, master key)
├── AuditError                 500       the audit log could not be written or read
└── ServiceUnavailableError    503       the store stayed busy past the bounded wait;
                                         ``retry_after`` seconds (nothing was changed)
"""

from __future__ import annotations

from typing import ClassVar

from context_lib.errors import ContextError


class ServiceError(ContextError):
    """Base class of every error ``context_lib.service`` raises on purpose."""

    code: ClassVar[str] = "service_error"
    status: ClassVar[int] = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]  # a more specific code for this instance

    def as_dict(self) -> dict[str, str]:
        """The JSON error body: ``{"code": …, "message": …}``."""
        return {"code": self.code, "message": self.message}


class BadRequestError(ServiceError):
    """The request is malformed: bad JSON, wrong types, an invalid key or name."""

    code = "bad_request"
    status = 400


class AuthenticationError(ServiceError):
    """No API key was sent, or it is unknown or revoked."""

    code = "unauthenticated"
    status = 401


class PermissionDeniedError(ServiceError):
    """The API key is valid but its role does not allow this operation."""

    code = "forbidden"
    status = 403


class NotFoundError(ServiceError):
    """The context, key, API key or tenant does not exist (for this tenant)."""

    code = "not_found"
    status = 404


class PayloadTooLargeError(ServiceError):
    """The request body is larger than the service accepts."""

    code = "body_too_large"
    status = 413


class QuotaExceededError(ServiceError):
    """The write would take the tenant past its key quota; nothing was written."""

    code = "quota_exceeded"
    status = 413


class RateLimitedError(ServiceError):
    """The tenant sent more requests than its rate limit allows."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigurationError(ServiceError):
    """The service is misconfigured (store URL, master key) and cannot run."""

    code = "configuration_error"
    status = 500


class AuditError(ServiceError):
    """The audit log could not be appended to or read."""

    code = "audit_error"
    status = 500


class ServiceUnavailableError(ServiceError):
    """The store stayed locked or busy past the bounded wait; nothing was changed."""

    code = "unavailable"
    status = 503

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


ERRORS_BY_CODE: dict[str, type[ServiceError]] = {
    cls.code: cls
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        PayloadTooLargeError,
        QuotaExceededError,
        RateLimitedError,
        ConfigurationError,
        AuditError,
        ServiceUnavailableError,
    )
}
