"""The ``Store`` protocol: key-level storage that context-level operations build on.

A store maps keys (dotted context keys) to JSON values. Backends implement these five
methods; ``save``, ``save_delta`` and ``load`` (in this package) and the patterns in
``context_lib.patterns`` (caching, lazy loading, sharding) work with any of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Store(Protocol):
    """Key-level storage of JSON values.

    * ``get(key)`` returns the value or raises ``KeyError`` when the key is absent.
    * ``put_many(items)`` writes all items in one transaction and returns the number of
      bytes written (the encoded size of what it stored).
    * ``delete_many(keys)`` deletes those keys in one transaction (absent keys are ignored).
    * ``keys(prefix=None)`` lists the stored keys, or those under ``prefix.``.
    * ``close()`` releases the backend; a store is also a context manager.
    """

    def get(self, key: str) -> Any: ...

    def put_many(self, items: Mapping[str, Any]) -> int: ...

    def delete_many(self, keys: Iterable[str]) -> None: ...

    def keys(self, prefix: str | None = None) -> list[str]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Store: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
