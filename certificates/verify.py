"""Verify a certificate offline: VALID with who, what and when, or INVALID with why.

:func:`verify_bytes` checks every signed form the file carries — the embedded
``eddsa-rdfc-2022`` Data Integrity proof and the ES256 VC-JWT — against the keys of the
issuer's DID document (its ``did:web``, read from the published site), then the validity
dates and the revocation status (:mod:`certificates.status`). When a file carries both
forms they must describe the same credential; a difference names the changed field. Bad
input never raises: every failure is a :class:`Verdict` with a :class:`Reason`.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from certificates.bundle import MAX_BYTES, Bundle, BundleError, extract
from certificates.credential import CONTEXTS, learner_name, undefined_terms
from certificates.errors import CredentialError
from certificates.integrity import CRYPTOSUITE, ProofError, verify_proof
from certificates.issuer import PinnedIssuer
from certificates.multikey import PublicKey
from certificates.revocation import RevocationList
from certificates.status import RevocationState, check_status
from certificates.vcjwt import JwtError, parse_jwt, verify_jwt_signature
from certificates.visible import visible_mismatch

__all__ = ["CLOCK_SKEW", "Reason", "Verdict", "verify_bytes", "verify_file"]

CLOCK_SKEW = timedelta(minutes=5)


class Reason(StrEnum):
    """Why a certificate is INVALID."""

    BAD_SIGNATURE = "bad signature"
    UNKNOWN_KEY = "unknown key"
    REVOKED = "revoked"
    TAMPERED = "tampered payload"
    EXPIRED = "expired"
    NOT_YET_VALID = "not yet valid"
    MALFORMED = "malformed input"
    VISIBLE_TEXT = "visible text differs from the signed credential"


@dataclass(frozen=True)
class Verdict:
    """The outcome of verifying one file."""

    valid: bool
    reason: Reason | None = None
    message: str = ""
    credential_id: str = ""
    learner: str = ""
    level: str = ""
    achievement: str = ""
    issued: str = ""
    issuer_id: str = ""
    issuer_name: str = ""
    proofs: tuple[str, ...] = ()
    revocation: RevocationState = "unknown"
    fingerprint: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict (``verify --json``)."""
        return {
            "valid": self.valid,
            "status": "VALID" if self.valid else "INVALID",
            "reason": str(self.reason) if self.reason else None,
            "message": self.message,
            "credential_id": self.credential_id,
            "learner": self.learner,
            "level": self.level,
            "achievement": self.achievement,
            "issued": self.issued,
            "issuer": {"id": self.issuer_id, "name": self.issuer_name},
            "proofs": list(self.proofs),
            "revocation": self.revocation,
            "fingerprint": self.fingerprint,
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """Human-readable lines for the terminal.

        Every value is shown with control and format characters escaped: the file being
        verified chose many of them, and a carriage return or an ANSI sequence in a key id
        could otherwise paint "VALID" over an INVALID line.
        """
        if not self.valid:
            return f"INVALID: {self.reason}: {_printable(self.message)}"
        lines = [
            f"VALID: {_printable(self.learner)} — {_printable(self.level)} "
            f"({_printable(self.achievement)})",
            f"  issued {_printable(self.issued)} by {_printable(self.issuer_name)} "
            f"<{_printable(self.issuer_id)}>",
            f"  certificate {_printable(self.credential_id)}",
            f"  proofs: {', '.join(self.proofs)}",
            f"  revocation: {self.revocation}",
        ]
        lines.extend(f"  note: {_printable(note)}" for note in self.notes)
        return "\n".join(lines)


def _printable(text: str) -> str:
    """``text`` with control, format and line-separator characters as ``\\x…`` escapes."""
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")
        else char
        for char in text
    )


class _Failure(Exception):
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _failure_from(exc: ProofError | JwtError) -> _Failure:
    reason = Reason.MALFORMED if exc.kind == "malformed" else Reason.BAD_SIGNATURE
    return _Failure(reason, str(exc))


def _resolve_key(
    kid: str, algorithm: str, pinned: PinnedIssuer | None, signed: Any = None
) -> PublicKey:
    """The key of the issuer's DID document that ``kid`` names, if it could sign then."""
    if pinned is None:
        raise _unpinned()
    key = pinned.keys.get(kid)
    if key is None:
        raise _Failure(
            Reason.UNKNOWN_KEY,
            f"signed by {kid[:80] or 'no key'}, which the DID document of {pinned.id} "
            "does not list",
        )
    if key.algorithm != algorithm:
        raise _Failure(Reason.UNKNOWN_KEY, f"key {kid[:80]} is not an {algorithm} key")
    if signed is not None and not key.signs_at(_parse_time(signed, "the signing time")):
        raise _Failure(
            Reason.UNKNOWN_KEY,
            f"signed by {kid[:80]} after the issuer retired that key ({key.expires})",
        )
    return key.public_key


