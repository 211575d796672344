"""Visible pages that can't lie: the text a person reads must match the signed credential.

Each forgery keeps the genuine signed attachments and changes only what a person sees:
the name, the level, the date, the course or the issuer, in the HTML page or in a PDF
rebuilt with other text. Before the fix every one of them verified as VALID.
"""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader, PdfWriter

from certificates import Reason
from certificates.render import html_page, pdf_document
from certificates.visible import html_visible_text, visible_mismatch
from tests.certificates.conftest import Issued
from tests.certificates.test_verify import check

EDITS = [
    ("Ana Ñúñez-Gómez</div>", "Mallory Ñúñez-Gómez</div>"),  # the name
    ("<strong>Gold</strong> level", "<strong>Platinum</strong> level"),  # the level
    ("Issued <b>26 November 2026</b>", "Issued <b>26 November 2016</b>"),  # the date
    ("level of <strong>Context.py Mastery</strong>", "level of <strong>Rocket Science</strong>"),
    ("by <b>Test Academy</b>", "by <b>Harvard University</b>"),  # the issuer
]


def _page(issued: Issued, learner: str = "ana") -> str:
    return (issued.folder(learner) / "certificate.html").read_text(encoding="utf-8")


def test_the_genuine_pages_tell_the_truth(issued: Issued) -> None:
    for learner in ("ana", "li", "zoe"):
        for name in ("certificate.html", "certificate.pdf"):
            verdict = check((issued.folder(learner) / name).read_bytes(), issued)
            assert verdict.valid, (learner, name, verdict.message)


@pytest.mark.parametrize(("old", "new"), EDITS)
def test_an_edited_html_page_is_invalid(issued: Issued, old: str, new: str) -> None:
    page = _page(issued)
    assert page.count(old) == 1
    verdict = check(page.replace(old, new), issued)
    assert verdict.reason == Reason.VISIBLE_TEXT
    assert "visible text differs from the signed credential" in verdict.message


def test_a_second_level_word_or_a_second_statement_is_invalid(issued: Issued) -> None:
    page = _page(issued, "zoe")
    extra_level = page.replace("</header>", "<div>GOLD with distinction</div></header>")
    assert check(extra_level, issued).reason == Reason.VISIBLE_TEXT
    statement = '<div class="presented">This certifies that</div>'
    doubled = page.replace(statement, statement + "<p>This certifies that Mallory</p>")
    assert check(doubled, issued).reason == Reason.VISIBLE_TEXT


@pytest.mark.slow
@pytest.mark.parametrize(("old", "new"), EDITS[:2])
def test_a_pdf_rebuilt_with_other_text_but_the_genuine_attachments_is_invalid(
    issued: Issued, old: str, new: str
) -> None:
    credential = issued.credential("ana")
    jwt = issued.jwt("ana")
    forged_html = _page(issued).replace(old, new)
    forged = pdf_document(forged_html, credential, jwt)  # genuine credential and JWT attached
    reader = PdfReader(io.BytesIO(forged))
    assert set(reader.attachments) == {"credential.json", "credential.jwt"}
    verdict = check(forged, issued)
    assert verdict.reason == Reason.VISIBLE_TEXT, verdict.message


def test_a_pdf_with_a_page_of_other_text_added_is_invalid(issued: Issued) -> None:
    genuine = (issued.folder("ana") / "certificate.pdf").read_bytes()
    writer = PdfWriter(clone_from=io.BytesIO(genuine))
    other = PdfReader(issued.folder("li") / "certificate.pdf")  # says Silver and 李小龍
    writer.add_page(other.pages[0])
    buffer = io.BytesIO()
    writer.write(buffer)
    verdict = check(buffer.getvalue(), issued)
    assert verdict.reason == Reason.VISIBLE_TEXT


def test_a_level_word_in_the_signed_name_is_not_a_second_level(issued: Issued) -> None:
    credential = issued.credential("ana")
    subject = credential["credentialSubject"]
    subject["identifier"][0]["identityHash"] = "Nate Silver"  # type: ignore[index]
    page = html_page(credential, issued.jwt("ana"), issued.settings.policy)
    text = html_visible_text(page)
    assert "This certifies that Nate Silver has earned the Gold level" in text
    assert visible_mismatch(text, credential) is None
    assert visible_mismatch(text.replace("Nate Silver", "Nate Silva"), credential) is not None
