"""The issuer's identity: a ``did:web`` whose DID document lists its signing keys.

The DID comes from the configured issuer URL (``https://courses.example.org/context`` →
``did:web:courses.example.org:context``) and its document is served from the published
site by the did:web path rules: ``/.well-known/did.json`` for a bare host,
``<path>/did.json`` otherwise. The document uses only the DID v1 and Multikey v1
contexts; every key, current and retired, is a ``Multikey`` verification method
controlled by the issuer DID and listed under ``assertionMethod``, so certificates signed
before a rotation keep verifying. A retired key carries ``expires``, the moment it stopped
signing: nothing it signs after that counts (:meth:`PinnedKey.signs_at`).

:class:`PinnedIssuer` is the verifier's view of a DID document: the keys it vouches for.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from certificates._json import loads_strict
from certificates.errors import KeyFormatError
from certificates.keys import Algorithm, IssuerKey, Keyring
from certificates.multikey import PublicKey, multibase_decode_key, multibase_encode_key

__all__ = [
    "DID_CONTEXT",
    "DID_DOCUMENT_CONTEXTS",
    "MULTIKEY_CONTEXT",
    "PinnedIssuer",
    "PinnedKey",
    "did_document",
    "did_document_path",
    "did_from_url",
    "find_did_document",
    "pin_keyring",
]

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
DID_DOCUMENT_CONTEXTS = [DID_CONTEXT, MULTIKEY_CONTEXT]
_MAX_DID_DOCUMENT = 1024 * 1024
_SEGMENT = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=@-]+")


def did_from_url(url: str) -> str:
    """The ``did:web`` of an issuer URL; raises :class:`KeyFormatError` for one it cannot name.

    >>> did_from_url("https://courses.example.org/context")
    'did:web:courses.example.org:context'
    """
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise KeyFormatError(
            f"the issuer URL {url[:80]!r} must be an https:// URL (did:web is served over https)"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise KeyFormatError(
            f"the issuer URL {url[:80]!r} must be a plain https://host/path URL (no ?, # or user)"
        )
    host = parts.hostname.lower()
    if parts.port is not None:
        host += f"%3A{parts.port}"
    segments = [s for s in parts.path.split("/") if s]
    for segment in segments:
        if not _SEGMENT.fullmatch(segment) or segment in (".", ".."):
            raise KeyFormatError(f"the issuer URL path segment {segment[:40]!r} is not usable")
    return ":".join(["did:web", host, *segments])


def did_document_path(did: str) -> str:
    """Where the DID document sits inside the site served at the issuer URL."""
    return ".well-known/did.json" if did.count(":") == 2 else "did.json"


def find_did_document(site: Path) -> Path:
    """The DID document inside a published site folder."""
    for relative in ("did.json", ".well-known/did.json"):
        if (site / relative).is_file():
            return site / relative
    raise KeyFormatError(f"{site} holds no DID document (did.json or .well-known/did.json)")


def _timestamp(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def did_document(did: str, keys: Iterable[IssuerKey]) -> dict[str, Any]:
    """The issuer's DID document: every key as a Multikey method, retired ones with ``expires``."""
    methods = []
    for key in keys:
        method: dict[str, Any] = {
            "id": key.method_id(did),
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key.key_id,
        }
        if key.status == "retired" and key.retired:
            method["expires"] = key.retired
        methods.append(method)
    return {
        "@context": list(DID_DOCUMENT_CONTEXTS),
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }


@dataclass(frozen=True)
class PinnedKey:
    """A public key the issuer's DID document vouches for."""

    method_id: str
    algorithm: Algorithm
    public_key: PublicKey
    expires: datetime | None = None

    @property
    def retired(self) -> bool:
        """Whether the key has been retired (it still verifies what it signed before)."""
        return self.expires is not None

    def signs_at(self, moment: datetime) -> bool:
        """Whether a signature made at ``moment`` by this key counts."""
        return self.expires is None or moment <= self.expires


