from __future__ import annotations

import pytest

from context_lib import Context, InvalidKeyError
from context_lib.patterns import LazyContext
from tests.context_lib.helpers import ticking_clock
from tests.context_lib.patterns.stores import SpyStore


def make() -> tuple[LazyContext, SpyStore]:
    store = SpyStore({"db.host": "h", "db.port": 5432, "app.tags": ["a"], "debug": True})
    return LazyContext(store, clock=ticking_clock()), store


def test_values_are_fetched_once_on_first_access() -> None:
    lazy, store = make()
    assert isinstance(lazy, Context)
    assert store.reads == [] and lazy.loaded_keys == frozenset()
    assert len(lazy) == 4 and "db.host" in lazy and "nope" not in lazy
    assert lazy.get("db.host") == "h"
    assert lazy["db.host"] == "h"
    assert store.reads == ["db.host"]
    assert lazy.loaded_keys == {"db.host"}
    assert lazy.unloaded_keys == {"db.port", "app.tags", "debug"}
    assert lazy.get("absent", 7) == 7
    with pytest.raises(KeyError):
        lazy["absent"]
    with pytest.raises(InvalidKeyError):
        lazy.get("bad key")


def test_loading_records_no_history_and_makes_nothing_dirty() -> None:
    lazy, _ = make()
    lazy.to_dict()
    assert len(lazy.history) == 0 and lazy.dirty_keys == frozenset()
    assert lazy.loaded_keys == {"db.host", "db.port", "app.tags", "debug"}


def test_changing_an_unloaded_key_records_the_stored_value_as_before() -> None:
    lazy, _ = make()
    lazy.set("db.port", 6543, who="ops")
    lazy.delete("debug", who="ops")
    lazy.set("db.host", "h")  # same as stored: records nothing
    assert [(c.key, c.op, c.before, c.after) for c in lazy.history] == [
        ("db.port", "set", 5432, 6543),
        ("debug", "delete", True, None),
    ]
    assert lazy.dirty_keys == {"db.port", "debug"}
    assert "debug" not in lazy and len(lazy) == 3


def test_values_are_copies() -> None:
    lazy, _ = make()
    tags = lazy.get("app.tags")
    tags.append("b")
    assert lazy.get("app.tags") == ["a"]


def test_whole_context_reads_see_every_stored_value() -> None:
    lazy, _ = make()
    assert lazy.namespace("db") == {"host": "h", "port": 5432}
    assert lazy.loaded_keys == {"db.host", "db.port"}
    assert sorted(lazy.keys()) == ["app.tags", "db.host", "db.port", "debug"]
    assert lazy.keys("db") == ["db.host", "db.port"]
    assert sorted(lazy) == sorted(lazy.keys())
    expected = {"db.host": "h", "db.port": 5432, "app.tags": ["a"], "debug": True}
    assert lazy == expected
    assert Context.from_json(lazy.to_json()) == expected
    assert lazy.to_nested()["db"] == {"host": "h", "port": 5432}
    assert sorted(lazy.items()) == sorted(expected.items())
    assert len(lazy.values()) == 4


def test_merging_into_and_from_a_lazy_context_uses_stored_values() -> None:
    lazy, _ = make()
    target = Context()
    report = target.merge_from(lazy)  # the core reads a lazy context through _merge_view
    assert target.to_dict() == lazy.to_dict()
    assert sorted(report.applied) == sorted(lazy.keys())

    lazy2, _ = make()
    report = lazy2.merge_from({"db.port": 1, "new": 2}, strategy="ours")
    assert [c.key for c in report.conflicts] == ["db.port"]
    assert lazy2.get("db.port") == 5432 and lazy2.get("new") == 2


def test_update_and_atomic_rollback() -> None:
    lazy, _ = make()
    lazy.update({"db.port": 1, "x": 2})
    assert lazy.get_history(key="db.port")[0].before == 5432
    lazy2, _ = make()
    with pytest.raises(RuntimeError), lazy2.atomic():
        lazy2.set("db.host", "changed")
        raise RuntimeError("step failed")
    assert lazy2.get("db.host") == "h" and len(lazy2.history) == 0
    assert len(lazy2) == 4


def test_flush_writes_dirty_keys_back() -> None:
    lazy, store = make()
    lazy.set("db.port", 1)
    lazy.delete("debug")
    lazy.set("new.key", {"a": 1})
    assert lazy.flush() > 0
    assert store.contents() == {
        "db.host": "h",
        "db.port": 1,
        "app.tags": ["a"],
        "new.key": {"a": 1},
    }
    assert lazy.dirty_keys == frozenset()
    assert lazy.flush() == 0


def test_a_key_removed_from_the_store_behind_our_back_is_absent() -> None:
    lazy, store = make()
    store.inner.delete_many(["debug"])
    assert lazy.get("debug") is None
    assert "debug" not in lazy and len(lazy) == 3


def test_prefix_limits_what_is_listed_and_constructors_return_plain_contexts() -> None:
    lazy = LazyContext(SpyStore({"a.x": 1, "b.y": 2}), prefix="a")
    assert lazy.keys() == ["a.x"]
    assert type(LazyContext.from_dict({"a": 1})) is Context
    assert type(LazyContext.from_json(Context({"a": 1}).to_json())) is Context
    assert type(LazyContext.from_nested({"a": {"b": 1}})) is Context
    assert "1 key(s), 0 loaded" in repr(lazy)


def test_a_key_that_is_not_a_string_is_an_invalid_key_as_in_a_context() -> None:
    lazy, _ = make()
    for use in (
        lambda: lazy.get(["db", "host"]),
        lambda: lazy[["db", "host"]],
        lambda: lazy.set(["db", "host"], 1),  # type: ignore[arg-type]
        lambda: lazy.delete(["db", "host"]),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidKeyError, match="keys are strings, not list"):
            use()
    assert ["db", "host"] not in lazy
    assert lazy.loaded_keys == frozenset() and not lazy.history
