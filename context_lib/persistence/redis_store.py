"""``RedisStore``: a context in a Redis server, shared by processes on many machines.

Layout: one hash per context name (``context:<name>``: field = key, value = JSON text)
and one list for its audit trail (``context:<name>:history``). A write is one
``MULTI``/``EXEC`` transaction; when it continues the audit trail it first ``WATCH``es
the trail, so two writers appending at once cannot interleave their records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

from context_lib.persistence._common import BackendStore
from context_lib.persistence.errors import HistoryMismatchError, StoreUnavailableError
from context_lib.values import check_key

__all__ = ["RedisStore"]

_SCAN_COUNT = 1000


class RedisStore(BackendStore):
    """A named context in Redis; pass a URL (``redis://host:port/db``) or a client.

    The connection is checked when the store opens: an unreachable server raises
    :class:`~context_lib.persistence.StoreUnavailableError` at once, not at the first
    save.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        name: str = "context",
        client: redis.Redis | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__()
        if (url is None) == (client is None):
            raise ValueError("pass exactly one of url or client")
        self.name = check_key(name)
        self._hash = f"context:{self.name}"
        self._trail = f"context:{self.name}:history"
        self._owns_client = client is None
        if client is None:
            assert url is not None
            self.url = url
            client = redis.Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        else:
            self.url = repr(client)
        self._client: redis.Redis = client
        try:
            self._call(self._client.ping)
        except BaseException:
            self._close()  # a client we made must not outlive a store that failed to open
            raise

    def _describe(self) -> str:
        return f"RedisStore({self.url!r}, name={self.name!r})"

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except redis.ConnectionError as exc:
            raise StoreUnavailableError(
                f"cannot reach Redis for {self._describe()}: {exc}"
            ) from None
        except redis.TimeoutError as exc:
            raise StoreUnavailableError(f"Redis timed out for {self._describe()}: {exc}") from None

    def _get_texts(self, keys: list[str]) -> dict[str, str | bytes]:
        if not keys:
            return {}
        values: list[bytes | None] = self._call(self._client.hmget, self._hash, keys)
        return {k: v for k, v in zip(keys, values, strict=True) if v is not None}

    def _all_texts(self) -> dict[str, str | bytes]:
        raw: dict[bytes, bytes] = self._call(self._client.hgetall, self._hash)
        return {k.decode(): v for k, v in raw.items()}

    def _keys(self, bounds: tuple[str, str] | None) -> list[str]:
        if bounds is None:
            raw: list[bytes] = self._call(self._client.hkeys, self._hash)
            return sorted(k.decode() for k in raw)
        low, _high = bounds  # keys hold no glob characters, so MATCH "<prefix>.*" is exact
        found = self._call(
            lambda: [
                k.decode()
                for k, _v in self._client.hscan_iter(self._hash, match=low + "*", count=_SCAN_COUNT)
            ]
        )
        return sorted(found)

    def _write(
        self,
        pairs: list[tuple[str, str]],
        deletes: list[str],
        replace: bool,
        history: list[str],
        history_at: int | None,
    ) -> None:
        self._call(self._transaction, pairs, deletes, replace, history, history_at)

    def _transaction(
        self,
        pairs: list[tuple[str, str]],
        deletes: list[str],
        replace: bool,
        history: Sequence[str],
        history_at: int | None,
    ) -> None:
        with self._client.pipeline(transaction=True) as pipe:
            if history_at is not None:
                pipe.watch(self._trail)  # type: ignore[no-untyped-call]
                length = int(pipe.llen(self._trail))
                if length != history_at:
                    raise HistoryMismatchError(length, history_at)
                pipe.multi()
            if replace:
                pipe.delete(self._hash, self._trail)
            if pairs:
                pipe.hset(self._hash, mapping=dict(pairs))
            if deletes:
                pipe.hdel(self._hash, *deletes)
            if history:
                pipe.rpush(self._trail, *history)
            try:
                pipe.execute()
            except redis.WatchError:
                length = int(self._client.llen(self._trail))
                raise HistoryMismatchError(length, history_at or 0) from None

    def _history_texts(self, start: int, stop: int | None) -> list[str | bytes]:
        end = -1 if stop is None else stop - 1
        if stop is not None and stop <= start:
            return []
        items: list[bytes] = self._call(self._client.lrange, self._trail, start, end)
        return list(items)

    def _history_length(self) -> int:
        return int(self._call(self._client.llen, self._trail))

    def _close(self) -> None:
        if self._owns_client:
            self._client.close()
