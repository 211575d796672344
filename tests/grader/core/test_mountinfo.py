"""What ``/proc/self/mountinfo`` tells a graded notebook (README: Isolation).

Bubblewrap cannot hide the host path a bind mount comes from; the child's view binds only
the Python installation, the environment and the grader/library code, so the mount table
names those folders and nothing of the course (solutions, tests, caches, gradebook).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import context_lib
from grader.core.executor import PlannedCell, execute
from grader.core.sandbox import SandboxLimits, get_sandbox
from tests.grader.core.test_sandbox import report

__all__ = ["report"]

READ = '__cc_observe__("mountinfo", lambda: open("/proc/self/mountinfo").read())\n'


def test_the_mount_table_names_no_folder_of_the_course(report: Any, tmp_path: Path) -> None:
    course = tmp_path / "course"
    (course / ".cache").mkdir(parents=True)
    execution = execute(
        [PlannedCell(code=READ, name="probe cell")],
        sandbox=get_sandbox(()),
        files={},
        limits=SandboxLimits(),
        cell_timeout=30,
        notebook_timeout=60,
    )
    (observation,) = execution.outcomes[0].observations
    table = str(observation.value)
    repo = Path(context_lib.__file__).parents[1]

    assert str(Path(context_lib.__file__).parent) in table  # bound code: shown, as said
    for hidden in ("/solutions", "/tests", "/exercises", "/.cache", "gradebook", str(tmp_path)):
        assert hidden not in table
    mounted = {line.split()[4] for line in table.splitlines()}
    assert not any(point == str(repo) or point.startswith(str(repo / "tests")) for point in mounted)
