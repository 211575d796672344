"""Public keys as multibase strings and ``did:key`` identifiers (offline, no resolver).

A ``did:key`` is self-describing: the identifier *is* the public key, prefixed by its
multicodec type and encoded in base58btc (multibase prefix ``z``). Ed25519 keys look like
``did:key:z6Mk…`` and P-256 keys (compressed point) like ``did:key:zDn…``.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from certificates.errors import KeyFormatError

__all__ = [
    "PublicKey",
    "b58decode",
    "b58encode",
    "did_key_url",
    "multibase_decode_key",
    "multibase_encode_key",
    "public_key_from_did_url",
]

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(_ALPHABET)}

# Multicodec prefixes (unsigned varints) of the key types we use.
_ED25519_PUB = b"\xed\x01"
_P256_PUB = b"\x80\x24"


def b58encode(data: bytes) -> str:
    """Base58 (Bitcoin alphabet) encoding; leading zero bytes become ``1``s."""
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, rest = divmod(number, 58)
        out.append(_ALPHABET[rest])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    """Inverse of :func:`b58encode`; raises :class:`KeyFormatError` on a foreign character."""
    number = 0
    for char in text:
        try:
            number = number * 58 + _INDEX[char]
        except KeyError:
            raise KeyFormatError(f"{char!r} is not a base58btc character") from None
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def multibase_encode_key(key: PublicKey) -> str:
    """The key as a multibase (``z`` + base58btc) multicodec string, as in ``did:key``."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        raw = _ED25519_PUB + key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        raw = _P256_PUB + key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    else:
        raise KeyFormatError(f"unsupported key type {type(key).__name__}; use Ed25519 or P-256")
    return "z" + b58encode(raw)


def multibase_decode_key(value: str) -> PublicKey:
    """Parse a multibase multicodec public key (Ed25519 or P-256)."""
    if not value.startswith("z"):
        raise KeyFormatError(f"{value[:20]!r} is not a base58btc multibase key (no 'z' prefix)")
    raw = b58decode(value[1:])
    try:
        if raw.startswith(_ED25519_PUB) and len(raw) == 34:
            return ed25519.Ed25519PublicKey.from_public_bytes(raw[2:])
        if raw.startswith(_P256_PUB) and len(raw) == 35:
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw[2:])
    except ValueError as exc:
        raise KeyFormatError(f"{value[:20]}… is not a valid public key: {exc}") from None
    raise KeyFormatError(f"{value[:20]}… is not an Ed25519 or P-256 multikey")


def did_key_url(key: PublicKey) -> str:
    """The ``did:key`` verification method URL of ``key``: ``did:key:z…#z…``."""
    encoded = multibase_encode_key(key)
    return f"did:key:{encoded}#{encoded}"


def public_key_from_did_url(url: str) -> PublicKey:
    """The public key a ``did:key`` URL (with or without its ``#fragment``) names."""
    if not url.startswith("did:key:"):
        raise KeyFormatError(f"{url[:60]!r} is not a did:key")
    did, _, fragment = url[len("did:key:") :].partition("#")
    if fragment and fragment != did:
        raise KeyFormatError(f"{url[:60]!r}: the fragment does not name the DID's own key")
    return multibase_decode_key(did)
