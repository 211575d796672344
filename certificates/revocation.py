"""Revocation with a W3C Bitstring Status List, signed by the issuer.

Each credential carries a ``credentialStatus`` entry (``BitstringStatusListEntry``,
purpose ``revocation``) naming its index in the issuer's list. The list itself is a
``BitstringStatusListCredential`` — a GZIP-compressed bitstring of at least 131,072
entries, base64url-encoded — with an ``eddsa-rdfc-2022`` Data Integrity proof by the
issuer's current Ed25519 key, named as ``<issuer DID>#<key id>``. Every list carries
``validFrom`` and ``validUntil``: a verifier holding only an expired list cannot say a
certificate is not revoked. The issuer publishes it as ``revocations.json`` on its site
(and the same list as a VC-JWT, ``revocations.jwt``, for the browser verification page);
reasons stay in the issuer's private issuance record.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from certificates._json import loads_strict
from certificates.credential import format_datetime
from certificates.errors import CredentialError
from certificates.integrity import VC_CONTEXT, ProofError, create_proof, verify_proof

__all__ = [
    "LIST_FILE",
    "LIST_JWT_FILE",
    "MAX_LIST_BYTES",
    "MIN_ENTRIES",
    "RevocationList",
    "build_status_list",
    "list_url",
    "status_entry",
]

LIST_FILE = "revocations.json"
MIN_ENTRIES = 131_072  # the spec's minimum list size, for herd privacy
MAX_LIST_BYTES = 16 * 1024 * 1024  # 134 million entries: far beyond any course
MAX_FILE_BYTES = 4 * 1024 * 1024  # the signed JSON file itself


LIST_JWT_FILE = "revocations.jwt"


def list_url(issuer_url: str) -> str:
    """Where the issuer publishes its revocation list (at the root of its site)."""
    return f"{issuer_url.rstrip('/')}/{LIST_FILE}"


def status_entry(url: str, index: int) -> dict[str, Any]:
    """The ``credentialStatus`` of a credential whose revocation bit is ``index``."""
    return {
        "id": f"{url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(index),
        "statusListCredential": url,
    }


def _encode(indices: Iterable[int], size: int) -> str:
    bits = bytearray(size // 8)
    for index in indices:
        if not 0 <= index < size:
            raise CredentialError(f"status index {index} is outside the list (size {size})")
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def _decode(encoded: str) -> bytes:
    """The bitstring, inflated at most to :data:`MAX_LIST_BYTES` (a list is not a gzip bomb)."""
    if not encoded.startswith("u"):
        raise CredentialError("encodedList is not multibase base64url (no 'u' prefix)")
    body = encoded[1:]
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing
        bits = inflater.decompress(compressed, MAX_LIST_BYTES)
    except (binascii.Error, ValueError, zlib.error):
        raise CredentialError("encodedList is not a GZIP-compressed bitstring") from None
    if inflater.unconsumed_tail:
        raise CredentialError(
            f"encodedList inflates to more than {MAX_LIST_BYTES // (1024 * 1024)} MiB; "
            "that is no revocation list"
        )
    if not inflater.eof:
        raise CredentialError("encodedList is not a complete GZIP-compressed bitstring")
    return bits


def build_status_list(
    *,
    issuer_did: str,
    url: str,
    indices: Iterable[int],
    private_key: ed25519.Ed25519PrivateKey,
    verification_method: str,
    now: datetime,
    valid_for: timedelta,
    size: int = MIN_ENTRIES,
) -> dict[str, Any]:
    """The signed ``BitstringStatusListCredential`` with the bits of ``indices`` set."""
    size = max(size, MIN_ENTRIES)
    size += -size % 8
    stamp = format_datetime(now)
    document: dict[str, Any] = {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_did,
        "validFrom": stamp,
        "validUntil": format_datetime(now + valid_for),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": _encode(indices, size),
        },
    }
    proof = create_proof(
        document, private_key, verification_method=verification_method, created=stamp
    )
    return {**document, "proof": [proof]}


@dataclass(frozen=True)
class RevocationList:
    """A parsed revocation list file; call :meth:`check_signature` before trusting it."""

    document: dict[str, Any]
    bits: bytes

    @property
    def id(self) -> str:
        """The URL credentials name in ``statusListCredential``."""
        return str(self.document.get("id", ""))

    @property
    def updated(self) -> str:
        """When the issuer signed this version of the list."""
        return str(self.document.get("validFrom", ""))

    @property
    def expires(self) -> str:
        """Until when the list is current (``validUntil``)."""
        return str(self.document.get("validUntil", ""))

    @property
    def issuer(self) -> str:
        """The issuer the list names."""
        issuer = self.document.get("issuer")
        return str(issuer.get("id", "") if isinstance(issuer, dict) else issuer)

    @property
    def verification_method(self) -> str:
        """The key that signed the list."""
        return str(self.document["proof"][0].get("verificationMethod", ""))

    @property
    def signed_at(self) -> str:
        """When the proof says it was made."""
        return str(self.document["proof"][0].get("created", ""))

    @classmethod
    def from_document(cls, document: Any) -> RevocationList:
        """Parse a status list credential (structure only)."""
        try:
            subject = document["credentialSubject"]
            if (
                "BitstringStatusListCredential" not in document["type"]
                or subject.get("statusPurpose") != "revocation"
                or not isinstance(document["proof"], list)
                or not document["proof"]
                or not isinstance(document["proof"][0], dict)
            ):
                raise CredentialError("not a signed revocation status list")
            bits = _decode(str(subject["encodedList"]))
        except (KeyError, TypeError, AttributeError):
            raise CredentialError("not a signed BitstringStatusListCredential") from None
        return cls(document=dict(document), bits=bits)

    @classmethod
    def from_file(cls, path: Path) -> RevocationList:
        """Read and parse ``revocations.json``."""
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                raise CredentialError(f"{path} is larger than a revocation list can be")
            document = loads_strict(data)
        except OSError as exc:
            raise CredentialError(f"cannot read revocation list {path}: {exc.strerror}") from None
        except ValueError as exc:  # not JSON, duplicate keys, not UTF-8
            raise CredentialError(f"cannot read revocation list {path}: not JSON ({exc})") from None
        return cls.from_document(document)

    def check_signature(self, public_key: ed25519.Ed25519PublicKey) -> None:
        """Verify the list's Data Integrity proof; raise :class:`ProofError` if it fails."""
        if len(self.document["proof"]) != 1:
            raise ProofError("malformed", "a revocation list carries exactly one proof")
        verify_proof(self.document, self.document["proof"][0], public_key)

    def is_revoked(self, status: Mapping[str, Any]) -> bool:
        """Whether the credential with ``credentialStatus`` ``status`` is revoked here."""
        try:
            index = int(str(status["statusListIndex"]))
        except (KeyError, TypeError, ValueError):
            raise ProofError("malformed", "credentialStatus has no valid statusListIndex") from None
        if not 0 <= index < len(self.bits) * 8:
            raise ProofError("malformed", f"status index {index} is outside the revocation list")
        return bool(self.bits[index // 8] & (0x80 >> (index % 8)))
