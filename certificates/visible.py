"""What a person reads on a certificate must be what the issuer signed.

The HTML page and the PDF carry the signed credential, but a person reads the text
around it. :func:`visible_mismatch` checks that text (extracted from the HTML without
scripts and styles, or from the PDF with pypdf) against the credential: the statement
"This certifies that <name> has earned the <level> level of <course>" appears exactly
once, "Issued <date> by <issuer>" appears, and no other level name appears anywhere.
A page edited to show another name, level, date, course or issuer fails.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from html.parser import HTMLParser
from typing import Any

from certificates.credential import learner_name

__all__ = [
    "LEVEL_NAMES",
    "expected_lines",
    "html_visible_text",
    "long_date",
    "pdf_visible_text",
    "visible_mismatch",
]

LEVEL_NAMES = ("Bronze", "Silver", "Gold")
_HIDDEN = {"script", "style", "head", "title", "template"}
_MAX_TEXT = 1024 * 1024
_MAX_PAGES = 8  # every page's text is read: a page added at the end cannot hide


def long_date(stamp: str) -> str:
    """``2026-11-26T09:30:00Z`` → ``26 November 2026`` (the date a certificate shows)."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return f"{moment.day} {moment:%B %Y}"


def _normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0
        self._size = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in ("br", "div", "p", "td", "li", "tr", "h1", "h2", "section"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and self._size < _MAX_TEXT:
            self.parts.append(data)
            self._size += len(data)


def html_visible_text(text: str) -> str:
    """The text a browser shows for ``text`` (no script, style or head), whitespace folded."""
    parser = _Text()
    parser.feed(text)
    parser.close()
    return _normal("".join(parser.parts))


def pdf_visible_text(data: bytes) -> str:
    """The text of every page of a PDF (pypdf), whitespace folded."""
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    reader = PdfReader(io.BytesIO(data), strict=True)
    if len(reader.pages) > _MAX_PAGES:
        raise ValueError(f"a certificate has one page, this PDF {len(reader.pages)}")
    return _normal(" ".join(page.extract_text() or "" for page in reader.pages))


def expected_lines(credential: Mapping[str, Any]) -> tuple[str, str, str]:
    """The statement, the issue line and the level name the page must show."""
    achievement = credential["credentialSubject"]["achievement"]
    level = str(achievement["id"]).rsplit("/", 1)[-1].removesuffix(".json").capitalize()
    course = str(achievement["name"]).rsplit(" — ", 1)[0]
    statement = (
        f"This certifies that {learner_name(credential)} has earned the {level} level of {course}"
    )
    issued = f"Issued {long_date(str(credential['validFrom']))} by {credential['issuer']['name']}"
    return _normal(statement), _normal(issued), level


def visible_mismatch(text: str, credential: Mapping[str, Any]) -> str | None:
    """Why the visible ``text`` contradicts ``credential`` (``None`` when it tells the truth)."""
    try:
        statement, issued, level = expected_lines(credential)
    except (KeyError, TypeError, ValueError):
        return "the signed credential lacks the fields a certificate shows"
    folded = text.casefold()
    if folded.count("this certifies that") != 1 or statement not in text:
        return f"visible text differs from the signed credential: it should read {statement!r}"
    if issued not in text:
        return f"visible text differs from the signed credential: it should read {issued!r}"
    rest = text.replace(statement, " ").casefold()  # a name may hold a level word (Silver)
    for other in LEVEL_NAMES:
        if other != level and re.search(rf"\b{other.casefold()}\b", rest):
            return (
                f"visible text differs from the signed credential: it shows {other}, "
                f"the credential is {level}"
            )
    return None
