"""What the trusted client ships to a worker: the same files local grading copies."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.core.grading import learner_files
from grader.pipeline.cluster import _learner_files


def _folder(tmp_path: Path) -> tuple[Path, Path]:
    learner = tmp_path / "alice"
    learner.mkdir()
    submitted = learner / "01-basic-operations.ipynb"
    submitted.write_text('{"cells": []}')
    (learner / "data.csv").write_text("a,b\n1,2\n")
    (learner / "other.ipynb").write_text("{}")
    (learner / ".hidden").write_text("secret")
    (learner / "link.txt").symlink_to(tmp_path / "outside.txt")
    (tmp_path / "outside.txt").write_text("not the learner's")
    source = learner / "source.ipynb"
    source.write_text("{}")
    return submitted, source


def test_ships_what_local_grading_copies(tmp_path: Path) -> None:
    submitted, source = _folder(tmp_path)
    shipped = _learner_files(submitted, source)
    assert sorted(shipped) == ["01-basic-operations.ipynb", "data.csv"]
    assert shipped == learner_files(submitted, [], exclude=source)


def test_an_unreadable_submission_is_an_error_for_the_instructor(tmp_path: Path) -> None:
    submitted, source = _folder(tmp_path)
    submitted.unlink()
    with pytest.raises(OSError):
        _learner_files(submitted, source)
