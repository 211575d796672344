"""A tiny one-notebook course (the arithmetic fixture), learners' submissions, databases."""

from __future__ import annotations

import copy
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from grader.pipeline.config import Course, load_course

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "grading" / "arithmetic.ipynb"
SLUG = "01-arithmetic"
COURSE_ID = "cluster-course"

#: Answers by kind: (grade_id of the answer cell, its code); "right" keeps the solution.
WRONG: dict[str, tuple[str, str]] = {
    "right": ("", ""),
    "wrong-add": ("add-answer", "def add(a, b):\n    return a - b\n"),
    "wrong-mean": ("mean-answer", "def mean(values):\n    return 0\n"),
    "wrong-words": ("words-answer", "def word_counts(text):\n    return {}\n"),
    "crashing": ("add-answer", "raise SystemExit(3)\n"),
}


def make_course(root: Path, *, version: str = "c1") -> Course:
    """A course folder whose only notebook is the arithmetic fixture."""
    (root / "solutions" / SLUG).mkdir(parents=True)
    shutil.copyfile(FIXTURE, root / "solutions" / SLUG / f"{SLUG}.ipynb")
    (root / "course.toml").write_text(
        f'[course]\nid = "{COURSE_ID}"\nname = "Cluster Course"\nversion = "{version}"\n'
        "[grader]\nworkers = 2\ncell_timeout = 20\nnotebook_timeout = 60\n",
        encoding="utf-8",
    )
    return load_course(root)


def learner_notebook(kind: str) -> dict[str, Any]:
    """The fixture notebook as a learner of ``kind`` (see :data:`WRONG`) submits it."""
    nb: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    grade_id, code = WRONG[kind]
    for cell in nb["cells"]:
        if grade_id and cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            cell["source"] = code
    return copy.deepcopy(nb)


def make_submissions(folder: Path, count: int, *, prefix: str = "learner") -> dict[str, str]:
    """``count`` learners in nbgrader's layout, cycling through the kinds; learner → kind."""
    kinds = list(WRONG)
    made: dict[str, str] = {}
    for index in range(count):
        learner = f"{prefix}{index:03d}"
        kind = kinds[index % len(kinds)]
        path = folder / learner / SLUG / f"{SLUG}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(learner_notebook(kind)), encoding="utf-8")
        made[learner] = kind
    return made


@pytest.fixture
def postgres_db(postgres_url: str) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    name = f"cc_{uuid.uuid4().hex[:12]}"
    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"
