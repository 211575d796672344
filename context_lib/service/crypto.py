"""Keys and encryption of the Context service.

Key handling (the whole story)
------------------------------
* One **master key** (32 random bytes) per deployment. It is never stored in the
  service's database: it comes from ``CONTEXT_SERVICE_MASTER_KEY`` (base64) or from a
  key file outside the data folder (``load_master_key`` creates
  ``$XDG_CONFIG_HOME/context-course/service/master.key`` with mode 0600 on first use).
  Every node behind a load balancer is given the same master key.
* From it, HKDF-SHA256 derives purpose-bound keys: a **key-encryption key** that
  wraps tenant keys, a **pepper** for API-key digests, and a **check value** stored
  in the database so that starting with the wrong master key fails loudly instead of
  producing garbage.
* Each tenant has its own random 256-bit **data key**, stored only wrapped (AES-GCM
  under the key-encryption key, bound to the tenant id). Values and history are
  encrypted with AES-GCM under the tenant's data key, with a fresh 96-bit nonce per
  value and the tenant, context and key as associated data, so a ciphertext moved to
  another tenant or key fails to decrypt. Erasing a tenant deletes its wrapped data
  key: any copy of its ciphertexts left in backups becomes unreadable.
* Each audit chain has a **MAC key** and a **payload key** of its own, derived from
  the master key and the chain's name; a **witness key** signs the checkpoints of
  chain heads (see :mod:`context_lib.service.audit` and ``.witness``). None of them
  is stored: a copy of the database cannot forge, rewrite or read the audit log.
* **API keys** are ``cck_<id>_<secret>`` with a 256-bit random secret. The database
  keeps ``HMAC-SHA256(pepper, key)`` only; checks use ``hmac.compare_digest``. A
  stolen database therefore neither reveals keys nor lets anyone test guesses
  offline without the master key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from context_lib.service.audit import ChainKeys
from context_lib.service.errors import ConfigurationError, ServiceError
from context_lib.service.nonces import nonce

__all__ = ["KeyRing", "default_master_key_path", "load_master_key", "new_master_key"]

MASTER_KEY_ENV = "CONTEXT_SERVICE_MASTER_KEY"
KEY_PREFIX = "cck"
_NONCE = 12
_KNOWN_KEYS = 4096  # API keys whose digest is remembered (then forgotten all at once)


def new_master_key() -> str:
    """A fresh master key, base64-encoded (what the key file and the variable hold)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _decode_master(text: str, origin: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ConfigurationError(
            f"the master key in {origin} is not 32 bytes of base64; "
            "create one with `context-course serve master-key`"
        )
    return raw


def default_master_key_path() -> Path:
    """``$XDG_CONFIG_HOME/context-course/service/master.key`` (``~/.config`` by default)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "context-course" / "service" / "master.key"


def load_master_key(path: Path | None = None, *, create: bool = True) -> bytes:
    """The master key from ``CONTEXT_SERVICE_MASTER_KEY``, else from the key file.

    With ``create`` the key file (``path`` or :func:`default_master_key_path`) is made
    with mode 0600 if it does not exist yet.
    """
    env = os.environ.get(MASTER_KEY_ENV)
    if env:
        return _decode_master(env, f"${MASTER_KEY_ENV}")
    path = path or default_master_key_path()
    if not path.exists():
        if not create:
            raise ConfigurationError(f"no master key: {path} does not exist")
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process created it meanwhile: read theirs
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(new_master_key() + "\n")
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the master key file {path}: {exc.strerror or exc}"
            ) from None
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the master key file {path}: {exc}") from exc
    return _decode_master(text, str(path))


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"context-service/" + purpose
    ).derive(master)


class KeyRing:
    """Everything the service does with keys, given the master key."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ConfigurationError("the master key must be 32 bytes")
        self._wrap = AESGCM(_derive(master_key, b"tenant-key-wrap/v1"))
        self._pepper = _derive(master_key, b"api-key-pepper/v1")
        self.check_value = _derive(master_key, b"check/v1").hex()
        self.witness_key = _derive(master_key, b"audit-witness/v1")
        self._master = master_key
        self._known: dict[str, bytes] = {}  # API key -> its digest, for keys that matched
        self._ciphers: dict[bytes, AESGCM] = {}
        self._chains: dict[str, ChainKeys] = {}

    # ------------------------------------------------------------------ audit chains

    def audit_keys(self, chain: str) -> ChainKeys:
        """The MAC key and payload cipher of one audit chain (derived once, cached)."""
        keys = self._chains.get(chain)
        if keys is None:
            name = chain.encode()
            keys = self._chains[chain] = ChainKeys(
                _derive(self._master, b"audit-mac/v1/" + name),
                AESGCM(_derive(self._master, b"audit-payload/v1/" + name)),
            )
        return keys

    # ------------------------------------------------------------------ tenant keys

    def new_wrapped_tenant_key(self, tenant_id: str) -> bytes:
        """A fresh tenant data key, wrapped for storage."""
        nonce = secrets.token_bytes(_NONCE)
        return nonce + self._wrap.encrypt(nonce, AESGCM.generate_key(256), tenant_id.encode())

    def tenant_cipher(self, tenant_id: str, wrapped: bytes) -> AESGCM:
        """The AES-GCM cipher of a tenant, unwrapping its data key (cached)."""
        cipher = self._ciphers.get(wrapped)
        if cipher is None:
            try:
                key = self._wrap.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], tenant_id.encode())
            except InvalidTag as exc:
                raise ConfigurationError(
                    f"cannot unwrap the data key of tenant {tenant_id}: wrong master key?"
                ) from exc
            cipher = self._ciphers[wrapped] = AESGCM(key)
        return cipher

    @staticmethod
    def encrypt(cipher: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
        """``nonce || AES-GCM(plaintext)`` bound to ``aad``."""
        iv = nonce(_NONCE)
        return iv + cipher.encrypt(iv, plaintext, aad)

    @staticmethod
    def decrypt(cipher: AESGCM, blob: bytes, aad: bytes) -> bytes:
        """The plaintext of :meth:`encrypt`'s output; raises if it was tampered with."""
        try:
            return cipher.decrypt(blob[:_NONCE], blob[_NONCE:], aad)
        except InvalidTag as exc:
            raise ServiceError(
                "a stored value failed its integrity check (tampered or moved)",
                code="integrity_error",
            ) from exc

    # ------------------------------------------------------------------ API keys

    @staticmethod
    def new_api_key() -> tuple[str, str]:
        """``(key_id, full key)``: the id is public, the key is shown once."""
        key_id = secrets.token_hex(6)
        return key_id, f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"

    def digest(self, api_key: str) -> bytes:
        """The stored form of an API key: ``HMAC-SHA256(pepper, key)``."""
        return hmac.digest(self._pepper, api_key.encode(), hashlib.sha256)

    def matches(self, api_key: str, stored: bytes) -> bool:
        """Constant-time check of ``api_key`` against a stored digest.

        The digest of a key that matched is remembered (it is a pure function of the
        key and the pepper), so a client's next requests skip the HMAC. Only a key
        that was presented in full finds its entry: a wrong or unknown key always
        costs the HMAC, as before.
        """
        digest = self._known.get(api_key)
        if digest is None:
            digest = self.digest(api_key)
            if not hmac.compare_digest(digest, stored):
                return False
            if len(self._known) >= _KNOWN_KEYS:
                self._known.clear()
            self._known[api_key] = digest
            return True
        return hmac.compare_digest(digest, stored)

    @staticmethod
    def key_id_of(api_key: str) -> str | None:
        """The id part of a well-formed key, else ``None``."""
        parts = api_key.split("_", 2)
        if len(parts) == 3 and parts[0] == KEY_PREFIX and len(parts[1]) == 12:
            return parts[1]
        return None
