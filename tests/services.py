"""System services and libraries some tests need, each with the apt package that provides it.

A test asks with :func:`require_service` (or the ``needs("key", ...)`` marker, which the
root conftest turns into that call before the test runs). When the service is missing:

- on a developer machine the test is skipped with one line naming the apt package;
- in CI (``CONTEXT_COURSE_REQUIRE_SERVICES=1``, set by ``.ci/run``) it fails instead,
  so nothing CI is meant to test is silently skipped there.

``tests/hide_services.py`` hides all of these from a pytest run, which is how
``tests/test_without_system_packages.py`` proves that a machine with only Python and pip
gets skips, not errors.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from certificates.pdf_engine import PANGO_APT

__all__ = [
    "REQUIRE_ENV",
    "SERVICES",
    "Service",
    "find_binary",
    "require_binary",
    "require_service",
    "service_problem",
]

REQUIRE_ENV = "CONTEXT_COURSE_REQUIRE_SERVICES"

#: Folders searched after PATH for server binaries Debian keeps off PATH (PostgreSQL's).
EXTRA_BIN_GLOBS: list[str] = ["/usr/lib/postgresql/*/bin"]
#: Where fonts live (fontconfig's default folders on Debian).
FONT_DIRS: list[Path] = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts")]


def _search_path() -> str:
    extra: list[str] = []
    for pattern in EXTRA_BIN_GLOBS:
        root = Path(pattern.split("*")[0])
        rest = pattern[len(str(root)) + 1 :]
        if root.is_dir():
            extra.extend(str(p) for p in sorted(root.glob(rest), reverse=True))
    return os.pathsep.join([os.environ.get("PATH", ""), *extra])


def find_binary(*names: str) -> str | None:
    """The first of ``names`` found on PATH (or in :data:`EXTRA_BIN_GLOBS`), else ``None``."""
    path = _search_path()
    for name in names:
        found = shutil.which(name, path=path)
        if found:
            return found
    return None


def _binaries(*names: str) -> Callable[[], str | None]:
    """All of ``names`` must be present; the first one's path is the answer."""

    def find() -> str | None:
        paths = [find_binary(name) for name in names]
        return paths[0] if all(paths) else None

    return find


def _pdf_engine() -> str | None:
    from certificates.pdf_engine import pdf_engine_problem

    return "weasyprint" if pdf_engine_problem() is None else None


def _cjk_fonts() -> str | None:
    for folder in FONT_DIRS:
        if folder.is_dir():
            for path in folder.rglob("Noto*CJK*"):
                return str(path)
    return None


def _js_verifiers() -> str | None:
    folder = Path(__file__).resolve().parent / "js" / "node_modules" / "@digitalbazaar" / "vc"
    return str(folder) if folder.is_dir() else None


@dataclass(frozen=True)
class Service:
    """Something outside Python a test needs, how to find it and which apt package has it."""

    key: str
    what: str
    apt: tuple[str, ...]
    find: Callable[[], str | None]
    how: str = ""  # the install command, when it is not an apt package

    def missing_line(self) -> str:
        return f"{self.what} is missing: {self.how or 'apt-get install ' + ' '.join(self.apt)}"


SERVICES: dict[str, Service] = {
    s.key: s
    for s in (
        Service("redis", "redis-server", ("redis-server",), _binaries("redis-server")),
        Service("postgres", "PostgreSQL (initdb, postgres)", ("postgresql",), _binaries("initdb")),
        Service("chromium", "Chromium", ("chromium",), _binaries("chromium")),
        Service("bubblewrap", "bubblewrap (bwrap)", ("bubblewrap",), _binaries("bwrap")),
        Service(
            "poppler",
            "poppler-utils (pdftotext, pdftoppm)",
            ("poppler-utils",),
            _binaries("pdftotext", "pdftoppm"),
        ),
        Service(
            "pdf",
            "Pango for WeasyPrint (PDF certificates)",
            PANGO_APT,
            _pdf_engine,
        ),
        Service("git", "git", ("git",), _binaries("git")),
        Service("node", "Node.js (node, npm)", ("nodejs", "npm"), _binaries("node")),
        Service(
            "js-verifiers",
            "the npm verifier packages (tests/js/node_modules)",
            (),
            _js_verifiers,
            how="npm ci --prefix tests/js",
        ),
        Service(
            "chp",
            "configurable-http-proxy (JupyterHub's proxy)",
            (),
            _binaries("configurable-http-proxy"),
            how="npm install -g configurable-http-proxy",
        ),
        Service("cjk-fonts", "CJK fonts (Noto CJK)", ("fonts-noto-cjk",), _cjk_fonts),
    )
}


def service_problem(key: str) -> str | None:
    """The one-line reason ``key`` is unusable here, or ``None`` if it is available."""
    service = SERVICES[key]
    return None if service.find() else service.missing_line()


def require_service(*keys: str) -> None:
    """Skip (locally) or fail (CI) unless every service in ``keys`` is available."""
    problems = [p for p in (service_problem(k) for k in keys) if p]
    if not problems:
        return
    message = "; ".join(problems)
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{message} ({REQUIRE_ENV}=1: CI must run this test)", pytrace=False)
    pytest.skip(message)


def require_binary(key: str, name: str) -> str:
    """Path of binary ``name`` from service ``key``; skips or fails as :func:`require_service`."""
    require_service(key)
    found = find_binary(name)
    assert found is not None  # require_service found it a moment ago
    return found
