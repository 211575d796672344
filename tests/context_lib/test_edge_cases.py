"""Regressions for the library's edge cases (issue 17, item 10), each with the rule it keeps."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from context_lib import Context, ContextError, NotSerializableError, SnapshotError
from context_lib.patterns import LazyContext
from context_lib.persistence import (
    JsonFileStore,
    MemoryStore,
    StoreUnavailableError,
    load,
    save,
    save_delta,
)
from context_lib.runner import RecipeError, parse_recipe
from tests.context_lib.test_context_properties import flat_data, json_values, relaxed, segment


def deep_list(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


# ---------------------------------------------------------------------- nested round trip


@pytest.mark.parametrize(
    "data",
    [
        {"a": {"b": 1}},  # a dict value, not the namespace "a"
        {"0": {"": None}},  # a dict value whose key is no valid segment
        {"a": {"$value": 1}},  # a dict value that looks like the wrapper itself
        {"a.b": 1, "a.c": {"x": [1, {"y": 2}]}, "d": {}, "e": []},
    ],
)
def test_from_nested_of_to_nested_is_the_identity(data: dict[str, Any]) -> None:
    ctx = Context(data)
    assert Context.from_nested(ctx.to_nested()).to_dict() == data


def test_dict_values_are_wrapped_in_the_nested_form() -> None:
    nested = Context({"a": {"b": 1}, "c.d": 2}).to_nested()
    assert nested == {"a": {"$value": {"b": 1}}, "c": {"d": 2}}


@relaxed
@given(flat_data)
def test_nested_round_trip_holds_for_any_context(data: dict[str, Any]) -> None:
    ctx = Context(data)
    try:
        nested = ctx.to_nested()
    except ContextError as exc:  # one key is a prefix of another: refused, named
        assert "is a prefix of key" in str(exc)
        return
    # Same keys and values; the nested form groups keys by namespace, so order may differ.
    assert Context.from_nested(nested) == ctx


@relaxed
@given(st.dictionaries(segment, json_values, min_size=1, max_size=4))
def test_nested_round_trip_keeps_dict_values_under_namespaces(inner: dict[str, Any]) -> None:
    ctx = Context({f"ns.{k}": v for k, v in inner.items()})
    assert Context.from_nested(ctx.to_nested()) == ctx


def test_from_nested_refuses_hostile_depth_with_one_line() -> None:
    nested: dict[str, Any] = {"leaf": 1}
    for _ in range(5000):
        nested = {"n": nested}
    with pytest.raises(ContextError, match="namespaces nested deeper than 250 levels") as info:
        Context.from_nested(nested)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------- from_json depth


def snapshot_text(data: dict[str, Any], history: list[Any] | None = None) -> str:
    doc: dict[str, Any] = {"format": "context_lib.snapshot", "version": 1, "data": data}
    if history is not None:
        doc["history"] = history
    return json.dumps(doc)


def test_from_json_refuses_a_value_set_refuses_with_the_same_error() -> None:
    too_deep = deep_list(300)
    with pytest.raises(NotSerializableError) as by_set:
        Context().set("k", too_deep)
    with pytest.raises(NotSerializableError) as by_json:
        Context.from_json(snapshot_text({"k": too_deep}))
    assert by_json.value.problem == by_set.value.problem == "nested deeper than 250 levels"
    assert by_json.value.path.startswith("value['k'][0]")


def test_from_json_accepts_exactly_what_set_accepts_at_the_limit() -> None:
    ctx = Context()
    ctx.set("k", deep_list(250))
    restored = Context.from_json(ctx.to_json())
    assert restored == ctx
    with_history = Context.from_json(ctx.to_json(include_history=True))
    assert list(with_history.history) == list(ctx.history)
    with pytest.raises(NotSerializableError):
        Context().set("k", deep_list(251))
    with pytest.raises(NotSerializableError):
        Context.from_json(snapshot_text({"k": deep_list(251)}))


def test_from_json_refuses_too_deep_history_values() -> None:
    history = [[1, 1.0, "k", "set", None, deep_list(300), None]]
    with pytest.raises(NotSerializableError, match=r"history\[0\]\.after"):
        Context.from_json(snapshot_text({"k": 1}, history))


def test_restored_contexts_can_always_be_saved_again() -> None:
    ctx = Context.from_json(snapshot_text({"k": deep_list(250), "b": [2**80]}))
    store = MemoryStore()
    save(ctx, store)
    assert load(store) == ctx


def test_from_json_still_refuses_what_is_not_a_snapshot() -> None:
    for text in ("[" * 100_000, '{"big": 100000000000000000000, "x": ' + "[" * 100_000):
        with pytest.raises(SnapshotError, match="nested too deep") as info:
            Context.from_json(text)
        assert "\n" not in str(info.value)


# ---------------------------------------------------------------------- atomic and stores


@pytest.mark.parametrize("saver", [save, save_delta])
def test_saving_inside_atomic_is_refused_and_writes_nothing(saver: Any) -> None:
    store = MemoryStore()
    ctx = Context({"a": 1})
    save(ctx, store)
    with pytest.raises(ContextError, match=r"inside ctx\.atomic"), ctx.atomic():
        ctx.set("a", 2)
        saver(ctx, store)
    assert ctx.get("a") == 1  # the block was undone ...
    assert load(store).to_dict() == {"a": 1}  # ... and the store was never ahead of it


def test_an_error_after_the_block_leaves_store_and_context_in_step() -> None:
    store = MemoryStore()
    ctx = Context({"a": 1})
    save(ctx, store)
    with pytest.raises(RuntimeError), ctx.atomic():
        ctx.set("a", 2)
        raise RuntimeError("step failed")
    save_delta(ctx, store)  # after the block: nothing of the undone change is written
    assert load(store).to_dict() == ctx.to_dict() == {"a": 1}
    with ctx.atomic():
        ctx.set("a", 3)
    save_delta(ctx, store)
    assert load(store).to_dict() == {"a": 3}


def test_other_threads_may_save_while_a_block_runs_elsewhere() -> None:
    import threading

    store = MemoryStore()
    ctx = Context({"a": 1})
    inside, done = threading.Event(), threading.Event()
    outcome: list[object] = []

    def saver() -> None:
        inside.wait()
        outcome.append(save_delta(ctx, store))  # waits for the block, then saves
        done.set()

    thread = threading.Thread(target=saver)
    thread.start()
    with ctx.atomic():
        ctx.set("a", 2)
        inside.set()
    done.wait()
    thread.join()
    assert load(store).to_dict() == {"a": 2}
    assert len(outcome) == 1


def test_lazy_flush_inside_atomic_is_refused() -> None:
    store = MemoryStore()
    store.put_many({"a": 1})
    lazy = LazyContext(store)
    with pytest.raises(ContextError, match=r"flush inside ctx\.atomic"), lazy.atomic():
        lazy.set("a", 2)
        lazy.flush()
    assert store.get("a") == 1 and lazy.get("a") == 1


# ---------------------------------------------------------------------- OS errors


def _fail_with(code: int) -> Any:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise OSError(code, os.strerror(code), str(args[0]) if args else None)

    return fail


@pytest.mark.parametrize(
    ("target", "code", "reason"),
    [
        ((os, "fsync"), errno.ENOSPC, "No space left on device"),
        ((tempfile, "mkstemp"), errno.EROFS, "Read-only file system"),
    ],
)
def test_json_file_store_turns_disk_errors_into_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    target: tuple[Any, str],
    code: int,
    reason: str,
) -> None:
    path = tmp_path / "state.json"
    ctx = Context({"a": 1})
    with JsonFileStore(path) as store:
        save(ctx, store)
        before = path.read_bytes()
        ctx.set("a", 2)
        with monkeypatch.context() as patch:
            patch.setattr(*target, _fail_with(code))
            with pytest.raises(StoreUnavailableError) as info:
                save_delta(ctx, store)
        message = str(info.value)
        assert "\n" not in message and reason in message and "JsonFileStore" in message
        assert path.read_bytes() == before  # nothing half-written
        assert ctx.dirty_keys == {"a"}  # nothing lost: the next save writes it
        save_delta(ctx, store)
    with JsonFileStore(path) as again:
        assert load(again).to_dict() == {"a": 2}


def test_json_file_store_read_errors_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.json"
    with JsonFileStore(path) as store:
        store.put_many({"a": 1})
    monkeypatch.setattr(Path, "read_bytes", _fail_with(errno.EIO))
    with pytest.raises(StoreUnavailableError, match="cannot read the file: Input/output error"):
        JsonFileStore(path)


# ---------------------------------------------------------------------- recipes


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize("levels", [1_000, 20_000])
def test_deep_recipe_params_give_one_line(fmt: str, levels: int) -> None:
    deep = "[" * levels + "]" * levels
    text = json.dumps({"steps": [{"name": "a", "scriptlet": "x:y", "params": {"p": 0}}]})
    text = text.replace('{"p": 0}', f'{{"p": {deep}}}')
    with pytest.raises(RecipeError, match="nested too deep") as info:
        parse_recipe(text, format=fmt)
    assert "\n" not in str(info.value)
