"""The hash-chained audit log: sealing entries and verifying chains.

Each tenant has its own chain (unauthenticated requests go to the ``-`` chain). An
entry's hash covers its sequence number, time, actor, action, outcome, the digest of
its payload and the previous entry's hash; a chain's *head* (last seq and hash) is
stored beside it. Changing, removing or reordering an entry, or cutting the tail,
breaks the chain and :func:`verify_chain` says where.

Personal data (context and key names, ``who``) lives in a separate *payload*, whose
digest is ``SHA-256(salt || payload)`` with a random salt kept beside the payload.
Erasing a payload deletes it together with its salt: the chain still verifies, and
the digest left behind no longer allows confirming a guessed payload.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["GENESIS", "SYSTEM_CHAIN", "AuditDraft", "AuditEntry", "AuditReport", "verify_chain"]

GENESIS = "0" * 64
SYSTEM_CHAIN = "-"
VERSION = 1


def canonical(value: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class AuditDraft:
    """An entry before it gets its place in the chain."""

    chain: str
    ts: float
    actor: str
    action: str
    status: int
    payload: Mapping[str, Any] | None = None

    def seal(self, seq: int, prev_hash: str) -> AuditEntry:
        """The entry at ``seq`` after the entry whose hash is ``prev_hash``."""
        salt = secrets.token_hex(16)
        payload = dict(self.payload) if self.payload is not None else None
        digest = payload_digest(salt, payload) if payload is not None else ""
        entry = AuditEntry(
            self.chain, seq, self.ts, self.actor, self.action, self.status, digest, prev_hash, ""
        )
        return replace(entry, hash=entry.compute_hash(), payload=payload, salt=salt)


def payload_digest(salt: str, payload: Mapping[str, Any]) -> str:
    """``SHA-256(salt || canonical payload)`` as hex."""
    return hashlib.sha256(salt.encode() + canonical(payload)).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    """One sealed entry; ``payload`` and ``salt`` are ``None`` once erased."""

    chain: str
    seq: int
    ts: float
    actor: str
    action: str
    status: int
    digest: str
    prev_hash: str
    hash: str
    payload: dict[str, Any] | None = field(default=None, compare=False)
    salt: str | None = field(default=None, compare=False)

    def compute_hash(self) -> str:
        """The hash this entry must carry."""
        body = [
            VERSION,
            self.chain,
            self.seq,
            repr(float(self.ts)),
            self.actor,
            self.action,
            self.status,
            self.digest,
            self.prev_hash,
        ]
        return hashlib.sha256(canonical(body)).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for exports)."""
        return {
            "chain": self.chain,
            "seq": self.seq,
            "ts": self.ts,
            "actor": self.actor,
            "action": self.action,
            "status": self.status,
            "digest": self.digest,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "payload": self.payload,
            "salt": self.salt,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditEntry:
        """The inverse of :meth:`as_dict`."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class AuditReport:
    """The result of verifying one or more chains."""

    entries: int = 0
    chains: int = 0
    erased_payloads: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def merge(self, other: AuditReport) -> None:
        """Add another report's figures and problems to this one."""
        self.entries += other.entries
        self.chains += other.chains
        self.erased_payloads += other.erased_payloads
        self.problems.extend(other.problems)


def verify_chain(
    chain: str, entries: Iterable[AuditEntry], head: tuple[int, str] | None
) -> AuditReport:
    """Check one chain, entries in storage order, against its recorded ``head``."""
    report = AuditReport(chains=1)
    prev_hash, expected = GENESIS, 1
    for entry in entries:
        report.entries += 1
        where = f"chain {chain!r} entry {entry.seq}"
        if entry.chain != chain:
            report.problems.append(f"{where} belongs to chain {entry.chain!r}")
        if entry.seq != expected:
            what = "missing" if entry.seq > expected else "out of order"
            report.problems.append(f"{where}: expected entry {expected} ({what})")
        if entry.prev_hash != prev_hash:
            report.problems.append(f"{where} does not follow the entry before it")
        if entry.compute_hash() != entry.hash:
            report.problems.append(f"{where} was changed after it was written")
        if entry.payload is None:
            report.erased_payloads += entry.digest != ""
        elif entry.salt is None or payload_digest(entry.salt, entry.payload) != entry.digest:
            report.problems.append(f"{where} has a payload that was changed")
        prev_hash, expected = entry.hash, entry.seq + 1
    last = (expected - 1, prev_hash)
    if head is not None and tuple(head) != last:
        report.problems.append(
            f"chain {chain!r} ends at entry {last[0]} but its head records entry {head[0]} "
            "(entries were removed from the end)"
        )
    return report
