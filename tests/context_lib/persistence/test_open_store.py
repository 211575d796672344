"""Opening stores from URLs, and the clear errors for URLs that cannot be opened."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from context_lib.persistence import (
    JsonFileStore,
    MemoryStore,
    RedisStore,
    SQLiteStore,
    StoreUnavailableError,
    StoreURLError,
    open_store,
)
from tests.conftest import free_port


def test_memory_url_opens_a_fresh_store() -> None:
    one, two = open_store("memory://"), open_store("memory://")
    assert isinstance(one, MemoryStore)
    one.put_many({"a": 1})
    assert two.keys() == []


def test_sqlite_url_with_relative_path_and_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///state.db?name=pipeline") as store:
        assert isinstance(store, SQLiteStore)
        assert store.name == "pipeline"
        store.put_many({"a": 1})
    assert (tmp_path / "state.db").is_file()
    with open_store("sqlite:///state.db?name=other") as other:
        assert other.keys() == []  # contexts in one file are separate


def test_sqlite_url_with_absolute_path(tmp_path: Path) -> None:
    path = tmp_path / "abs.db"
    with open_store(f"sqlite:///{path}") as store:
        assert Path(store.path) == path  # type: ignore[attr-defined]
        store.put_many({"x": 1})
    assert path.is_file()


def test_sqlite_in_memory() -> None:
    with open_store("sqlite://") as store:
        store.put_many({"a": 1})
        assert store.get("a") == 1


def test_file_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_store(f"file://{tmp_path}/s.json") as store:
        assert isinstance(store, JsonFileStore)
        store.put_many({"a": 1})
    assert (tmp_path / "s.json").is_file()
    monkeypatch.chdir(tmp_path)
    with open_store("file:s.json") as again:
        assert again.get("a") == 1


def test_redis_url_with_name(redis_url: str) -> None:
    with open_store(f"{redis_url}?name=urltest") as store:
        assert isinstance(store, RedisStore)
        store.delete_many(store.keys())
        store.put_many({"a": 1})
        assert store.get("a") == 1


def test_unreachable_redis_is_a_clear_error() -> None:
    with pytest.raises(StoreUnavailableError, match="cannot reach Redis"):
        open_store(f"redis://127.0.0.1:{free_port()}/0")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/x", "unknown scheme 'ftp'; use one of memory://, file://"),
        ("state.db", "no scheme"),
        ("memory://?name=x&extra=1", "unknown option"),
        ("sqlite:///s.db?colour=red", "unknown option(s) colour"),
        ("sqlite:///s.db?timeout=soon", "not a number"),
        ("sqlite://host/s.db", "three slashes"),
        ("file://host/s.json", "three slashes"),
        ("file://", "no file path"),
        ("sqlite:///s.db?name=bad name", "bad context name"),
        ("file:///no/such/folder/s.json", "does not exist"),
        ("sqlite:///s.db?timeout=nan", "not a number of seconds"),
        ("sqlite:///s.db?timeout=-1", "not a number of seconds"),
        ("redis://localhost:abc/0", "malformed URL"),
        ("redis://[::1/0", "malformed URL"),
        ("sqlite://[::1/s.db", "malformed URL"),
    ],
)
def test_bad_urls_are_clear_errors(url: str, message: str) -> None:
    with pytest.raises(StoreURLError) as info:
        open_store(url)
    assert message in str(info.value)
    assert url in str(info.value)


def test_a_folder_is_not_a_json_store(tmp_path: Path) -> None:
    with pytest.raises(StoreURLError, match="is a folder"):
        open_store(f"file://{tmp_path}")


def test_non_string_url() -> None:
    with pytest.raises(StoreURLError, match="not int"):
        open_store(42)  # type: ignore[arg-type]


def test_url_of_unwritable_sqlite_folder(tmp_path: Path) -> None:
    with pytest.raises(StoreURLError):
        open_store(f"sqlite:///{tmp_path}/missing/dir/state.db")
    assert not os.path.exists(tmp_path / "missing")


def test_an_option_redis_py_refuses_is_a_clear_error_and_leaks_nothing(redis_url: str) -> None:
    # A client that failed to open is closed: pytest turns an unclosed socket into an error.
    url = f"{redis_url}?name=x&colour=red"
    with pytest.raises(StoreURLError, match="unknown option or bad value") as info:
        open_store(url)
    assert url in str(info.value)