def _check_shape(credential: Mapping[str, Any]) -> None:
    if credential.get("@context") != CONTEXTS:
        raise _Failure(
            Reason.MALFORMED, "the credential's @context is not the VC 2.0 + OB 3.0.3 pair"
        )
    try:
        types = credential["type"]
        subject = credential["credentialSubject"]
        ok = (
            "OpenBadgeCredential" in types
            and isinstance(credential["issuer"]["id"], str)
            and isinstance(subject["achievement"]["name"], str)
            and isinstance(credential["validFrom"], str)
        )
    except (KeyError, TypeError):
        ok = False
    if not ok:
        raise _Failure(Reason.MALFORMED, "not an Open Badges 3.0 credential")


def _check_issuer(credential: Mapping[str, Any], pinned: PinnedIssuer | None) -> None:
    if pinned is not None and credential["issuer"]["id"] != pinned.id:
        raise _Failure(
            Reason.UNKNOWN_KEY,
            f"the credential names issuer {credential['issuer']['id']!r}, "
            f"but the pinned issuer is {pinned.id!r}",
        )


def _unpinned() -> _Failure:
    return _Failure(
        Reason.UNKNOWN_KEY,
        "no issuer DID document to check the signing keys against; pass --issuer with the "
        "issuer's published site folder or its did.json",
    )


def _verify_integrity(credential: dict[str, Any], pinned: PinnedIssuer | None) -> None:
    _check_shape(credential)
    proofs = credential.get("proof")
    if not isinstance(proofs, list) or not proofs:
        raise _Failure(Reason.MALFORMED, "the credential has no proof array")
    suites = [p for p in proofs if isinstance(p, dict) and p.get("cryptosuite") == CRYPTOSUITE]
    if not suites or len(suites) != len(proofs):
        raise _Failure(Reason.MALFORMED, f"expected only {CRYPTOSUITE} Data Integrity proofs")
    for proof in suites:
        method = proof.get("verificationMethod")
        key = _resolve_key(
            method if isinstance(method, str) else "", "EdDSA", pinned, proof.get("created")
        )
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise _Failure(Reason.UNKNOWN_KEY, "the Data Integrity key is not Ed25519")
        try:
            verify_proof(credential, proof, key)
        except ProofError as exc:
            raise _failure_from(exc) from None
    try:
        unsigned = undefined_terms({k: v for k, v in credential.items() if k != "proof"})
    except CredentialError as exc:
        raise _Failure(Reason.MALFORMED, str(exc)) from None
    if unsigned:
        raise _Failure(
            Reason.TAMPERED, f"fields no signature covers were added: {', '.join(unsigned)}"
        )
    _check_issuer(credential, pinned)


def _verify_jwt(token: str, pinned: PinnedIssuer | None) -> dict[str, Any]:
    try:
        parsed = parse_jwt(token)
    except JwtError as exc:
        raise _failure_from(exc) from None
    key = _resolve_key(parsed.kid, "ES256", pinned, parsed.credential.get("validFrom"))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise _Failure(Reason.UNKNOWN_KEY, "the JWT key is not a P-256 key")
    try:
        verify_jwt_signature(parsed, key)
    except JwtError as exc:
        raise _failure_from(exc) from None
    credential = parsed.credential
    _check_shape(credential)
    mismatch = parsed.claims_mismatch()
    if mismatch:
        raise _Failure(Reason.TAMPERED, f"the JWT claim {mismatch!r} contradicts its credential")
    _check_issuer(credential, pinned)
    return credential


