"""Issuer keys: an Ed25519 key for Data Integrity proofs and a P-256 key for VC-JWTs.

Private keys live in ``keys.json`` (mode 0600) inside the key folder — by default
``$XDG_CONFIG_HOME/context-course/issuer/`` (``~/.config/…``), never in a repository.
``rotate`` retires the current keys and makes new ones; retired keys stay in the issuer's
DID document (see :mod:`certificates.issuer`) so certificates they signed keep verifying,
marked with the moment they stopped signing.

A key is named by its multibase public key (``z6Mk…`` for Ed25519, ``zDn…`` for P-256):
the fragment of its verification method ``<issuer DID>#<key id>``.
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

from certificates._files import write_atomic
from certificates.errors import KeyFormatError, KeyStoreError
from certificates.multikey import PublicKey, did_key_url, multibase_encode_key

__all__ = [
    "Algorithm",
    "IssuerKey",
    "KeyStore",
    "Keyring",
    "default_key_dir",
]

Algorithm = Literal["EdDSA", "ES256"]
Status = Literal["current", "retired"]
PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey

KEYRING_FILE = "keys.json"
KEYRING_FORMAT = "context-course-issuer-keys/1"


def default_key_dir(configured: str = "", course_root: Path | None = None) -> Path:
    """Where issuer keys live: ``configured`` (relative to the course) or the XDG default."""
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_absolute() or course_root is None else course_root / path
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "context-course" / "issuer"


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


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
    def key_id(self) -> str:
        """The key's name: its multibase public key, the fragment of its verification method."""
        return multibase_encode_key(self.public_key)

    def method_id(self, did: str) -> str:
        """The verification method URL ``<did>#<key id>`` (also the JWT ``kid``)."""
        return f"{did}#{self.key_id}"

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
            "kid": self.key_id,
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
        # records written before did:web issuers name the key by its did:key URL
        names = (key.key_id, did_key_url(key.public_key))
        if status not in ("current", "retired") or record.get("kid") not in names:
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
