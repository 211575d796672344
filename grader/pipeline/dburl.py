"""Gradebook database URLs: the driver made explicit, credentials kept out of messages."""

from __future__ import annotations

__all__ = ["driver_url", "redact"]


def driver_url(url: str) -> str:
    """``url`` with its driver made explicit: ``postgresql://`` means psycopg (3).

    SQLAlchemy reads a bare ``postgresql://`` as psycopg2, which the course does not
    install; an explicit ``postgresql+DRIVER://`` is kept as written.
    """
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def redact(url: str) -> str:
    """``url`` without its credentials, for messages (they end up in terminals and logs)."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://…@{rest.rsplit('@', 1)[1]}"
    return url
