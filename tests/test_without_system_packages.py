"""A machine with only Python and pip: service tests skip, naming the apt package.

The first test runs a representative set of service-dependent test modules in a pytest
whose view of the machine hides every system service and library (``tests/hide_services.py``:
PATH without the programs, the shared libraries failing to load, no fonts) and
``CONTEXT_COURSE_REQUIRE_SERVICES`` unset, and checks that nothing fails or errors and
every skip names its apt package. So the README's test command cannot go back to
"4 failed, 71 errors" on a fresh machine without this test going red.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.services import REQUIRE_ENV, SERVICES, require_service

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
MODULES = [
    "tests/certificates/test_render.py",  # Pango (WeasyPrint), poppler-utils, CJK fonts
    "tests/context_course/cli/test_certs_commands.py",  # certify from the command line
    "tests/context_lib/persistence/test_open_store.py",  # redis-server
    "tests/grader/pipeline/cluster/test_concurrent_gradebook.py",  # PostgreSQL
    "tests/grader/core/test_sandbox.py",  # bubblewrap
    "tests/e2e/test_lab_browser.py",  # Chromium
]
EXPECTED_PACKAGES = {
    "redis-server",
    "postgresql",
    "chromium",
    "bubblewrap",
    "poppler-utils",
    "libpango-1.0-0",
}


def test_without_system_packages_service_tests_skip_naming_the_apt_package(
    tmp_path: Path,
) -> None:
    report = tmp_path / "report.xml"
    env = {k: v for k, v in os.environ.items() if k != REQUIRE_ENV}
    env["CONTEXT_COURSE_HIDE"] = "all"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.hide_services",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--junitxml={report}",
            *MODULES,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    cases = ET.parse(report).getroot().iter("testcase")
    skips = [s.get("message", "") for case in cases for s in case.iter("skipped")]
    assert skips, "nothing was skipped: were the services really hidden?"
    for message in skips:
        assert "apt-get install" in message and "\n" not in message, message
    named = {word for m in skips for word in m.replace(";", " ").split()}
    assert named >= EXPECTED_PACKAGES, EXPECTED_PACKAGES - named


def test_in_ci_a_missing_service_fails_instead_of_skipping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(
        SERVICES,
        "redis",
        SERVICES["redis"].__class__("redis", "redis-server", ("redis-server",), lambda: None),
    )
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="apt-get install redis-server"):
        require_service("redis")
    monkeypatch.delenv(REQUIRE_ENV)
    with pytest.raises(pytest.skip.Exception, match="apt-get install redis-server"):
        require_service("redis")
