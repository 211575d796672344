"""The contract every backend passes: the same tests against memory, JSON file, SQLite
and a real Redis server."""

from __future__ import annotations

import math
from typing import Any

import pytest

from context_lib import Context, InvalidKeyError, NotSerializableError
from context_lib.persistence import (
    BatchStore,
    HistoryMismatchError,
    SaveResult,
    Store,
    StoreClosedError,
    StoreError,
    load,
    save,
    save_delta,
)
from context_lib.persistence._common import BackendStore
from tests.context_lib.helpers import ticking_clock
from tests.context_lib.persistence.conftest import Opener

NESTED: dict[str, Any] = {
    "app.name": "démo ✓",
    "app.config": {"retries": 3, "hosts": ["a", "b"], "limits": {"cpu": 1.5, "mem": None}},
    "app.flags": [True, False, None, 0, 1, 1.0, "1"],
    "big.int": 2**100,
    "neg.big": -(3**50),
    "empty.list": [],
    "empty.dict": {},
    "deep.value": [[[{"x": [1, [2, [3]]]}]]],
}


def test_backends_satisfy_both_protocols(store: BackendStore) -> None:
    assert isinstance(store, Store)
    assert isinstance(store, BatchStore)


def test_nested_json_values_round_trip_exactly(store: BackendStore) -> None:
    store.put_many(NESTED)
    for key, value in NESTED.items():
        got = store.get(key)
        assert got == value
        assert type(got) is type(value)
    assert store.get_many(NESTED) == NESTED
    assert store.items() == NESTED
    # 1, 1.0 and True stay distinct values
    assert [type(v) for v in store.get("app.flags")] == [
        bool,
        bool,
        type(None),
        int,
        int,
        float,
        str,
    ]


def test_values_read_back_are_copies(store: BackendStore) -> None:
    store.put_many({"a": {"list": [1]}})
    first = store.get("a")
    first["list"].append(2)
    assert store.get("a") == {"list": [1]}


def test_get_of_absent_key_raises_key_error(store: BackendStore) -> None:
    with pytest.raises(KeyError):
        store.get("nope")


def test_put_many_reports_the_encoded_size(store: BackendStore) -> None:
    written = store.put_many({"a.b": 1, "name": "xy"})
    assert written == len("a.b") + len("1") + len("name") + len('"xy"')


def test_put_many_overwrites(store: BackendStore) -> None:
    store.put_many({"a": 1, "b": 2})
    store.put_many({"a": 10})
    assert store.items() == {"a": 10, "b": 2}


def test_delete_many_ignores_absent_keys(store: BackendStore) -> None:
    store.put_many({"a": 1, "b": 2, "c": 3})
    store.delete_many(["a", "c", "missing"])
    assert store.keys() == ["b"]
    store.delete_many([])
    assert store.keys() == ["b"]


def test_keys_under_a_prefix_are_exactly_that_namespace(store: BackendStore) -> None:
    store.put_many({"net.a": 1, "net.b.c": 2, "net": 0, "network.x": 3, "nes.t": 4})
    assert store.keys("net") == ["net.a", "net.b.c"]
    assert store.keys("net.b") == ["net.b.c"]
    assert store.keys() == sorted(["net.a", "net.b.c", "net", "network.x", "nes.t"])
    assert store.keys("zzz") == []


@pytest.mark.parametrize("bad", ["", "a..b", ".a", "a b", "a/b"])
def test_bad_keys_are_refused_and_nothing_is_written(store: BackendStore, bad: str) -> None:
    with pytest.raises(InvalidKeyError):
        store.put_many({"good": 1, bad: 2})
    assert store.keys() == []
    with pytest.raises(InvalidKeyError):
        store.keys(bad or "..")
    with pytest.raises(InvalidKeyError):
        store.delete_many([bad])


@pytest.mark.parametrize("bad", [{1, 2}, math.nan, math.inf, object(), {"k": {1: "x"}}])
def test_values_that_are_not_json_are_refused_whole(store: BackendStore, bad: object) -> None:
    store.put_many({"keep": "me"})
    with pytest.raises(NotSerializableError, match="bad"):
        store.put_many({"first": 1, "bad": bad})
    assert store.items() == {"keep": "me"}


def test_a_key_both_set_and_deleted_is_refused(store: BackendStore) -> None:
    with pytest.raises(StoreError, match="both set and deleted"):
        store.write({"a": 1}, ["a"])
    assert store.keys() == []


