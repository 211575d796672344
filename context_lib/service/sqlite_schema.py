"""The SQLite backend's tables, column lists and row helpers."""

from __future__ import annotations

from typing import Any

from context_lib.service.audit import AuditEntry

__all__ = ["KEY_COLUMNS", "LIMITS", "SCHEMA", "TENANT_COLUMNS", "like", "row_entry"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, created REAL NOT NULL, max_keys INTEGER NOT NULL,
    rate REAL NOT NULL, burst INTEGER NOT NULL, retention_days REAL, wrapped_key BLOB NOT NULL,
    key_count INTEGER NOT NULL DEFAULT 0, erased REAL);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, role TEXT NOT NULL, name TEXT NOT NULL,
    digest BLOB NOT NULL, created REAL NOT NULL, revoked REAL);
CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys (tenant_id);
CREATE TABLE IF NOT EXISTS contexts (
    tenant_id TEXT NOT NULL, name TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS vals (
    tenant_id TEXT NOT NULL, context TEXT NOT NULL, key TEXT NOT NULL, blob BLOB NOT NULL,
    PRIMARY KEY (tenant_id, context, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history (
    tenant_id TEXT NOT NULL, context TEXT NOT NULL, seq INTEGER NOT NULL, ts REAL NOT NULL,
    key TEXT NOT NULL, op TEXT NOT NULL, blob BLOB NOT NULL,
    PRIMARY KEY (tenant_id, context, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS history_ts ON history (tenant_id, ts);
CREATE TABLE IF NOT EXISTS audit (
    chain TEXT NOT NULL, seq INTEGER NOT NULL, ts REAL NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, status INTEGER NOT NULL, digest TEXT NOT NULL, prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL, PRIMARY KEY (chain, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_sealed (
    chain TEXT NOT NULL, seq INTEGER NOT NULL, sealed BLOB, erased TEXT,
    PRIMARY KEY (chain, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_heads (chain TEXT PRIMARY KEY, seq INTEGER NOT NULL,
    hash TEXT NOT NULL);
"""

TENANT_COLUMNS = (
    "id, name, created, max_keys, rate, burst, retention_days, wrapped_key, key_count, erased"
)
KEY_COLUMNS = "key_id, tenant_id, role, name, digest, created, revoked"
LIMITS = ("max_keys", "rate", "burst", "retention_days")


def like(prefix: str | None) -> str:
    """A LIKE pattern for the keys under ``prefix.`` ('_' is a wildcard, so it is escaped)."""
    if prefix is None:
        return "%"
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ".%"


def row_entry(row: tuple[Any, ...]) -> AuditEntry:
    """An audit entry from a row of ``audit`` joined with ``audit_sealed``."""
    chain, seq, ts, actor, action, status, digest, prev_hash, hash_, sealed, erased = row
    return AuditEntry(
        chain,
        seq,
        ts,
        actor,
        action,
        status,
        digest,
        prev_hash,
        hash_,
        bytes(sealed) if sealed is not None else None,
        erased,
    )
