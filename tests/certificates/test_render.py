"""The human certificate: one A4 landscape page, real text, no mojibake, credential inside."""

from __future__ import annotations

import hashlib
import subprocess

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from certificates.render import LEVEL_COLOURS, html_page, qr_text
from tests.certificates.conftest import Issued, require_pdftotext
from tests.services import require_service

MOJIBAKE = ("â", "Ã", "‚Ä", "Â", "\ufffd", "ðŸ")


@pytest.mark.parametrize(
    ("learner", "name", "level"),
    [("ana", "Ana Ñúñez-Gómez", "Gold"), ("li", "李小龍", "Silver"), ("zoe", "Zoë", "Bronze")],
)
def test_pdftotext_shows_name_level_and_id_without_mojibake(
    issued: Issued, learner: str, name: str, level: str
) -> None:
    pdftotext = require_pdftotext()
    if learner == "li":
        require_service("cjk-fonts")  # without a CJK font the name has no glyphs to extract
    pdf = issued.folder(learner) / "certificate.pdf"
    text = subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    credential_id = issued.credential(learner)["id"]
    assert name in text
    assert level in text and f"{level.upper()}" in text.replace(" ", "")
    assert str(credential_id) in text
    assert "Context.py Mastery" in text
    for marker in MOJIBAKE:
        assert marker not in text, marker


def test_the_pdf_is_one_a4_landscape_page_with_the_credential_attached(issued: Issued) -> None:
    reader = PdfReader(issued.folder("ana") / "certificate.pdf")
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    width_mm, height_mm = float(box.width) * 25.4 / 72, float(box.height) * 25.4 / 72
    assert abs(width_mm - 297) < 1 and abs(height_mm - 210) < 1
    assert set(reader.attachments) == {"credential.json", "credential.jwt"}
    assert reader.metadata is not None and "Ana Ñúñez-Gómez" in str(reader.metadata.title)


def test_the_png_preview_is_landscape_and_in_the_medal_colour(issued: Issued) -> None:
    for learner, level in (("ana", "gold"), ("li", "silver"), ("zoe", "bronze")):
        with Image.open(issued.folder(learner) / "certificate.png") as image:
            width, height = image.size
            assert width > height > 700
            rgb = image.convert("RGB")
            border = rgb.getpixel((int(width * 0.5), int(height * 0.045)))
        expected = LEVEL_COLOURS[level].main.lstrip("#")
        target = tuple(int(expected[i : i + 2], 16) for i in (0, 2, 4))
        assert isinstance(border, tuple)
        assert sum(abs(a - b) for a, b in zip(border, target, strict=True)) < 60, (level, border)


def test_a_bronze_page_lists_its_exercises_and_only_attempted_others(issued: Issued) -> None:
    page = (issued.folder("zoe") / "certificate.html").read_text(encoding="utf-8")
    assert page.count('<td class="mark">✅</td>') == 4  # exercises 1–4 passed
    assert page.count('<td class="mark miss">') == 1  # exercise 5, tried: 30%
    assert '"score">30%' in page and '"score">0%' not in page  # 6–8 not done: not listed
    assert "Zoë Okafor-N&#39;Diaye" in page
    assert "Incremental persistence" in page and "Multi-tenant" not in page


def test_names_are_escaped_in_the_page(issued: Issued) -> None:
    credential = issued.credential("ana")
    subject = credential["credentialSubject"]
    subject["identifier"][0]["identityHash"] = "<script>alert(1)</script>"  # type: ignore[index]
    page = html_page(credential, issued.jwt("ana"), issued.settings.policy)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\\u003cscript\\u003e" in page  # inside the embedded JSON too


def test_the_qr_code_names_the_certificate_on_the_issuer_site(issued: Issued) -> None:
    credential = issued.credential("li")
    text = qr_text(credential, issued.jwt("li"))
    uuid = str(credential["id"]).removeprefix("urn:uuid:")
    digest = hashlib.sha256(issued.jwt("li").encode()).hexdigest()[:16]
    assert text == f"https://certs.example.test/issuer/verify/#{uuid}.{digest}"


@pytest.mark.parametrize("learner", ["ana", "li", "zoe"])
def test_the_qr_code_decodes_from_the_shipped_png_at_its_shipped_size(
    issued: Issued, learner: str
) -> None:
    with Image.open(issued.folder(learner) / "certificate.png") as image:
        found = zxingcpp.read_barcodes(image.convert("L"))
    texts = [code.text for code in found if code.format == zxingcpp.BarcodeFormat.QRCode]
    assert texts == [qr_text(issued.credential(learner), issued.jwt(learner))]


def test_long_names_shrink_to_fit_the_heading(issued: Issued) -> None:
    credential = issued.credential("ana")
    subject = credential["credentialSubject"]
    long_name = "Maximiliane Josephine Ñúñez-Gómez de la Cruz y Villalobos-Hernández"
    subject["identifier"][0]["identityHash"] = long_name  # type: ignore[index]
    page = html_page(credential, issued.jwt("ana"), issued.settings.policy)
    assert len(long_name) > 60
    size = float(page.split('class="name" style="font-size: ')[1].split("pt")[0])
    assert size < 20
