"""Keys, values, the mapping protocol, namespaces and nested ↔ flat conversion."""

from __future__ import annotations

import math

import pytest

from context_lib import Context, ContextError, InvalidKeyError, NotSerializableError

# ----------------------------------------------------------------- keys


@pytest.mark.parametrize("key", ["a", "network.latency_v1", "A-b_c.9.x-y", "0"])
def test_valid_keys_are_accepted(key: str) -> None:
    ctx = Context()
    ctx.set(key, 1)
    assert ctx.get(key) == 1
    assert key in ctx


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "cannot be empty"),
        (".a", "cannot start or end with '.'"),
        ("a.", "cannot start or end with '.'"),
        ("a..b", "empty segment"),
        ("a b", "segment 'a b' contains ' '"),
        ("net/latency", "contains '/'"),
        ("caf\u00e9", "contains '\u00e9'"),
    ],
)
def test_invalid_keys_raise_with_the_reason(key: str, reason: str) -> None:
    ctx = Context()
    with pytest.raises(InvalidKeyError, match=reason) as info:
        ctx.set(key, 1)
    assert info.value.key == key
    assert isinstance(info.value, ValueError)
    assert len(ctx) == 0 and not ctx.history


@pytest.mark.parametrize("key", [1, None, b"a", ("a",)])
def test_non_string_keys_raise_invalid_key(key: object) -> None:
    ctx = Context()
    with pytest.raises(InvalidKeyError, match="keys are strings"):
        ctx.set(key, 1)  # type: ignore[arg-type]
    with pytest.raises(InvalidKeyError):
        ctx.get(key)  # type: ignore[arg-type]
    assert key not in ctx


def test_get_of_an_invalid_key_raises_instead_of_returning_the_default() -> None:
    with pytest.raises(InvalidKeyError):
        Context().get("bad key", "default")


# ----------------------------------------------------------------- values


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -7,
        2**80,
        1.5,
        "",
        "héllo ✅",
        [],
        {},
        [1, [2, [3]]],
        {"a": {"b": [None]}},
    ],
)
def test_json_values_round_trip_through_set_and_get(value: object) -> None:
    ctx = Context()
    ctx.set("k", value)  # type: ignore[arg-type]
    assert ctx.get("k") == value
    assert type(ctx.get("k")) is type(value)


def test_tuples_are_stored_as_lists() -> None:
    ctx = Context()
    ctx.set("k", (1, (2, 3)))  # type: ignore[arg-type]
    assert ctx.get("k") == [1, [2, 3]]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"items": [1, 2, {3}]}, "value['items'][2]: set is not a JSON value"),
        (object(), "value: object is not a JSON value"),
        ([1, b"x"], "value[1]: bytes is not a JSON value"),
        ({"a": math.nan}, "value['a']: nan is not a finite number"),
        ([math.inf], "value[0]: inf is not a finite number"),
        ({1: "x"}, "value: dict key 1 is a int; JSON object keys are strings"),
    ],
)
def test_non_json_values_name_the_path_and_type(value: object, message: str) -> None:
    ctx = Context({"k": "old"})
    with pytest.raises(NotSerializableError) as info:
        ctx.set("k", value)  # type: ignore[arg-type]
    assert str(info.value) == message
    assert isinstance(info.value, TypeError)
    assert ctx.get("k") == "old" and len(ctx.history) == 1


def test_deeply_nested_values_fail_with_a_clear_error() -> None:
    value: list[object] = []
    for _ in range(300):
        value = [value]
    with pytest.raises(NotSerializableError, match="nested deeper than"):
        Context().set("k", value)  # type: ignore[arg-type]


def test_stored_values_cannot_be_changed_behind_the_contexts_back() -> None:
    ctx = Context()
    given = {"hosts": ["a", "b"]}
    ctx.set("cfg", given)
    given["hosts"].append("evil")
    got = ctx.get("cfg")
    got["hosts"].append("evil2")
    ctx["cfg"]["hosts"].append("evil3")
    ctx.history[0].after["hosts"].append("evil4")
    assert ctx.get("cfg") == {"hosts": ["a", "b"]}
    assert ctx.history[0].after == {"hosts": ["a", "b"]}


def test_who_must_be_a_string() -> None:
    with pytest.raises(ContextError, match="who must be a string"):
        Context().set("k", 1, who=42)  # type: ignore[arg-type]


# ----------------------------------------------------------------- mapping protocol


def test_mapping_protocol() -> None:
    ctx = Context()
    ctx["b"] = 1
    ctx["a"] = 2
    ctx["c.d"] = 3
    assert list(ctx) == ["b", "a", "c.d"]
    assert len(ctx) == 3
    assert ctx["a"] == 2
    del ctx["a"]
    assert "a" not in ctx and len(ctx) == 2
    with pytest.raises(KeyError):
        ctx["a"]
    with pytest.raises(KeyError):
        del ctx["a"]
    assert ctx.items() == [("b", 1), ("c.d", 3)]
    assert ctx.values() == [1, 3]