def _first_difference(a: Any, b: Any, path: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            found = _first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else key)
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return path
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _first_difference(x, y, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    return None if a == b and type(a) is type(b) else (path or "(root)")


def _level_name(credential: Mapping[str, Any]) -> str:
    achievement = credential["credentialSubject"]["achievement"]
    key = str(achievement.get("id", "")).rsplit("/", 1)[-1].removesuffix(".json")
    return key.capitalize() if key in ("bronze", "silver", "gold") else str(achievement["name"])


def _parse_time(value: Any, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise _Failure(Reason.MALFORMED, f"{what} is not an RFC 3339 date-time") from None
    if moment.tzinfo is None:
        raise _Failure(Reason.MALFORMED, f"{what} has no time zone")
    return moment


def _check_dates(credential: Mapping[str, Any], now: datetime) -> None:
    valid_from = _parse_time(credential.get("validFrom"), "validFrom")
    if valid_from > now + CLOCK_SKEW:
        raise _Failure(Reason.NOT_YET_VALID, f"valid only from {credential['validFrom']}")
    if "validUntil" in credential:
        valid_until = _parse_time(credential["validUntil"], "validUntil")
        if valid_until < now:
            raise _Failure(Reason.EXPIRED, f"expired on {credential['validUntil']}")


def _claims(credential: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in credential.items() if key != "proof"}


def _verify_bundle(bundle: Bundle, pinned: PinnedIssuer | None) -> tuple[dict[str, Any], list[str]]:
    outcomes: list[tuple[str, dict[str, Any] | None, _Failure | None]] = []
    if bundle.credential is not None:
        try:
            _verify_integrity(bundle.credential, pinned)
            outcomes.append((f"Data Integrity {CRYPTOSUITE}", bundle.credential, None))
        except _Failure as failure:
            outcomes.append(("Data Integrity", None, failure))
    if bundle.jwt is not None:
        try:
            outcomes.append(("VC-JWT ES256", _verify_jwt(bundle.jwt, pinned), None))
        except _Failure as failure:
            outcomes.append(("VC-JWT", None, failure))
    passed = [(name, body) for name, body, failure in outcomes if body is not None]
    failed = [failure for _, _, failure in outcomes if failure is not None]
    if bundle.credential is not None and bundle.jwt is not None and passed:
        # Two signed copies: whichever verified tells us what the other should say. Their
        # claims are compared; the Data Integrity proof (which the JWT also carries, OB
        # 3.0 §8.2) was checked on its own, and its failure is reported as such.
        trusted = passed[0][1]
        other: dict[str, Any] = bundle.credential
        if passed[0][0].startswith("Data Integrity"):
            try:
                other = parse_jwt(bundle.jwt).credential
            except JwtError:
                other = trusted
        changed = _first_difference(_claims(trusted), _claims(other))
        if changed is not None:
            raise _Failure(
                Reason.TAMPERED,
                f"the two signed copies differ at {changed}: the certificate was altered",
            )
    if failed:
        raise failed[0]
    body = passed[0][1]
    assert body is not None
    return body, [name for name, _ in passed]


def verify_bytes(
    data: bytes,
    *,
    issuer: PinnedIssuer | None = None,
    revocations: Sequence[RevocationList] = (),
    now: datetime | None = None,
) -> Verdict:
    """Verify a certificate file's content; never raises for bad input.

    ``revocations`` are every list at hand (the issuer's published one, any given by
    hand): :func:`certificates.status.check_status` decides which count.
    """
    moment = now or datetime.now(UTC)
    try:
        bundle = extract(data)
    except BundleError as exc:
        return Verdict(valid=False, reason=Reason.MALFORMED, message=str(exc))
    try:
        credential, proofs = _verify_bundle(bundle, issuer)
        _check_dates(credential, moment)
        if bundle.visible is not None:
            differs = visible_mismatch(bundle.visible, credential)
            if differs:
                raise _Failure(Reason.VISIBLE_TEXT, differs)
        assert issuer is not None  # unpinned verification stops at UNKNOWN_KEY
        status = check_status(credential, revocations, issuer, moment)
    except _Failure as failure:
        return Verdict(valid=False, reason=failure.reason, message=failure.message)
    if status.state == "revoked":
        return Verdict(
            valid=False, reason=Reason.REVOKED, message=status.message, notes=status.notes
        )
    subject = credential["credentialSubject"]
    fingerprint = hashlib.sha256(bundle.jwt.encode("utf-8")).hexdigest() if bundle.jwt else ""
    return Verdict(
        valid=True,
        credential_id=str(credential.get("id", "")),
        learner=learner_name(credential),
        level=_level_name(credential),
        achievement=str(subject["achievement"]["name"]),
        issued=str(credential["validFrom"]),
        issuer_id=str(credential["issuer"]["id"]),
        issuer_name=str(credential["issuer"].get("name", "")),
        proofs=tuple(proofs),
        revocation=status.state,
        fingerprint=fingerprint,
        notes=(status.message, *status.notes),
    )


def verify_file(
    path: Path,
    *,
    issuer: PinnedIssuer | None = None,
    revocations: Sequence[RevocationList] = (),
    now: datetime | None = None,
) -> Verdict:
    """Verify the certificate at ``path`` (PDF, HTML, PNG, SVG, JSON or JWT)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        return Verdict(
            valid=False, reason=Reason.MALFORMED, message=f"cannot read {path}: {exc.strerror}"
        )
    return verify_bytes(data, issuer=issuer, revocations=revocations, now=now)
