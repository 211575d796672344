"""The course passes its own authoring checks: every trap costs at least 10 points, and
no part can be passed by a constant answer (what ``release --check`` reports)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.authoring.lint import audit_source
from tests.notebooks.mutants import declared_traps

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(ROOT.glob("solutions/*/*.ipynb"))
by_source = pytest.mark.parametrize("path", SOURCES, ids=[p.parent.name for p in SOURCES])


@pytest.mark.slow
@by_source
def test_the_authoring_checks_find_nothing_and_report_every_trap(path: Path) -> None:
    audit = audit_source(path)

    assert audit.warnings == []
    assert [line.split("'")[1] for line in audit.traps] == declared_traps(path)
