"""No god modules: every module of the course's own packages, the library included,
stays within 600 lines."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 600


def test_no_module_is_longer_than_600_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): count
        for top in ("grader", "context_course", "certificates", "scoring", "context_lib")
        for path in sorted((ROOT / top).rglob("*.py"))
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > LIMIT
    }
    assert long == {}