@dataclass(frozen=True)
class PinnedIssuer:
    """A parsed DID document: the issuer DID and the keys it lists for assertions."""

    id: str
    keys: Mapping[str, PinnedKey]
    source: Path | None = None

    @classmethod
    def from_did_document(cls, document: Any, source: Path | None = None) -> PinnedIssuer:
        """Parse a DID document; any method that is not the issuer's own Multikey is refused."""
        where = str(source) if source else "the DID document"
        if not isinstance(document, dict):
            raise KeyFormatError(f"{where} is not a JSON object")
        did = document.get("id")
        if not isinstance(did, str) or not did.startswith("did:web:"):
            raise KeyFormatError(f"{where} is not a did:web DID document")
        if document.get("@context") != DID_DOCUMENT_CONTEXTS:
            raise KeyFormatError(f"{where} must use exactly the DID v1 and Multikey v1 contexts")
        methods = document.get("verificationMethod")
        assertion = document.get("assertionMethod")
        if not isinstance(methods, list) or not isinstance(assertion, list):
            raise KeyFormatError(f"{where} lists no verification or assertion methods")
        keys: dict[str, PinnedKey] = {}
        for method in methods:
            key = _pinned_key(method, did, where)
            if key.method_id in keys:
                raise KeyFormatError(f"{where} lists {key.method_id[:80]} twice")
            if key.method_id in assertion:
                keys[key.method_id] = key
        return cls(id=did, keys=keys, source=source)

    @classmethod
    def from_file(cls, path: Path) -> PinnedIssuer:
        """Read a DID document, or the one inside a published site folder."""
        path = Path(path)
        try:
            if path.is_dir():
                path = find_did_document(path)
            with open(path, "rb") as handle:
                data = handle.read(_MAX_DID_DOCUMENT + 1)
        except OSError as exc:
            raise KeyFormatError(f"cannot read the DID document {path}: {exc.strerror}") from None
        if len(data) > _MAX_DID_DOCUMENT:
            raise KeyFormatError(f"{path} is larger than a DID document can be")
        try:
            document = loads_strict(data)
        except ValueError as exc:  # not JSON, duplicate keys, not UTF-8
            raise KeyFormatError(f"cannot read {path}: not JSON ({exc})") from None
        return cls.from_did_document(document, source=path)


def _pinned_key(method: Any, did: str, where: str) -> PinnedKey:
    if not isinstance(method, dict) or not isinstance(method.get("id"), str):
        raise KeyFormatError(f"{where} has a verification method without an id")
    method_id = method["id"]
    if not method_id.startswith(did + "#") or method.get("controller") != did:
        raise KeyFormatError(f"{where}: {method_id[:80]} is not controlled by {did}")
    if method.get("type") != "Multikey":
        raise KeyFormatError(f"{where}: {method_id[:80]} is not a Multikey")
    public = multibase_decode_key(str(method.get("publicKeyMultibase", "")))
    if multibase_encode_key(public) != method.get("publicKeyMultibase"):
        raise KeyFormatError(f"{where}: {method_id[:80]} has a non-canonical key encoding")
    algorithm: Algorithm = "EdDSA" if isinstance(public, ed25519.Ed25519PublicKey) else "ES256"
    expires = method.get("expires")
    moment = None
    if expires is not None:
        try:
            moment = _timestamp(str(expires))
        except ValueError:
            raise KeyFormatError(f"{where}: {method_id[:80]} has an unreadable expires") from None
        if moment.tzinfo is None:
            raise KeyFormatError(f"{where}: {method_id[:80]}'s expires has no time zone")
    return PinnedKey(method_id=method_id, algorithm=algorithm, public_key=public, expires=moment)


def pin_keyring(keyring: Keyring, did: str) -> PinnedIssuer:
    """The verifier's view of the issuer's own keyring (public keys only)."""
    return PinnedIssuer.from_did_document(did_document(did, keyring.keys))
