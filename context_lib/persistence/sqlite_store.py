"""``SQLiteStore``: the embedded default, one file that several processes can share.

Layout: one table of entries ``(name, key, value)`` keyed by ``(name, key)`` (so one
database file can hold many named contexts) and one table for the audit trail. The
database runs in WAL mode; every write takes the write lock up front
(``BEGIN IMMEDIATE``) and commits sets, deletes and change records together, so
concurrent writers in other processes wait for each other instead of losing updates,
and a process killed mid-write leaves the last committed state.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from context_lib.persistence._common import BackendStore
from context_lib.persistence.errors import (
    CorruptStoreError,
    HistoryMismatchError,
    StoreUnavailableError,
    StoreURLError,
)
from context_lib.values import check_key

__all__ = ["SQLiteStore"]

SCHEMA_VERSION = 1
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS context_entries ("
    " name TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (name, key)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS context_history ("
    " name TEXT NOT NULL, seq INTEGER NOT NULL, record TEXT NOT NULL,"
    " PRIMARY KEY (name, seq)) WITHOUT ROWID",
)
_CHUNK = 500  # keys per IN (...) query, below SQLite's variable limit


class SQLiteStore(BackendStore):
    """A named context in an SQLite database file (created on first use).

    ``path`` is a file path or ``":memory:"``; ``name`` selects the context inside the
    file; ``timeout`` is how long (seconds) a writer waits for another process's lock.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "state.db")
    >>> with SQLiteStore(path, name="pipeline") as store:
    ...     _ = store.put_many({"jobs.done": 3})
    >>> with SQLiteStore(path, name="pipeline") as store:
    ...     store.get("jobs.done")
    3
    """

    def __init__(self, path: str | Path, *, name: str = "context", timeout: float = 30.0) -> None:
        super().__init__()
        self.path = str(path)
        self.name = check_key(name)
        try:
            conn = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreURLError(f"sqlite:///{self.path}", str(exc)) from None
        self._conn = conn
        try:
            self._setup(conn)
        except BaseException as exc:
            conn.close()  # a store that failed to open must not keep its connection
            if isinstance(exc, sqlite3.OperationalError):  # e.g. locked by another writer
                raise StoreUnavailableError(f"{self._describe()}: {exc}") from None
            if isinstance(exc, sqlite3.DatabaseError):
                raise CorruptStoreError(
                    self.path, f"not a usable SQLite database ({exc})"
                ) from None
            raise

    def _setup(self, conn: sqlite3.Connection) -> None:
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        if self._schema_version(conn) == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            if self._schema_version(conn) < SCHEMA_VERSION:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _schema_version(self, conn: sqlite3.Connection) -> int:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise CorruptStoreError(
                self.path,
                f"written by a newer version (schema {version}; this library reads "
                f"{SCHEMA_VERSION}); upgrade context_lib to open it",
            )
        return version

    def _describe(self) -> str:
        return f"SQLiteStore({self.path!r}, name={self.name!r})"

    def _get_texts(self, keys: list[str]) -> dict[str, str | bytes]:
        found: dict[str, str | bytes] = {}
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                f"SELECT key, value FROM context_entries WHERE name = ? AND key IN ({marks})",
                (self.name, *chunk),
            )
            found.update(rows)
        return found

    def _all_texts(self) -> dict[str, str | bytes]:
        rows = self._query("SELECT key, value FROM context_entries WHERE name = ?", (self.name,))
        return dict(rows)

    def _keys(self, bounds: tuple[str, str] | None) -> list[str]:
        if bounds is None:
            rows = self._query(
                "SELECT key FROM context_entries WHERE name = ? ORDER BY key", (self.name,)
            )
        else:
            rows = self._query(
                "SELECT key FROM context_entries WHERE name = ? AND key >= ? AND key < ? "
                "ORDER BY key",
                (self.name, *bounds),
            )
        return [row[0] for row in rows]

    def _query(self, sql: str, args: tuple[object, ...]) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:
            raise StoreUnavailableError(f"{self._describe()}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise CorruptStoreError(self.path, str(exc)) from None

    def _write(
        self,
        pairs: list[tuple[str, str]],
        deletes: list[str],
        replace: bool,
        history: list[str],
        history_at: int | None,
    ) -> None:
        conn, name = self._conn, self.name
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreUnavailableError(f"{self._describe()}: {exc}") from None
        try:
            length = self._history_length()
            if history_at is not None and history_at != length:
                raise HistoryMismatchError(length, history_at)
            if replace:
                conn.execute("DELETE FROM context_entries WHERE name = ?", (name,))
                conn.execute("DELETE FROM context_history WHERE name = ?", (name,))
                length = 0
            conn.executemany(
                "INSERT INTO context_entries (name, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (name, key) DO UPDATE SET value = excluded.value",
                [(name, k, v) for k, v in pairs],
            )
            conn.executemany(
                "DELETE FROM context_entries WHERE name = ? AND key = ?",
                [(name, k) for k in deletes],
            )
            conn.executemany(
                "INSERT INTO context_history (name, seq, record) VALUES (?, ?, ?)",
                [(name, length + i, line) for i, line in enumerate(history)],
            )
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):
                raise StoreUnavailableError(f"{self._describe()}: {exc}") from None
            raise

    def _history_texts(self, start: int, stop: int | None) -> list[str | bytes]:
        end = -1 if stop is None else stop
        rows = self._query(
            "SELECT record FROM context_history WHERE name = ? AND seq >= ? "
            "AND (? < 0 OR seq < ?) ORDER BY seq",
            (self.name, start, end, end),
        )
        return [row[0] for row in rows]

    def _history_length(self) -> int:
        rows = self._query("SELECT COUNT(*) FROM context_history WHERE name = ?", (self.name,))
        return int(rows[0][0])

    def _close(self) -> None:
        self._conn.close()
