"""Which revocation list to believe, and what it says about one credential.

Anyone can hand a verifier a revocation list, so a list counts only when it is the list
the credential names, is issued by the credential's issuer, and carries a proof that
verifies against a key of the issuer's DID document that was not retired when the list
was signed. Every other list is ignored with a note and never changes the verdict.
Among the lists that count, the newest (``validFrom``) wins. A list past its
``validUntil`` cannot vouch that a certificate is not revoked: the state is then
"unknown", as it is when no list counts at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ed25519

from certificates.integrity import ProofError
from certificates.issuer import PinnedIssuer
from certificates.revocation import RevocationList

__all__ = ["RevocationState", "StatusOutcome", "check_status"]

RevocationState = Literal["not revoked", "revoked", "unknown", "no status entry"]


@dataclass(frozen=True)
class StatusOutcome:
    """The revocation state of one credential, the list that decided it, and notes."""

    state: RevocationState
    message: str
    notes: tuple[str, ...] = ()


def _moment(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _refusal(candidate: RevocationList, wanted: str, issuer: PinnedIssuer) -> str | None:
    """Why ``candidate`` does not count (``None`` when it does)."""
    if candidate.id != wanted:
        return f"it is {candidate.id[:80]!r}, not the list this certificate names"
    if candidate.issuer != issuer.id:
        return f"it names issuer {candidate.issuer[:80]!r}, not {issuer.id}"
    issued, until = _moment(candidate.updated), _moment(candidate.expires)
    if issued is None or until is None or until < issued:
        return "it has no valid validFrom/validUntil"
    key = issuer.keys.get(candidate.verification_method)
    if key is None or not isinstance(key.public_key, ed25519.Ed25519PublicKey):
        return "it is not signed by a key of the issuer's DID document"
    signed = _moment(candidate.signed_at)
    if signed is None or not key.signs_at(max(signed, issued)):
        return "it is signed by a key the issuer had retired by then"
    try:
        candidate.check_signature(key.public_key)
    except ProofError as exc:
        return f"its signature does not verify ({exc})"
    return None


def check_status(
    credential: Mapping[str, Any],
    lists: Iterable[RevocationList],
    issuer: PinnedIssuer,
    now: datetime,
) -> StatusOutcome:
    """The revocation state of ``credential`` by the lists that count (see the module doc)."""
    status = credential.get("credentialStatus")
    if not isinstance(status, dict):
        return StatusOutcome("no status entry", "the credential has no revocation entry")
    wanted = str(status.get("statusListCredential", ""))
    notes: list[str] = []
    counted: list[RevocationList] = []
    for candidate in lists:
        refusal = _refusal(candidate, wanted, issuer)
        if refusal is None:
            counted.append(candidate)
        else:
            notes.append(f"ignored a revocation list of {candidate.updated[:40]}: {refusal}")
    if not counted:
        return StatusOutcome(
            "unknown",
            "revocation status unknown: no revocation list signed by the issuer was found",
            tuple(notes),
        )
    latest = max(_moment(item.updated) or now for item in counted)
    # the newest list decides; two signed in the same second agree on any revocation
    newest_lists = [item for item in counted if (_moment(item.updated) or now) == latest]
    try:
        flags = [item.is_revoked(status) for item in newest_lists]
    except ProofError as exc:
        return StatusOutcome("unknown", f"revocation status unknown: {exc}", tuple(notes))
    revoked = any(flags)
    newest = newest_lists[flags.index(True) if revoked else 0]
    if revoked:
        return StatusOutcome(
            "revoked",
            f"the issuer revoked this certificate (revocation list of {newest.updated})",
            tuple(notes),
        )
    until = _moment(newest.expires)
    if until is not None and until < now:
        return StatusOutcome(
            "unknown",
            f"revocation status unknown: the newest revocation list expired on {newest.expires}",
            tuple(notes),
        )
    return StatusOutcome(
        "not revoked",
        f"not revoked (revocation list of {newest.updated}, current until {newest.expires})",
        tuple(notes),
    )
