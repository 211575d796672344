"""``SQLiteBackend``: the embedded default backend, one SQLite file (WAL mode).

Every write is one ``BEGIN IMMEDIATE`` transaction on the one writer connection:
values, history, key count and the audit entry commit together or not at all.
``synchronous=NORMAL`` in WAL mode survives a crash of the service (not a power cut
between checkpoints, which would lose at most the last transactions but never
corrupt the file). Reads use a connection per thread, so in WAL mode they never wait
for a writer. Waits are bounded: a write that cannot get the lock within
``busy_timeout`` seconds (another process holds it) raises
:class:`~context_lib.service.errors.ServiceUnavailableError` (503 with ``Retry-After``)
and changes nothing. ``secure_delete`` is switched on explicitly, so deleted rows are
overwritten with zeros whatever the SQLite build's default. Several service processes
may share the file on one machine; across machines, use Redis.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from context_lib.service.audit import GENESIS, AuditDraft, AuditEntry
from context_lib.service.errors import ConfigurationError, ServiceUnavailableError
from context_lib.service.ratelimit import TokenBuckets
from context_lib.service.records import (
    ApiKey,
    AuditListener,
    EraseMark,
    HistoryRow,
    Planner,
    Tenant,
    WritePlan,
)
from context_lib.service.sqlite_batch import WriteBatch
from context_lib.service.sqlite_schema import (
    KEY_COLUMNS,
    LIMITS,
    SCHEMA,
    TENANT_COLUMNS,
    like,
    row_entry,
)

__all__ = ["DEFAULT_BUSY_TIMEOUT", "SQLiteBackend"]

DEFAULT_BUSY_TIMEOUT = 2.0


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _unavailable() -> ServiceUnavailableError:
    return ServiceUnavailableError(
        "the store is busy (another process holds its write lock); nothing was changed, "
        "retry later",
        retry_after=1.0,
    )


class SQLiteBackend:
    """The service's records in one SQLite file (``":memory:"`` for a throwaway one).

    ``busy_timeout``: the longest a write waits for the write lock before answering
    :class:`ServiceUnavailableError`.
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.path = str(path)
        self.busy_timeout = busy_timeout
        self.on_audit: AuditListener | None = None
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = self._connect()
        self._lock = threading.RLock()
        self._limiter = TokenBuckets()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._pending: list[AuditEntry] = []
        self._group_thread: int | None = None
        self._batch = WriteBatch()
        self._broken = False
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # Checkpoints run off the request path (:meth:`checkpoint`, called by the app
            # every second); this larger automatic one is only a safety net.
            self._db.execute("PRAGMA wal_autocheckpoint=20000")
            self._db.executescript(SCHEMA)
            columns = {r[1] for r in self._db.execute("PRAGMA table_info(audit)")}
            old = self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'audit_payloads'"
            ).fetchone()
            if old is not None or "hash" not in columns:
                raise ConfigurationError(
                    f"{self.path} was made by an older version of the service (unkeyed "
                    "audit chain); export its data with that version and import it anew"
                )
        except BaseException:
            self._db.close()  # e.g. not a database: the failed backend keeps no connection
            raise
        self._checkpointer: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=self.busy_timeout
        )
        try:
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA secure_delete=ON")
            if db.execute("PRAGMA secure_delete").fetchone()[0] != 1:
                raise ConfigurationError("this SQLite build cannot switch secure_delete on")
        except BaseException:
            db.close()
            raise
        return db

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """This thread's reader connection (the writer's inside a group or in memory)."""
        if self._in_group():
            self._flush()  # the group's reads see its writes
            yield self._db
            return
        if self.path == ":memory:":
            with self._lock:
                yield self._db
            return
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
            with self._readers_lock:
                self._readers.append(db)
        try:
            yield db
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise _unavailable() from None
            raise

    @contextmanager
    def group(self) -> Iterator[None]:
        """Group commit: the writes this thread makes inside run in one transaction and
        are committed together at the end (see :mod:`context_lib.service.sqlite_batch`).

        Takes the write lock and ``BEGIN IMMEDIATE``, each waited for at most
        ``busy_timeout``. A write that fails undoes only itself; if anything fails at
        the end (writing the rows, ``COMMIT``), everything is rolled back and raised.
        Callers acknowledge none of the writes before this returns, so every
        acknowledged write is committed. Then ``on_audit`` is told of the new entries.
        """
        if not self._lock.acquire(timeout=self.busy_timeout):
            raise _unavailable()
        try:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if _busy(exc):
                    raise _unavailable() from None
                raise
            try:
                self._batch.validate(db)
                self._group_thread = threading.get_ident()
                try:
                    yield
                finally:
                    self._group_thread = None
                self._flush()
                db.execute("COMMIT")
            except BaseException:
                self._pending.clear()
                self._batch.discard()
                self._broken = False
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            sealed, self._pending = self._pending, []
        finally:
            self._lock.release()
        if sealed and self.on_audit is not None:
            self.on_audit(sealed)  # after the commit: the witness is never ahead

    def _in_group(self) -> bool:
        return self._group_thread == threading.get_ident()

    def _flush(self) -> None:
        """Write the staged rows now (before a read or a direct change in the group)."""
        if self._broken:
            raise sqlite3.OperationalError("an earlier write of this batch failed")
        try:
            self._batch.flush(self._db)
        except BaseException:
            self._broken = True  # the group rolls back whatever follows
            raise

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A change made with SQL statements right away (admin changes, purges): the
        staged rows first, then the change in a savepoint of its own; afterwards the
        cache is forgotten, as the change may touch what it holds."""
        if not self._in_group():
            with self.group(), self._tx() as db:
                yield db
            return
        self._flush()
        db, mark = self._db, len(self._pending)
        db.execute("SAVEPOINT direct")
        try:
            yield db
        except BaseException:
            del self._pending[mark:]
            db.execute("ROLLBACK TO direct")
            db.execute("RELEASE direct")
            raise
        finally:
            self._batch.forget()
        db.execute("RELEASE direct")

    # ------------------------------------------------------------------ meta, tenants

    def check_master(self, check_value: str) -> bool:
        """Record ``check_value`` on first use; later, tell whether it matches."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES ('master_check', ?)",
                (check_value,),
            )
            row = db.execute("SELECT value FROM meta WHERE name = 'master_check'").fetchone()
        return bool(row[0] == check_value)

    def store_id(self) -> str:
        """A random id of this store, made on first use (names its audit witness)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES ('store_id', ?)",
                (secrets.token_hex(8),),
            )
            row = db.execute("SELECT value FROM meta WHERE name = 'store_id'").fetchone()
        return str(row[0])

    def create_tenant(self, tenant: Tenant, audit: AuditDraft) -> None:
        """Store a new tenant."""
        with self._tx() as db:
            db.execute(
                f"INSERT INTO tenants ({TENANT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    tenant.id,
                    tenant.name,
                    tenant.created,
                    tenant.max_keys,
                    tenant.rate,
                    tenant.burst,
                    tenant.retention_days,
                    tenant.wrapped_key,
                    tenant.key_count,
                    tenant.erased,
                ),
            )
            self._append(db, audit)

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        """The tenant, or ``None``."""
        if self._in_group():
            return self._batch.tenant(self._db, tenant_id)
        with self._read() as db:
            row = db.execute(
                f"SELECT {TENANT_COLUMNS} FROM tenants WHERE id = ?", (tenant_id,)
            ).fetchone()
        return Tenant(*row) if row else None

    def list_tenants(self) -> list[Tenant]:
        """Every tenant, erased ones included."""
        with self._read() as db:
            rows = db.execute(
                f"SELECT {TENANT_COLUMNS} FROM tenants ORDER BY created, id"
            ).fetchall()
        return [Tenant(*row) for row in rows]

    def update_limits(
        self, tenant_id: str, limits: Mapping[str, float | int | None], audit: AuditDraft
    ) -> None:
        """Change ``max_keys``, ``rate``, ``burst`` or ``retention_days``."""
        columns = [c for c in LIMITS if c in limits]
        with self._tx() as db:
            if columns:
                db.execute(
                    f"UPDATE tenants SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
                    (*(limits[c] for c in columns), tenant_id),
                )
            self._append(db, audit)

    # ------------------------------------------------------------------ API keys

    def add_api_key(self, key: ApiKey, audit: AuditDraft) -> None:
        """Store a new API key (its digest)."""
        with self._tx() as db:
            db.execute(
                f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key.key_id,
                    key.tenant_id,
                    key.role,
                    key.name,
                    key.digest,
                    key.created,
                    key.revoked,
                ),
            )
            self._append(db, audit)

    def get_api_key(self, key_id: str) -> ApiKey | None:
        """The API key record, or ``None``."""
        if self._in_group():
            return self._batch.api_key(self._db, key_id)
        with self._read() as db:
            row = db.execute(
                f"SELECT {KEY_COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,)
            ).fetchone()
        return ApiKey(*row) if row else None

    def list_api_keys(self, tenant_id: str) -> list[ApiKey]:
        """The tenant's API keys, revoked ones included."""
        with self._read() as db:
            rows = db.execute(
                f"SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = ? ORDER BY created, key_id",
                (tenant_id,),
            ).fetchall()
        return [ApiKey(*row) for row in rows]

    def revoke_api_key(self, tenant_id: str, key_id: str, when: float, audit: AuditDraft) -> bool:
        """Revoke a key of this tenant; ``False`` when the tenant has no such key."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE api_keys SET revoked = COALESCE(revoked, ?) "
                "WHERE key_id = ? AND tenant_id = ?",
                (when, key_id, tenant_id),
            )
            if cursor.rowcount == 0:
                return False
            self._append(db, audit)
        return True

    # ------------------------------------------------------------------ values

    def read_value(self, tenant_id: str, context: str, key: str) -> bytes | None:
        """The blob at ``key``, or ``None``."""
        with self._read() as db:
            row = db.execute(
                "SELECT blob FROM vals WHERE tenant_id = ? AND context = ? AND key = ?",
                (tenant_id, context, key),
            ).fetchone()
        return bytes(row[0]) if row else None

    def read_context(self, tenant_id: str, context: str, prefix: str | None) -> dict[str, bytes]:
        """Every blob of the context (under ``prefix.``), by key, keys sorted."""
        with self._read() as db:
            rows = db.execute(
                "SELECT key, blob FROM vals WHERE tenant_id = ? AND context = ? "
                "AND key LIKE ? ESCAPE '\\' ORDER BY key",
                (tenant_id, context, like(prefix)),
            ).fetchall()
        return {k: bytes(b) for k, b in rows}

    def list_keys(self, tenant_id: str, context: str, prefix: str | None) -> list[str]:
        """The keys of a context (under ``prefix.``), sorted."""
        with self._read() as db:
            rows = db.execute(
                "SELECT key FROM vals WHERE tenant_id = ? AND context = ? "
                "AND key LIKE ? ESCAPE '\\' ORDER BY key",
                (tenant_id, context, like(prefix)),
            ).fetchall()
        return [r[0] for r in rows]

    def list_contexts(self, tenant_id: str) -> list[str]:
        """The tenant's contexts that hold at least one key, sorted."""
        with self._read() as db:
            rows = db.execute(
                "SELECT DISTINCT context FROM vals WHERE tenant_id = ? ORDER BY context",
                (tenant_id,),
            ).fetchall()
        return [r[0] for r in rows]

    def write(
        self, tenant_id: str, context: str, keys: list[str], planner: Planner, now: float
    ) -> WritePlan:
        """Run ``planner`` on the current blobs of ``keys`` and apply its plan atomically
        (staged in the group's batch, written at its commit)."""
        if not self._in_group():
            with self.group():
                return self.write(tenant_id, context, keys, planner, now)
        db, batch = self._db, self._batch
        old = {key: batch.value(db, tenant_id, context, key) for key in keys}
        tenant = batch.tenant(db, tenant_id)
        plan = planner(old, tenant.key_count if tenant else 0, now)
        batch.stage_write(
            db, tenant_id, tenant, context, plan.values, plan.history, plan.key_delta, now
        )
        if plan.audit is not None:
            self._pending.append(batch.stage_audit(db, plan.audit))
        return plan

    def prefetch_values(self, hints: list[tuple[str | None, str, list[str]]]) -> None:
        """Read ahead the blobs a batch of writes will read, one query per tenant and
        context: ``hints`` are (API key id, context, keys) of requests not yet
        authorized. Only a cache for the open group (outside one, nothing happens):
        each write still authorizes, and reads what it does not find here."""
        if not self._in_group():
            return
        wanted: dict[tuple[str, str], list[str]] = {}
        for key_id, context, keys in hints:
            record = self._batch.api_key(self._db, key_id) if key_id else None
            if record is not None:
                wanted.setdefault((record.tenant_id, context), []).extend(keys)
        for (tenant_id, context), keys in wanted.items():
            self._batch.prefetch(self._db, tenant_id, context, keys)

    def read_history(
        self,
        tenant_id: str,
        context: str,
        key: str | None,
        since: float | None,
        after: int | None,
        limit: int,
    ) -> list[HistoryRow]:
        """History rows of a context, oldest first, at most ``limit`` (see ``Backend``)."""
        sql = "SELECT seq, ts, key, op, blob FROM history WHERE tenant_id = ? AND context = ?"
        args: list[object] = [tenant_id, context]
        if key is not None:
            sql += " AND key = ?"
            args.append(key)
        if since is not None:
            sql += " AND ts >= ?"
            args.append(since)
        if after is not None:
            sql += " AND seq > ?"
            args.append(after)
        newest = since is None and after is None
        sql += f" ORDER BY seq {'DESC' if newest else 'ASC'} LIMIT ?"
        args.append(limit)
        with self._read() as db:
            rows = db.execute(sql, args).fetchall()
        if newest:
            rows.reverse()
        return [HistoryRow(s, t, k, o, bytes(b)) for s, t, k, o, b in rows]

    def purge_history(self, tenant_id: str, before: float) -> int:
        """Delete history rows older than ``before``; return how many."""
        with self._tx() as db:
            cursor = db.execute(
                "DELETE FROM history WHERE tenant_id = ? AND ts < ?", (tenant_id, before)
            )
            return int(cursor.rowcount)

    # ------------------------------------------------------------------ audit

    def _append(self, db: sqlite3.Connection, draft: AuditDraft) -> AuditEntry:
        row = db.execute(
            "SELECT seq, hash FROM audit_heads WHERE chain = ?", (draft.chain,)
        ).fetchone()
        seq, prev = (int(row[0]), str(row[1])) if row else (0, GENESIS)
        entry = draft.seal(seq + 1, prev)
        db.execute(
            "INSERT INTO audit (chain, seq, ts, actor, action, status, digest, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            entry.row(),
        )
        if entry.sealed is not None:
            db.execute(
                "INSERT INTO audit_sealed (chain, seq, sealed) VALUES (?, ?, ?)",
                (entry.chain, entry.seq, entry.sealed),
            )
        db.execute(
            "INSERT OR REPLACE INTO audit_heads (chain, seq, hash) VALUES (?, ?, ?)",
            (entry.chain, entry.seq, entry.hash),
        )
        self._pending.append(entry)
        return entry

    def append_audit(self, draft: AuditDraft) -> AuditEntry:
        """Seal and append an entry to its chain (staged in the group's batch)."""
        if not self._in_group():
            with self.group():
                return self.append_audit(draft)
        entry = self._batch.stage_audit(self._db, draft)
        self._pending.append(entry)
        return entry

    def audit_chains(self) -> list[str]:
        """The names of every audit chain."""
        with self._read() as db:
            rows = db.execute("SELECT chain FROM audit_heads ORDER BY chain").fetchall()
        return [r[0] for r in rows]

    def read_audit(self, chain: str) -> tuple[list[AuditEntry], tuple[int, str] | None]:
        """A chain's entries in storage order, and its recorded head."""
        with self._read() as db:
            db.execute("BEGIN")  # one snapshot for the entries and the head
            try:
                rows = db.execute(
                    "SELECT a.chain, a.seq, a.ts, a.actor, a.action, a.status, a.digest, "
                    "a.prev_hash, a.hash, p.sealed, p.erased FROM audit a LEFT JOIN "
                    "audit_sealed p ON p.chain = a.chain AND p.seq = a.seq WHERE a.chain = ? "
                    "ORDER BY a.seq",
                    (chain,),
                ).fetchall()
                head = db.execute(
                    "SELECT seq, hash FROM audit_heads WHERE chain = ?", (chain,)
                ).fetchone()
            finally:
                db.execute("COMMIT")
        entries = [row_entry(row) for row in rows]
        return entries, (int(head[0]), str(head[1])) if head else None

    def _erase_payloads(
        self, db: sqlite3.Connection, chain: str, before: float, mark: EraseMark
    ) -> int:
        rows = db.execute(
            "SELECT a.chain, a.seq, a.ts, a.actor, a.action, a.status, a.digest, a.prev_hash, "
            "a.hash, p.sealed, p.erased FROM audit a JOIN audit_sealed p "
            "ON p.chain = a.chain AND p.seq = a.seq "
            "WHERE a.chain = ? AND a.ts < ? AND p.sealed IS NOT NULL",
            (chain, before),
        ).fetchall()
        db.executemany(
            "UPDATE audit_sealed SET sealed = NULL, erased = ? WHERE chain = ? AND seq = ?",
            [(mark(e), e.chain, e.seq) for e in map(row_entry, rows)],
        )
        return len(rows)

    def erase_audit_payloads(self, chain: str, before: float | None, mark: EraseMark) -> int:
        """Replace the payloads of entries older than ``before`` (all when ``None``)
        by their erasure marks; return how many."""
        with self._tx() as db:
            return self._erase_payloads(db, chain, float("inf") if before is None else before, mark)

    def erase_tenant(self, tenant_id: str, when: float, audit: AuditDraft, mark: EraseMark) -> None:
        """Delete the tenant's data, keys and data key and erase its audit payloads;
        keep a tombstone and its chain."""
        with self._tx() as db:
            for table in ("vals", "history", "contexts", "api_keys"):
                db.execute(f"DELETE FROM {table} WHERE tenant_id = ?", (tenant_id,))
            self._erase_payloads(db, tenant_id, float("inf"), mark)
            db.execute(
                "UPDATE tenants SET name = '', wrapped_key = x'', key_count = 0, erased = ? "
                "WHERE id = ?",
                (when, tenant_id),
            )
            self._append(db, audit)
        self._limiter.forget(tenant_id)

    def take_token(self, tenant_id: str, rate: float, burst: int, now: float) -> float:
        """Count one request in this process's token bucket for the tenant."""
        return self._limiter.take(tenant_id, rate, burst, now)

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database without blocking writers.

        Runs on a connection of its own (call it from a background thread), so a
        checkpoint never lands inside a request's commit.
        """
        if self.path == ":memory:":
            return
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
        self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        """Close the database connections."""
        with self._lock:
            self._db.close()
            if self._checkpointer is not None:
                self._checkpointer.close()
        with self._readers_lock:
            for db in self._readers:
                db.close()
            self._readers.clear()
