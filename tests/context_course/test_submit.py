"""Submitting a workspace: the zip, its manifest, warnings, and what never goes in."""

from __future__ import annotations

import json
import os
import time
import zipfile
from pathlib import Path

import pytest

from context_course.submit import check_submission, remembered_learner, submit_workspace
from context_course.workspace import Workspace, WorkspaceError, locate_release, open_workspace
from context_course.workspace import sync_workspace as sync
from grader.pipeline.manifest import read_manifest
from tests.learner_course import SOLVED_ADD, adding_notebook, make_course, write_notebook


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    course = make_course(tmp_path / "course")
    sync(tmp_path / "ws", locate_release(course))
    return open_workspace(tmp_path / "ws")


def test_submit_writes_a_zip_the_grader_accepts(ws: Workspace, tmp_path: Path) -> None:
    write_notebook(adding_notebook(add_body=SOLVED_ADD), ws.notebook_path("01-adding"))
    out, check = submit_workspace(
        ws,
        learner_id="ada",
        name="Ada Lovelace",
        email="ada@example.org",
        output=tmp_path / "out.zip",
    )
    with zipfile.ZipFile(out) as archive:
        names = sorted(archive.namelist())
        manifest = read_manifest(archive.read("manifest.json"), course_id="tiny-course")
        data = archive.read("notebooks/01-adding.ipynb")
    assert names == ["manifest.json", "notebooks/01-adding.ipynb", "notebooks/02-words.ipynb"]
    assert manifest["learner"] == {"id": "ada", "name": "Ada Lovelace", "email": "ada@example.org"}
    assert manifest["course"] == {"id": "tiny-course", "version": "2026.1"}
    assert data == ws.notebook_path("01-adding").read_bytes()
    assert check.warnings == ["02-words: not started (identical to the course's notebook)"]


def test_the_learner_is_remembered_for_the_next_submit(ws: Workspace, tmp_path: Path) -> None:
    submit_workspace(ws, learner_id="ada", name="Ada", output=tmp_path / "a.zip")
    saved = remembered_learner(ws)
    assert saved is not None and (saved.id, saved.name) == ("ada", "Ada")
    out, _ = submit_workspace(ws, output=tmp_path / "b.zip")
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read("manifest.json"))["learner"]["name"] == "Ada"


def test_a_missing_or_unsafe_id_writes_nothing(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="pass --id"):
        submit_workspace(ws, output=tmp_path / "x.zip")
    with pytest.raises(WorkspaceError, match="path separator"):
        submit_workspace(ws, learner_id="../evil", output=tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()
    assert remembered_learner(ws) is None


def test_a_broken_notebook_stops_the_submission(ws: Workspace, tmp_path: Path) -> None:
    ws.notebook_path("02-words").write_text("{ this is not json")
    with pytest.raises(WorkspaceError, match="02-words is not JSON"):
        submit_workspace(ws, learner_id="ada", output=tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


def test_output_inside_the_workspace_or_not_a_zip_is_refused(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="inside the workspace"):
        submit_workspace(ws, learner_id="ada", output=ws.root / "sub.zip")
    with pytest.raises(WorkspaceError, match=r"must end in \.zip"):
        submit_workspace(ws, learner_id="ada", output=tmp_path / "sub.tar")


def test_symbolic_links_and_other_files_never_go_in(ws: Workspace, tmp_path: Path) -> None:
    outside = write_notebook(adding_notebook(add_body=SOLVED_ADD), tmp_path / "elsewhere.ipynb")
    ws.notebook_path("02-words").unlink()
    os.symlink(outside, ws.notebook_path("02-words"))
    (ws.root / "01-adding" / "notes.ipynb").write_text("{}")
    out, check = submit_workspace(ws, learner_id="ada", output=tmp_path / "x.zip")
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["manifest.json", "notebooks/01-adding.ipynb"]
    assert any("02-words: skipped, it is a symbolic link" in w for w in check.warnings)


def test_a_symlinked_assignment_folder_is_not_followed(ws: Workspace, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    write_notebook(adding_notebook(add_body=SOLVED_ADD), elsewhere / "01-adding.ipynb")
    folder = ws.root / "01-adding"
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()
    os.symlink(elsewhere, folder)
    assert "01-adding" not in check_submission(ws).notebooks


def test_a_checkpoint_newer_than_the_file_is_reported(ws: Workspace) -> None:
    path = ws.notebook_path("01-adding")
    checkpoint = path.parent / ".ipynb_checkpoints" / "01-adding-checkpoint.ipynb"
    write_notebook(adding_notebook(add_body=SOLVED_ADD), checkpoint)
    past = time.time() - 60
    os.utime(path, (past, past))
    warnings = check_submission(ws).warnings
    assert any("01-adding: its last checkpoint is newer" in w for w in warnings)


def test_the_manifest_names_only_course_notebooks(ws: Workspace, tmp_path: Path) -> None:
    out, _ = submit_workspace(ws, learner_id="ada", output=tmp_path / "x.zip")
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    names = [entry["name"] for entry in manifest["notebooks"]]
    assert names == ["01-adding", "02-words"]
