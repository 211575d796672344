"""Opening a backend from a store URL and serving the app with uvicorn."""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import socket
from pathlib import Path

from context_lib.service.core import ContextService
from context_lib.service.crypto import KeyRing, default_master_key_path, load_master_key
from context_lib.service.errors import ConfigurationError
from context_lib.service.records import Backend
from context_lib.service.sqlite import SQLiteBackend
from context_lib.service.witness import Witness

__all__ = [
    "DEFAULT_STORE",
    "WITNESS_ENV",
    "default_witness_path",
    "listen",
    "open_backend",
    "open_service",
    "serve",
]

DEFAULT_STORE = "sqlite:///context-service.db"
WITNESS_ENV = "CONTEXT_SERVICE_AUDIT_WITNESS"
# Collect the youngest generation after this many new container objects, not 700: 16
# requests in flight hold about 800, so with the default every few requests paid for a
# collection that found nothing to free (about 10 % of the process's time).
GC_YOUNG = 20_000


def open_backend(url: str) -> Backend:
    """A backend for ``url``.

    * ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or a plain path:
      one SQLite file (the default, ``sqlite:///context-service.db``);
    * ``sqlite:///:memory:``: a throwaway in-memory database;
    * ``redis://host:port/db`` (or ``rediss://``): Redis, shared by several nodes.
    """
    if url.startswith(("redis://", "rediss://", "unix://")):
        from context_lib.service.redis_backend import RedisBackend

        return RedisBackend(url)
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://")
        if not path.startswith("/"):
            raise ConfigurationError(
                f"bad SQLite URL {url!r}: use sqlite:///relative.db or sqlite:////abs/path.db"
            )
        path = path[1:]
    elif "://" in url:
        scheme = url.split("://", 1)[0]
        raise ConfigurationError(
            f"unsupported store URL scheme {scheme!r}: use sqlite:///file.db or redis://host:port/0"
        )
    else:
        path = url
    if not path:
        raise ConfigurationError(f"store URL {url!r} names no file")
    try:
        return SQLiteBackend(path)
    except Exception as exc:  # sqlite3.Error, OSError: one clear line for the operator
        raise ConfigurationError(f"cannot open the SQLite store {path!r}: {exc}") from exc


def default_witness_path(store_id: str) -> Path:
    """Where the audit witness of a store lives unless told otherwise:
    ``$CONTEXT_SERVICE_AUDIT_WITNESS``, else beside the default master key file (outside
    the data folder), named after the store's id."""
    configured = os.environ.get(WITNESS_ENV)
    if configured:
        return Path(configured)
    return default_master_key_path().parent / "audit-witness" / f"{store_id}.log"


def open_service(
    store: str = DEFAULT_STORE,
    master_key_file: Path | None = None,
    witness_file: Path | None = None,
) -> ContextService:
    """The service over the store at ``store``, with the master key loaded (or created)
    and its audit witness at ``witness_file`` (default: :func:`default_witness_path`)."""
    keyring = KeyRing(load_master_key(master_key_file))
    backend = open_backend(store)
    try:
        path = witness_file or default_witness_path(backend.store_id())
        return ContextService(backend, keyring, witness=Witness(path, keyring.witness_key))
    except Exception:
        backend.close()
        raise


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` for the server to accept on.

    Binding before the server starts turns a port in use or an unknown host into one
    :class:`ConfigurationError` line, instead of uvicorn's log lines after startup.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigurationError(f"cannot listen on {host}:{port}: unknown host ({exc})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        hint = (
            "; another server is using it: stop it or choose another --port"
            if exc.errno == errno.EADDRINUSE
            else ""
        )
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}{hint}") from None
    return sock


def serve(
    service: ContextService,
    host: str = "127.0.0.1",
    port: int = 8750,
    *,
    max_body: int = 1024 * 1024,
    log_level: str = "info",
    sock: socket.socket | None = None,
) -> None:
    """Serve ``service`` over HTTP with uvicorn until interrupted.

    ``sock``: a socket from :func:`listen` (default: one bound here to ``host:port``);
    it is closed when the server stops. Raises :class:`ConfigurationError` when it
    cannot listen (before anything starts) or when the server fails to start.
    """
    import uvicorn

    from context_lib.service.app import create_app

    sock = listen(host, port) if sock is None else sock
    try:
        config = uvicorn.Config(
            create_app(service, max_body=max_body),
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
        )
        server = uvicorn.Server(config)
        config.load()  # import the protocol modules now, so the freeze below covers them
        # Everything loaded so far lives as long as the process: move it out of the
        # garbage collector's sight, so that a full collection walks only what serving
        # allocates (it walked some 50,000 objects, and paused requests for tens of ms).
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_YOUNG)
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
    finally:
        sock.close()
    if not server.started:
        raise ConfigurationError("the server did not start; see the messages above")
