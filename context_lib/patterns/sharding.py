"""``ShardedStore``: keys partitioned over several stores by a consistent-hash ring."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from context_lib.patterns.errors import PatternError, ShardWriteError, UnknownNodeError
from context_lib.patterns.hashring import ConsistentHashRing
from context_lib.persistence.base import Store
from context_lib.values import check_key, check_prefix

__all__ = ["RebalanceReport", "ShardedStore"]

_ABSENT: Any = object()


@dataclass
class RebalanceReport:
    """What :meth:`ShardedStore.rebalance` moved: ``moves[(source, target)] = count``."""

    moves: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def moved(self) -> int:
        """The number of keys moved in total."""
        return sum(self.moves.values())


class ShardedStore:
    """A :class:`~context_lib.persistence.Store` that spreads keys over ``stores``.

    ``stores`` maps node names to stores (a sequence is named ``shard-0``, ``shard-1``…).
    Each key lives in exactly one store, the one :class:`ConsistentHashRing` picks, so
    adding a node moves about 1/N of the keys. After :meth:`add_node` or
    :meth:`remove_node`, :meth:`rebalance` moves exactly the keys whose owner changed.

    ``put_many`` and ``delete_many`` are one transaction *per shard*. When a shard fails,
    the shards already written are restored to their previous values and
    :class:`ShardWriteError` is raised: a compensation, not a distributed transaction.
    Operations take one lock, so a rebalance never races with a write.
    """

    def __init__(self, stores: Mapping[str, Store] | Sequence[Store], vnodes: int = 160) -> None:
        named = (
            dict(stores)
            if isinstance(stores, Mapping)
            else {f"shard-{i}": s for i, s in enumerate(stores)}
        )
        if not named:
            raise PatternError("a sharded store needs at least one store")
        self._stores: dict[str, Store] = named
        self.ring = ConsistentHashRing(named, vnodes=vnodes)
        self._lock = threading.RLock()

    @property
    def stores(self) -> dict[str, Store]:
        """The shards by node name."""
        return dict(self._stores)

    def store_for(self, key: str) -> Store:
        """The shard that owns ``key``."""
        return self._stores[self.ring.node_for(check_key(key))]

    # ------------------------------------------------------------------ Store protocol

    def get(self, key: str) -> Any:
        """The value at ``key`` from its shard; ``KeyError`` when absent."""
        with self._lock:
            return self.store_for(key).get(key)

    def put_many(self, items: Mapping[str, Any]) -> int:
        """Write ``items``, each to its shard; all or nothing (see the class notes)."""
        with self._lock:  # owners are looked up under the lock a rebalance takes too
            groups: dict[str, dict[str, Any]] = defaultdict(dict)
            for key, value in items.items():
                groups[self.ring.node_for(check_key(key))][key] = value
            return self._write(groups, {})

    def delete_many(self, keys: Iterable[str]) -> None:
        """Delete ``keys`` from their shards; all or nothing (see the class notes)."""
        with self._lock:
            groups: dict[str, list[str]] = defaultdict(list)
            for key in keys:
                groups[self.ring.node_for(check_key(key))].append(key)
            self._write({}, groups)

    def _write(self, puts: dict[str, dict[str, Any]], deletes: dict[str, list[str]]) -> int:
        done: list[tuple[str, dict[str, Any]]] = []  # (node, previous values) to restore
        written = 0
        nodes = sorted(set(puts) | set(deletes))
        for position, node in enumerate(nodes):
            store = self._stores[node]
            # Previous values are needed only to restore this shard if a later one fails.
            last = position == len(nodes) - 1
            touched = [*puts.get(node, {}), *deletes.get(node, [])]
            before = {} if last else {k: _read(store, k) for k in touched}
            try:
                if node in puts:
                    written += store.put_many(puts[node])
                if node in deletes:
                    store.delete_many(deletes[node])
            except Exception as exc:
                self._restore(done)
                raise ShardWriteError(node, exc) from exc
            done.append((node, before))
        return written

    def _restore(self, done: list[tuple[str, dict[str, Any]]]) -> None:
        for node, before in reversed(done):
            store = self._stores[node]
            store.put_many({k: v for k, v in before.items() if v is not _ABSENT})
            store.delete_many([k for k, v in before.items() if v is _ABSENT])

    def keys(self, prefix: str | None = None) -> list[str]:
        """Every shard's keys (or those under ``prefix.``), sorted."""
        if prefix is not None:
            check_prefix(prefix)
        with self._lock:
            return sorted(k for store in self._stores.values() for k in store.keys(prefix))

    def close(self) -> None:
        """Close every shard."""
        with self._lock:
            for store in self._stores.values():
                store.close()

    def __enter__(self) -> ShardedStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ membership

    def add_node(self, name: str, store: Store, *, rebalance: bool = True) -> RebalanceReport:
        """Add a shard; by default move the keys it now owns to it and report the moves."""
        with self._lock:
            self.ring.add_node(name)
            self._stores[name] = store
            return self.rebalance() if rebalance else RebalanceReport()

    def remove_node(self, name: str) -> Store:
        """Move every key off shard ``name`` to its new owners, then drop the shard.

        Returns the removed store (not closed: it may be shared or still wanted).
        """
        with self._lock:
            if name not in self._stores:
                raise UnknownNodeError(name, list(self._stores))
            if len(self._stores) == 1:
                raise PatternError(f"cannot remove {name!r}: it is the only shard")
            self.ring.remove_node(name)
            self.rebalance()
            return self._stores.pop(name)

    def rebalance(self) -> RebalanceReport:
        """Move exactly the keys whose owner on the ring is not the shard holding them.

        Each batch is copied to its new shard before it is deleted from the old one,
        so an interruption can leave a key in two shards but never in none; running
        ``rebalance`` again finishes the job.
        """
        report = RebalanceReport()
        with self._lock:
            for source, store in list(self._stores.items()):
                moving: dict[str, list[str]] = defaultdict(list)
                for key in store.keys(None):
                    owner = self.ring.node_for(key)
                    if owner != source:
                        moving[owner].append(key)
                for target, keys in moving.items():
                    values = {k: store.get(k) for k in keys}
                    self._stores[target].put_many(values)
                    store.delete_many(keys)
                    report.moves[(source, target)] = len(keys)
        return report

    def __repr__(self) -> str:
        return f"<ShardedStore over {len(self._stores)} shard(s): {', '.join(self._stores)}>"


def _read(store: Store, key: str) -> Any:
    try:
        return store.get(key)
    except KeyError:
        return _ABSENT
