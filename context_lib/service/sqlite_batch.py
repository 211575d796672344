"""The SQLite backend's group commit: the rows of the open transaction, written at its end.

Inside a group (:meth:`SQLiteBackend.group <context_lib.service.sqlite.SQLiteBackend.group>`)
a write sends nothing to SQLite as it happens: its value, history, audit rows and the
new chain head, context sequence number and key count are *staged* here, and
:meth:`WriteBatch.flush` writes the whole batch with one ``executemany`` per table
just before the ``COMMIT``. A write that fails (quota, validation) stages nothing, so
it undoes only itself without a savepoint; a batch that fails to flush or commit is
rolled back whole and none of its requests is acknowledged.

The batch also caches what every write reads: tenants, API keys, chain heads and
context sequence numbers. The cache is used only by the thread that holds the write
transaction (``BEGIN IMMEDIATE``), so no other connection can change the file under
it; at the start of each transaction ``PRAGMA data_version`` tells whether another
connection (an operator command, another service process) committed since the last
one, and if so everything cached is forgotten.
"""

from __future__ import annotations

import sqlite3

from context_lib.service.audit import GENESIS, AuditDraft, AuditEntry
from context_lib.service.records import ApiKey, Tenant
from context_lib.service.sqlite_schema import KEY_COLUMNS, TENANT_COLUMNS

__all__ = ["WriteBatch"]

_Row = tuple[object, ...]


