"""What the file-backed stores do with damaged, foreign or newer files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from context_lib import Context
from context_lib.persistence import (
    CorruptStoreError,
    JsonFileStore,
    SQLiteStore,
    StoreUnavailableError,
    load,
    save_delta,
)
from tests.context_lib.helpers import assert_all_closed, ticking_clock, track_sqlite_connections


def test_json_file_is_deterministic_json(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    with JsonFileStore(path) as store:
        store.put_many({"b": {"y": 1, "x": 2}, "a": [1, 2]})
    doc = json.loads(path.read_text())
    assert doc["format"] == "context_lib.store"
    assert doc["data"] == {"a": [1, 2], "b": {"x": 2, "y": 1}}
    assert list(doc["data"]) == ["a", "b"]
    assert path.read_text().startswith('{"data":{"a":[1,2],"b":{"x":2,"y":1}}')


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"format": "something-else"}', "not a context store file"),
        ('{"format": "context_lib.store", "version": 99}', "version 99 is not supported"),
        ('{"format": "context_lib.store", "version": 1}', "no 'data'"),
        (
            '{"format":"context_lib.store","version":1,"data":{"a b":1},'
            '"history":{"file":null,"length":0,"bytes":0}}',
            "invalid key",
        ),
    ],
)
def test_damaged_json_file_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(content)
    with pytest.raises(CorruptStoreError, match=message) as info:
        JsonFileStore(path)
    assert str(path) in str(info.value)


def test_json_history_lines_of_a_crashed_writer_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    ctx = Context(clock=ticking_clock())
    ctx.set("a", 1)
    with JsonFileStore(path) as store:
        save_delta(ctx, store, with_history=True)
    (trail,) = tmp_path.glob("s.json.history-*.jsonl")
    with open(trail, "a") as fh:  # a writer died after appending, before committing
        fh.write('[2,1001.0,"a","set",1,2,null]\n[3,1002.0,"a","se')
    with JsonFileStore(path) as store:
        restored = load(store, with_history=True)
        assert len(restored.history) == 1
        restored.set("b", 2)
        save_delta(restored, store, with_history=True)
        assert [r[2] for r in store.read_history()] == ["a", "b"]
    assert trail.read_text().count("\n") == 2


def test_sqlite_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CorruptStoreError, match="not a usable SQLite database"):
        SQLiteStore(path)


def test_sqlite_schema_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    with pytest.raises(CorruptStoreError, match="newer version"):
        SQLiteStore(path)


def test_a_sqlite_store_that_fails_to_open_closes_its_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    newer = tmp_path / "newer.db"
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    made = track_sqlite_connections(monkeypatch)
    with pytest.raises(CorruptStoreError, match="newer version"):
        SQLiteStore(newer)
    assert_all_closed(made)


def test_a_locked_sqlite_file_is_unavailable_not_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreUnavailableError, match="locked"):
            SQLiteStore(path, timeout=0.05)
    finally:
        holder.close()
    with SQLiteStore(path) as store:  # usable once the other writer is done
        assert store.keys() == []


def test_sqlite_uses_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as store:
        store.put_many({"a": 1})
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()
