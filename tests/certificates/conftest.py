"""Fixtures for certificate tests. Keys live in tmp folders; XDG_CONFIG_HOME points there too."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from certificates import CertificateSettings, Keyring, KeyStore, PinnedIssuer, RevocationList
from certificates.issue import certify
from certificates.site import publish_site
from context_course.gradebook_scores import read_gradebook
from tests.certificates.builders import (
    BRONZE,
    GOLD,
    NONE,
    NOW,
    SILVER,
    build_gradebook,
    make_settings,
)
from tests.services import require_service


@pytest.fixture(autouse=True)
def _private_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may read or write the real ~/.config keys."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@dataclass(frozen=True)
class Issued:
    """A class of four learners certified once: Gold, Silver, Bronze and nothing."""

    settings: CertificateSettings
    keyring: Keyring
    db_url: str

    @property
    def out(self) -> Path:
        return self.settings.output_dir

    def folder(self, learner: str) -> Path:
        return self.out / "learners" / learner

    def credential(self, learner: str) -> dict[str, object]:
        data: dict[str, object] = json.loads((self.folder(learner) / "credential.json").read_text())
        return data

    def jwt(self, learner: str) -> str:
        return (self.folder(learner) / "credential.jwt").read_text().strip()

    @property
    def site(self) -> Path:
        """The published issuer site (DID document, profile, lists, verification page)."""
        return self.settings.published_site

    @property
    def pinned(self) -> PinnedIssuer:
        return PinnedIssuer.from_file(self.site)

    @property
    def revocations(self) -> list[RevocationList]:
        return [RevocationList.from_file(self.site / "revocations.json")]


@pytest.fixture(scope="session")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issued]:
    """Rendered once per session (PDF rendering is the slow part); treat it as read-only."""
    require_service("pdf", "poppler")
    root = tmp_path_factory.mktemp("issued")
    settings = make_settings(root)
    url = build_gradebook(root / "gradebook.db", [GOLD, SILVER, BRONZE, NONE])
    keyring = KeyStore(settings.key_dir).init()
    certify(read_gradebook(url, settings.course_id), settings=settings, keyring=keyring, now=NOW)
    publish_site(settings, now=NOW)
    yield Issued(settings=settings, keyring=keyring, db_url=url)


def fresh_site(issued: Issued, tmp_path: Path) -> tuple[CertificateSettings, Path]:
    """A private copy of the issued course with its site published now.

    For verifiers that read the real clock (the JS verifiers, the browser page, the CLI):
    the session's site is published at the fixed test time, and its list expires.
    """
    keys, out = tmp_path / "keys", tmp_path / "out"
    shutil.copytree(issued.settings.key_dir, keys)
    shutil.copytree(issued.out, out)
    settings = replace(issued.settings, key_dir=keys, output_dir=out, site_dir=tmp_path / "site")
    return settings, publish_site(settings)


def require_pdftotext() -> str:
    """``pdftotext`` from poppler-utils (CI installs it)."""
    from tests.services import require_binary

    return require_binary("poppler", "pdftotext")
