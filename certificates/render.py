"""Render a signed credential as the human certificate: HTML, PDF and a PNG preview.

Everything on the page comes from the signed credential (plus the level policy for the
mastery-area wording), so the picture and the proof cannot drift apart. The HTML embeds
the credential JSON and the VC-JWT in ``<script>`` elements; the PDF attaches both as
files; either file alone is enough to verify. WeasyPrint renders offline (only ``data:``
URLs are fetched) and ``pdftoppm`` (poppler-utils) makes the PNG.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import qrcode
from qrcode.constants import ERROR_CORRECT_L

from certificates.bundle import (
    CREDENTIAL_ATTACHMENT,
    JWT_ATTACHMENT,
)
from certificates.credential import learner_name
from certificates.curriculum import EXERCISES
from certificates.errors import RenderError
from certificates.pdf_engine import load_weasyprint, pdf_engine_problem
from certificates.policy import Level, LevelPolicy
from certificates.visible import long_date

__all__ = [
    "LEVEL_COLOURS",
    "html_page",
    "pdf_document",
    "png_preview",
    "qr_text",
    "renderer_problem",
]

_NO_PDFTOPPM = "PNG previews need pdftoppm, which is not installed: apt-get install poppler-utils"


@dataclass(frozen=True)
class Colours:
    """The medal palette of one level."""

    main: str
    deep: str
    light: str
    emoji: str


LEVEL_COLOURS = {
    "bronze": Colours(main="#c27a3a", deep="#7d4a1e", light="#f0c9a0", emoji="🥉"),
    "silver": Colours(main="#9da3ab", deep="#5b6270", light="#eef1f4", emoji="🥈"),
    "gold": Colours(main="#d4a72c", deep="#8a6a10", light="#fbe7a1", emoji="🥇"),
}

_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("certificates", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
)


def _level(credential: Mapping[str, Any], policy: LevelPolicy) -> Level:
    achievement_id = str(credential["credentialSubject"]["achievement"]["id"])
    return policy.level(achievement_id.rsplit("/", 1)[-1].removesuffix(".json"))


VERIFY_PAGE = "verify/"


def qr_text(credential: Mapping[str, Any], jwt: str) -> str:
    """What the QR code carries: the certificate's address on the issuer's verification page.

    ``<issuer url>/verify/#<credential uuid>.<first 16 hex of the JWT's SHA-256>``: the
    page shows which certificate the code names and checks that the file dropped on it
    is that one. The fragment never leaves the browser.
    """
    url = str(credential["issuer"].get("url", "")).rstrip("/")
    digest = hashlib.sha256(jwt.encode("utf-8")).hexdigest()[:16]
    uuid = str(credential["id"]).removeprefix("urn:uuid:")
    return f"{url}/{VERIFY_PAGE}#{uuid}.{digest}"


def _qr_data_uri(text: str) -> str:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_L, box_size=8, border=2)
    code.add_data(text.encode("utf-8"))
    code.make(fit=True)
    image = code.make_image(fill_color="#1f2430", back_color="white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _script_json(credential: Mapping[str, Any]) -> str:
    text = json.dumps(credential, ensure_ascii=False, indent=2)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _name_size(name: str) -> float:
    """The name's font size (pt): long names shrink so they stay on one or two lines."""
    return 28.0 if len(name) <= 32 else max(16.0, 28.0 * 32 / len(name))


