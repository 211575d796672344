"""Issuer keys: an Ed25519 key for Data Integrity proofs and a P-256 key for VC-JWTs.

Private keys live in ``keys.json`` (mode 0600) inside the key folder — by default
``$XDG_CONFIG_HOME/context-course/issuer/`` (``~/.config/…``), never in a repository.
``rotate`` retires the current keys and makes new ones; retired keys stay listed so
certificates they signed keep verifying. ``public_issuer`` is the document verifiers
pin (``issuer.json``): the issuer profile plus every key, current and retired, as a JWK
set and as ``did:key`` verification methods.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from joserfc.jwk import ECKey, OKPKey

from certificates._files import write_atomic
from certificates._json import loads_strict
from certificates.errors import KeyFormatError, KeyStoreError
from certificates.multikey import PublicKey, did_key_url, multibase_decode_key

__all__ = [
    "ISSUER_FORMAT",
    "IssuerKey",
    "KeyStore",
    "Keyring",
    "PinnedIssuer",
    "PinnedKey",
    "default_key_dir",
]

Algorithm = Literal["EdDSA", "ES256"]
Status = Literal["current", "retired"]
PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey

KEYRING_FILE = "keys.json"
KEYRING_FORMAT = "context-course-issuer-keys/1"
ISSUER_FORMAT = "context-course-issuer/1"


def default_key_dir(configured: str = "", course_root: Path | None = None) -> Path:
    """Where issuer keys live: ``configured`` (relative to the course) or the XDG default."""
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_absolute() or course_root is None else course_root / path
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "context-course" / "issuer"


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _public_jwk(key: PublicKey, kid: str, algorithm: Algorithm) -> dict[str, Any]:
    if isinstance(key, ed25519.Ed25519PublicKey):
        jwk = OKPKey.import_key(key).as_dict(private=False)
    else:
        jwk = ECKey.import_key(key).as_dict(private=False)
    return {**jwk, "kid": kid, "alg": algorithm, "use": "sig"}


@dataclass(frozen=True)
class IssuerKey:
    """One private key of the issuer, with its ``did:key`` id and lifecycle."""

    private_key: PrivateKey
    algorithm: Algorithm
    status: Status
    created: str
    retired: str | None = None

    @property
    def public_key(self) -> PublicKey:
        """The public half."""
        return self.private_key.public_key()

    @property
    def kid(self) -> str:
        """The key's ``did:key`` verification method URL (also the JWT ``kid``)."""
        return did_key_url(self.public_key)

    @classmethod
    def generate(cls, algorithm: Algorithm) -> IssuerKey:
        """A fresh current key: Ed25519 for ``EdDSA``, P-256 for ``ES256``."""
        private: PrivateKey = (
            ed25519.Ed25519PrivateKey.generate()
            if algorithm == "EdDSA"
            else ec.generate_private_key(ec.SECP256R1())
        )
        return cls(private_key=private, algorithm=algorithm, status="current", created=_now())

    def to_record(self) -> dict[str, Any]:
        """The JSON record stored in ``keys.json`` (includes the private key)."""
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")
        return {
            "kid": self.kid,
            "alg": self.algorithm,
            "status": self.status,
            "created": self.created,
            "retired": self.retired,
            "private_key_pem": pem,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> IssuerKey:
        """Parse a ``keys.json`` record, checking the key matches its algorithm and ``kid``."""
        try:
            private = serialization.load_pem_private_key(
                str(record["private_key_pem"]).encode("ascii"), password=None
            )
            algorithm = record["alg"]
            status = record["status"]
            key = cls(
                private_key=private,  # type: ignore[arg-type]  # checked just below
                algorithm=algorithm,
                status=status,
                created=str(record["created"]),
                retired=record.get("retired"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyFormatError(f"unreadable key record: {exc}") from None
        expected = ed25519.Ed25519PrivateKey if algorithm == "EdDSA" else ec.EllipticCurvePrivateKey
        if algorithm not in ("EdDSA", "ES256") or not isinstance(private, expected):
            raise KeyFormatError(f"key {record.get('kid')!r} does not match its algorithm")
        if status not in ("current", "retired") or key.kid != record.get("kid"):
            raise KeyFormatError(f"key {record.get('kid')!r} has a wrong status or kid")
        return key


@dataclass(frozen=True)
class Keyring:
    """All the issuer's keys; exactly one current key per algorithm."""

    keys: tuple[IssuerKey, ...]

    def current(self, algorithm: Algorithm) -> IssuerKey:
        """The current key for ``algorithm``."""
        for key in self.keys:
            if key.algorithm == algorithm and key.status == "current":
                return key
        raise KeyStoreError(f"the keyring has no current {algorithm} key; run keys rotate")

    @property
    def signing_ed25519(self) -> ed25519.Ed25519PrivateKey:
        """The current Ed25519 private key (Data Integrity proofs)."""
        key = self.current("EdDSA").private_key
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        return key

    @property
    def signing_p256(self) -> ec.EllipticCurvePrivateKey:
        """The current P-256 private key (VC-JWT, ES256)."""
        key = self.current("ES256").private_key
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key

    def rotated(self) -> Keyring:
        """A keyring whose current keys are retired and replaced by fresh ones."""
        stamp = _now()
        retired = tuple(
            replace(key, status="retired", retired=stamp) if key.status == "current" else key
            for key in self.keys
        )
        return Keyring((*retired, IssuerKey.generate("EdDSA"), IssuerKey.generate("ES256")))

    def public_issuer(self, issuer_id: str, issuer_name: str) -> dict[str, Any]:
        """The public issuer file verifiers pin: profile, ``did:key`` methods and JWK set."""
        methods = []
        jwks = []
        for key in self.keys:
            did = key.kid.split("#", 1)[0]
            methods.append(
                {
                    "id": key.kid,
                    "type": "Multikey",
                    "controller": did,
                    "publicKeyMultibase": did[len("did:key:") :],
                    "alg": key.algorithm,
                    "status": key.status,
                    "created": key.created,
                    "retired": key.retired,
                }
            )
            jwks.append(_public_jwk(key.public_key, key.kid, key.algorithm))
        return {
            "format": ISSUER_FORMAT,
            "profile": {"id": issuer_id, "type": ["Profile"], "name": issuer_name},
            "verificationMethod": methods,
            "jwks": {"keys": jwks},
            "revocationList": "revocations.json",
        }

    def pinned(self, issuer_id: str, issuer_name: str) -> PinnedIssuer:
        """The verifier's view of this keyring (public keys only)."""
        return PinnedIssuer.from_document(self.public_issuer(issuer_id, issuer_name))


@dataclass(frozen=True)
class KeyStore:
    """The folder holding ``keys.json``; every write is atomic and mode 0600."""

    directory: Path

    @property
    def path(self) -> Path:
        """The keyring file."""
        return self.directory / KEYRING_FILE

    def exists(self) -> bool:
        """Whether a keyring has been created here."""
        return self.path.exists()

    def init(self) -> Keyring:
        """Create a new keyring; refuse if one exists (that would orphan every certificate)."""
        if self.exists():
            raise KeyStoreError(
                f"issuer keys already exist in {self.directory}; refusing to overwrite them "
                "(use `keys rotate` to replace the signing keys)"
            )
        keyring = Keyring((IssuerKey.generate("EdDSA"), IssuerKey.generate("ES256")))
        self._save(keyring)
        return keyring

    def load(self) -> Keyring:
        """Read the keyring, refusing one other users could read."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            raise KeyStoreError(
                f"no issuer keys in {self.directory}; run `context-course keys init`"
            ) from None
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise KeyStoreError(
                f"{self.path} is readable by other users (mode "
                f"{stat.S_IMODE(info.st_mode):04o}); run chmod 600 {self.path}"
            )
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise KeyStoreError(f"cannot read {self.path}: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != KEYRING_FORMAT:
            raise KeyStoreError(f"{self.path} is not a {KEYRING_FORMAT} keyring")
        records = data.get("keys")
        if not isinstance(records, list):
            raise KeyStoreError(f"{self.path} lists no keys")
        keyring = Keyring(tuple(IssuerKey.from_record(record) for record in records))
        keyring.current("EdDSA")
        keyring.current("ES256")
        return keyring

    def load_or_create(self) -> Keyring:
        """The keyring, created on first use."""
        return self.load() if self.exists() else self.init()

    def rotate(self) -> Keyring:
        """Retire the current keys (kept and still listed) and create new current ones."""
        keyring = self.load().rotated()
        self._save(keyring)
        return keyring

    def _save(self, keyring: Keyring) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = {"format": KEYRING_FORMAT, "keys": [key.to_record() for key in keyring.keys]}
        write_atomic(self.path, json.dumps(body, indent=2) + "\n", mode=0o600)


@dataclass(frozen=True)
class PinnedKey:
    """A public key the pinned issuer lists."""

    kid: str
    algorithm: Algorithm
    status: Status
    public_key: PublicKey


@dataclass(frozen=True)
class PinnedIssuer:
    """A parsed public issuer file: who the issuer is and which keys it vouches for."""

    id: str
    name: str
    keys: Mapping[str, PinnedKey]
    source: Path | None = None

    @classmethod
    def from_document(cls, document: Any, source: Path | None = None) -> PinnedIssuer:
        """Parse an ``issuer.json`` document; its JWK set and did:keys must agree."""
        where = str(source) if source else "issuer document"
        if not isinstance(document, dict) or document.get("format") != ISSUER_FORMAT:
            raise KeyFormatError(f"{where} is not a {ISSUER_FORMAT} issuer file")
        profile = document.get("profile")
        methods = document.get("verificationMethod")
        jwks = document.get("jwks", {})
        if not isinstance(profile, dict) or not isinstance(profile.get("id"), str):
            raise KeyFormatError(f"{where} has no issuer profile id")
        if not isinstance(methods, list) or not isinstance(jwks, dict):
            raise KeyFormatError(f"{where} lists no keys")
        jwk_by_kid = {jwk.get("kid"): jwk for jwk in jwks.get("keys", []) if isinstance(jwk, dict)}
        keys: dict[str, PinnedKey] = {}
        for method in methods:
            if not isinstance(method, dict) or not isinstance(method.get("id"), str):
                raise KeyFormatError(f"{where} has a key without an id")
            kid = method["id"]
            public = multibase_decode_key(str(method.get("publicKeyMultibase", "")))
            algorithm = method.get("alg")
            if algorithm not in ("EdDSA", "ES256") or did_key_url(public) != kid:
                raise KeyFormatError(f"{where}: key {kid[:40]}… is inconsistent")
            jwk = jwk_by_kid.get(kid)
            if jwk is None or _public_jwk(public, kid, algorithm) != {
                k: jwk.get(k) for k in ("kty", "crv", "x", "y", "kid", "alg", "use") if k in jwk
            }:
                raise KeyFormatError(f"{where}: the JWK set and did:key for {kid[:40]}… differ")
            status: Status = "retired" if method.get("status") == "retired" else "current"
            keys[kid] = PinnedKey(kid=kid, algorithm=algorithm, status=status, public_key=public)
        return cls(id=profile["id"], name=str(profile.get("name", "")), keys=keys, source=source)

    @classmethod
    def from_file(cls, path: Path) -> PinnedIssuer:
        """Read and parse an ``issuer.json`` file."""
        try:
            document = loads_strict(Path(path).read_bytes())
        except OSError as exc:
            raise KeyFormatError(f"cannot read issuer file {path}: {exc.strerror}") from None
        except ValueError as exc:  # not JSON, duplicate keys, not UTF-8
            raise KeyFormatError(f"cannot read issuer file {path}: not JSON ({exc})") from None
        return cls.from_document(document, source=Path(path))
