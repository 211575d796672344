"""The curated public namespaces of persistence, merge and runner: sorted, present, documented."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "context_lib.persistence",
    "context_lib.merge",
    "context_lib.runner",
    "context_lib.examples",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_complete_and_documented(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), n))
    for attr in exported:
        obj = getattr(module, attr)
        if callable(obj):
            assert obj.__doc__, f"{name}.{attr} has no docstring"


def test_persistence_exports_the_contract_names() -> None:
    import context_lib.persistence as persistence

    for attr in (
        "Store",
        "MemoryStore",
        "JsonFileStore",
        "SQLiteStore",
        "RedisStore",
        "open_store",
        "save",
        "save_delta",
        "load",
        "StoreError",
    ):
        assert attr in persistence.__all__