def test_get_returns_the_default_for_a_missing_key() -> None:
    ctx = Context()
    assert ctx.get("missing") is None
    assert ctx.get("missing", 5) == 5


def test_delete_of_a_missing_key_raises_key_error_and_records_nothing() -> None:
    ctx = Context()
    with pytest.raises(KeyError):
        ctx.delete("nope")
    assert not ctx.history and not ctx.dirty_keys


def test_setting_an_equal_value_records_nothing() -> None:
    ctx = Context()
    ctx.set("k", {"a": [1, 2]})
    ctx.pop_dirty_keys()
    ctx.set("k", {"a": [1, 2]})
    assert len(ctx.history) == 1 and not ctx.dirty_keys


@pytest.mark.parametrize(
    ("old", "new"), [(1, 1.0), (1, True), (0, False), ([1], [1.0]), ({"a": 1}, {"a": True})]
)
def test_values_equal_in_python_but_not_in_json_are_changes(old: object, new: object) -> None:
    ctx = Context()
    ctx.set("k", old)  # type: ignore[arg-type]
    ctx.set("k", new)  # type: ignore[arg-type]
    assert len(ctx.history) == 2
    assert type(ctx.get("k")) is type(new)


def test_initial_values_are_recorded_as_changes() -> None:
    ctx = Context({"a": 1, "b.c": 2})
    assert ctx.to_dict() == {"a": 1, "b.c": 2}
    assert [c.key for c in ctx.history] == ["a", "b.c"]
    assert ctx.dirty_keys == {"a", "b.c"}


def test_update_is_all_or_nothing() -> None:
    ctx = Context({"a": 1})
    with pytest.raises(NotSerializableError, match=r"value\['c'\]: set"):
        ctx.update({"b": 2, "c": {3}})
    with pytest.raises(InvalidKeyError):
        ctx.update([("b", 2), ("bad key", 3)])
    for not_pairs in ("ab", [("b", 2), ("c",)], [3]):
        with pytest.raises(ContextError, match=r"a mapping or \(key, value\) pairs"):
            ctx.update(not_pairs)  # type: ignore[arg-type]
    assert ctx.to_dict() == {"a": 1} and len(ctx.history) == 1


def test_equality_compares_data_only() -> None:
    a = Context({"x": 1})
    b = Context()
    b.set("x", 1, who="someone")
    assert a == b
    assert a == {"x": 1}
    assert a != {"x": 1.0}
    assert a != Context({"x": 2})
    assert (a == 5) is False


def test_repr_is_short() -> None:
    assert repr(Context({"a": 1})) == "<Context: 1 key(s), 1 change(s)>"


# ----------------------------------------------------------------- namespaces


def test_keys_and_namespace_by_prefix() -> None:
    ctx = Context({"db.host": "h", "db.port": 5432, "dbx": 1, "db": 0, "app.db.x": 2})
    assert ctx.keys() == ["db.host", "db.port", "dbx", "db", "app.db.x"]
    assert ctx.keys("db") == ["db.host", "db.port"]
    assert ctx.namespace("db") == {"host": "h", "port": 5432}
    assert ctx.namespace("app") == {"db.x": 2}
    assert ctx.namespace("missing") == {}
    with pytest.raises(InvalidKeyError):
        ctx.keys("db.")


def test_to_nested_and_from_nested() -> None:
    nested = {"db": {"host": "h", "opts": {}, "ports": [1, {"x": 2}]}, "debug": True}
    ctx = Context.from_nested(nested)
    assert ctx.to_dict() == {
        "db.host": "h",
        "db.opts": {},
        "db.ports": [1, {"x": 2}],
        "debug": True,
    }
    assert ctx.to_nested() == nested


@pytest.mark.parametrize("order", [["a", "a.b"], ["a.b", "a"]])
def test_to_nested_names_both_keys_when_one_is_a_prefix_of_another(order: list[str]) -> None:
    ctx = Context({k: 1 for k in order})
    with pytest.raises(ContextError, match=r"key 'a' is a prefix of key 'a\.b'"):
        ctx.to_nested()


def test_from_nested_rejects_duplicates_and_non_string_keys() -> None:
    with pytest.raises(ContextError, match=r"'a\.b' appears twice"):
        Context.from_nested({"a.b": 1, "a": {"b": 2}})
    with pytest.raises(ContextError, match="nested keys must be strings"):
        Context.from_nested({"a": {1: 2}})  # type: ignore[dict-item]
    with pytest.raises(InvalidKeyError):
        Context.from_nested({"a": {"b c": 1}})


@pytest.mark.parametrize(
    "keys", [["good", ""], ["", "good"], ["a", "", "b"], ["a.", "b"], ["a", ".b"]]
)
def test_restoring_many_keys_rejects_any_bad_one(keys: list[str]) -> None:
    with pytest.raises(InvalidKeyError):
        Context.from_dict(dict.fromkeys(keys, 1))
