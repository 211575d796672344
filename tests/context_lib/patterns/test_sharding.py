from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from context_lib.patterns import (
    PatternError,
    ShardedStore,
    ShardWriteError,
    UnknownNodeError,
)
from context_lib.persistence.base import Store
from tests.context_lib.patterns.stores import SpyStore


def make(n: int) -> tuple[ShardedStore, dict[str, SpyStore]]:
    shards = {f"node-{i}": SpyStore() for i in range(n)}
    return ShardedStore(shards), shards


def test_each_key_lives_in_exactly_its_owner_shard() -> None:
    sharded, shards = make(4)
    assert isinstance(sharded, Store)
    items = {f"k.{i}": i for i in range(400)}
    assert sharded.put_many(items) > 0
    for key, value in items.items():
        holders = [name for name, s in shards.items() if key in s.inner.keys(None)]
        assert holders == [sharded.ring.node_for(key)]
        assert sharded.get(key) == value
    assert all(len(s.keys()) > 50 for s in shards.values())
    assert sharded.keys() == sorted(items)
    assert sharded.keys("k") == sorted(items)


def test_delete_and_missing_keys() -> None:
    sharded, _ = make(3)
    sharded.put_many({"a": 1, "b": 2, "c": 3})
    sharded.delete_many(["a", "b", "zzz"])
    assert sharded.keys() == ["c"]
    with pytest.raises(KeyError):
        sharded.get("a")


def test_rebalance_moves_exactly_the_keys_whose_owner_changed() -> None:
    sharded, _ = make(10)
    items = {f"user.{i}": i for i in range(5_000)}
    sharded.put_many(items)
    before = {k: sharded.ring.node_for(k) for k in items}
    report = sharded.add_node("node-10", SpyStore())
    after = {k: sharded.ring.node_for(k) for k in items}
    changed = {k for k in items if before[k] != after[k]}
    assert report.moved == len(changed)
    assert 0.06 <= len(changed) / len(items) <= 0.12
    assert set(sharded.stores["node-10"].keys()) == changed
    assert all(target == "node-10" for _, target in report.moves)
    assert {k: sharded.get(k) for k in items} == items  # nothing lost
    assert sum(len(s.keys()) for s in sharded.stores.values()) == len(items)  # nothing doubled


def test_remove_node_moves_its_keys_to_the_others() -> None:
    sharded, shards = make(4)
    items = {f"user.{i}": i for i in range(1_000)}
    sharded.put_many(items)
    leaving = shards["node-2"]
    held = set(leaving.keys())
    removed = sharded.remove_node("node-2")
    assert removed is leaving and leaving.keys() == [] and not leaving.closed
    assert "node-2" not in sharded.stores
    assert {k: sharded.get(k) for k in items} == items
    assert held  # the removed shard did hold keys, which moved
    with pytest.raises(UnknownNodeError):
        sharded.remove_node("node-2")


def test_a_failing_shard_restores_the_shards_written_before_it() -> None:
    sharded, shards = make(3)
    original = {f"k{i}": 0 for i in range(60)}
    sharded.put_many(original)
    last = sorted(shards)[-1]
    shards[last].fail_writes = True
    update = {k: 1 for k in original} | {"fresh": 1}
    with pytest.raises(ShardWriteError, match=last) as info:
        sharded.put_many(update)
    assert info.value.node == last
    shards[last].fail_writes = False
    assert {k: sharded.get(k) for k in original} == original
    assert "fresh" not in sharded.keys(None)
    shards[last].fail_writes = True
    with pytest.raises(ShardWriteError):
        sharded.delete_many(list(original))
    shards[last].fail_writes = False
    assert sorted(sharded.keys()) == sorted(original)


def test_construction_from_a_sequence_and_errors() -> None:
    sharded = ShardedStore([SpyStore(), SpyStore()])
    assert sorted(sharded.stores) == ["shard-0", "shard-1"]
    with pytest.raises(PatternError, match="at least one"):
        ShardedStore({})
    with pytest.raises(PatternError, match="only shard"):
        ShardedStore([SpyStore()]).remove_node("shard-0")
    with sharded:
        pass
    assert all(s.closed for s in sharded.stores.values())  # type: ignore[attr-defined]


def test_a_node_added_while_a_write_is_routed_loses_no_key() -> None:
    sharded, _ = make(2)
    adder = threading.Thread(target=sharded.add_node, args=("node-new", SpyStore()))
    data = {f"k.{i}": i for i in range(300)}

    class Items(dict[str, int]):
        def items(self) -> Iterator[tuple[str, int]]:  # type: ignore[override]
            yield from super().items()
            # Every owner is chosen: a node joining now must wait for the write to land,
            # or the write would put keys on shards that no longer own them.
            adder.start()
            adder.join(0.5)

    sharded.put_many(Items(data))
    adder.join()
    assert "node-new" in sharded.stores
    assert {key: sharded.get(key) for key in data} == data