def test_closed_store_refuses_use(reopen: Opener) -> None:
    store = reopen()
    with store:
        store.put_many({"a": 1})
    with pytest.raises(StoreClosedError, match="closed"):
        store.get("a")
    with pytest.raises(StoreClosedError):
        store.put_many({"b": 1})
    store.close()  # closing twice is harmless


# ---------------------------------------------------------------- context level


def test_save_and_load_round_trip(store: BackendStore) -> None:
    ctx = Context(NESTED)
    result = save(ctx, store)
    assert result.keys == len(NESTED)
    assert result.bytes > 0
    assert ctx.dirty_keys == frozenset()
    loaded = load(store)
    assert loaded == ctx
    assert loaded.dirty_keys == frozenset()
    assert len(loaded.history) == 0


def test_full_save_removes_keys_the_context_no_longer_has(store: BackendStore) -> None:
    store.put_many({"stale": 1, "a": 0})
    save(Context({"a": 1}), store)
    assert store.items() == {"a": 1}


def test_save_delta_writes_only_dirty_sets_and_deletes(store: BackendStore) -> None:
    ctx = Context({"a": 1, "b": 2, "c": 3})
    save_delta(ctx, store)
    ctx.set("a", 10)
    ctx.delete("b")
    result = save_delta(ctx, store)
    assert result == SaveResult(keys=2, bytes=len("a") + len("10") + len("b"), history=0)
    assert store.items() == {"a": 10, "c": 3}
    assert ctx.dirty_keys == frozenset()
    assert save_delta(ctx, store) == SaveResult(0, 0, 0)


def test_ten_thousand_key_delta(store: BackendStore) -> None:
    ctx = Context({f"k.n{i}": {"i": i, "sq": [i, i * i]} for i in range(10_000)})
    first = save_delta(ctx, store)
    assert first.keys == 10_000
    for i in range(0, 10_000, 2):
        ctx.set(f"k.n{i}", i)
    for i in range(1, 10_000, 10):
        ctx.delete(f"k.n{i}")
    second = save_delta(ctx, store)
    assert second.keys == 5_000 + 1_000
    assert second.bytes < first.bytes
    assert load(store) == ctx
    assert len(store.keys("k")) == 9_000


class _FailingStore(BackendStore):
    """Wraps a store and fails the next write, after the payload was validated."""

    def __init__(self, inner: BackendStore) -> None:
        super().__init__()
        self.inner = inner
        self.fail = True

    def _describe(self) -> str:
        return "FailingStore"

    def _get_texts(self, keys: list[str]) -> dict[str, str | bytes]:
        return self.inner._get_texts(keys)

    def _all_texts(self) -> dict[str, str | bytes]:
        return self.inner._all_texts()

    def _keys(self, bounds: tuple[str, str] | None) -> list[str]:
        return self.inner._keys(bounds)

    def _write(self, *args: Any) -> None:
        if self.fail:
            raise OSError("disk full")
        self.inner._write(*args)

    def _history_texts(self, start: int, stop: int | None) -> list[str | bytes]:
        return self.inner._history_texts(start, stop)

    def _history_length(self) -> int:
        return self.inner._history_length()

    def _close(self) -> None:
        self.inner.close()


def test_a_failed_delta_write_loses_nothing(store: BackendStore) -> None:
    ctx = Context({"a": 1})
    save_delta(ctx, store)
    ctx.set("a", 2)
    ctx.set("b", 3)
    ctx.delete("a")
    failing = _FailingStore(store)
    with pytest.raises(OSError, match="disk full"):
        save_delta(ctx, failing)
    assert ctx.dirty_keys == {"a", "b"}
    assert store.items() == {"a": 1}
    failing.fail = False
    assert save_delta(ctx, failing).keys == 2
    assert store.items() == {"b": 3}
    assert ctx.dirty_keys == frozenset()


def test_a_failed_full_save_keeps_dirty_keys(store: BackendStore) -> None:
    ctx = Context({"a": 1})
    failing = _FailingStore(store)
    with pytest.raises(OSError):
        save(ctx, failing)
    assert ctx.dirty_keys == {"a"}
    assert store.keys() == []


def test_changes_made_after_the_marks_stay_dirty(store: BackendStore) -> None:
    ctx = Context({"a": 1})
    marks = ctx.dirty_marks()
    ctx.set("a", 2)  # changed again before the save clears the marks
    save_delta(ctx, store)
    ctx.mark_clean(marks)
    assert store.get("a") == 2
    assert ctx.dirty_keys == frozenset()  # save_delta took fresh marks


