"""``ConsistentHashRing``: which node owns a key, moving few keys when nodes change.

Each node is placed on a ring of 64-bit positions at ``vnodes`` pseudo-random points
(BLAKE2b of ``"node#i"``); a key belongs to the first node point at or after the
key's own position. Adding an (N+1)th node therefore moves about 1/(N+1) of the keys,
all of them to the new node, and removing a node moves only that node's keys. The
hash is stable across processes and machines (it is not Python's salted ``hash``).
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Iterable
from hashlib import blake2b

from context_lib.patterns.errors import PatternError, UnknownNodeError

__all__ = ["ConsistentHashRing"]


def _position(text: str) -> int:
    return int.from_bytes(blake2b(text.encode(), digest_size=8).digest(), "big")


class ConsistentHashRing:
    """Map keys to nodes by consistent hashing with ``vnodes`` points per node.

    >>> ring = ConsistentHashRing(["a", "b", "c"])
    >>> ring.node_for("user.42") in {"a", "b", "c"}
    True
    >>> ring.node_for("user.42") == ConsistentHashRing(["c", "b", "a"]).node_for("user.42")
    True
    """

    def __init__(self, nodes: Iterable[str] = (), vnodes: int = 160) -> None:
        if isinstance(vnodes, bool) or not isinstance(vnodes, int) or vnodes < 1:
            raise PatternError(f"vnodes must be a positive integer, not {vnodes!r}")
        self.vnodes = vnodes
        self._lock = threading.Lock()
        self._nodes: list[str] = []
        # (sorted positions, owner of the point at the same index), swapped as one object
        self._table: tuple[list[int], list[str]] = ([], [])
        for node in nodes:
            self.add_node(node)

    @property
    def nodes(self) -> list[str]:
        """The node names, in the order they were added."""
        return list(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, node: object) -> bool:
        return node in self._nodes

    def add_node(self, node: str) -> None:
        """Put ``node`` on the ring; it takes over about 1/N of the keys."""
        if not isinstance(node, str) or not node:
            raise PatternError(f"a node name must be a non-empty string, not {node!r}")
        with self._lock:
            if node in self._nodes:
                raise PatternError(f"node {node!r} is already on the ring")
            points = dict(zip(*self._table, strict=True))
            for i in range(self.vnodes):
                position = _position(f"{node}#{i}")
                # A collision of 64-bit positions is astronomically unlikely; if it
                # happens, the smaller name keeps the point so every process agrees.
                if position not in points or node < points[position]:
                    points[position] = node
            self._rebuild(points)
            self._nodes.append(node)

    def remove_node(self, node: str) -> None:
        """Take ``node`` off the ring; only its keys move, to the other nodes."""
        with self._lock:
            if node not in self._nodes:
                raise UnknownNodeError(node, list(self._nodes))
            self._nodes.remove(node)
            points: dict[int, str] = {}
            for other in self._nodes:
                for i in range(self.vnodes):
                    position = _position(f"{other}#{i}")
                    if position not in points or other < points[position]:
                        points[position] = other
            self._rebuild(points)

    def _rebuild(self, points: dict[int, str]) -> None:
        ordered = sorted(points.items())
        self._table = ([p for p, _ in ordered], [n for _, n in ordered])

    def node_for(self, key: str) -> str:
        """The node that owns ``key``."""
        points, owners = self._table  # read once: writers swap the whole pair
        if not points:
            raise PatternError("the ring has no nodes; add one with add_node()")
        index = bisect.bisect_left(points, _position(key))
        return owners[index if index < len(points) else 0]

    def distribution(self, keys: Iterable[str]) -> dict[str, int]:
        """How many of ``keys`` each node owns (every node listed, even with 0)."""
        counts = Counter(self.node_for(k) for k in keys)
        return {node: counts.get(node, 0) for node in self._nodes}

    def __repr__(self) -> str:
        return f"<ConsistentHashRing {len(self._nodes)} node(s) × {self.vnodes} vnodes>"
