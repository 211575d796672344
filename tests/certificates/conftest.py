"""Fixtures for certificate tests. Keys live in tmp folders; XDG_CONFIG_HOME points there too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from certificates import CertificateSettings, Keyring, KeyStore, PinnedIssuer, RevocationList
from certificates.gradebook import read_gradebook
from certificates.issue import certify
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
        return self.out / learner

    def credential(self, learner: str) -> dict[str, object]:
        data: dict[str, object] = json.loads((self.folder(learner) / "credential.json").read_text())
        return data

    def jwt(self, learner: str) -> str:
        return (self.folder(learner) / "credential.jwt").read_text().strip()

    @property
    def pinned(self) -> PinnedIssuer:
        return PinnedIssuer.from_file(self.out / "issuer.json")

    @property
    def revocations(self) -> RevocationList:
        return RevocationList.from_file(self.out / "revocations.json")


@pytest.fixture(scope="session")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issued]:
    """Rendered once per session (PDF rendering is the slow part); treat it as read-only."""
    require_service("pdf", "poppler")
    root = tmp_path_factory.mktemp("issued")
    settings = make_settings(root)
    url = build_gradebook(root / "gradebook.db", [GOLD, SILVER, BRONZE, NONE])
    keyring = KeyStore(settings.key_dir).init()
    certify(read_gradebook(url, settings.course_id), settings=settings, keyring=keyring, now=NOW)
    yield Issued(settings=settings, keyring=keyring, db_url=url)


def require_pdftotext() -> str:
    """``pdftotext`` from poppler-utils (CI installs it)."""
    from tests.services import require_binary

    return require_binary("poppler", "pdftotext")
