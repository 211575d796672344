"""The published verification page in real Chromium (Playwright + Debian's Chromium).

The site folder is served on a loopback port, as the instructor would serve it at the
issuer URL. A person drops a certificate on ``verify/``: a genuine one shows VALID with
the signed name, level, date and course; a tampered one INVALID; a revoked one REVOKED;
one that is not the certificate its QR code named, INVALID. The page makes no request
outside the site (nothing is uploaded).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from certificates import revoke
from certificates.site import publish_site
from tests.certificates.conftest import Issued, fresh_site
from tests.services import require_binary

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def course(issued: Issued, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A copy of the course with one revoked certificate, its site served on loopback."""
    settings, site = fresh_site(issued, tmp_path_factory.mktemp("page"))
    revoke(settings, str(issued.credential("zoe")["id"]), reason="issued in error")
    publish_site(settings)
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {
            "url": f"http://127.0.0.1:{server.server_address[1]}/verify/",
            "out": settings.output_dir,
        }
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = require_binary("chromium", "/usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


def _drop(browser: Any, url: str, file: Path, tmp_path: Path, name: str) -> dict[str, str]:
    """Open the page, hand it ``file``, wait for the verdict; returns what the page shows."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    outside: list[str] = []
    site = url.split("/verify/")[0]
    page.on("request", lambda r: None if r.url.startswith(site) else outside.append(r.url))
    try:
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]")
        page.set_input_files("#file", str(file))
        page.wait_for_selector("#result[data-done=true]", state="attached")
        result = page.locator("#result")
        shown = {"status": result.get_attribute("data-status") or ""}
        for field in ("verdict", "message", "name", "level", "date", "course", "issuer"):
            shown[field] = page.locator(f"#{field}").text_content() or ""
        page.screenshot(path=str(tmp_path / f"{name}.png"))
    finally:
        context.close()
    assert outside == [], outside
    return shown


@pytest.mark.parametrize(
    ("learner", "file", "name", "level"),
    [
        ("ana", "credential.jwt", "Ana Ñúñez-Gómez", "Gold"),
        ("li", "certificate.html", "李小龍", "Silver"),
        ("li", "certificate.png", "李小龍", "Silver"),
        ("ana", "badge.svg", "Ana Ñúñez-Gómez", "Gold"),
    ],
)
def test_a_genuine_certificate_shows_valid_with_its_signed_fields(
    course: dict[str, Any],
    browser: Any,
    tmp_path: Path,
    learner: str,
    file: str,
    name: str,
    level: str,
) -> None:
    shown = _drop(
        browser, course["url"], course["out"] / "learners" / learner / file, tmp_path, "valid"
    )
    assert shown["status"] == "valid", shown
    assert shown["verdict"] == "VALID"
    assert (shown["name"], shown["level"]) == (name, level)
    assert shown["date"] == "26 November 2026"
    assert shown["course"] == "Context.py Mastery"
    assert shown["issuer"] == "Test Academy"


def test_a_tampered_jwt_shows_invalid(course: dict[str, Any], browser: Any, tmp_path: Path) -> None:
    token = (course["out"] / "learners" / "ana" / "credential.jwt").read_text().strip()
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["identifier"][0]["identityHash"] = "Mallory"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = tmp_path / "forged.jwt"
    forged.write_text(f"{header}.{forged_payload}.{signature}")
    shown = _drop(browser, course["url"], forged, tmp_path, "tampered")
    assert shown["status"] == "invalid" and shown["verdict"] == "INVALID"
    assert "altered" in shown["message"]
    assert shown["name"] == ""  # nothing unsigned is shown as if it were true


def test_a_revoked_certificate_shows_revoked(
    course: dict[str, Any], browser: Any, tmp_path: Path
) -> None:
    shown = _drop(
        browser,
        course["url"],
        course["out"] / "learners" / "zoe" / "credential.jwt",
        tmp_path,
        "revoked",
    )
    assert shown["status"] == "revoked" and shown["verdict"] == "REVOKED"
    assert shown["name"] == "Zoë Okafor-N'Diaye" and shown["level"] == "Bronze"


def test_the_qr_code_address_accepts_only_its_own_certificate(
    course: dict[str, Any], browser: Any, tmp_path: Path
) -> None:
    token = (course["out"] / "learners" / "ana" / "credential.jwt").read_text().strip()
    uuid = json.loads((course["out"] / "learners" / "ana" / "credential.json").read_text())["id"]
    digest = hashlib.sha256(token.encode()).hexdigest()[:16]
    url = f"{course['url']}#{uuid.removeprefix('urn:uuid:')}.{digest}"
    other = _drop(
        browser, url, course["out"] / "learners" / "li" / "credential.jwt", tmp_path, "qr-other"
    )
    assert other["status"] == "invalid" and "QR code" in other["message"]
    own = _drop(
        browser, url, course["out"] / "learners" / "ana" / "credential.jwt", tmp_path, "qr-own"
    )
    assert own["status"] == "valid" and own["name"] == "Ana Ñúñez-Gómez"
