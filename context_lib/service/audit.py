"""The audit log: keyed hash chains, encrypted payloads, and verifying them.

Who the log must stand up to: someone who can read and write the database (a stolen
backup, a compromised host account, a rogue operator with ``sqlite3``) but does not
hold the master key, which never lives with the data (see
:mod:`context_lib.service.crypto`).

* Each tenant has its own chain (failed authentications of unknown keys go to the
  ``-`` chain). An entry's ``hash`` is an **HMAC-SHA256** under the chain's key, derived
  from the master key, over its sequence number, time, actor, action, outcome, payload
  digest and the previous entry's hash. Without the key nobody can write an entry
  that verifies: a rewritten entry cannot be given a valid hash, and neither can any
  entry after it, so recomputing the rest of the chain does not help.
* What MACs cannot show is a chain that was *shortened* (a cut tail with the head
  moved back, or a whole chain deleted): what is left still verifies. That is the
  job of the **witness** (:mod:`context_lib.service.witness`), an append-only file of
  signed checkpoints of every chain's head, kept away from the database.
* The *payload* (context and key names, ``who``, sources of failed logins: personal
  data) is stored **encrypted** under the chain's payload key, together with a random
  salt; the entry keeps ``digest = HMAC(key, salt || payload)``. Erasing a payload
  (retention, tenant erasure) replaces it with an **erasure mark**, an HMAC only the
  service can compute, so a payload that was deleted, replaced or forged (even with
  a fresh salt) is reported, while a lawfully erased one is not.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from context_lib.service.nonces import nonce

__all__ = [
    "GENESIS",
    "SYSTEM_CHAIN",
    "AuditDraft",
    "AuditEntry",
    "AuditReport",
    "ChainKeys",
    "make_draft",
    "open_payload",
    "verify_chain",
]

GENESIS = "0" * 64
SYSTEM_CHAIN = "-"
VERSION = 2
_NONCE = 12


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


_PLAIN = frozenset({str, int, bool, type(None)})


def _without_floats(value: Any) -> bool:
    """Whether ``value`` is lists, tuples and dicts of ``str``, ``int``, ``bool`` and
    ``None`` only: the values orjson writes byte for byte as :data:`_CANONICAL` does
    (floats it formats differently, e.g. ``1e16``; a test compares the two)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind in _PLAIN:
            continue
        if kind is list or kind is tuple:
            stack.extend(item)
        elif kind is dict:
            stack.extend(item.values())
        else:
            return False
    return True


