"""``open_store(url)``: open any bundled store from one URL string.

============================================  =========================================
``memory://``                                 a new, empty :class:`MemoryStore`
``file:///abs/path/state.json``               :class:`JsonFileStore` (``file:state.json``
                                              for a path relative to the current folder)
``sqlite:///state.db?name=pipeline``          :class:`SQLiteStore`, path relative to the
                                              current folder (``sqlite:////abs/state.db``
                                              for an absolute one, ``sqlite://`` in memory)
``redis://host:port/0?name=pipeline``         :class:`RedisStore` (also ``rediss://``)
============================================  =========================================

``name`` selects a context inside a shared database (default ``context``).
"""

from __future__ import annotations

import math
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from context_lib.errors import InvalidKeyError
from context_lib.persistence._common import BackendStore
from context_lib.persistence.errors import StoreURLError
from context_lib.persistence.json_file import JsonFileStore
from context_lib.persistence.memory import MemoryStore
from context_lib.persistence.sqlite_store import SQLiteStore

__all__ = ["SCHEMES", "open_store"]

SCHEMES = ("memory", "file", "sqlite", "redis", "rediss")


def open_store(url: str) -> BackendStore:
    """Open the store a URL names; a clear :class:`StoreURLError` for anything else.

    >>> store = open_store("memory://")
    >>> store.put_many({"a.b": 1})
    4
    >>> open_store("ftp://example.org/state")
    Traceback (most recent call last):
    ...
    context_lib.persistence.errors.StoreURLError: cannot open store 'ftp://example.org/state': \
unknown scheme 'ftp'; use one of memory://, file://, sqlite://, redis://, rediss://
    """
    if not isinstance(url, str):
        raise StoreURLError(repr(url), f"a store URL is a string, not {type(url).__name__}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is what raises for "host:abc"
    except ValueError as exc:
        raise StoreURLError(url, f"malformed URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        known = ", ".join(f"{s}://" for s in SCHEMES)
        shown = f"unknown scheme {scheme!r}" if scheme else "no scheme"
        raise StoreURLError(url, f"{shown}; use one of {known}")
    try:
        options = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False))
    except ValueError as exc:  # pragma: no cover - parse_qsl is lenient
        raise StoreURLError(url, f"bad query string: {exc}") from None
    name = options.pop("name", "context")
    try:
        if scheme == "memory":
            _no_options(url, options)
            return MemoryStore()
        if scheme == "file":
            _no_options(url, options)
            return JsonFileStore(_file_path(url, parts.netloc, parts.path))
        if scheme == "sqlite":
            timeout = _float_option(url, options, "timeout", 30.0)
            _no_options(url, options)
            return SQLiteStore(
                _sqlite_path(url, parts.netloc, parts.path), name=name, timeout=timeout
            )
        rest = urlencode(options)
        redis_url = urlunsplit((parts.scheme, parts.netloc, parts.path, rest, ""))
        # Imported here: redis-py takes longer to import than everything else in the library.
        from context_lib.persistence.redis_store import RedisStore

        try:
            return RedisStore(redis_url, name=name)
        except (ValueError, TypeError) as exc:  # redis-py refuses an option or a value
            if isinstance(exc, InvalidKeyError):
                raise
            raise StoreURLError(url, f"unknown option or bad value ({exc})") from None
    except InvalidKeyError as exc:
        raise StoreURLError(url, f"bad context name: {exc}") from None


def _no_options(url: str, options: dict[str, str]) -> None:
    if options:
        raise StoreURLError(url, f"unknown option(s) {', '.join(sorted(options))}")


def _float_option(url: str, options: dict[str, str], key: str, default: float) -> float:
    raw = options.pop(key, None)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise StoreURLError(url, f"option {key}={raw!r} is not a number of seconds >= 0")
    return value


def _file_path(url: str, netloc: str, path: str) -> Path:
    if netloc not in ("", "localhost"):
        raise StoreURLError(
            url, "a file URL has three slashes (file:///abs/state.json) or none (file:state.json)"
        )
    if not path:
        raise StoreURLError(url, "no file path given")
    return Path(unquote(path))


def _sqlite_path(url: str, netloc: str, path: str) -> str:
    if netloc:
        raise StoreURLError(
            url, "an SQLite URL has three slashes before a relative path (sqlite:///state.db)"
        )
    if not path:
        return ":memory:"
    relative = unquote(path[1:])
    if relative in ("", ":memory:"):
        return ":memory:"
    return relative
