"""Baked badges (OB 3.0 baking): the VC-JWT inside the PNG and the SVG, round trips."""

from __future__ import annotations

import struct
import zlib

import pytest
from PIL import Image

from certificates import Reason
from certificates.baking import PNG_KEYWORD, bake_png, bake_svg, read_png, read_svg
from certificates.errors import CredentialError
from tests.certificates.conftest import Issued
from tests.certificates.test_verify import check


def _itxt_chunks(data: bytes) -> list[bytes]:
    found, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        if data[offset + 4 : offset + 8] == b"iTXt":
            found.append(data[offset + 8 : offset + 8 + length])
        offset += 12 + length
    return found


def test_the_shipped_png_carries_the_jwt_in_one_itxt_chunk(issued: Issued) -> None:
    data = (issued.folder("ana") / "certificate.png").read_bytes()
    chunks = [c for c in _itxt_chunks(data) if c.startswith(PNG_KEYWORD + b"\0")]
    assert len(chunks) == 1
    assert chunks[0] == PNG_KEYWORD + b"\0\0\0\0\0" + issued.jwt("ana").encode()
    assert read_png(data) == issued.jwt("ana")
    with Image.open(issued.folder("ana") / "certificate.png") as image:  # still a picture
        assert image.size[0] > image.size[1] > 700
        assert image.text.get("openbadgecredential") == issued.jwt("ana")  # type: ignore[attr-defined]


def test_the_shipped_svg_carries_the_jwt_in_an_openbadges_credential(issued: Issued) -> None:
    text = (issued.folder("li") / "badge.svg").read_text(encoding="utf-8")
    assert 'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"' in text
    assert f'<openbadges:credential verify="{issued.jwt("li")}">' in text
    assert read_svg(text) == issued.jwt("li")


def test_rebaking_replaces_the_credential_and_both_verify(issued: Issued) -> None:
    png = (issued.folder("ana") / "certificate.png").read_bytes()
    rebaked = bake_png(png, issued.jwt("li"))
    assert read_png(rebaked) == issued.jwt("li")
    verdict = check(rebaked, issued)
    assert verdict.valid and verdict.learner == "李小龍"
    svg = bake_svg('<svg xmlns="http://www.w3.org/2000/svg"></svg>', issued.jwt("zoe"))
    verdict = check(svg, issued)
    assert verdict.valid and verdict.level == "Bronze"


def test_a_png_with_two_credentials_or_a_bad_crc_carries_none(issued: Issued) -> None:
    png = (issued.folder("ana") / "certificate.png").read_bytes()
    body = PNG_KEYWORD + b"\0\0\0\0\0" + issued.jwt("li").encode()
    chunk = (
        struct.pack(">I", len(body))
        + b"iTXt"
        + body
        + struct.pack(">I", zlib.crc32(b"iTXt" + body))
    )
    twice = png[:8] + chunk + png[8:]
    assert check(twice, issued).reason == Reason.MALFORMED
    damaged = bytearray(png)
    damaged[40] ^= 0xFF
    assert check(bytes(damaged), issued).reason == Reason.MALFORMED
    with pytest.raises(CredentialError):
        read_png(b"not a png")


def test_a_tampered_baked_jwt_is_a_bad_signature(issued: Issued) -> None:
    token = issued.jwt("ana")
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload[:-4]}AAAA.{signature}"
    png = bake_png((issued.folder("ana") / "certificate.png").read_bytes(), forged)
    assert check(png, issued).reason in (Reason.BAD_SIGNATURE, Reason.MALFORMED)
    svg = (issued.folder("ana") / "badge.svg").read_text(encoding="utf-8").replace(token, forged)
    assert check(svg, issued).reason in (Reason.BAD_SIGNATURE, Reason.MALFORMED)