def canonical(value: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, no spaces, never NaN or Infinity).

    The bytes are part of every MAC, so they never change: orjson writes them when it
    writes the same bytes (no floats), the standard library otherwise.
    """
    if _without_floats(value):
        try:  # try/except, not contextlib.suppress: a third of this function's time
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # a lone surrogate, a key that is no str, an int past 64 bits
            pass
    return _CANONICAL.encode(value).encode()


def _mac(key: bytes, *parts: Any) -> str:
    return hmac.digest(key, canonical(list(parts)), "sha256").hex()  # one-shot: 3x faster


def _entry_hash(
    mac_key: bytes,
    chain: str,
    seq: int,
    ts: float,
    actor: str,
    action: str,
    status: int,
    digest: str,
    prev_hash: str,
) -> str:
    parts = [VERSION, chain, seq, repr(float(ts)), actor, action, status, digest, prev_hash]
    # Every entry pays this: a flat list of exact str and int needs no walk for floats,
    # so orjson writes canonical()'s bytes directly (a test compares the two).
    if (
        type(seq) is int
        and type(status) is int
        and type(chain) is str
        and type(actor) is str
        and type(action) is str
        and type(digest) is str
        and type(prev_hash) is str
    ):
        try:
            data = orjson.dumps(parts)
        except TypeError:  # a lone surrogate, an int past 64 bits: the exact path
            data = canonical(parts)
    else:
        data = canonical(parts)
    return hmac.digest(mac_key, data, "sha256").hex()


@dataclass(frozen=True)
class ChainKeys:
    """The keys of one chain, derived from the master key: never stored."""

    mac: bytes = field(repr=False)
    cipher: AESGCM = field(repr=False)

    def payload_digest(self, salt: str, payload: Mapping[str, Any]) -> str:
        """``HMAC(mac key, salt || canonical payload)`` as hex."""
        return _mac(self.mac, "payload", salt, dict(payload))

    def erasure_mark(self, chain: str, seq: int, digest: str) -> str:
        """The mark that stands for a payload this service erased on purpose."""
        return _mac(self.mac, "erased", chain, seq, digest)


@dataclass(frozen=True)
class AuditDraft:
    """An entry before it gets its place in the chain (see :func:`make_draft`)."""

    chain: str
    ts: float
    actor: str
    action: str
    status: int
    digest: str = ""
    sealed: bytes | None = field(default=None, repr=False)
    mac_key: bytes = field(default=b"", repr=False, compare=False)

    def seal(self, seq: int, prev_hash: str) -> AuditEntry:
        """The entry at ``seq`` after the entry whose hash is ``prev_hash``."""
        if not self.mac_key:
            raise ValueError("an audit draft needs its chain's key (use make_draft)")
        fields = (self.chain, seq, self.ts, self.actor, self.action, self.status, self.digest)
        hash_ = _entry_hash(self.mac_key, *fields, prev_hash)
        return AuditEntry(*fields, prev_hash, hash_, sealed=self.sealed)


def make_draft(
    keys: ChainKeys,
    chain: str,
    ts: float,
    actor: str,
    action: str,
    status: int,
    payload: Mapping[str, Any] | None = None,
) -> AuditDraft:
    """A draft whose payload (if any) is salted, digested and encrypted."""
    if payload is None:
        return AuditDraft(chain, ts, actor, action, status, mac_key=keys.mac)
    salt = nonce(16).hex()
    body = dict(payload)
    iv = nonce(_NONCE)
    plain = canonical({"salt": salt, "payload": body})
    sealed = iv + keys.cipher.encrypt(iv, plain, chain.encode())
    digest = _mac(keys.mac, "payload", salt, body)  # keys.payload_digest, without a 2nd copy
    return AuditDraft(chain, ts, actor, action, status, digest, sealed, keys.mac)


def open_payload(keys: ChainKeys, entry: AuditEntry) -> dict[str, Any] | None:
    """The entry's payload, ``None`` when it has none (or it was erased).

    Raises ``ValueError`` when the stored payload does not decrypt or does not match
    the entry's digest.
    """
    if entry.sealed is None:
        return None
    blob = entry.sealed
    try:
        plain = keys.cipher.decrypt(blob[:_NONCE], blob[_NONCE:], entry.chain.encode())
        data = json.loads(plain)
        salt, payload = data["salt"], data["payload"]
    except (InvalidTag, ValueError, KeyError, TypeError) as exc:
        raise ValueError("the payload does not decrypt") from exc
    if not isinstance(payload, dict) or not isinstance(salt, str):
        raise ValueError("the payload is malformed")
    if not hmac.compare_digest(keys.payload_digest(salt, payload), entry.digest):
        raise ValueError("the payload does not match the entry's digest")
    return payload


@dataclass(frozen=True)
class AuditEntry:
    """One sealed entry; ``sealed`` is the encrypted payload, ``erased`` its erasure mark."""

    chain: str
    seq: int
    ts: float
    actor: str
    action: str
    status: int
    digest: str
    prev_hash: str
    hash: str
    sealed: bytes | None = field(default=None, compare=False, repr=False)
    erased: str | None = field(default=None, compare=False)

    def row(self) -> tuple[str, int, float, str, str, int, str, str, str]:
        """The ``audit`` table's columns, in the order the table declares them."""
        return (
            self.chain,
            self.seq,
            self.ts,
            self.actor,
            self.action,
            self.status,
            self.digest,
            self.prev_hash,
            self.hash,
        )

    def compute_hash(self, mac_key: bytes) -> str:
        """The hash this entry must carry: an HMAC under the chain's key, over every
        column of :meth:`row` before the hash itself."""
        return _entry_hash(mac_key, *self.row()[:-1])

    def as_dict(self, payload: Mapping[str, Any] | None) -> dict[str, Any]:
        """A JSON-ready dict with the (decrypted) ``payload`` (for exports and the API)."""
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
            "payload": dict(payload) if payload is not None else None,
            "erased": self.erased is not None,
        }


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


def _check_payload(keys: ChainKeys, entry: AuditEntry, where: str, report: AuditReport) -> None:
    if entry.digest == "":
        if entry.sealed is not None or entry.erased is not None:
            report.problems.append(f"{where} has a payload it was not written with")
        return
    if entry.sealed is not None:
        try:
            open_payload(keys, entry)
        except ValueError:
            report.problems.append(f"{where} has a payload that was changed or forged")
    elif entry.erased is not None:
        expected = keys.erasure_mark(entry.chain, entry.seq, entry.digest)
        if not hmac.compare_digest(entry.erased, expected):
            report.problems.append(f"{where} has a payload removed without an erasure mark")
        else:
            report.erased_payloads += 1
    else:
        report.problems.append(f"{where} lost its payload (deleted, not erased)")


def verify_chain(
    chain: str,
    entries: Iterable[AuditEntry],
    head: tuple[int, str] | None,
    keys: ChainKeys,
    witnessed: tuple[int, str] | None = None,
) -> AuditReport:
    """Check one chain, entries in storage order, against its recorded ``head`` and
    the latest checkpoint the witness holds for it (``witnessed``)."""
    report = AuditReport(chains=1)
    prev_hash, expected = GENESIS, 1
    hashes: dict[int, str] = {}
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
        if not hmac.compare_digest(entry.compute_hash(keys.mac), entry.hash):
            report.problems.append(f"{where} was changed after it was written")
        _check_payload(keys, entry, where, report)
        hashes[entry.seq] = entry.hash
        prev_hash, expected = entry.hash, entry.seq + 1
    last = (expected - 1, prev_hash)
    if head is not None and tuple(head) != last:
        report.problems.append(
            f"chain {chain!r} ends at entry {last[0]} but its head records entry {head[0]} "
            "(entries were removed from the end)"
        )
    if witnessed is not None:
        seq, hash_ = witnessed
        if seq not in hashes:
            report.problems.append(
                f"chain {chain!r} ends at entry {last[0]} but the witness saw entry {seq} "
                "(entries were removed from the end)"
            )
        elif hashes[seq] != hash_:
            report.problems.append(
                f"chain {chain!r} entry {seq} differs from the one the witness saw"
            )
    return report
