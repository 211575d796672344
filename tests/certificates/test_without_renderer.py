"""A machine without the PDF engine (WeasyPrint, Pango) or pdftoppm: one clear line, no half work.

These tests need no system library: they simulate its absence, so they run everywhere.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from certificates import CertificateSettings, Keyring, KeyStore, RenderError
from certificates.check import verify_against_site
from certificates.inputs import LearnerRecord
from certificates.issue import certify
from certificates.pdf_engine import load_weasyprint, pdf_engine_problem
from certificates.site import publish_site
from context_course.gradebook_scores import read_gradebook
from tests.certificates.builders import GOLD, NONE, NOW, build_gradebook, make_settings

ROOT = Path(__file__).resolve().parents[2]
NO_PANGO = "PDF certificates need the Pango system library: apt-get install libpango-1.0-0"


def _class(tmp_path: Path) -> tuple[CertificateSettings, list[LearnerRecord], Keyring]:
    settings = make_settings(tmp_path)
    url = build_gradebook(tmp_path / "gradebook.db", [GOLD, NONE])
    keyring = KeyStore(settings.key_dir).init()
    return settings, list(read_gradebook(url, settings.course_id)), keyring


def test_certify_refuses_in_one_line_before_writing_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, records, keyring = _class(tmp_path)
    monkeypatch.setattr("certificates.issue.renderer_problem", lambda: NO_PANGO)
    with pytest.raises(RenderError, match=re.escape("apt-get install libpango-1.0-0")):
        certify(records, settings=settings, keyring=keyring, now=NOW)
    assert not settings.output_dir.exists()


def test_without_pdf_the_html_page_is_issued_and_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, records, keyring = _class(tmp_path)

    def no_engine(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("pdf=False must not render a PDF")

    monkeypatch.setattr("certificates.issue.pdf_document", no_engine)
    outcomes = certify(records, settings=settings, keyring=keyring, now=NOW, pdf=False)
    assert [(o.learner_id, o.action) for o in outcomes] == [
        ("ana", "issued"),
        ("max", "not-eligible"),
    ]
    folder = outcomes[0].folder
    assert folder is not None
    assert sorted(p.name for p in folder.iterdir()) == [
        "badge.svg",  # the baked SVG badge needs no PDF engine
        "certificate.html",
        "credential.json",
        "credential.jwt",
    ]
    site = publish_site(settings, out=tmp_path / "site")
    verdict = verify_against_site(folder / "certificate.html", issuer=site, now=NOW)
    assert verdict.valid, verdict


def test_a_missing_weasyprint_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import raises ImportError
    with pytest.raises(RenderError, match=r"pip install 'context-course\[certificates\]'"):
        load_weasyprint()
    problem = pdf_engine_problem()
    assert problem is not None and "\n" not in problem


def test_without_harfbuzz_subset_pdfs_render_with_warnings_as_errors() -> None:
    """The reported failure: WeasyPrint's DeprecationWarning became 73 errors."""
    code = (
        "import warnings; warnings.simplefilter('error')\n"
        "from certificates.pdf_engine import pdf_engine_problem\n"
        "assert pdf_engine_problem() is None, pdf_engine_problem()\n"
        "from certificates.render import pdf_document\n"
        "pdf = pdf_document('<p>hello</p>', {'id': 'x'}, 'a.b.c')\n"
        "assert pdf.startswith(b'%PDF'), pdf[:8]\n"
        "from weasyprint.text import ffi\n"
        "assert ffi.harfbuzz_subset is None  # the subsetter really was missing\n"
    )
    from tests.services import require_service

    require_service("pdf")  # Pango itself must be here; only the subsetter is hidden
    result = subprocess.run(
        [sys.executable, "-c", "import tests.hide_services\n" + code],
        cwd=ROOT,
        env={**os.environ, "CONTEXT_COURSE_HIDE": "harfbuzz-subset", "PYTHONWARNINGS": ""},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
