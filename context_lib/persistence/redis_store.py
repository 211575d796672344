"""``RedisStore``: a context in a Redis server, shared by processes on many machines.

Layout: one hash per context name (``context:<name>``: field = key, value = JSON text),
one list for its audit trail (``context:<name>:history``) and one hash of bookkeeping
(``context:<name>:meta``: a random ``epoch`` made by the first write and a ``gen``
counter). A write is one ``MULTI``/``EXEC`` transaction that also increments ``gen``;
it first ``WATCH``es the meta hash (and the trail when it continues it), so writers
cannot interleave.

Lost data is detected, not papered over. Redis acknowledges a write before it is on
disk; a server killed with default persistence (RDB snapshots) comes back with an older
state or none. Each store remembers the epoch and generation it last wrote or loaded; a
delta (anything but a full ``save``) onto a store whose epoch differs or whose
generation went backwards is refused with :class:`StoreDataLostError` and nothing is
written: the delta would produce a state that matches no acknowledged save. The caller
decides which side is the truth: ``save(ctx, store)`` (a full snapshot, allowed) or
``load(store)``. One hole is left: a rollback followed by enough writes of *other*
writers to carry ``gen`` past what this store saw. Run Redis with ``appendonly yes``
and ``appendfsync always`` where acknowledged writes must survive a crash.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

import redis

from context_lib.persistence._common import BackendStore
from context_lib.persistence.errors import (
    HistoryMismatchError,
    StoreDataLostError,
    StoreUnavailableError,
)
from context_lib.values import check_key

__all__ = ["RedisStore"]

_SCAN_COUNT = 1000
_RETRIES = 20  # WATCH conflicts with other writers before giving up

Marker = tuple[str | None, int]  # (epoch, generation) of the stored state


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
        self._meta = f"context:{self.name}:meta"
        self._seen: Marker = (None, 0)  # what this store last wrote or loaded
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
            self._seen = self._call(self._read_marker, self._client)
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

    def _read_marker(self, conn: Any) -> Marker:
        epoch, gen = conn.hmget(self._meta, ["epoch", "gen"])
        return (None if epoch is None else epoch.decode(), int(gen or 0))

    @property
    def generation(self) -> Marker:
        """The ``(epoch, generation)`` this store last wrote or loaded."""
        return self._seen

    def _all_texts(self) -> dict[str, str | bytes]:
        # Everything (a load) and its marker in one transaction: the loaded state is the
        # one later deltas are checked against.
        with self._client.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._hash)
            pipe.hmget(self._meta, ["epoch", "gen"])
            raw, (epoch, gen) = self._call(pipe.execute)
        self._seen = (None if epoch is None else epoch.decode(), int(gen or 0))
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
        for _ in range(_RETRIES):
            with self._client.pipeline(transaction=True) as pipe:
                watched = [self._meta] if history_at is None else [self._meta, self._trail]
                pipe.watch(*watched)  # type: ignore[no-untyped-call]
                epoch, gen = self._read_marker(pipe)
                if not replace:
                    self._check_not_lost(epoch, gen)
                if history_at is not None:
                    length = int(pipe.llen(self._trail))
                    if length != history_at:
                        raise HistoryMismatchError(length, history_at)
                pipe.multi()
                at = 0  # the position of HINCRBY's reply among the transaction's replies
                if replace:
                    pipe.delete(self._hash, self._trail)
                    at += 1
                if epoch is None:
                    epoch = secrets.token_hex(8)
                    pipe.hset(self._meta, "epoch", epoch)
                    at += 1
                pipe.hincrby(self._meta, "gen", 1)
                if pairs:
                    pipe.hset(self._hash, mapping=dict(pairs))
                if deletes:
                    pipe.hdel(self._hash, *deletes)
                if history:
                    pipe.rpush(self._trail, *history)
                try:
                    results = pipe.execute()
                except redis.WatchError:
                    continue  # another writer committed first: check again against its state
                self._seen = (epoch, int(results[at]))
                return
        raise StoreUnavailableError(
            f"{self._describe()}: gave up after {_RETRIES} write conflicts with other writers"
        )

    def _check_not_lost(self, epoch: str | None, gen: int) -> None:
        seen_epoch, seen_gen = self._seen
        if seen_epoch is None:
            return  # this store has not seen any state yet: nothing to compare with
        if epoch != seen_epoch or gen < seen_gen:
            raise StoreDataLostError(self._describe(), (seen_epoch, seen_gen), (epoch, gen))

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
