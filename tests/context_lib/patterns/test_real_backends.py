"""The patterns over the real persistence backends (SQLite files, Redis)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from context_lib import Context
from context_lib.patterns import CachedStore, LazyContext, ShardedStore
from context_lib.persistence import SQLiteStore, Store, open_store


@pytest.fixture(params=["sqlite", "redis"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    opened: list[Store] = []
    counter = iter(range(1000))

    def make() -> Store:
        n = next(counter)
        if request.param == "sqlite":
            store: Store = SQLiteStore(tmp_path / f"shard{n}.db")
        else:
            url = request.getfixturevalue("redis_url")
            store = open_store(f"{url}?name=patterns-{secrets.token_hex(4)}-{n}")
        opened.append(store)
        return store

    yield make
    for store in opened:
        with contextlib.suppress(Exception):  # the test may have closed it already
            store.close()


def test_sharded_cached_lazy_stack(make_store: object) -> None:
    make = make_store  # a factory of fresh stores
    shards = {f"node-{i}": make() for i in range(3)}  # type: ignore[operator]
    sharded = ShardedStore(shards)
    cached = CachedStore(sharded, max_keys=50)
    items = {f"user.{i}.score": i for i in range(200)}
    cached.put_many(items)
    assert sorted(cached.keys()) == sorted(items)
    assert all(len(s.keys()) > 20 for s in shards.values())
    report = sharded.add_node("node-3", make())  # type: ignore[operator]
    cached.clear()
    assert report.moved == len(sharded.stores["node-3"].keys()) > 0
    assert {k: cached.get(k) for k in items} == items
    lazy = LazyContext(cached, prefix="user")
    assert lazy.get("user.7.score") == 7 and lazy.loaded_keys == {"user.7.score"}
    lazy.set("user.7.score", 70)
    lazy.flush()
    assert sharded.get("user.7.score") == 70
    assert Context(dict(items) | {"user.7.score": 70}) == lazy
