"""Builders for a tiny two-notebook course and its learners' submissions."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from grader.pipeline.config import Course, load_course
from grader.pipeline.intake import LearnerInfo, build_submission_zip

COURSE_ID = "test-course"

# slug -> (title, [(grade_id, points, title, hint)])
NOTEBOOKS: dict[str, tuple[str, list[tuple[str, float, str, str]]]] = {
    "01-alpha": (
        "Alpha: adding things",
        [
            ("test-a1", 2.0, "Adding two numbers", "Use the + operator."),
            ("test-a2", 3.0, "", "Negative numbers are numbers too."),
        ],
    ),
    "02-beta": ("Beta: merging", [("test-b1", 5.0, "Merging two contexts", "")]),
}
MAX = {"01-alpha": 5.0, "02-beta": 5.0}


def _cell(
    cell_type: str,
    source: str,
    cell_id: str,
    nbgrader: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    if nbgrader is not None:
        metadata["nbgrader"] = {
            "schema_version": 3,
            "locked": False,
            "solution": False,
            "grade": False,
            **nbgrader,
        }
    if extra:
        metadata["context_course"] = extra
    cell: dict[str, Any] = {
        "cell_type": cell_type,
        "id": cell_id,
        "metadata": metadata,
        "source": source,
    }
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def notebook(slug: str, answer: str) -> dict[str, Any]:
    """The notebook ``slug`` with ``answer`` as the learner's solution cell."""
    title, tests = NOTEBOOKS[slug]
    cells = [
        _cell("markdown", f"# {title}\n\nSome words.", "intro"),
        _cell("code", answer, "answer", {"solution": True, "grade_id": f"answer-{slug}"}),
    ]
    for grade_id, points, part_title, hint in tests:
        extra = {k: v for k, v in (("title", part_title), ("hints", [hint] if hint else None)) if v}
        cells.append(
            _cell(
                "code",
                f"assert add(1, 2) == 3, 'add() should add'  # {grade_id}",
                grade_id,
                {"grade": True, "locked": True, "grade_id": grade_id, "points": points},
                extra,
            )
        )
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write_notebook(path: Path, nb: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path


def make_course(root: Path, *, workers: int = 2) -> Course:
    """A course folder with course.toml and two source notebooks."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "course.toml").write_text(
        f'[course]\nid = "{COURSE_ID}"\nname = "Test Course"\nversion = "t1"\n'
        f'[grader]\ndb_url = "sqlite:///gradebook.db"\nworkers = {workers}\n',
        encoding="utf-8",
    )
    for slug in NOTEBOOKS:
        write_notebook(
            root / "solutions" / slug / f"{slug}.ipynb",
            notebook(slug, "def add(a, b):\n    return a + b\n"),
        )
    return load_course(root)


def answer(*directives: str) -> str:
    """A learner answer carrying directives the fake grader reads (see fakes.py)."""
    return "def add(a, b):\n    return a + b\n" + "".join(f"# grade: {d}\n" for d in directives)


def folder_submission(submitted: Path, learner: str, answers: dict[str, str]) -> Path:
    """nbgrader layout: submitted/<learner>/<slug>/<slug>.ipynb."""
    for slug, text in answers.items():
        write_notebook(submitted / learner / slug / f"{slug}.ipynb", notebook(slug, text))
    return submitted / learner


def zip_submission(
    folder: Path,
    learner: str,
    answers: dict[str, str],
    *,
    name: str = "",
    email: str = "",
    course_id: str = COURSE_ID,
    secret: str | None = None,
    output: Path | None = None,
) -> Path:
    """A zip made the way `context-course submit` will make it."""
    work = folder / f".work-{learner}"
    paths = {
        slug: write_notebook(work / f"{slug}.ipynb", notebook(slug, text))
        for slug, text in answers.items()
    }
    return build_submission_zip(
        paths,
        learner=LearnerInfo(id=learner, name=name, email=email),
        course_id=course_id,
        course_version="t1",
        output=output or folder / f"{learner}.zip",
        secret=secret,
    )


def rewrite_zip(path: Path, edit: Any) -> Path:
    """Rewrite a zip through ``edit(members: dict[str, bytes]) -> dict[str, bytes]``."""
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    members = edit(members)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path
