from __future__ import annotations

import context_lib.patterns as patterns


def test_public_names_are_curated_sorted_and_documented() -> None:
    assert patterns.__all__ == sorted(patterns.__all__)
    assert set(patterns.__all__) == {
        "CacheStats",
        "CachedStore",
        "ConsistentHashRing",
        "LazyContext",
        "Metrics",
        "OperationStats",
        "PatternError",
        "RebalanceReport",
        "ShardWriteError",
        "ShardedStore",
        "UnknownNodeError",
    }
    for name in patterns.__all__:
        assert getattr(patterns, name).__doc__, name