# ---------------------------------------------------------------- audit trail


def test_history_survives_a_restart_and_continues(reopen: Opener) -> None:
    store = reopen()
    ctx = Context(clock=ticking_clock())
    ctx.set("a", 1, who="alice")
    ctx.set("b", {"x": [1]}, who="bob")
    assert save_delta(ctx, store, with_history=True).history == 2
    ctx.delete("a", who="alice")
    assert save_delta(ctx, store, with_history=True).history == 1
    assert store.history_length() == 3

    restored = load(store, with_history=True, clock=ticking_clock(5000))
    assert [(c.seq, c.key, c.op, c.who) for c in restored.history] == [
        (1, "a", "set", "alice"),
        (2, "b", "set", "bob"),
        (3, "a", "delete", "alice"),
    ]
    assert restored.history[1].after == {"x": [1]}
    restored.set("c", 3, who="carol")
    assert save_delta(restored, store, with_history=True).history == 1
    assert [r[0] for r in store.read_history()] == [1, 2, 3, 4]
    assert store.read_history(3) == [[4, 5000.0, "c", "set", None, 3, "carol"]]


def test_saving_history_that_does_not_continue_the_trail_is_refused(store: BackendStore) -> None:
    ctx = Context(clock=ticking_clock())
    ctx.set("a", 1, who="w")
    ctx.set("b", 2, who="w")
    save_delta(ctx, store, with_history=True)
    stranger = load(store)  # loaded without its history
    stranger.set("c", 3)
    with pytest.raises(HistoryMismatchError, match="does not continue"):
        save_delta(stranger, store, with_history=True)
    other = Context(clock=ticking_clock(9000))
    other.set("x", 1)
    other.set("y", 1)
    other.set("z", 1)
    with pytest.raises(HistoryMismatchError, match="differs"):
        save_delta(other, store, with_history=True)
    assert store.keys() == ["a", "b"]  # nothing written
    assert stranger.dirty_keys == {"c"}


def test_a_concurrent_append_is_detected_inside_the_transaction(store: BackendStore) -> None:
    with pytest.raises(HistoryMismatchError) as info:
        store.write({"a": 1}, history=[[1, 1.0, "a", "set", None, 1, None]], history_at=5)
    assert (info.value.stored, info.value.expected) == (0, 5)
    assert store.keys() == []


def test_full_save_with_history_replaces_the_trail(store: BackendStore) -> None:
    old = Context(clock=ticking_clock())
    old.set("a", 1)
    old.set("a", 2)
    save(old, store, with_history=True)
    new = Context(clock=ticking_clock(100))
    new.set("b", 1, who="fresh")
    assert save(new, store, with_history=True).history == 1
    assert store.read_history() == [[1, 100.0, "b", "set", None, 1, "fresh"]]
    assert load(store, with_history=True).history[0].who == "fresh"


def test_history_ranges(store: BackendStore) -> None:
    ctx = Context(clock=ticking_clock())
    for i in range(5):
        ctx.set("k", i)
    save_delta(ctx, store, with_history=True)
    assert [r[0] for r in store.read_history(1, 3)] == [2, 3]
    assert store.read_history(4, 4) == []
    assert store.read_history(10) == []
    with pytest.raises(StoreError, match="bad history range"):
        store.read_history(3, 1)


# ---------------------------------------------------------------- durability


def test_reopen_after_close(reopen_durable: Opener) -> None:
    ctx = Context(NESTED, clock=ticking_clock())
    with reopen_durable() as first:
        save_delta(ctx, first, with_history=True)
    with reopen_durable() as second:
        assert load(second) == ctx
        assert len(load(second, with_history=True).history) == len(NESTED)


def test_two_handles_see_each_others_writes(reopen_durable: Opener) -> None:
    one, two = reopen_durable(), reopen_durable()
    one.put_many({"a": 1})
    assert two.get("a") == 1
    two.put_many({"b": 2})
    two.delete_many(["a"])
    assert one.items() == {"b": 2}


def test_values_orjson_cannot_encode_round_trip(store: BackendStore) -> None:
    huge = 10**5000 + 1  # past Python's int-to-str digit limit
    store.put_many({"lone": "\ud800", "huge": [huge, {"z": -huge, "a": 1}]})
    assert store.get("lone") == "\ud800"
    assert store.get("huge") == [huge, {"a": 1, "z": -huge}]
