"""Find the signed credential inside whatever file a verifier was handed.

A certificate travels as the credential JSON (Data Integrity proof), the VC-JWT, the
HTML page (both embedded in ``<script>`` elements), the PDF (both attached as files) or
a baked PNG or SVG badge (the VC-JWT, see :mod:`certificates.baking`). For the HTML page
and the PDF the bundle also holds the text a person reads (:mod:`certificates.visible`).
:func:`extract` returns what it found; it never raises for bad input other than
:class:`BundleError` with a one-line reason.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from certificates._json import loads_strict
from certificates.baking import PNG_SIGNATURE, read_png, read_svg
from certificates.errors import CredentialError
from certificates.visible import html_visible_text, pdf_visible_text

__all__ = [
    "CREDENTIAL_ATTACHMENT",
    "CREDENTIAL_SCRIPT_ID",
    "JWT_ATTACHMENT",
    "JWT_SCRIPT_ID",
    "MAX_BYTES",
    "Bundle",
    "BundleError",
    "extract",
]

CREDENTIAL_ATTACHMENT = "credential.json"
JWT_ATTACHMENT = "credential.jwt"
CREDENTIAL_SCRIPT_ID = "open-badge-credential"
JWT_SCRIPT_ID = "open-badge-credential-jwt"
MAX_BYTES = 32 * 1024 * 1024


class BundleError(CredentialError):
    """The input holds no readable credential."""


@dataclass(frozen=True)
class Bundle:
    """The signed forms found in one file (either may be missing, not both)."""

    kind: str  # "pdf" | "html" | "png" | "svg" | "json" | "jwt"
    credential: dict[str, Any] | None
    jwt: str | None
    visible: str | None = None  # the text a person reads (HTML and PDF only)


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[str, str] = {}
        self.counts: dict[str, int] = {}
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            ident = dict(attrs).get("id")
            self._current = ident if ident in (CREDENTIAL_SCRIPT_ID, JWT_SCRIPT_ID) else None
            if self._current is not None:
                self.counts[self._current] = self.counts.get(self._current, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self.found[self._current] = self.found.get(self._current, "") + data


def _json_object(text: str | bytes, where: str) -> dict[str, Any]:
    try:
        value = loads_strict(text)
    except json.JSONDecodeError as exc:
        raise BundleError(f"the {where} is not valid JSON ({exc.__class__.__name__})") from None
    except ValueError as exc:  # duplicate keys, NaN, nesting, not UTF-8
        raise BundleError(f"the {where} is not acceptable JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BundleError(f"the {where} is not a JSON object")
    return value


def _one_each(where: str, credentials: int, jwts: int) -> None:
    """A certificate carries one credential (and one JWT): a second copy is ambiguous."""
    if credentials > 1 or jwts > 1:
        raise BundleError(
            f"the {where} carries {credentials} credentials and {jwts} JWTs; a certificate "
            "carries at most one of each, so which one to believe is ambiguous"
        )


def _from_pdf(data: bytes) -> Bundle:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=True)
        attachments = reader.attachments
        credential_files = attachments.get(CREDENTIAL_ATTACHMENT, [])
        jwt_files = attachments.get(JWT_ATTACHMENT, [])
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise BundleError(f"the PDF cannot be read ({exc.__class__.__name__})") from None
    if not credential_files and not jwt_files:
        raise BundleError("the PDF has no attached credential")
    _one_each("PDF", len(credential_files), len(jwt_files))
    credential = (
        _json_object(credential_files[0], "PDF's credential attachment")
        if credential_files
        else None
    )
    jwt = jwt_files[0].decode("ascii", "replace").strip() if jwt_files else None
    try:
        text = pdf_visible_text(data)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise BundleError(f"the PDF's text cannot be read ({exc.__class__.__name__})") from None
    return Bundle("pdf", credential, jwt, text)


def _from_html(text: str) -> Bundle:
    if "</html>" not in text[-4096:].lower():
        raise BundleError("the HTML page is incomplete (no closing </html>; truncated?)")
    parser = _Scripts()
    parser.feed(text)
    parser.close()
    raw_credential = parser.found.get(CREDENTIAL_SCRIPT_ID)
    raw_jwt = parser.found.get(JWT_SCRIPT_ID)
    if raw_credential is None and raw_jwt is None:
        raise BundleError("the HTML page embeds no credential")
    _one_each(
        "HTML page",
        parser.counts.get(CREDENTIAL_SCRIPT_ID, 0),
        parser.counts.get(JWT_SCRIPT_ID, 0),
    )
    credential = (
        _json_object(raw_credential, "page's embedded credential")
        if raw_credential is not None
        else None
    )
    return Bundle(
        "html",
        credential,
        raw_jwt.strip() if raw_jwt is not None else None,
        html_visible_text(text),
    )


def _baked(kind: str, jwt: str | None) -> Bundle:
    if jwt is None:
        raise BundleError(f"the {kind.upper()} carries no baked credential")
    jwt = jwt.strip()
    if jwt.startswith("{"):
        return Bundle(kind, _json_object(jwt, f"{kind.upper()}'s baked credential"), None)
    return Bundle(kind, None, jwt)


def extract(data: bytes) -> Bundle:
    """The credential and/or JWT carried by ``data`` (PDF, HTML, JSON or a bare JWT)."""
    if len(data) > MAX_BYTES:
        raise BundleError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    if not data.strip():
        raise BundleError("the file is empty")
    if data.startswith(b"%PDF-"):
        return _from_pdf(data)
    if data.startswith(PNG_SIGNATURE):
        try:
            return _baked("png", read_png(data))
        except CredentialError as exc:
            if isinstance(exc, BundleError):
                raise
            raise BundleError(str(exc)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BundleError("the file is neither a PDF nor UTF-8 text") from None
    stripped = text.strip()
    if stripped.startswith("{"):
        return Bundle("json", _json_object(stripped, "file"), None)
    if stripped[:1] == "<" and "<svg" in stripped[:4096] and "<html" not in stripped[:4096]:
        try:
            return _baked("svg", read_svg(stripped))
        except CredentialError as exc:
            if isinstance(exc, BundleError):
                raise
            raise BundleError(str(exc)) from None
    if stripped[:1] == "<":
        return _from_html(text)
    if "." in stripped and " " not in stripped and "\n" not in stripped:
        return Bundle("jwt", None, stripped)
    raise BundleError("the file is not a certificate (PDF, HTML, PNG, SVG, credential JSON or JWT)")
