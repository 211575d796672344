"""The "Check my work" panel, local progress and hints (without a browser)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from context_course.checkpanel import (
    BUTTON_LABEL,
    CheckPanel,
    locate_notebook,
    parts_for_cell,
    results_text,
)
from context_course.progress import course_progress, hints_unlocked, load_progress
from context_course.workspace import Workspace, WorkspaceError, locate_release, open_workspace
from context_course.workspace import sync_workspace as sync
from grader.child.widgets import WIDGET_VIEW
from tests.learner_course import make_course

COURSE_WITH_POLICY = """\
[course]
id = "tiny-course"
version = "1"

[certificates.levels]
version = "t"
bronze = { exercises = [1], min_percent = 60 }
silver = { exercises = [2], min_percent = 70 }
gold = { exercises = [3], min_percent = 70 }
"""


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    course = make_course(tmp_path / "course", toml=COURSE_WITH_POLICY)
    sync(tmp_path / "ws", locate_release(course))
    return open_workspace(tmp_path / "ws")


def _scope(code: str) -> dict[str, object]:
    scope: dict[str, object] = {}
    exec(code, scope)
    return scope


def test_locate_notebook_in_a_workspace_uses_the_release_copy(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ws.notebook_path("01-adding")
    # a learner who deletes a visible test from their copy still gets it checked
    data = json.loads(path.read_text())
    data["cells"] = [c for c in data["cells"] if c.get("id") != "part2-tests"]
    path.write_text(json.dumps(data))
    monkeypatch.chdir(path.parent)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    place = locate_notebook()
    assert (place.slug, place.path, place.workspace_root) == ("01-adding", path, ws.root)
    assert list(place.checks.parts) == ["part1-tests", "part2-tests"]


def test_locate_notebook_from_jupyterlabs_session_name(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JPY_SESSION_NAME", str(ws.notebook_path("02-words")))
    assert locate_notebook().slug == "02-words"


def test_locate_notebook_outside_a_workspace_reads_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    course = make_course(tmp_path / "course")
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(course / "exercises" / "02-words")
    place = locate_notebook()
    assert place.workspace_root is None and list(place.checks.parts) == ["shout-tests"]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WorkspaceError, match="cannot tell which notebook"):
        locate_notebook()


def test_a_panel_covers_the_parts_since_the_previous_check_cell(ws: Workspace) -> None:
    checks = locate_notebook(ws.notebook_path("01-adding")).checks
    assert parts_for_cell(checks, "check-part1") == ["part1-tests"]
    assert parts_for_cell(checks, "check-part2") == ["part2-tests"]
    assert parts_for_cell(checks, "check-all") == ["part1-tests", "part2-tests"]
    assert parts_for_cell(checks, None) == ["part1-tests", "part2-tests"]
    assert parts_for_cell(checks, "unknown-cell") == ["part1-tests", "part2-tests"]


def test_pressing_check_shows_the_table_and_records_progress(ws: Workspace) -> None:
    place = locate_notebook(ws.notebook_path("01-adding"))
    panel = CheckPanel(place, ["part1-tests"], lambda: _scope("def add(a, b): return a + b"))
    assert panel.button.description == BUTTON_LABEL
    results = panel.run()
    assert "✓ Part 1 (10 points): add two numbers</b> — 2 of 2 visible checks passed" in (
        panel.results.value
    )
    assert "hidden tests run at grading" in panel.results.value
    assert [r.points for r in results] == [10]
    assert "2 of 2 visible checks passed" in results_text(place.checks.parts, results)
    record = load_progress(ws.root)["notebooks"]["01-adding"]["parts"]["part1-tests"]
    assert record["passed"] is True and record["how"] == "widget"
    assert "1 of 3 parts pass locally; within reach: Bronze" in panel.progress.value


def test_a_failing_part_shows_the_message_escaped(ws: Workspace) -> None:
    place = locate_notebook(ws.notebook_path("01-adding"))
    panel = CheckPanel(place, ["part1-tests"], lambda: _scope("def add(a, b): return '<b>'"))
    panel.run()
    assert "✗ Part 1" in panel.results.value
    # the learner's value is never inserted as markup (a str where a number is expected
    # is described, not shown: see grader.child.values.shown_to_learner)
    assert "<b>'" not in panel.results.value and "'<b>" not in panel.results.value
    assert "str" in panel.results.value
    record = load_progress(ws.root)["notebooks"]["01-adding"]["parts"]["part1-tests"]
    assert record["passed"] is False and record["checks_passed"] == 0


def test_hints_unlock_one_at_a_time_and_are_remembered(ws: Workspace) -> None:
    place = locate_notebook(ws.notebook_path("01-adding"))
    panel = CheckPanel(place, ["part1-tests", "part2-tests"], dict)
    assert list(panel.hint_boxes) == ["part1-tests"]  # part 2 has no hints
    assert "<li>" not in panel.hint_boxes["part1-tests"].value
    assert panel.next_hint("part1-tests") == 1
    assert "Use the + operator." in panel.hint_boxes["part1-tests"].value
    assert "return a + b" not in panel.hint_boxes["part1-tests"].value
    assert panel.next_hint("part1-tests") == 2
    assert panel.next_hint("part1-tests") == 2  # no more than there are
    assert "no more hints" in panel.hint_boxes["part1-tests"].value
    assert hints_unlocked(ws.root, "01-adding", "part1-tests") == 2
    again = CheckPanel(place, ["part1-tests"], dict)
    assert "return a + b" in again.hint_boxes["part1-tests"].value


def test_course_progress_and_the_level_within_reach(ws: Workspace) -> None:
    place = locate_notebook(ws.notebook_path("01-adding"))
    progress = course_progress(ws)
    assert (progress.parts_passing, progress.parts_total) == (0, 3)
    assert progress.within_reach is None
    assert progress.next_needs == "Bronze needs 01 at 60%"
    CheckPanel(place, ["part1-tests"], lambda: _scope("def add(a, b): return a + b")).run()
    progress = course_progress(ws)
    assert progress.notebooks[0].percent == pytest.approx(100 * 10 / 15)
    assert progress.within_reach is not None and progress.within_reach.name == "Bronze"
    assert progress.next_needs == "Silver needs 02 at 70%"
    assert progress.summary() == "1 of 3 parts pass locally; within reach: Bronze"


def test_damaged_progress_file_starts_afresh(ws: Workspace) -> None:
    (ws.state_dir / "progress.json").write_text("{broken")
    assert course_progress(ws).parts_passing == 0


def test_the_summary_names_the_command_and_hidden_tests(ws: Workspace) -> None:
    place = locate_notebook(ws.notebook_path("01-adding"))
    summary = CheckPanel(place, ["part2-tests"], dict).summary()
    assert "context-course check 1" in summary
    assert "hidden tests run at grading" in summary


@pytest.mark.slow
def test_without_a_frontend_the_panel_is_text_and_runs_nothing(ws: Workspace) -> None:
    path = ws.notebook_path("01-adding")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=60, allow_errors=True, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    panels = [c for c in nb.cells if c.id in ("check-part1", "check-part2")]
    for cell in panels:
        (output,) = cell.outputs
        assert output["output_type"] == "display_data"
        assert WIDGET_VIEW in output["data"]
        assert "Visible tests only: hidden tests run at grading." in output["data"]["text/plain"]
    texts = {c.id: c.outputs[0]["data"]["text/plain"] for c in nb.cells if c.id.startswith("check")}
    assert "Part 1" in texts["check-all"] and "Part 2" in texts["check-all"]
    assert load_progress(ws.root)["notebooks"] == {}


def test_the_panel_works_where_only_the_grader_package_is_visible(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the certificates package the panel still shows the level within reach:
    the level rule lives in ``scoring``, which certify uses too."""
    for name in ("certificates", "certificates.errors", "certificates.policy"):
        monkeypatch.setitem(sys.modules, name, None)
    place = locate_notebook(ws.notebook_path("01-adding"))
    panel = CheckPanel(place, ["part1-tests"], lambda: _scope("def add(a, b): return a + b"))
    panel.run()
    progress = course_progress(ws)
    assert progress.parts_passing == 1
    assert progress.within_reach is not None and progress.within_reach.key == "bronze"
    assert "1 of 3 parts pass locally" in panel.progress.value
