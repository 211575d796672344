"""A deterministic stand-in for the grading core, driven by directives in the answer cell.

``# grade: pass test-a1`` passes that part; ``half test-a2`` earns half of it;
``timeout test-a2`` reports a timeout; ``sleep 0.3`` sleeps first; ``instructor-error``
raises a GradingError; ``exit-worker`` kills the worker process; ``hang-first-run`` blocks
forever while ``CC_FAKE_HANG=1`` is set (a batch that is certain to be killed half way).
Anything else fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from grader.core.results import CheckResult, NotebookResult, PartResult


class GradingError(Exception):
    """Stands for grader.core.grading.GradingError (matched by name)."""


def _directives(nb: dict) -> list[str]:
    found = []
    for cell in nb["cells"]:
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        for line in source.splitlines():
            if line.startswith("# grade: "):
                found.append(line[len("# grade: ") :].strip())
    return found


def fake_grade(
    source: Path,
    submitted: Path,
    *,
    cache_dir: Path,
    cell_timeout: float = 30.0,
    notebook_timeout: float = 300.0,
    seed: int | None = None,
    second_run: bool = True,
) -> NotebookResult:
    src = json.loads(Path(source).read_text())
    sub = json.loads(Path(submitted).read_text())
    directives = _directives(sub)
    for d in directives:
        if d.startswith("sleep "):
            time.sleep(float(d.split()[1]))
        if d == "instructor-error":
            raise GradingError("reference solution of 01-alpha failed: NameError in cell 2")
        if d == "exit-worker":
            os._exit(9)
        if d == "hang-first-run" and os.environ.get("CC_FAKE_HANG") == "1":
            time.sleep(3600)
    parts = []
    for cell in src["cells"]:
        nbg = cell["metadata"].get("nbgrader", {})
        if not nbg.get("grade") or nbg.get("solution"):
            continue
        gid, points = nbg["grade_id"], float(nbg["points"])
        if f"timeout {gid}" in directives:
            parts.append(
                PartResult(
                    gid,
                    0.0,
                    points,
                    "timeout",
                    message=f"part {gid} timed out after {cell_timeout:g} s",
                )
            )
            continue
        share = 1.0 if f"pass {gid}" in directives else 0.5 if f"half {gid}" in directives else 0.0
        third = points / 3
        checks = (
            CheckResult(
                "add(1, 2) == 3",
                "visible",
                share > 0,
                third if share > 0 else 0.0,
                third,
                "" if share > 0 else "expected 3, got 4 — add() should add",
            ),
            CheckResult(
                "secret-probe-one",
                "hidden",
                share > 0,
                third if share > 0 else 0.0,
                third,
                "SECRET expected 12345",
            ),
            CheckResult(
                "secret-probe-two",
                "hidden",
                share == 1.0,
                third if share == 1.0 else 0.0,
                third,
                "SECRET expected 67890",
            ),
        )
        parts.append(PartResult(gid, points * share, points, "ok", checks))
    return NotebookResult(
        notebook=Path(source).stem,
        score=sum(p.points for p in parts),
        max_score=sum(p.max_points for p in parts),
        parts=tuple(parts),
        events=tuple(p.message for p in parts if p.message),
        source_hash=hashlib.sha256(Path(source).read_bytes()).hexdigest(),
        submission_hash=hashlib.sha256(Path(submitted).read_bytes()).hexdigest(),
    )


FAKE = "tests.grader.pipeline.fakes:fake_grade"
