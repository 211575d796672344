"""``ServiceClient``: the Context service from Python, shaped like a ``Context``.

Notebook code can switch between a local :class:`~context_lib.Context` and the
service: ``get``/``set``/``delete``/``keys``/``namespace``/``to_dict``/``history``
and ``ctx[key]`` work the same way, with the same key and value checks done before
anything is sent. Service errors come back as the same exception classes the server
raised (:mod:`context_lib.service.errors`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any

import httpx

from context_lib.errors import InvalidKeyError
from context_lib.history import Change
from context_lib.service.errors import (
    ERRORS_BY_CODE,
    RateLimitedError,
    ServiceError,
    ServiceUnavailableError,
)
from context_lib.values import JSONValue, check_key, check_prefix, own

__all__ = ["ServiceClient"]


class ServiceClient:
    """A client for one context of the service, authenticated by ``api_key``.

    >>> with ServiceClient("http://127.0.0.1:8750", key) as ctx:  # doctest: +SKIP
    ...     ctx.set("network.latency_ms", 12.5, who="probe")
    ...     ctx.get("network.latency_ms")
    12.5

    ``transport`` is passed to ``httpx.Client`` (tests use it to call an app in-process).
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        context: str = "default",
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.context = context
        self._own_http = http is None
        self._http = http or httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            transport=transport,
        )

    def with_context(self, context: str) -> ServiceClient:
        """A client for another context of the same tenant, sharing the connection."""
        return ServiceClient(self.url, "", context=context, http=self._http)

    # ------------------------------------------------------------------ plumbing

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request; return the JSON answer or raise the service's error."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceError(
                f"cannot reach the Context service at {self.url}: {exc}", code="unreachable"
            ) from exc
        if response.status_code < 400:
            return response.json()
        try:
            body = response.json()
            code, message = str(body["code"]), str(body["message"])
        except (ValueError, KeyError, TypeError):
            code, message = "http_error", f"HTTP {response.status_code}: {response.text[:200]}"
        cls = ERRORS_BY_CODE.get(code)
        if cls is RateLimitedError or cls is ServiceUnavailableError:
            raise cls(message, retry_after=float(response.headers.get("retry-after", "1")))
        for candidate in ERRORS_BY_CODE.values():
            if candidate.status == response.status_code and cls is None:
                cls = candidate
        raise (cls or ServiceError)(message, code=code)

    def _path(self, *parts: str) -> str:
        return "/".join(("/v1/contexts", self.context, *parts))

    # ------------------------------------------------------------------ Context-like API

    def get(self, key: str, default: Any = None) -> Any:
        """The value at ``key``, or ``default`` when it is not set."""
        check_key(key)
        try:
            return self.request("GET", self._path("values", key))["value"]
        except ServiceError as exc:
            if exc.code == "key_not_found":
                return default
            raise

    def __getitem__(self, key: str) -> Any:
        check_key(key)
        try:
            return self.request("GET", self._path("values", key))["value"]
        except ServiceError as exc:
            if exc.code == "key_not_found":
                raise KeyError(key) from None
            raise

    def set(self, key: str, value: JSONValue, who: str | None = None) -> None:
        """Set ``key`` to ``value`` (recorded as made by ``who``)."""
        check_key(key)
        body = {"value": own(value), "who": who}
        self.request("PUT", self._path("values", key), json=body)

    def __setitem__(self, key: str, value: JSONValue) -> None:
        self.set(key, value)

    def delete(self, key: str, who: str | None = None) -> None:
        """Delete ``key``; ``KeyError`` if it is not set."""
        check_key(key)
        params = {"who": who} if who is not None else None
        try:
            self.request("DELETE", self._path("values", key), params=params)
        except ServiceError as exc:
            if exc.code == "key_not_found":
                raise KeyError(key) from None
            raise

    def __delitem__(self, key: str) -> None:
        self.delete(key)

    def update(
        self,
        items: Mapping[str, Any] | Iterable[tuple[str, Any]],
        who: str | None = None,
        *,
        delete: Iterable[str] = (),
    ) -> list[str]:
        """Set many keys (and delete ``delete``) in one transaction; return changed keys."""
        pairs = dict(items.items() if isinstance(items, Mapping) else items)
        values = {check_key(k): own(v, f"value[{k!r}]") for k, v in pairs.items()}
        removed = [check_key(k) for k in delete]
        body = {"set": values, "delete": removed, "who": who}
        return list(self.request("PATCH", self._path(), json=body)["changed"])

    def keys(self, prefix: str | None = None) -> list[str]:
        """The context's keys (or those under ``prefix.``), sorted."""
        params = {"prefix": check_prefix(prefix)} if prefix is not None else None
        return list(self.request("GET", self._path("keys"), params=params)["keys"])

    def __contains__(self, key: object) -> bool:
        try:
            check_key(key)
        except InvalidKeyError:  # like a Context: an invalid key is simply not there
            return False
        assert isinstance(key, str)
        return self.get(key, _ABSENT) is not _ABSENT

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def to_dict(self) -> dict[str, Any]:
        """Every value of the context."""
        return dict(self.request("GET", self._path())["values"])

    def namespace(self, prefix: str) -> dict[str, Any]:
        """The values under ``prefix.``, with the prefix removed."""
        start = check_prefix(prefix) + "."
        values = self.request("GET", self._path(), params={"prefix": prefix})["values"]
        return {k[len(start) :]: v for k, v in values.items()}

    def get_history(
        self,
        key: str | None = None,
        who: str | None = None,
        since: float | None = None,
        *,
        limit: int | None = None,
    ) -> list[Change]:
        """The changes matching every filter given, oldest first, like ``Context.get_history``.

        Every change is fetched, page by page; ``limit`` fetches only the newest
        ``limit`` (at most 1000) instead. ``who`` is applied here: the service stores it
        encrypted and cannot filter on it.
        """
        base: dict[str, Any] = {}
        if key is not None:
            base["key"] = check_key(key)
        rows: list[dict[str, Any]] = []
        if limit is not None:
            rows = self.request("GET", self._path("history"), params={**base, "limit": limit})[
                "history"
            ]
        else:
            params: dict[str, Any] = (
                {**base, "since": since}
                if since is not None
                else {
                    **base,
                    "after": 0,
                }
            )
            while True:
                page = self.request("GET", self._path("history"), params=params)
                rows += page["history"]
                if page.get("next_after") is None:
                    break
                params = {**base, "after": page["next_after"]}
                if since is not None:
                    params["since"] = since
        return [
            Change(r["seq"], r["timestamp"], r["key"], r["op"], r["before"], r["after"], r["who"])
            for r in rows
            if who is None or r["who"] == who
        ]

    @property
    def history(self) -> list[Change]:
        """Every change of the context, oldest first."""
        return self.get_history()

    def clear(self, who: str | None = None) -> list[str]:
        """Delete every key of the context."""
        params = {"who": who} if who is not None else None
        return list(self.request("DELETE", self._path(), params=params)["changed"])

    # ------------------------------------------------------------------ tenant-level

    def contexts(self) -> list[str]:
        """The tenant's contexts."""
        return list(self.request("GET", "/v1/contexts")["contexts"])

    def analytics(self) -> dict[str, Any]:
        """Operation counts, latency percentiles and most written keys."""
        return dict(self.request("GET", "/v1/analytics"))

    def close(self) -> None:
        """Close the connection (if this client opened it)."""
        if self._own_http:
            self._http.close()

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ServiceClient {self.url} context={self.context!r}>"


_ABSENT: Any = object()
