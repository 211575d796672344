"""Performance patterns over any :class:`~context_lib.persistence.base.Store`.

* :class:`CachedStore` — an LRU read-through / write-through cache with hit, miss and
  eviction counters;
* :class:`LazyContext` — a Context that fetches each value on first access;
* :class:`Metrics` — per-operation counts and latency percentiles over a sliding window;
* :class:`ConsistentHashRing` and :class:`ShardedStore` — keys partitioned over N stores,
  moving about 1/N of them when a node joins or leaves.

Errors derive from :class:`PatternError` (a :class:`~context_lib.ContextError`).
"""

from context_lib.patterns.cache import CachedStore, CacheStats
from context_lib.patterns.errors import PatternError, ShardWriteError, UnknownNodeError
from context_lib.patterns.hashring import ConsistentHashRing
from context_lib.patterns.lazy import LazyContext
from context_lib.patterns.metrics import Metrics, OperationStats
from context_lib.patterns.sharding import RebalanceReport, ShardedStore

__all__ = [
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
]
