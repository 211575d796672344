from __future__ import annotations

import pytest

from context_lib.patterns import ConsistentHashRing, PatternError, UnknownNodeError

KEYS = [f"user.{i}.profile" for i in range(100_000)]


def owners(ring: ConsistentHashRing) -> list[str]:
    return [ring.node_for(k) for k in KEYS]


def test_adding_an_eleventh_node_moves_about_one_eleventh_of_keys() -> None:
    ring = ConsistentHashRing([f"node-{i}" for i in range(10)])
    before = owners(ring)
    ring.add_node("node-10")
    after = owners(ring)
    moved = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert 0.06 <= len(moved) / len(KEYS) <= 0.12
    assert {b for _, b in moved} == {"node-10"}  # keys only move to the new node


def test_removing_a_node_moves_only_its_keys() -> None:
    ring = ConsistentHashRing([f"node-{i}" for i in range(10)])
    before = owners(ring)
    ring.remove_node("node-3")
    after = owners(ring)
    for a, b in zip(before, after, strict=True):
        assert (a == b) != (a == "node-3")
    moved = sum(a != b for a, b in zip(before, after, strict=True))
    assert 0.06 <= moved / len(KEYS) <= 0.14


def test_load_is_balanced_and_placement_is_deterministic() -> None:
    names = [f"node-{i}" for i in range(10)]
    ring = ConsistentHashRing(names)
    counts = ring.distribution(KEYS)
    assert set(counts) == set(names)
    assert max(counts.values()) / min(counts.values()) < 1.6
    assert owners(ConsistentHashRing(reversed(names)))[:1000] == owners(ring)[:1000]


def test_misuse_is_reported() -> None:
    with pytest.raises(PatternError, match="no nodes"):
        ConsistentHashRing().node_for("a")
    ring = ConsistentHashRing(["a"])
    with pytest.raises(PatternError, match="already on the ring"):
        ring.add_node("a")
    with pytest.raises(UnknownNodeError, match="known nodes: a") as info:
        ring.remove_node("b")
    assert info.value.node == "b"
    with pytest.raises(PatternError, match="vnodes"):
        ConsistentHashRing(vnodes=0)
    with pytest.raises(PatternError, match="non-empty"):
        ring.add_node("")
    assert "a" in ring and len(ring) == 1 and ring.nodes == ["a"]
