"""Without bubblewrap, `grade` says so once, however many worker processes grade."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.grader.pipeline.cluster.conftest import make_course, make_submissions
from tests.hide_services import shadow_path

ROOT = Path(__file__).resolve().parents[3]
WARNING = "WARNING: learner code runs with reduced isolation"


@pytest.mark.slow
def test_grade_without_bubblewrap_warns_once_with_two_workers(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    make_submissions(tmp_path / "submitted", 4)
    env = {k: v for k, v in os.environ.items() if k != "CONTEXT_COURSE_ISOLATION_WARNING_MARKER"}
    env["PATH"] = shadow_path(frozenset({"bwrap"}))  # a machine without bubblewrap
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "context_course",
            "grade",
            str(tmp_path / "submitted"),
            "--course",
            str(course.root),
            "--workers",
            "2",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]
    assert "graded" in result.stdout + result.stderr
    assert result.stderr.count(WARNING) == 1, result.stderr[-3000:]
