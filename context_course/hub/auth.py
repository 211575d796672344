"""The hub's login for ``context-course hub up``: per-learner passwords issued from the roster.

Passwords are stored only as scrypt hashes (``passwords.json`` in the hub's state folder,
mode 0600); the plain passwords are shown once, in ``initial-passwords.csv``, for the
instructor to hand out (a mail merge). ``context-course hub passwords --reset ID`` issues a
new one. A production hub uses its own authenticator (LDAP, OAuth, LTI 1.3); the course
service trusts whatever authenticator the hub uses.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from jupyterhub.auth import Authenticator  # type: ignore[import-untyped]
from traitlets import Unicode

__all__ = ["CoursePasswordAuthenticator", "hash_password", "issue_passwords", "verify_password"]

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return hmac.compare_digest(digest.hex(), digest_hex)


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def issue_passwords(state_dir: Path, users: list[str], *, reset: bool = False) -> dict[str, str]:
    """Give every user without a password (every one in ``users`` if ``reset``) a new one.

    Returns the plain passwords just issued (and appends them to
    ``initial-passwords.csv``); existing passwords are kept unless ``reset``.
    """
    store_path = state_dir / "passwords.json"
    stored: dict[str, str] = {}
    if store_path.is_file():
        stored = json.loads(store_path.read_text(encoding="utf-8"))
    issued: dict[str, str] = {}
    for user in users:
        if user in stored and not reset:
            continue
        password = secrets.token_urlsafe(9)
        stored[user] = hash_password(password)
        issued[user] = password
    if issued:
        _write_private(store_path, json.dumps(stored, indent=1, sort_keys=True))
        sheet = state_dir / "initial-passwords.csv"
        lines = (
            sheet.read_text(encoding="utf-8").splitlines() if sheet.is_file() else ["user,password"]
        )
        lines = [line for line in lines if line.split(",", 1)[0] not in issued]
        lines += [f"{user},{password}" for user, password in sorted(issued.items())]
        _write_private(sheet, "\n".join(lines) + "\n")
    return issued


class CoursePasswordAuthenticator(Authenticator):  # type: ignore[misc]
    """Checks a username and password against ``passwords.json`` (scrypt hashes)."""

    password_file = Unicode(help="The hub's passwords.json").tag(config=True)

    async def authenticate(self, handler: Any, data: dict[str, str]) -> str | None:
        username = str(data.get("username", ""))
        password = str(data.get("password", ""))
        try:
            stored = json.loads(Path(self.password_file).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.log.error("cannot read the password file %s", self.password_file)
            return None
        expected = stored.get(username)
        if not isinstance(expected, str) or not verify_password(password, expected):
            return None
        return username
