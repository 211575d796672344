"""RedisStore against a real redis-server killed with SIGKILL under default persistence.

Redis acknowledges writes before they reach the disk; by default it snapshots (RDB) now
and then and keeps no append-only file. After ``kill -9`` it restarts from the last
snapshot, or empty. A delta written onto that older state would make a state matching
no acknowledged save, so the store refuses it (issue 17, item 5).
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from context_lib import Context
from context_lib.persistence import (
    RedisStore,
    StoreDataLostError,
    StoreUnavailableError,
    load,
    save,
    save_delta,
)
from tests.conftest import free_port, wait_for_port
from tests.services import require_binary

pytestmark = pytest.mark.redis


class Server:
    """A redis-server with its default persistence (no config file), in its own folder."""

    def __init__(self, folder: Path) -> None:
        self.binary = require_binary("redis", "redis-server")
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        with redis.Redis.from_url(self.url) as client:
            while True:  # the port opens before the snapshot is loaded
                try:
                    client.ping()
                    return
                except redis.BusyLoadingError:
                    continue

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(timeout=10) == -signal.SIGKILL

    def snapshot(self) -> None:
        """What default persistence does now and then: write the RDB file."""
        with redis.Redis.from_url(self.url) as client:
            client.save()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path)
    srv.start()
    yield srv
    srv.stop()


def reconnected(store: RedisStore) -> None:
    """Use the store until its pooled connection to the killed server is replaced."""
    for _ in range(3):
        try:
            store.keys()
            return
        except StoreUnavailableError:
            continue
    store.keys()


def test_a_delta_onto_an_older_snapshot_is_refused(server: Server) -> None:
    store = RedisStore(server.url, name="ctx")
    ctx = Context({"a": 1})
    save(ctx, store)
    server.snapshot()  # the last state on disk: a = 1
    ctx.set("a", 2)
    save_delta(ctx, store)  # acknowledged, only in memory
    server.kill()
    server.start()
    reconnected(store)
    assert load(RedisStore(server.url, name="ctx")).to_dict() == {"a": 1}  # the loss

    ctx.set("b", 3)
    with pytest.raises(StoreDataLostError, match="lost data: it holds generation 1") as info:
        save_delta(ctx, store)
    assert "\n" not in str(info.value)
    with RedisStore(server.url, name="ctx") as other:
        assert load(other).to_dict() == {"a": 1}  # nothing was written
    assert ctx.dirty_keys == {"b"}

    save(ctx, store)  # the caller chooses the context as the truth: a full save is allowed
    save_delta(ctx, store)
    with RedisStore(server.url, name="ctx") as other:
        assert load(other).to_dict() == {"a": 2, "b": 3}
    store.close()


def test_a_delta_onto_a_store_that_came_back_empty_is_refused(server: Server) -> None:
    store = RedisStore(server.url, name="ctx")
    ctx = Context({"a": 1})
    save(ctx, store)  # never snapshotted
    server.kill()
    server.start()
    reconnected(store)
    ctx.set("a", 2)
    with pytest.raises(StoreDataLostError, match="it holds no data at all"):
        save_delta(ctx, store)
    assert store.keys() == []
    store.close()


def test_loading_again_accepts_the_surviving_state(server: Server) -> None:
    store = RedisStore(server.url, name="ctx")
    save(Context({"a": 1}), store)
    server.snapshot()
    save_delta(Context({"a": 9}), store)
    server.kill()
    server.start()
    reconnected(store)
    ctx = load(store)  # the caller chooses the store as the truth
    ctx.set("b", 2)
    save_delta(ctx, store)
    assert load(store).to_dict() == {"a": 1, "b": 2}
    store.close()


def test_other_writers_are_not_mistaken_for_lost_data(server: Server) -> None:
    one, two = RedisStore(server.url, name="ctx"), RedisStore(server.url, name="ctx")
    first, second = Context(), Context()
    for i in range(5):
        first.set(f"one.k{i}", i)
        save_delta(first, one)
        second.set(f"two.k{i}", i)
        save_delta(second, two)
    save(second, two)  # a full save elsewhere keeps the epoch and moves the generation on
    first.set("one.last", 1)
    save_delta(first, one)
    assert load(one).keys("one") == ["one.last"]
    assert one.generation[0] == two.generation[0] is not None
    assert one.generation[1] > two.generation[1]
    one.close()
    two.close()
