"""``RedisBackend``: the service's records in Redis, shared by several service nodes.

Writes are optimistic transactions (``WATCH`` / ``MULTI`` / ``EXEC``): a node reads
the current values, the tenant's key count and the audit chain's head, plans the
write, and commits only if none of them changed meanwhile, else it plans again.
So values, history, key count and the audit entry commit together, and the audit
chain stays one unbroken sequence however many nodes write. The rate limit is a
token bucket evaluated inside Redis by a Lua script, shared by every node.

Layout (``P`` is the key prefix, ``ctxsvc`` by default)::

    P:meta                      hash   master_check
    P:tenants                   set    tenant ids
    P:tenant:<id>               hash   the tenant record (key_count kept up to date)
    P:keys:<tenant>             set    API key ids;  P:key:<key_id>  hash  the key record
    P:ctxs:<tenant>             set    contexts ever written
    P:vals:<tenant>:<ctx>       hash   key -> encrypted value
    P:hseq:<tenant>:<ctx>       string last history seq
    P:hist:<tenant>:<ctx>       zset   history rows scored by seq
    P:chains                    set    audit chain names
    P:audit:<chain>             list   sealed entries (JSON, without payload)
    P:apay:<chain>              hash   seq -> {"sealed": base64} or {"erased": mark}
    P:ahead:<chain>             string "<seq> <hash>"
    P:rate:<tenant>             hash   token bucket
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import redis
from redis.client import Pipeline

from context_lib.service.audit import GENESIS, AuditDraft, AuditEntry, canonical
from context_lib.service.errors import ConfigurationError
from context_lib.service.records import (
    ApiKey,
    AuditListener,
    EraseMark,
    HistoryRow,
    Planner,
    Tenant,
    WritePlan,
)

__all__ = ["RedisBackend"]

T = TypeVar("T")

_TAKE_TOKEN = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens = tonumber(state[1]) or burst
local last = tonumber(state[2]) or t
tokens = math.min(burst, tokens + math.max(0, t - last) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(t))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return tostring(wait)
"""

_ENTRY_FIELDS = (
    "chain",
    "seq",
    "ts",
    "actor",
    "action",
    "status",
    "digest",
    "prev_hash",
    "hash",
)
_TENANT_FIELDS = ("name", "created", "max_keys", "rate", "burst", "retention_days", "key_count")


