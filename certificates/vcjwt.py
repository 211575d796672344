"""VC-JWT as Open Badges 3.0 defines it: a compact JWS, ES256, over the credential.

The payload is the credential — with its embedded Data Integrity ``proof``, as OB 3.0
§8.2 says when both proof formats are used ("add the embedded proof first") — plus the
registered claims ``iss`` (issuer id), ``jti`` (credential id), ``sub`` (subject id), ``nbf``
(``validFrom``) and ``exp`` (``validUntil``, when set); the header carries ``alg``,
``typ: JWT`` and the ``kid`` of the signing key (``<issuer DID>#<key id>``, a
verification method of the issuer's DID document). Signing and
signature checks use joserfc; this module only decides what is acceptable:
verification refuses every algorithm but ES256 (so ``none`` and HS256-with-the-public-key
never reach a key) and non-canonical base64url, so no two strings carry one signature.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from certificates._json import loads_strict
from certificates.errors import CredentialError

__all__ = ["ALGORITHM", "JwtError", "ParsedJwt", "parse_jwt", "sign_jwt", "verify_jwt_signature"]

ALGORITHM = "ES256"
_CLAIMS = ("iss", "jti", "sub", "nbf", "exp")


class JwtError(CredentialError):
    """A VC-JWT is malformed, uses a refused algorithm, or its signature fails."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "malformed" | "bad-signature"


def _timestamp(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def _issuer_id(issuer: Any) -> str:
    """``issuer`` is a URL string or a profile object with an ``id``."""
    return str(issuer if isinstance(issuer, str) else issuer["id"])


def sign_jwt(
    credential: Mapping[str, Any], private_key: ec.EllipticCurvePrivateKey, kid: str
) -> str:
    """The compact VC-JWT of ``credential`` (its embedded ``proof``, if any, included)."""
    body = dict(credential)
    try:
        claims: dict[str, Any] = {
            "iss": _issuer_id(body["issuer"]),
            "jti": body["id"],
            "sub": body["credentialSubject"]["id"],
            "nbf": _timestamp(body["validFrom"]),
        }
        if "validUntil" in body:
            claims["exp"] = _timestamp(body["validUntil"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CredentialError(f"cannot make a VC-JWT: credential lacks {exc}") from None
    payload = json.dumps({**body, **claims}, ensure_ascii=False, separators=(",", ":"))
    header = {"alg": ALGORITHM, "typ": "JWT", "kid": kid}
    return jws.serialize_compact(header, payload.encode("utf-8"), ECKey.import_key(private_key))


def _b64decode(segment: str, what: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise JwtError("malformed", f"the JWT {what} is not base64url") from None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != segment:
        raise JwtError("malformed", f"the JWT {what} is not canonical base64url")
    return raw


@dataclass(frozen=True)
class ParsedJwt:
    """A structurally valid VC-JWT, not yet checked against any key."""

    token: str
    header: dict[str, Any]
    payload: dict[str, Any]

    @property
    def kid(self) -> str:
        """The key id the header names."""
        return str(self.header.get("kid", ""))

    @property
    def credential(self) -> dict[str, Any]:
        """The credential the JWT carries (payload minus the registered claims)."""
        return {key: value for key, value in self.payload.items() if key not in _CLAIMS}

    def claims_mismatch(self) -> str | None:
        """The registered claim that contradicts the credential it carries, if any."""
        credential = self.credential
        expected: dict[str, Any] = {}
        try:
            expected["iss"] = _issuer_id(credential["issuer"])
            expected["jti"] = credential["id"]
            expected["sub"] = credential["credentialSubject"]["id"]
            expected["nbf"] = _timestamp(credential["validFrom"])
            if "validUntil" in credential:
                expected["exp"] = _timestamp(credential["validUntil"])
        except (KeyError, TypeError, ValueError, AttributeError):
            return "credential"
        for claim in _CLAIMS:
            if self.payload.get(claim) != expected.get(claim):
                return claim
        return None


def parse_jwt(token: str) -> ParsedJwt:
    """Split and decode a compact JWS strictly; refuse any algorithm but ES256."""
    token = token.strip()
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise JwtError("malformed", "not a compact JWT (expected three non-empty parts)")
    header_raw = _b64decode(parts[0], "header")
    payload_raw = _b64decode(parts[1], "payload")
    signature = _b64decode(parts[2], "signature")
    try:
        header = loads_strict(header_raw)
        payload = loads_strict(payload_raw)
    except json.JSONDecodeError:
        raise JwtError("malformed", "the JWT header or payload is not JSON") from None
    except ValueError as exc:  # duplicate keys, NaN, nesting, not UTF-8
        raise JwtError(
            "malformed", f"the JWT header or payload is not acceptable JSON: {exc}"
        ) from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise JwtError("malformed", "the JWT header and payload must be JSON objects")
    algorithm = header.get("alg")
    if algorithm != ALGORITHM:
        raise JwtError(
            "bad-signature", f"JWT algorithm {algorithm!r} is refused; only {ALGORITHM} is accepted"
        )
    if "crit" in header or header.get("b64") is False:
        raise JwtError("malformed", "JWT header extensions (crit, b64) are not supported")
    if len(signature) != 64:
        raise JwtError("malformed", "the JWT signature is not a 64-byte ES256 signature")
    return ParsedJwt(token=token, header=header, payload=payload)


def verify_jwt_signature(parsed: ParsedJwt, public_key: ec.EllipticCurvePublicKey) -> None:
    """Check the ES256 signature of ``parsed`` with ``public_key``; raise :class:`JwtError`."""
    try:
        jws.deserialize_compact(parsed.token, ECKey.import_key(public_key), algorithms=[ALGORITHM])
    except (JoseError, ValueError) as exc:
        raise JwtError("bad-signature", f"the JWT signature does not verify ({exc})") from None