class WriteBatch:
    """Staged rows of one transaction plus records cached across transactions."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.tenants: dict[str, Tenant] = {}
        self.keys: dict[str, ApiKey] = {}
        self.heads: dict[str, tuple[int, str]] = {}
        self.seqs: dict[tuple[str, str], int] = {}
        self.vals: dict[tuple[str, str, str], bytes | None] = {}
        # Blobs read ahead for this transaction's writes (see :meth:`prefetch`).
        self.known: dict[tuple[str, str, str], bytes | None] = {}
        self.history: list[_Row] = []
        self.audit: list[_Row] = []
        self.sealed: list[_Row] = []
        self.dirty_heads: set[str] = set()
        self.dirty_seqs: set[tuple[str, str]] = set()
        self.dirty_counts: set[str] = set()

    # ------------------------------------------------------------------ the cache

    def validate(self, db: sqlite3.Connection) -> None:
        """Forget the cache if another connection committed since the last check
        (call with the write transaction open)."""
        version = int(db.execute("PRAGMA data_version").fetchone()[0])
        if version != self.version:
            self.forget()
            self.version = version

    def forget(self) -> None:
        """Drop every cached record (nothing may be staged)."""
        assert not self.staged(), "forgetting the cache with rows staged"
        self.known.clear()
        self.tenants.clear()
        self.keys.clear()
        self.heads.clear()
        self.seqs.clear()

    def discard(self) -> None:
        """Drop the staged rows and the cache (the transaction was rolled back)."""
        self.vals.clear()
        self.history.clear()
        self.audit.clear()
        self.sealed.clear()
        self.dirty_heads.clear()
        self.dirty_seqs.clear()
        self.dirty_counts.clear()
        self.forget()
        self.version = None

    def tenant(self, db: sqlite3.Connection, tenant_id: str) -> Tenant | None:
        """The tenant as of this transaction, staged key count included."""
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            row = db.execute(
                f"SELECT {TENANT_COLUMNS} FROM tenants WHERE id = ?", (tenant_id,)
            ).fetchone()
            if row is None:
                return None
            tenant = self.tenants[tenant_id] = Tenant(*row)
        return tenant

    def api_key(self, db: sqlite3.Connection, key_id: str) -> ApiKey | None:
        """The API key record as of this transaction."""
        key = self.keys.get(key_id)
        if key is None:
            row = db.execute(
                f"SELECT {KEY_COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,)
            ).fetchone()
            if row is None:
                return None
            key = self.keys[key_id] = ApiKey(*row)
        return key

    def value(self, db: sqlite3.Connection, tenant_id: str, context: str, key: str) -> bytes | None:
        """The blob at ``key`` as of this transaction, staged writes included."""
        where = (tenant_id, context, key)
        if where in self.vals:
            return self.vals[where]
        if where in self.known:
            return self.known[where]
        row = db.execute(
            "SELECT blob FROM vals WHERE tenant_id = ? AND context = ? AND key = ?", where
        ).fetchone()
        return bytes(row[0]) if row else None

    def prefetch(
        self, db: sqlite3.Connection, tenant_id: str, context: str, keys: list[str]
    ) -> None:
        """Read the blobs of ``keys`` in one query, for :meth:`value` to find: a batch's
        writes read their old values with one statement instead of one each (every
        statement hands the GIL to the event loop and waits to get it back). Valid
        until the staged rows are written or the cache is forgotten."""
        wanted = [
            k
            for k in dict.fromkeys(keys)
            if (tenant_id, context, k) not in self.vals
            and (tenant_id, context, k) not in self.known
        ]
        for start in range(0, len(wanted), _PREFETCH):
            chunk = wanted[start : start + _PREFETCH]
            marks = ", ".join("?" * len(chunk))
            rows = db.execute(
                "SELECT key, blob FROM vals WHERE tenant_id = ? AND context = ? "
                f"AND key IN ({marks})",
                (tenant_id, context, *chunk),
            ).fetchall()
            found = {key: bytes(blob) for key, blob in rows}
            for key in chunk:
                self.known[(tenant_id, context, key)] = found.get(key)

    def _seq(self, db: sqlite3.Connection, tenant_id: str, context: str) -> int:
        seq = self.seqs.get((tenant_id, context))
        if seq is None:
            row = db.execute(
                "SELECT seq FROM contexts WHERE tenant_id = ? AND name = ?", (tenant_id, context)
            ).fetchone()
            seq = int(row[0]) if row else 0
        return seq

    def _head(self, db: sqlite3.Connection, chain: str) -> tuple[int, str]:
        head = self.heads.get(chain)
        if head is None:
            row = db.execute(
                "SELECT seq, hash FROM audit_heads WHERE chain = ?", (chain,)
            ).fetchone()
            head = (int(row[0]), str(row[1])) if row else (0, GENESIS)
        return head

    # ------------------------------------------------------------------ staging

    def stage_write(
        self,
        db: sqlite3.Connection,
        tid: str,
        tenant: Tenant | None,
        context: str,
        values: dict[str, bytes | None],
        history: list[tuple[str, str, bytes]],
        key_delta: int,
        now: float,
    ) -> None:
        """Stage one write's values, history rows and key count change (``tenant``:
        the tenant ``tid`` as :meth:`tenant` returned it)."""
        if history:
            seq = self._seq(db, tid, context)
            self.history.extend(
                (tid, context, seq + i, now, key, op, blob)
                for i, (key, op, blob) in enumerate(history, start=1)
            )
            self.seqs[(tid, context)] = seq + len(history)
            self.dirty_seqs.add((tid, context))
        for key, blob in values.items():
            self.vals[(tid, context, key)] = blob
        if key_delta and tenant is not None:  # no tenant row: no count to keep
            t = tenant  # a new record without dataclasses.replace (5x faster)
            self.tenants[tid] = Tenant(
                t.id, t.name, t.created, t.max_keys, t.rate, t.burst, t.retention_days,
                t.wrapped_key, t.key_count + key_delta, t.erased,
            )  # fmt: skip
            self.dirty_counts.add(tid)

    def stage_audit(self, db: sqlite3.Connection, draft: AuditDraft) -> AuditEntry:
        """Seal ``draft`` after its chain's head and stage the entry."""
        seq, prev = self._head(db, draft.chain)
        entry = draft.seal(seq + 1, prev)
        self.audit.append(entry.row())
        if entry.sealed is not None:
            self.sealed.append((entry.chain, entry.seq, entry.sealed))
        self.heads[entry.chain] = (entry.seq, entry.hash)
        self.dirty_heads.add(entry.chain)
        return entry

    def staged(self) -> bool:
        """Whether rows wait to be written."""
        return bool(self.vals or self.history or self.audit or self.dirty_counts)

    def flush(self, db: sqlite3.Connection) -> None:
        """Write the staged rows into the open transaction."""
        if not self.staged():
            return
        deleted = [where for where, blob in self.vals.items() if blob is None]
        if deleted:
            db.executemany(
                "DELETE FROM vals WHERE tenant_id = ? AND context = ? AND key = ?", deleted
            )
        if len(deleted) < len(self.vals):
            _insert(
                db,
                "INSERT OR REPLACE INTO vals (tenant_id, context, key, blob)",
                [(*where, blob) for where, blob in self.vals.items() if blob is not None],
            )
        if self.history:
            _insert(
                db, "INSERT INTO history (tenant_id, context, seq, ts, key, op, blob)", self.history
            )
            _insert(
                db,
                "INSERT OR REPLACE INTO contexts (tenant_id, name, seq)",
                [(t, c, self.seqs[(t, c)]) for t, c in self.dirty_seqs],
            )
        if self.dirty_counts:
            db.executemany(
                "UPDATE tenants SET key_count = ? WHERE id = ?",
                [(self.tenants[t].key_count, t) for t in self.dirty_counts],
            )
        if self.audit:
            _insert(
                db,
                "INSERT INTO audit "
                "(chain, seq, ts, actor, action, status, digest, prev_hash, hash)",
                self.audit,
            )
            _insert(db, "INSERT INTO audit_sealed (chain, seq, sealed)", self.sealed)
            _insert(
                db,
                "INSERT OR REPLACE INTO audit_heads (chain, seq, hash)",
                [(c, *self.heads[c]) for c in self.dirty_heads],
            )
        self.vals.clear()
        self.known.clear()  # written rows may differ from what was read ahead
        self.history.clear()
        self.audit.clear()
        self.sealed.clear()
        self.dirty_heads.clear()
        self.dirty_seqs.clear()
        self.dirty_counts.clear()


def _insert(db: sqlite3.Connection, head: str, rows: list[_Row]) -> None:
    """``head VALUES (...), (...), ...``: the rows in as few statements as there are
    1-bits in their number (chunks of 32, 16, ..., 1 rows, so few statement texts to
    cache). One statement per chunk, where ``executemany`` runs one per row, and each
    statement hands the GIL to the event loop and back."""
    if not rows:
        return
    one = "(" + ", ".join("?" * len(rows[0])) + ")"
    start = 0
    size = _CHUNK
    while start < len(rows):
        while size > len(rows) - start:
            size //= 2
        chunk = rows[start : start + size]
        db.execute(f"{head} VALUES {', '.join([one] * size)}", [v for row in chunk for v in row])
        start += size


_CHUNK = 32
_PREFETCH = 500  # keys per read-ahead query (SQLite allows 999+ parameters)