def _s(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisBackend:
    """The service's records in Redis at ``url`` (``redis://host:port/db``)."""

    def __init__(self, url: str, *, prefix: str = "ctxsvc") -> None:
        self.url = url
        self.p = prefix
        self.on_audit: AuditListener | None = None
        self._sealing = threading.local()
        try:
            self._r = redis.Redis.from_url(url, decode_responses=False)
            self._r.ping()
        except (redis.RedisError, ValueError) as exc:
            raise ConfigurationError(f"cannot connect to Redis at {url}: {exc}") from exc
        self._take = self._r.register_script(_TAKE_TOKEN)

    def _k(self, *parts: str) -> str:
        return ":".join((self.p, *parts))

    def _transact(self, watch: list[str], body: Callable[[Pipeline], T]) -> T:
        """Run ``body`` (which reads, then calls ``pipe.multi()`` and queues writes)
        until it commits without any watched key changing meanwhile."""
        with self._r.pipeline() as pipe:
            while True:
                self._sealing.entries = []
                try:
                    pipe.watch(*watch)  # type: ignore[no-untyped-call]
                    result = body(pipe)
                    pipe.execute()
                except redis.WatchError:
                    continue
                sealed: list[AuditEntry] = self._sealing.entries
                if sealed and self.on_audit is not None:
                    self.on_audit(sealed)  # after the commit: the witness is never ahead
                return result

    # ------------------------------------------------------------------ meta, tenants

    def check_master(self, check_value: str) -> bool:
        """Record ``check_value`` on first use; later, tell whether it matches."""
        key = self._k("meta")
        self._r.hsetnx(key, "master_check", check_value)
        return _s(self._r.hget(key, "master_check")) == check_value

    def store_id(self) -> str:
        """A random id of this store, made on first use (names its audit witness)."""
        key = self._k("meta")
        self._r.hsetnx(key, "store_id", secrets.token_hex(8))
        return _s(self._r.hget(key, "store_id"))

    def _tenant_mapping(self, tenant: Tenant) -> dict[str, Any]:
        return {
            "name": tenant.name,
            "created": repr(tenant.created),
            "max_keys": tenant.max_keys,
            "rate": repr(tenant.rate),
            "burst": tenant.burst,
            "retention_days": "" if tenant.retention_days is None else repr(tenant.retention_days),
            "wrapped_key": tenant.wrapped_key,
            "key_count": tenant.key_count,
            "erased": "" if tenant.erased is None else repr(tenant.erased),
        }

    def create_tenant(self, tenant: Tenant, audit: AuditDraft) -> None:
        """Store a new tenant."""

        def body(pipe: Pipeline) -> None:
            entry = self._seal(pipe, audit)
            pipe.multi()
            pipe.hset(self._k("tenant", tenant.id), mapping=_fields(self._tenant_mapping(tenant)))
            pipe.sadd(self._k("tenants"), tenant.id)
            self._queue_audit(pipe, entry)

        self._transact([self._head(audit.chain)], body)

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        """The tenant, or ``None``."""
        raw = cast(dict[bytes, bytes], self._r.hgetall(self._k("tenant", tenant_id)))
        if not raw:
            return None
        f = {_s(k): v for k, v in raw.items()}
        return Tenant(
            id=tenant_id,
            name=_s(f["name"]),
            created=float(f["created"]),
            max_keys=int(f["max_keys"]),
            rate=float(f["rate"]),
            burst=int(f["burst"]),
            retention_days=float(f["retention_days"]) if f["retention_days"] else None,
            wrapped_key=bytes(f["wrapped_key"]),
            key_count=int(f["key_count"]),
            erased=float(f["erased"]) if f["erased"] else None,
        )

    def list_tenants(self) -> list[Tenant]:
        """Every tenant, erased ones included."""
        ids = sorted(_s(i) for i in cast(set[bytes], self._r.smembers(self._k("tenants"))))
        tenants = [t for t in (self.get_tenant(i) for i in ids) if t is not None]
        return sorted(tenants, key=lambda t: (t.created, t.id))

    def update_limits(
        self, tenant_id: str, limits: Mapping[str, float | int | None], audit: AuditDraft
    ) -> None:
        """Change ``max_keys``, ``rate``, ``burst`` or ``retention_days``."""
        fields = {k: ("" if v is None else repr(v)) for k, v in limits.items()}

        def body(pipe: Pipeline) -> None:
            entry = self._seal(pipe, audit)
            pipe.multi()
            if fields:
                pipe.hset(self._k("tenant", tenant_id), mapping=_fields(fields))
            self._queue_audit(pipe, entry)

        self._transact([self._head(audit.chain)], body)

    # ------------------------------------------------------------------ API keys

    def add_api_key(self, key: ApiKey, audit: AuditDraft) -> None:
        """Store a new API key (its digest)."""

        def body(pipe: Pipeline) -> None:
            entry = self._seal(pipe, audit)
            pipe.multi()
            pipe.hset(
                self._k("key", key.key_id),
                mapping=_fields(
                    {
                        "tenant_id": key.tenant_id,
                        "role": key.role,
                        "name": key.name,
                        "digest": key.digest,
                        "created": repr(key.created),
                        "revoked": "" if key.revoked is None else repr(key.revoked),
                    }
                ),
            )
            pipe.sadd(self._k("keys", key.tenant_id), key.key_id)
            self._queue_audit(pipe, entry)

        self._transact([self._head(audit.chain)], body)

    def get_api_key(self, key_id: str) -> ApiKey | None:
        """The API key record, or ``None``."""
        raw = cast(dict[bytes, bytes], self._r.hgetall(self._k("key", key_id)))
        if not raw:
            return None
        f = {_s(k): v for k, v in raw.items()}
        return ApiKey(
            key_id=key_id,
            tenant_id=_s(f["tenant_id"]),
            role=_s(f["role"]),
            name=_s(f["name"]),
            digest=bytes(f["digest"]),
            created=float(f["created"]),
            revoked=float(f["revoked"]) if f["revoked"] else None,
        )

    def list_api_keys(self, tenant_id: str) -> list[ApiKey]:
        """The tenant's API keys, revoked ones included."""
        ids = cast(set[bytes], self._r.smembers(self._k("keys", tenant_id)))
        keys = [k for k in (self.get_api_key(_s(i)) for i in ids) if k is not None]
        return sorted(keys, key=lambda k: (k.created, k.key_id))

    def revoke_api_key(self, tenant_id: str, key_id: str, when: float, audit: AuditDraft) -> bool:
        """Revoke a key of this tenant; ``False`` when the tenant has no such key."""
        record_key = self._k("key", key_id)

        def body(pipe: Pipeline) -> bool:
            owner = pipe.hget(record_key, "tenant_id")
            if owner is None or _s(owner) != tenant_id:
                pipe.unwatch()
                pipe.multi()
                return False
            revoked = pipe.hget(record_key, "revoked")
            entry = self._seal(pipe, audit)
            pipe.multi()
            if not revoked:
                pipe.hset(record_key, "revoked", repr(when))
            self._queue_audit(pipe, entry)
            return True

        return self._transact([self._head(audit.chain), record_key], body)

    # ------------------------------------------------------------------ values

    def read_value(self, tenant_id: str, context: str, key: str) -> bytes | None:
        """The blob at ``key``, or ``None``."""
        return cast(bytes | None, self._r.hget(self._k("vals", tenant_id, context), key))

    def read_context(self, tenant_id: str, context: str, prefix: str | None) -> dict[str, bytes]:
        """Every blob of the context (under ``prefix.``), by key, keys sorted."""
        raw = cast(dict[bytes, bytes], self._r.hgetall(self._k("vals", tenant_id, context)))
        start = None if prefix is None else prefix + "."
        found = {_s(k): v for k, v in raw.items()}
        return {k: found[k] for k in sorted(found) if start is None or k.startswith(start)}

    def list_keys(self, tenant_id: str, context: str, prefix: str | None) -> list[str]:
        """The keys of a context (under ``prefix.``), sorted."""
        raw = cast(list[bytes], self._r.hkeys(self._k("vals", tenant_id, context)))
        start = None if prefix is None else prefix + "."
        return sorted(k for k in map(_s, raw) if start is None or k.startswith(start))

    def list_contexts(self, tenant_id: str) -> list[str]:
        """The tenant's contexts that hold at least one key, sorted."""
        names = sorted(
            _s(n) for n in cast(set[bytes], self._r.smembers(self._k("ctxs", tenant_id)))
        )
        return [n for n in names if self._r.exists(self._k("vals", tenant_id, n))]

    def write(
        self, tenant_id: str, context: str, keys: list[str], planner: Planner, now: float
    ) -> WritePlan:
        """Run ``planner`` on the current blobs of ``keys`` and apply its plan atomically."""
        vals = self._k("vals", tenant_id, context)
        seq_key = self._k("hseq", tenant_id, context)
        tenant_key = self._k("tenant", tenant_id)

        def body(pipe: Pipeline) -> WritePlan:
            blobs = cast(list[bytes | None], pipe.hmget(vals, keys)) if keys else []
            old = dict(zip(keys, blobs, strict=True))
            count = int(cast(bytes, pipe.hget(tenant_key, "key_count")) or 0)
            plan = planner(old, count, now)
            seq = int(cast(bytes | None, pipe.get(seq_key)) or 0)
            entry = self._seal(pipe, plan.audit) if plan.audit is not None else None
            pipe.multi()
            sets = {k: v for k, v in plan.values.items() if v is not None}
            gone = [k for k, v in plan.values.items() if v is None]
            if sets:
                pipe.hset(vals, mapping=_fields(sets))
                pipe.sadd(self._k("ctxs", tenant_id), context)
            if gone:
                pipe.hdel(vals, *gone)
            if plan.history:
                rows = {
                    _row(seq + i, now, key, op, blob): seq + i
                    for i, (key, op, blob) in enumerate(plan.history, start=1)
                }
                pipe.zadd(self._k("hist", tenant_id, context), rows)
                pipe.set(seq_key, seq + len(plan.history))
                pipe.sadd(self._k("ctxs", tenant_id), context)
            if plan.key_delta:
                pipe.hincrby(tenant_key, "key_count", plan.key_delta)
            if entry is not None:
                self._queue_audit(pipe, entry)
            return plan

        # The chain head is watched too: a write is audited in the tenant's chain.
        return self._transact([vals, seq_key, tenant_key, self._head(tenant_id)], body)

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
        low = "-inf" if after is None else f"({after}"
        rows = [
            _parse_row(m)
            for m in cast(
                list[bytes],
                self._r.zrangebyscore(self._k("hist", tenant_id, context), low, "+inf"),
            )
        ]
        chosen = [
            r for r in rows if (key is None or r.key == key) and (since is None or r.ts >= since)
        ]
        if since is None and after is None:
            return chosen[-limit:]
        return chosen[:limit]

    def purge_history(self, tenant_id: str, before: float) -> int:
        """Delete history rows older than ``before``; return how many."""
        removed = 0
        for name in cast(set[bytes], self._r.smembers(self._k("ctxs", tenant_id))):
            hist = self._k("hist", tenant_id, _s(name))
            old = [
                m
                for m in cast(list[bytes], self._r.zrange(hist, 0, -1))
                if _parse_row(m).ts < before
            ]
            if old:
                removed += int(self._r.zrem(hist, *old))
        return removed

    # ------------------------------------------------------------------ audit

    def _head(self, chain: str) -> str:
        return self._k("ahead", chain)

    def _seal(self, pipe: Pipeline, draft: AuditDraft) -> AuditEntry:
        raw = cast(bytes | None, pipe.get(self._head(draft.chain)))
        seq, prev = (0, GENESIS)
        if raw:
            text_seq, prev = _s(raw).split(" ", 1)
            seq = int(text_seq)
        entry = draft.seal(seq + 1, prev)
        self._sealing.entries.append(entry)
        return entry

    def _queue_audit(self, pipe: Pipeline, entry: AuditEntry) -> None:
        core = {k: v for k, v in entry.as_dict(None).items() if k not in ("payload", "erased")}
        pipe.rpush(self._k("audit", entry.chain), canonical(core))
        if entry.sealed is not None:
            sealed = base64.b64encode(entry.sealed).decode()
            pipe.hset(self._k("apay", entry.chain), str(entry.seq), canonical({"sealed": sealed}))
        pipe.set(self._head(entry.chain), f"{entry.seq} {entry.hash}")
        pipe.sadd(self._k("chains"), entry.chain)

    def append_audit(self, draft: AuditDraft) -> AuditEntry:
        """Seal and append an entry to its chain."""

        def body(pipe: Pipeline) -> AuditEntry:
            entry = self._seal(pipe, draft)
            pipe.multi()
            self._queue_audit(pipe, entry)
            return entry

        return self._transact([self._head(draft.chain)], body)

    def audit_chains(self) -> list[str]:
        """The names of every audit chain."""
        return sorted(_s(c) for c in cast(set[bytes], self._r.smembers(self._k("chains"))))

    def read_audit(self, chain: str) -> tuple[list[AuditEntry], tuple[int, str] | None]:
        """A chain's entries in storage order, and its recorded head."""
        with self._r.pipeline(transaction=True) as pipe:
            pipe.lrange(self._k("audit", chain), 0, -1)
            pipe.hgetall(self._k("apay", chain))
            pipe.get(self._head(chain))
            raw_entries, raw_payloads, raw_head = pipe.execute()
        payloads = {int(k): json.loads(v) for k, v in raw_payloads.items()}
        entries = []
        for raw in raw_entries:
            data = json.loads(raw)
            extra = payloads.get(data["seq"], {})
            sealed = extra.get("sealed")
            entries.append(
                AuditEntry(
                    **{k: data[k] for k in _ENTRY_FIELDS},
                    sealed=base64.b64decode(sealed) if isinstance(sealed, str) else None,
                    erased=extra.get("erased"),
                )
            )
        head = None
        if raw_head:
            text_seq, hash_ = _s(raw_head).split(" ", 1)
            head = (int(text_seq), hash_)
        return entries, head

    def _erasures(self, chain: str, before: float | None, mark: EraseMark) -> dict[str, bytes]:
        entries, _ = self.read_audit(chain)
        return {
            str(e.seq): canonical({"erased": mark(e)})
            for e in entries
            if e.sealed is not None and (before is None or e.ts < before)
        }

    def erase_audit_payloads(self, chain: str, before: float | None, mark: EraseMark) -> int:
        """Replace the payloads of entries older than ``before`` (all when ``None``)
        by their erasure marks; return how many."""
        marks = self._erasures(chain, before, mark)
        if marks:
            self._r.hset(self._k("apay", chain), mapping=_fields(marks))
        return len(marks)

    def erase_tenant(self, tenant_id: str, when: float, audit: AuditDraft, mark: EraseMark) -> None:
        """Delete the tenant's data, keys and data key and erase its audit payloads;
        keep a tombstone and its chain."""
        marks = self._erasures(tenant_id, None, mark)
        contexts = [_s(n) for n in cast(set[bytes], self._r.smembers(self._k("ctxs", tenant_id)))]
        key_ids = [_s(i) for i in cast(set[bytes], self._r.smembers(self._k("keys", tenant_id)))]

        def body(pipe: Pipeline) -> None:
            entry = self._seal(pipe, audit)
            pipe.multi()
            doomed = [self._k("ctxs", tenant_id), self._k("keys", tenant_id)]
            doomed += [
                self._k(kind, tenant_id, c) for c in contexts for kind in ("vals", "hist", "hseq")
            ]
            doomed += [self._k("key", i) for i in key_ids]
            doomed += [self._k("rate", tenant_id)]
            pipe.delete(*doomed)
            if marks:
                pipe.hset(self._k("apay", tenant_id), mapping=_fields(marks))
            pipe.hset(
                self._k("tenant", tenant_id),
                mapping=_fields(
                    {"name": "", "wrapped_key": b"", "key_count": 0, "erased": repr(when)}
                ),
            )
            self._queue_audit(pipe, entry)

        self._transact([self._head(audit.chain), self._k("ctxs", tenant_id)], body)

    def take_token(self, tenant_id: str, rate: float, burst: int, now: float) -> float:
        """Count one request in the tenant's token bucket, shared by every node."""
        wait = self._take(keys=[self._k("rate", tenant_id)], args=[repr(rate), burst])
        return float(_s(cast(bytes, wait)))

    def close(self) -> None:
        """Close the connection pool."""
        self._r.close()


def _fields(mapping: Mapping[str, Any]) -> Any:
    """A field mapping for ``hset`` (redis-py's stub types it invariantly)."""
    return mapping


def _row(seq: int, ts: float, key: str, op: str, blob: bytes) -> bytes:
    return f"{seq:012d}\x1f{ts!r}\x1f{key}\x1f{op}\x1f".encode() + blob


def _parse_row(member: bytes) -> HistoryRow:
    seq, ts, key, op, blob = member.split(b"\x1f", 4)
    return HistoryRow(int(seq), float(ts), key.decode(), op.decode(), blob)
