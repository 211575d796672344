"""did:key and multibase encoding of Ed25519 and P-256 public keys."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from certificates.errors import KeyFormatError
from certificates.multikey import (
    b58decode,
    b58encode,
    did_key_url,
    multibase_decode_key,
    public_key_from_did_url,
)


def test_base58_round_trips_and_keeps_leading_zero_bytes() -> None:
    for data in (b"", b"\0", b"\0\0\x01", b"hello world", bytes(range(256))):
        assert b58decode(b58encode(data)) == data
    assert b58encode(b"\0\0\x01") == "112"
    with pytest.raises(KeyFormatError, match="base58btc"):
        b58decode("0OIl")


def test_w3c_vector_public_key_decodes_to_ed25519() -> None:
    key = multibase_decode_key("z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2")
    assert isinstance(key, ed25519.Ed25519PublicKey)
    url = did_key_url(key)
    assert url == (
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
        "#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    )


def test_p256_did_key_uses_the_compressed_point_and_round_trips() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    url = did_key_url(key)
    assert url.startswith("did:key:zDn")
    back = public_key_from_did_url(url)
    assert isinstance(back, ec.EllipticCurvePublicKey)
    assert back.public_bytes(Encoding.X962, PublicFormat.CompressedPoint) == key.public_bytes(
        Encoding.X962, PublicFormat.CompressedPoint
    )


@pytest.mark.parametrize(
    "url",
    [
        "did:web:example.com",
        "did:key:6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6MkOther",
        "did:key:z2222",
    ],
)
def test_malformed_did_keys_are_refused(url: str) -> None:
    with pytest.raises(KeyFormatError):
        public_key_from_did_url(url)


def test_other_key_types_are_refused() -> None:
    key = ec.generate_private_key(ec.SECP384R1()).public_key()
    with pytest.raises(KeyFormatError, match="unsupported key type"):
        did_key_url(key)
