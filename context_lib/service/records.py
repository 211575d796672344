"""The records the service keeps, and the ``Backend`` protocol that stores them.

Two backends implement the protocol: :class:`~context_lib.service.sqlite.SQLiteBackend`
(the embedded default, one file) and :class:`~context_lib.service.redis.RedisBackend`
(shared by several service nodes). Backends store opaque bytes: encryption, roles and
quotas are decided by :class:`~context_lib.service.core.ContextService`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import NamedTuple, Protocol

from context_lib.service.audit import AuditDraft, AuditEntry

__all__ = [
    "ROLES",
    "ApiKey",
    "AuditListener",
    "Backend",
    "EraseMark",
    "HistoryRow",
    "Principal",
    "Tenant",
    "WritePlan",
    "role_rank",
]

ROLES = ("read", "write", "admin")  # each role includes the ones before it


class Principal(NamedTuple):
    """Who is calling: the tenant, the API key's id and its role."""

    tenant_id: str
    key_id: str
    role: str


def role_rank(role: str) -> int:
    """The rank of a role in ``ROLES`` (-1 for an unknown one, which allows nothing)."""
    return ROLES.index(role) if role in ROLES else -1


@dataclass(frozen=True)
class Tenant:
    """A tenant: its limits, its wrapped data key and its usage."""

    id: str
    name: str
    created: float
    max_keys: int
    rate: float  # requests per second (sustained)
    burst: int  # requests allowed at once
    retention_days: float | None  # history older than this is purged; None keeps it
    wrapped_key: bytes
    key_count: int = 0
    erased: float | None = None


@dataclass(frozen=True)
class ApiKey:
    """An API key as stored: its digest, never the key itself."""

    key_id: str
    tenant_id: str
    role: str
    name: str
    digest: bytes
    created: float
    revoked: float | None = None

    def public(self) -> dict[str, object]:
        """The record as JSON, without the digest."""
        return {k: v for k, v in asdict(self).items() if k != "digest"}


@dataclass(frozen=True)
class HistoryRow:
    """One change of one key in a context; ``blob`` holds before/after/who, encrypted."""

    seq: int
    ts: float
    key: str
    op: str
    blob: bytes


@dataclass
class WritePlan:
    """What a write does, decided from the current (encrypted) values.

    ``values`` maps keys to their new blob (``None`` deletes); ``history`` rows get
    their ``seq`` from the backend; ``key_delta`` is the change in the tenant's key
    count; ``audit`` is appended to the tenant's chain in the same transaction.
    """

    values: dict[str, bytes | None] = field(default_factory=dict)
    history: list[tuple[str, str, bytes]] = field(default_factory=list)  # (key, op, blob)
    key_delta: int = 0
    audit: AuditDraft | None = None


# Called after a commit that appended audit entries, with those entries (the witness).
AuditListener = Callable[[Sequence[AuditEntry]], None]
# The erasure mark of an entry whose payload is erased (see ``audit.ChainKeys``).
EraseMark = Callable[[AuditEntry], str]

# Called inside the write transaction with the current blobs of the keys and the
# tenant's current key count; returns the plan or raises to write nothing.
Planner = Callable[[Mapping[str, bytes | None], int, float], WritePlan]


class Backend(Protocol):
    """Storage of tenants, keys, encrypted values, history and the audit chains."""

    on_audit: AuditListener | None  # told of audit entries once they are committed

    def check_master(self, check_value: str) -> bool:
        """Record ``check_value`` on first use; later, tell whether it matches."""
        ...

    def store_id(self) -> str:
        """A random id of this store, made on first use (names its audit witness)."""
        ...

    def create_tenant(self, tenant: Tenant, audit: AuditDraft) -> None:
        """Store a new tenant."""
        ...

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        """The tenant, or ``None``."""
        ...

    def list_tenants(self) -> list[Tenant]:
        """Every tenant, erased ones included (they keep their audit chain)."""
        ...

    def update_limits(
        self, tenant_id: str, limits: Mapping[str, float | int | None], audit: AuditDraft
    ) -> None:
        """Change ``max_keys``, ``rate``, ``burst`` or ``retention_days``."""
        ...

    def add_api_key(self, key: ApiKey, audit: AuditDraft) -> None:
        """Store a new API key (its digest)."""
        ...

    def get_api_key(self, key_id: str) -> ApiKey | None:
        """The API key record, or ``None``."""
        ...

    def list_api_keys(self, tenant_id: str) -> list[ApiKey]:
        """The tenant's API keys, revoked ones included."""
        ...

    def revoke_api_key(self, tenant_id: str, key_id: str, when: float, audit: AuditDraft) -> bool:
        """Revoke a key of this tenant; ``False`` when the tenant has no such key."""
        ...

    def read_value(self, tenant_id: str, context: str, key: str) -> bytes | None:
        """The blob at ``key``, or ``None``."""
        ...

    def read_context(self, tenant_id: str, context: str, prefix: str | None) -> dict[str, bytes]:
        """Every blob of the context (under ``prefix.``), by key, keys sorted."""
        ...

    def list_keys(self, tenant_id: str, context: str, prefix: str | None) -> list[str]:
        """The keys of a context (under ``prefix.``), sorted."""
        ...

    def list_contexts(self, tenant_id: str) -> list[str]:
        """The tenant's contexts that hold at least one key, sorted."""
        ...

    def write(
        self, tenant_id: str, context: str, keys: list[str], planner: Planner, now: float
    ) -> WritePlan:
        """Run ``planner`` on the current blobs of ``keys`` and apply its plan atomically.

        The planner may run more than once (optimistic backends retry); whatever it
        raises aborts the write with nothing changed.
        """
        ...

    def read_history(
        self,
        tenant_id: str,
        context: str,
        key: str | None,
        since: float | None,
        after: int | None,
        limit: int,
    ) -> list[HistoryRow]:
        """History rows of a context, oldest first, at most ``limit``.

        With neither ``since`` nor ``after``: the newest ``limit`` rows. Otherwise the
        oldest ``limit`` rows with ``seq > after`` and ``ts >= since`` (a page).
        """
        ...

    def purge_history(self, tenant_id: str, before: float) -> int:
        """Delete history rows older than ``before``; return how many."""
        ...

    def append_audit(self, draft: AuditDraft) -> AuditEntry:
        """Seal and append an entry to its chain."""
        ...

    def audit_chains(self) -> list[str]:
        """The names of every audit chain."""
        ...

    def read_audit(self, chain: str) -> tuple[list[AuditEntry], tuple[int, str] | None]:
        """A chain's entries in storage order, and its recorded head."""
        ...

    def erase_audit_payloads(self, chain: str, before: float | None, mark: EraseMark) -> int:
        """Replace the payloads of entries older than ``before`` (all when ``None``)
        by their erasure marks; return how many."""
        ...

    def erase_tenant(self, tenant_id: str, when: float, audit: AuditDraft, mark: EraseMark) -> None:
        """Delete the tenant's data, keys and data key and erase its audit payloads;
        keep a tombstone and its chain."""
        ...

    def take_token(self, tenant_id: str, rate: float, burst: int, now: float) -> float:
        """Count one request; return 0 when allowed, else the seconds to wait."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
