"""``ContextService``: tenants, API keys, encrypted contexts, audit, quotas, analytics.

The HTTP layer (:mod:`context_lib.service.app`) is a thin shell over this class, and
operators' commands call it directly. Every request-level method takes the
:class:`Principal` that :meth:`ContextService.authorize` returned, and every query is
scoped to the principal's tenant: no argument can name another tenant.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from context_lib.patterns import Metrics
from context_lib.service.audit import (
    SYSTEM_CHAIN,
    AuditDraft,
    AuditEntry,
    AuditReport,
    make_draft,
    verify_chain,
)
from context_lib.service.authfail import FailedAuthGroup, FailedAuthLog
from context_lib.service.crypto import KeyRing
from context_lib.service.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitedError,
)
from context_lib.service.export import audit_trail, export_chunks
from context_lib.service.records import (
    ROLES,
    ApiKey,
    Backend,
    Principal,
    Tenant,
    WritePlan,
    role_rank,
)
from context_lib.service.validation import (
    check_context_name,
    check_limits,
    check_service_key,
    check_text,
    check_value,
    encode_value,
)
from context_lib.service.witness import Witness
from context_lib.values import same_value

__all__ = ["DEFAULT_LIMITS", "ContextService", "Principal"]

DEFAULT_LIMITS: dict[str, Any] = {
    "max_keys": 10_000,
    "rate": 1_000.0,
    "burst": 2_000,
    "retention_days": None,
}
MAX_HISTORY = 1_000
_OPERATOR = "operator"


class ContextService:
    """The multi-tenant Context service over a :class:`~context_lib.service.records.Backend`.

    ``keyring`` holds the keys derived from the master key; a store created with a
    different master key is refused with :class:`ConfigurationError`. ``witness``
    receives a signed checkpoint of the audit chains after every commit (see
    :mod:`context_lib.service.witness`); ``auth_failures`` throttles and aggregates
    failed authentications.
    """

    def __init__(
        self,
        backend: Backend,
        keyring: KeyRing,
        *,
        clock: Callable[[], float] = time.time,
        metrics_window: float = 300.0,
        witness: Witness | None = None,
        auth_failures: FailedAuthLog | None = None,
    ) -> None:
        if not backend.check_master(keyring.check_value):
            raise ConfigurationError(
                "the master key does not match the one this store was created with"
            )
        self.backend = backend
        self.keyring = keyring
        self.clock = clock
        self.metrics_window = metrics_window
        self._metrics: dict[str, Metrics] = {}
        self._metrics_lock = threading.Lock()
        self.witness = witness
        self.auth_failures = auth_failures or FailedAuthLog()
        if witness is not None:
            backend.on_audit = witness.record

    # ================================================================== operator

    def create_tenant(self, name: str, **limits: Any) -> Tenant:
        """A new tenant named ``name`` with ``DEFAULT_LIMITS`` overridden by ``limits``."""
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise BadRequestError("a tenant name is 1-200 characters", code="invalid_name")
        check_text(name, "the tenant name")
        settings = {**DEFAULT_LIMITS, **check_limits(limits)}
        tenant_id = "t_" + secrets.token_hex(8)
        now = self.clock()
        tenant = Tenant(
            id=tenant_id,
            name=name.strip(),
            created=now,
            wrapped_key=self.keyring.new_wrapped_tenant_key(tenant_id),
            **settings,
        )
        self.backend.create_tenant(
            tenant, self._draft(tenant_id, _OPERATOR, "tenant.create", 200, {"name": name}, now)
        )
        return tenant

    def tenant(self, tenant_id: str) -> Tenant:
        """The live tenant ``tenant_id``, or :class:`NotFoundError`."""
        tenant = self.backend.get_tenant(tenant_id)
        if tenant is None or tenant.erased is not None:
            raise NotFoundError(f"no tenant {tenant_id!r}", code="tenant_not_found")
        return tenant

    def tenants(self) -> list[Tenant]:
        """Every tenant, erased ones included."""
        return self.backend.list_tenants()

    def set_limits(self, tenant_id: str, *, actor: str = _OPERATOR, **limits: Any) -> Tenant:
        """Change a tenant's ``max_keys``, ``rate``, ``burst`` or ``retention_days``."""
        self.tenant(tenant_id)
        checked = check_limits(limits)
        draft = self._draft(tenant_id, actor, "tenant.limits", 200, dict(checked))
        self.backend.update_limits(tenant_id, checked, draft)
        return self.tenant(tenant_id)

    def issue_key(
        self, tenant_id: str, role: str, name: str = "", actor: str = _OPERATOR
    ) -> tuple[ApiKey, str]:
        """A new API key for the tenant: its record and the key itself (shown once)."""
        self.tenant(tenant_id)
        if role not in ROLES:
            raise BadRequestError(
                f"unknown role {role!r}; use one of {', '.join(ROLES)}", code="invalid_role"
            )
        if not isinstance(name, str) or len(name) > 100:
            raise BadRequestError("a key name is a string of at most 100 characters")
        check_text(name, "the key name")
        key_id, secret = self.keyring.new_api_key()
        now = self.clock()
        record = ApiKey(key_id, tenant_id, role, name, self.keyring.digest(secret), now)
        draft = self._draft(
            tenant_id, actor, "key.create", 200, {"key_id": key_id, "role": role}, now
        )
        self.backend.add_api_key(record, draft)
        return record, secret

    def erase(self, tenant_id: str, actor: str = _OPERATOR) -> None:
        """Erase a tenant: data, history, keys and data key go; the audit chain records it.

        The payloads of the tenant's audit entries are erased too; the chain still
        verifies (see :mod:`context_lib.service.audit`).
        """
        self.tenant(tenant_id)
        now = self.clock()
        self.backend.erase_tenant(
            tenant_id,
            now,
            self._draft(tenant_id, actor, "tenant.erase", 200, None, now),
            self._erasure_mark,
        )
        with self._metrics_lock:
            self._metrics.pop(tenant_id, None)

    def verify_audit(self, chain: str | None = None) -> AuditReport:
        """Verify one audit chain, or all of them, against the witness if there is one.

        Every chain the witness saw must still be there and reach the newest entry
        the witness saw (see :mod:`context_lib.service.witness`).
        """
        report = AuditReport()
        seen: dict[str, tuple[int, str]] = {}
        names = set(self.backend.audit_chains())
        if self.witness is not None:
            state = self.witness.read()
            report.problems.extend(state.problems)
            seen = state.heads
            names |= set(seen)
            if names and not state.lines:
                report.problems.append(
                    f"the audit witness {self.witness.path} is missing or empty: the chains "
                    "cannot be checked for removed entries"
                )
        for name in [chain] if chain is not None else sorted(names):
            entries, head = self.backend.read_audit(name)
            keys = self.keyring.audit_keys(name)
            report.merge(verify_chain(name, entries, head, keys, seen.get(name)))
        return report

    def purge_expired(self) -> dict[str, int]:
        """Apply every tenant's retention period to its history and audit payloads.

        Returns the number of history rows purged per tenant (tenants with nothing
        to purge are left out).
        """
        purged: dict[str, int] = {}
        now = self.clock()
        for tenant in self.backend.list_tenants():
            if tenant.erased is not None or tenant.retention_days is None:
                continue
            cutoff = now - tenant.retention_days * 86_400
            count = self.backend.purge_history(tenant.id, cutoff)
            self.backend.erase_audit_payloads(tenant.id, cutoff, self._erasure_mark)
            if count:
                purged[tenant.id] = count
        return purged

    def close(self) -> None:
        """Audit pending failed authentications, then close the store and the witness."""
        try:
            self.flush_failures()
        finally:
            self.backend.close()
            if self.witness is not None:
                self.witness.close()

    # ================================================================== requests

    def authorize(
        self, api_key: str | None, role: str, action: str, *, source: str = "-"
    ) -> Principal:
        """Authenticate ``api_key``, check its role allows ``role`` and take a rate token.

        Every refusal is raised: :class:`AuthenticationError` (401),
        :class:`PermissionDeniedError` (403) or :class:`RateLimitedError` (429). Refused
        authentications are audited in aggregate per ``source`` and key id (see
        :mod:`context_lib.service.authfail`); a source with too many of them gets 429
        before its key is checked. Other refusals are audited one by one.
        """
        now = self.clock()
        wait = self.auth_failures.throttled(source, now)
        if wait > 0:
            self._failed(SYSTEM_CHAIN, source, "-", "throttled", now)
            raise RateLimitedError(
                f"too many failed authentications from {source}; retry in {wait:.0f} s",
                retry_after=wait,
            )
        record, tenant = self._find_key(api_key, action, now, source)
        principal = Principal(record.tenant_id, record.key_id, record.role)
        if role_rank(record.role) < role_rank(role):
            self.deny(principal, action, 403)
            raise PermissionDeniedError(
                f"this API key has the {record.role!r} role; {action} needs {role!r}"
            )
        wait = self.backend.take_token(tenant.id, tenant.rate, tenant.burst, now)
        if wait > 0:
            self.deny(principal, action, 429)
            raise RateLimitedError(
                f"rate limit of {tenant.rate:g} requests/s exceeded; retry in {wait:.2f} s",
                retry_after=wait,
            )
        return principal

    def _find_key(
        self, api_key: str | None, action: str, now: float, source: str
    ) -> tuple[ApiKey, Tenant]:
        refused = "missing, unknown or revoked API key"
        if not api_key:
            self._failed(SYSTEM_CHAIN, source, "-", action, now)
            raise AuthenticationError(
                "this request needs an API key: send 'Authorization: Bearer <key>'"
            )
        key_id = self.keyring.key_id_of(api_key)
        record = self.backend.get_api_key(key_id) if key_id else None
        if record is None:
            self.keyring.matches(api_key, b"\0" * 32)  # same work as a real check
            self._failed(SYSTEM_CHAIN, source, key_id or "?", action, now)
            raise AuthenticationError(refused)
        good = self.keyring.matches(api_key, record.digest)
        tenant = self.backend.get_tenant(record.tenant_id)
        if not good or record.revoked is not None or tenant is None or tenant.erased is not None:
            chain = record.tenant_id if tenant is not None and tenant.erased is None else "-"
            self._failed(chain, source, record.key_id, action, now)
            raise AuthenticationError(refused)
        assert tenant is not None
        return record, tenant

    def _failed(self, chain: str, source: str, key_id: str, action: str, now: float) -> None:
        closed = self.auth_failures.note(chain, source, key_id, action, now)
        self._audit_failures(closed)

    def _audit_failures(self, groups: list[FailedAuthGroup]) -> None:
        for group in groups:
            self.backend.append_audit(
                self._draft(group.chain, "-", "auth.failed", 401, group.payload(), group.last)
            )

    def housekeeping(self) -> None:
        """Background chores (the app runs them every second): audit the failed
        authentications of a closed window, checkpoint the store's log."""
        self._audit_failures(self.auth_failures.flush(self.clock()))
        checkpoint = getattr(self.backend, "checkpoint", None)
        if checkpoint is not None:
            checkpoint()

    def flush_failures(self) -> None:
        """Audit the failed authentications counted so far, window closed or not."""
        self._audit_failures(self.auth_failures.flush(self.clock(), force=True))

    def deny(self, principal: Principal, action: str, status: int) -> None:
        """Audit a refused request of an authenticated caller."""
        self.backend.append_audit(
            self._draft(principal.tenant_id, principal.key_id, action, status)
        )

    def _draft(
        self,
        chain: str,
        actor: str,
        action: str,
        status: int,
        payload: Mapping[str, Any] | None = None,
        ts: float | None = None,
    ) -> AuditDraft:
        keys = self.keyring.audit_keys(chain)
        when = self.clock() if ts is None else ts
        return make_draft(keys, chain, when, actor, action, status, payload)

    def _erasure_mark(self, entry: AuditEntry) -> str:
        return self.keyring.audit_keys(entry.chain).erasure_mark(
            entry.chain, entry.seq, entry.digest
        )

    def _cipher(self, tenant_id: str) -> tuple[Tenant, AESGCM]:
        tenant = self.tenant(tenant_id)
        return tenant, self.keyring.tenant_cipher(tenant_id, tenant.wrapped_key)

    def _open(self, cipher: AESGCM, blob: bytes, aad: str) -> Any:
        return json.loads(self.keyring.decrypt(cipher, blob, aad.encode()))

    # ------------------------------------------------------------------ reading

    def get(self, p: Principal, context: str, key: str) -> Any:
        """The value at ``key``; :class:`NotFoundError` (``key_not_found``) when absent."""
        check_context_name(context)
        check_service_key(key)
        _, cipher = self._cipher(p.tenant_id)
        blob = self.backend.read_value(p.tenant_id, context, key)
        if blob is None:
            raise NotFoundError(f"no key {key!r} in context {context!r}", code="key_not_found")
        return self._open(cipher, blob, f"{p.tenant_id}/{context}/{key}")

    def get_context(self, p: Principal, context: str, prefix: str | None = None) -> dict[str, Any]:
        """Every value of the context (or under ``prefix.``), keys sorted."""
        check_context_name(context)
        if prefix is not None:
            check_service_key(prefix)
        _, cipher = self._cipher(p.tenant_id)
        blobs = self.backend.read_context(p.tenant_id, context, prefix)
        return {k: self._open(cipher, b, f"{p.tenant_id}/{context}/{k}") for k, b in blobs.items()}

    def keys(self, p: Principal, context: str, prefix: str | None = None) -> list[str]:
        """The keys of the context (or under ``prefix.``), sorted."""
        check_context_name(context)
        if prefix is not None:
            check_service_key(prefix)
        return self.backend.list_keys(p.tenant_id, context, prefix)

    def contexts(self, p: Principal) -> list[str]:
        """The tenant's contexts that hold at least one key."""
        return self.backend.list_contexts(p.tenant_id)

    def history_page(
        self,
        p: Principal,
        context: str,
        key: str | None = None,
        *,
        since: float | None = None,
        after: int | None = None,
        limit: int = MAX_HISTORY,
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of the context's changes, oldest first, and whether more follow.

        With neither ``since`` nor ``after``: the newest ``limit`` changes. Otherwise
        the oldest ``limit`` changes at or after time ``since`` and with ``seq`` above
        ``after``; page on with ``after`` = the last ``seq`` received, which reaches
        every change however many there are.
        """
        check_context_name(context)
        if key is not None:
            check_service_key(key)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_HISTORY:
            raise BadRequestError(
                f"limit must be an integer from 1 to {MAX_HISTORY}", code="invalid_query"
            )
        paging = since is not None or after is not None
        _, cipher = self._cipher(p.tenant_id)
        rows = self.backend.read_history(
            p.tenant_id, context, key, since, after, limit + 1 if paging else limit
        )
        more = len(rows) > limit
        changes = []
        for row in rows[:limit]:
            body = self._open(cipher, row.blob, f"{p.tenant_id}/{context}/{row.key}/history")
            changes.append(
                {"seq": row.seq, "timestamp": row.ts, "key": row.key, "op": row.op, **body}
            )
        return changes, more

    def history(
        self,
        p: Principal,
        context: str,
        key: str | None = None,
        since: float | None = None,
        limit: int = MAX_HISTORY,
    ) -> list[dict[str, Any]]:
        """Changes of the context, oldest first, like ``Context.get_history`` (one page
        of :meth:`history_page`)."""
        return self.history_page(p, context, key, since=since, limit=limit)[0]

    # ------------------------------------------------------------------ writing

    def write(
        self,
        p: Principal,
        context: str,
        values: Mapping[str, Any] | None = None,
        delete: Sequence[str] = (),
        *,
        who: str | None = None,
        must_exist: bool = False,
    ) -> list[str]:
        """Set ``values`` and delete ``delete`` in one transaction; return the changed keys.

        Setting a key to the value it holds changes nothing (as in ``Context``).
        Deleting an absent key is ignored, unless ``must_exist`` (then 404). A write
        that would pass the key quota raises :class:`QuotaExceededError` and writes
        nothing; so does any invalid key or value.
        """
        check_context_name(context)
        values = dict(values or {})
        sets = {check_service_key(k): check_value(v, f"value[{k!r}]") for k, v in values.items()}
        # Unique: deleting a key twice in one request must count it (and record it) once.
        deletes = list(dict.fromkeys(check_service_key(k) for k in delete))
        if both := sorted(set(sets) & set(deletes)):
            raise BadRequestError(f"key {both[0]!r} is both set and deleted in one request")
        if who is not None and (not isinstance(who, str) or len(who) > 200):
            raise BadRequestError("'who' must be a string of at most 200 characters")
        if who is not None:
            check_text(who, "'who'")
        tenant, cipher = self._cipher(p.tenant_id)
        author = who if who is not None else p.key_id
        aad = f"{p.tenant_id}/{context}/"
        encrypt = self.keyring.encrypt

        def plan(old: Mapping[str, bytes | None], key_count: int, now: float) -> WritePlan:
            result = WritePlan()
            changes: list[tuple[str, str, Any, Any]] = []
            for key, value in sets.items():
                blob = old[key]
                before = None if blob is None else self._open(cipher, blob, aad + key)
                if blob is not None and same_value(before, value):
                    continue
                result.values[key] = encrypt(cipher, encode_value(value), (aad + key).encode())
                result.key_delta += blob is None
                changes.append((key, "set", before, value))
            for key in deletes:
                blob = old[key]
                if blob is None:
                    if must_exist:
                        raise NotFoundError(
                            f"no key {key!r} in context {context!r}", code="key_not_found"
                        )
                    continue
                result.values[key] = None
                result.key_delta -= 1
                changes.append((key, "delete", self._open(cipher, blob, aad + key), None))
            if result.key_delta > 0 and key_count + result.key_delta > tenant.max_keys:
                raise QuotaExceededError(
                    f"this write adds {result.key_delta} key(s) to the {key_count} stored; "
                    f"the tenant's quota is {tenant.max_keys} keys. Nothing was written."
                )
            for key, op, before, after in changes:
                body = encode_value({"before": before, "after": after, "who": author})
                result.history.append(
                    (key, op, encrypt(cipher, body, f"{aad}{key}/history".encode()))
                )
            if changes:
                payload = {"context": context, "keys": [c[0] for c in changes], "who": author}
                result.audit = self._draft(p.tenant_id, p.key_id, "write", 200, payload, now)
            return result

        try:
            done = self.backend.write(p.tenant_id, context, [*sets, *deletes], plan, self.clock())
        except QuotaExceededError:
            self.deny(p, "write", 413)
            raise
        return [key for key, _, _ in done.history]

    def delete_context(self, p: Principal, context: str, who: str | None = None) -> list[str]:
        """Delete every key of the context (recorded in its history)."""
        return self.write(p, context, delete=self.keys(p, context), who=who)

    # ------------------------------------------------------------------ tenant admin

    def info(self, p: Principal) -> dict[str, Any]:
        """The tenant's id, name, limits and usage."""
        tenant = self.tenant(p.tenant_id)
        return {
            "id": tenant.id,
            "name": tenant.name,
            "created": tenant.created,
            "limits": {
                "max_keys": tenant.max_keys,
                "rate": tenant.rate,
                "burst": tenant.burst,
                "retention_days": tenant.retention_days,
            },
            "usage": {"keys": tenant.key_count},
            "role": p.role,
        }

    def api_keys(self, p: Principal) -> list[dict[str, Any]]:
        """The tenant's API keys (never the keys themselves)."""
        return [k.public() for k in self.backend.list_api_keys(p.tenant_id)]

    def revoke(self, p: Principal, key_id: str) -> None:
        """Revoke one of the caller's tenant's API keys (404 for any other id)."""
        self.revoke_key(p.tenant_id, key_id, actor=p.key_id)

    def revoke_key(self, tenant_id: str, key_id: str, *, actor: str = _OPERATOR) -> None:
        """Revoke an API key of ``tenant_id``; :class:`NotFoundError` if it has no such key."""
        now = self.clock()
        draft = self._draft(tenant_id, actor, "key.revoke", 200, {"key_id": str(key_id)}, now)
        if not self.backend.revoke_api_key(tenant_id, str(key_id), now, draft):
            raise NotFoundError(f"no API key {key_id!r}", code="api_key_not_found")

    def export_stream(self, p: Principal) -> Iterator[bytes]:
        """All of the tenant's data, every change of its history, its API key records
        and its audit trail, as one JSON document produced in chunks (see
        :mod:`context_lib.service.export`)."""
        self.backend.append_audit(self._draft(p.tenant_id, p.key_id, "tenant.export", 200))
        return export_chunks(self, p)

    def export(self, p: Principal) -> dict[str, Any]:
        """The document of :meth:`export_stream`, parsed."""
        data: dict[str, Any] = json.loads(b"".join(self.export_stream(p)))
        return data

    def audit_trail(self, p: Principal) -> dict[str, Any]:
        """The tenant's audit entries (payloads decrypted) and whether its chain verifies."""
        return audit_trail(self, p)

    # ------------------------------------------------------------------ analytics

    def record(
        self,
        tenant_id: str,
        op: str,
        seconds: float,
        *,
        error: bool = False,
        key: str | None = None,
    ) -> None:
        """Count one request of a tenant in its sliding-window metrics."""
        metrics = self._metrics.get(tenant_id)
        if metrics is None:
            with self._metrics_lock:
                metrics = self._metrics.setdefault(tenant_id, Metrics(self.metrics_window))
        metrics.record(op, seconds, error=error, key=key)

    def analytics(self, p: Principal, top: int = 10) -> dict[str, Any]:
        """Operation counts, latency percentiles and most written keys over the window."""
        metrics = self._metrics.get(p.tenant_id) or Metrics(self.metrics_window)
        top_keys = metrics.top_keys("set", top)
        return {
            "window_s": self.metrics_window,
            "operations": metrics.as_dict(),
            "top_written_keys": [{"key": k, "writes": n} for k, n in top_keys],
            "usage": self.info(p)["usage"],
        }