def html_page(credential: Mapping[str, Any], jwt: str, policy: LevelPolicy | None = None) -> str:
    """The certificate as a self-contained HTML page with the credential embedded."""
    policy = policy or LevelPolicy.default()
    try:
        level = _level(credential, policy)
        subject = credential["credentialSubject"]
        name = learner_name(credential) or str(subject["id"])
        achievement = subject["achievement"]
        descriptions = {d["id"]: d for d in achievement.get("resultDescription", [])}
        values = {
            descriptions[r["resultDescription"]]["name"]: r.get("value")
            for r in subject.get("result", [])
            if r.get("resultDescription") in descriptions
        }
        owner = {n: item for item in policy.levels for n in item.own_exercises}
        rows = []
        for exercise in EXERCISES:
            label = f"Exercise {exercise.number}: {exercise.title}"
            value = values.get(label)
            if value is None:
                continue  # not part of this level and not done: the credential omits it
            percent = float(value)
            required = exercise.number in level.covered
            rows.append(
                {
                    "number": exercise.number,
                    "title": exercise.title,
                    "score": f"{value}%",
                    "passed": percent >= owner[exercise.number].min_percent,
                    "required": f"{owner[exercise.number].min_percent:g}",
                    "counts": required,
                }
            )
        page = _environment.get_template("certificate.html.j2").render(
            course_name=achievement["name"].rsplit(" — ", 1)[0],
            level=level,
            colours=LEVEL_COLOURS[level.key],
            learner_name=name,
            name_size=f"{_name_size(name):.1f}",
            issuer_name=credential["issuer"]["name"],
            issuer_id=credential["issuer"]["id"],
            issued=long_date(credential["validFrom"]),
            verify_url=qr_text(credential, jwt),
            credential_id=credential["id"],
            exercises=rows,
            areas=policy.mastery_areas(level),
            criteria=achievement["criteria"]["narrative"],
            qr_data_uri=_qr_data_uri(qr_text(credential, jwt)),
            credential_json=_script_json(credential),
            credential_jwt=jwt,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RenderError(f"cannot render this credential: missing or bad {exc}") from None
    return page


def _offline_fetcher() -> Any:
    """A WeasyPrint fetcher that only serves ``data:`` URLs (the page embeds everything)."""
    load_weasyprint()  # one clear line if it cannot load
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols=("data",), fail_on_errors=True)


def pdf_document(html: str, credential: Mapping[str, Any], jwt: str) -> bytes:
    """The certificate as a one-page PDF with the credential JSON and JWT attached."""
    weasyprint = load_weasyprint()
    attachments = [
        weasyprint.Attachment(
            string=json.dumps(credential, ensure_ascii=False, indent=2),
            name=CREDENTIAL_ATTACHMENT,
            description="Open Badges 3.0 credential (Data Integrity eddsa-rdfc-2022)",
        ),
        weasyprint.Attachment(
            string=jwt, name=JWT_ATTACHMENT, description="The same credential as a VC-JWT (ES256)"
        ),
    ]
    try:
        document = weasyprint.HTML(string=html, url_fetcher=_offline_fetcher()).render()
        if len(document.pages) != 1:
            raise RenderError(f"the certificate needs {len(document.pages)} pages; it must fit one")
        data = document.write_pdf(attachments=attachments)
    except RenderError:
        raise
    except Exception as exc:  # WeasyPrint surfaces font/layout failures as assorted errors
        raise RenderError(f"PDF rendering failed: {str(exc)[:200]}") from None
    assert isinstance(data, bytes)
    return data


def renderer_problem() -> str | None:
    """Why certificates cannot be rendered on this machine (one line with the fix), or None.

    Checked before anything is signed or written, so a machine without the PDF engine
    or ``pdftoppm`` gets one clear error instead of a certificate per learner half made.
    """
    problem = pdf_engine_problem()
    if problem is None and shutil.which("pdftoppm") is None:
        problem = _NO_PDFTOPPM
    return problem


def png_preview(pdf: bytes, *, dpi: int = 120) -> bytes:
    """A PNG of the PDF's page, for sharing (needs ``pdftoppm`` from poppler-utils)."""
    binary = shutil.which("pdftoppm")
    if binary is None:
        raise RenderError(_NO_PDFTOPPM)
    with tempfile.TemporaryDirectory(prefix="cc-render-") as folder:
        source = Path(folder) / "certificate.pdf"
        source.write_bytes(pdf)
        target = Path(folder) / "preview"
        result = subprocess.run(
            [binary, "-png", "-r", str(dpi), "-singlefile", str(source), str(target)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RenderError(f"pdftoppm failed: {result.stderr.strip()[:200]}")
        return (Path(folder) / "preview.png").read_bytes()
