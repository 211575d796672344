"""Baked badges: the credential carried inside the badge image, as OB 3.0 specifies.

PNG: one ``iTXt`` chunk with the keyword ``openbadgecredential`` (uncompressed) whose
text is the credential — here the compact VC-JWT. SVG: an ``openbadges:credential``
element (namespace ``https://purl.imsglobal.org/ob/v3p0``) whose ``verify`` attribute
holds the VC-JWT. Reading is bounded and strict: a PNG whose chunks do not add up, or a
badge with two credentials, carries none.
"""

from __future__ import annotations

import re
import struct
import zlib

from certificates.errors import CredentialError

__all__ = [
    "OB_NAMESPACE",
    "PNG_KEYWORD",
    "PNG_SIGNATURE",
    "bake_png",
    "bake_svg",
    "read_png",
    "read_svg",
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_KEYWORD = b"openbadgecredential"
OB_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_MAX_CHUNKS = 10_000


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if not data.startswith(PNG_SIGNATURE):
        raise CredentialError("not a PNG file")
    chunks: list[tuple[bytes, bytes]] = []
    offset = len(PNG_SIGNATURE)
    while offset < len(data):
        if len(chunks) >= _MAX_CHUNKS or offset + 12 > len(data):
            raise CredentialError("the PNG's chunks are damaged")
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length] or b"\0" * 4)
        if len(body) != length or zlib.crc32(kind + body) != crc:
            raise CredentialError("the PNG's chunks are damaged (length or CRC)")
        chunks.append((kind, body))
        offset += 12 + length
        if kind == b"IEND":
            break
    if not chunks or chunks[-1][0] != b"IEND":
        raise CredentialError("the PNG has no IEND chunk")
    return chunks


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _badge_chunk(body: bytes) -> bool:
    return body.split(b"\0", 1)[0] == PNG_KEYWORD


def bake_png(image: bytes, credential: str) -> bytes:
    """``image`` with ``credential`` in an ``openbadgecredential`` iTXt chunk (replacing any)."""
    kept = [(k, b) for k, b in _chunks(image) if not (k == b"iTXt" and _badge_chunk(b))]
    # keyword NUL, compression flag 0, method 0, empty language NUL, empty translation NUL
    itxt = PNG_KEYWORD + b"\0\0\0\0\0" + credential.encode("utf-8")
    out = [PNG_SIGNATURE]
    for kind, body in kept:
        if kind == b"IEND":
            out.append(_chunk(b"iTXt", itxt))
        out.append(_chunk(kind, body))
    return b"".join(out)


def read_png(data: bytes) -> str | None:
    """The credential text baked into a PNG, ``None`` if there is none."""
    found = [body for kind, body in _chunks(data) if kind == b"iTXt" and _badge_chunk(body)]
    if not found:
        return None
    if len(found) > 1:
        raise CredentialError("the PNG carries more than one baked credential")
    body = found[0][len(PNG_KEYWORD) + 1 :]
    if body[:2] != b"\0\0":
        raise CredentialError("the PNG's baked credential is compressed")
    fields = body[2:].split(b"\0", 2)  # language, translated keyword, text
    if len(fields) != 3:
        raise CredentialError("the PNG's baked credential is malformed")
    try:
        return fields[2].decode("utf-8")
    except UnicodeDecodeError:
        raise CredentialError("the PNG's baked credential is not UTF-8") from None


def bake_svg(svg: str, jwt: str) -> str:
    """An SVG image with the VC-JWT baked in as ``<openbadges:credential verify=…>``."""
    if not _JWT.fullmatch(jwt):
        raise CredentialError("only a compact VC-JWT can be baked into an SVG")
    start = svg.find("<svg")
    end = svg.find(">", start)
    if start < 0 or end < 0:
        raise CredentialError("not an SVG image")
    head = svg[:end]
    if "xmlns:openbadges" not in head:
        head += f' xmlns:openbadges="{OB_NAMESPACE}"'
    element = f'<openbadges:credential verify="{jwt}"></openbadges:credential>'
    return f"{head}>\n{element}{svg[end + 1 :]}"


_SVG_CREDENTIAL = re.compile(r"<openbadges:credential\b([^>]*)>")
_VERIFY = re.compile(r"""\bverify\s*=\s*(["'])([^"']*)\1""")


def read_svg(text: str) -> str | None:
    """The VC-JWT baked into an SVG, ``None`` if there is none."""
    if f'xmlns:openbadges="{OB_NAMESPACE}"' not in text[:8192]:
        return None
    if "</svg>" not in text[-4096:]:
        raise CredentialError("the SVG is incomplete (no closing </svg>; truncated?)")
    found = _SVG_CREDENTIAL.findall(text)
    if not found:
        return None
    if len(found) > 1:
        raise CredentialError("the SVG carries more than one baked credential")
    match = _VERIFY.search(found[0])
    if match is None or not _JWT.fullmatch(match.group(2)):
        raise CredentialError("the SVG's baked credential has no VC-JWT in its verify attribute")
    return match.group(2)
