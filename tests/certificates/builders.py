"""Builders for certificate tests: nbgrader gradebooks, settings and issued certificates."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from certificates import CertificateSettings, LevelPolicy
from certificates.curriculum import EXERCISES

COURSE_ID = "context-course"
ISSUER_URL = "https://certs.example.test/issuer"
ISSUER_DID = "did:web:certs.example.test:issuer"
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Student:
    """A roster entry and one score out of 10 per exercise (``None`` = not submitted)."""

    id: str
    first_name: str
    last_name: str
    email: str
    points: Sequence[float | None]


GOLD = Student(
    "ana", "Ana", "Ñúñez-Gómez", "Ana.Nunez@Example.org", [10, 9.5, 9, 10, 9, 8.5, 9.5, 9]
)
SILVER = Student("li", "小龍", "李", "li@example.org", [8, 7.5, 9, 7, 7, 8, 7, 5])
BRONZE = Student(
    "zoe", "Zoë", "Okafor-N'Diaye", "zoe@example.org", [7, 8, 9, 7.5, 3, None, None, None]
)
NONE = Student("max", "Max", "Mustermann", "max@example.org", [6.9, 9, 9, 9, 9, 9, 9, 9])


def _venv_on_path() -> None:
    # nbgrader runs the `alembic` console script when it creates a new gradebook.
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def build_gradebook(path: Path, students: Sequence[Student]) -> str:
    """An nbgrader gradebook (SQLite) with one 10-point cell per exercise; returns its URL."""
    from nbgrader.api import Gradebook

    _venv_on_path()
    url = f"sqlite:///{path}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy autoflush warnings
        gradebook = Gradebook(url, course_id=COURSE_ID)
        try:
            for exercise in EXERCISES:
                gradebook.add_assignment(exercise.slug)
                gradebook.add_notebook(exercise.slug, exercise.slug)
                gradebook.add_grade_cell(
                    "answer", exercise.slug, exercise.slug, max_score=10, cell_type="code"
                )
            for student in students:
                gradebook.add_student(
                    student.id,
                    first_name=student.first_name,
                    last_name=student.last_name,
                    email=student.email,
                )
            gradebook.db.commit()
            for student in students:
                set_points(gradebook, student.id, student.points)
        finally:
            gradebook.close()
            gradebook.engine.dispose()
    return url


def set_points(gradebook: Any, student_id: str, points: Sequence[float | None]) -> None:
    """Create or update a learner's submissions with these auto scores."""
    from nbgrader.api import MissingEntry

    for exercise, value in zip(EXERCISES, points, strict=True):
        if value is None:
            continue
        try:
            gradebook.find_submission(exercise.slug, student_id)
        except MissingEntry:
            gradebook.add_submission(exercise.slug, student_id)
        grade = gradebook.find_grade("answer", exercise.slug, exercise.slug, student_id)
        grade.auto_score = value
        gradebook.db.commit()


def update_points(url: str, student_id: str, points: Sequence[float | None]) -> None:
    """Change a learner's scores in an existing gradebook."""
    from nbgrader.api import Gradebook

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gradebook = Gradebook(url, course_id=COURSE_ID)
        try:
            set_points(gradebook, student_id, points)
        finally:
            gradebook.close()
            gradebook.engine.dispose()


def add_evidence_table(url: str, rows: Mapping[tuple[str, str], str]) -> None:
    """The grading pipeline's ``cc_graded_notebooks`` table, with (learner, slug) → hash."""
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    table = sa.Table(
        "cc_graded_notebooks",
        metadata,
        sa.Column("learner_id", sa.String),
        sa.Column("notebook", sa.String),
        sa.Column("submission_hash", sa.String),
        sa.Column("source_hash", sa.String),
        sa.Column("score", sa.Float),
        sa.Column("max_score", sa.Float),
        sa.Column("course_version", sa.String),
        sa.Column("grader_version", sa.String),
        sa.Column("result_json", sa.Text),
        sa.Column("graded_at", sa.String),
    )
    metadata.create_all(engine)
    with engine.begin() as connection:
        for (learner, slug), digest in rows.items():
            connection.execute(
                table.insert().values(
                    learner_id=learner,
                    notebook=slug,
                    submission_hash=digest,
                    source_hash="0" * 64,
                    score=9,
                    max_score=10,
                    course_version="2026.11",
                    grader_version="0.1.0",
                    result_json="{}",
                    graded_at="2026-11-25T10:00:00Z",
                )
            )
    engine.dispose()


def make_settings(tmp: Path, *, policy: LevelPolicy | None = None) -> CertificateSettings:
    """Settings with keys and output inside ``tmp`` (never the real ~/.config)."""
    return CertificateSettings(
        issuer_url=ISSUER_URL,
        issuer_name="Test Academy",
        issuer_email="certificates@example.test",
        key_dir=tmp / "keys",
        course_id=COURSE_ID,
        course_name="Context.py Mastery",
        course_version="2026.11",
        policy=policy or LevelPolicy.default(),
        output_dir=tmp / "out",
        site_dir=tmp / "site",
    )


def leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a scalar inside nested dicts and lists."""
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in leaves(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in leaves(item, (*path, index))]
    return [path]


def mutate(value: Any) -> Any:
    """A different value of the same JSON type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    return f"{value}x"


def with_leaf(document: Any, path: tuple[Any, ...]) -> Any:
    """A deep copy of ``document`` with the leaf at ``path`` mutated."""
    import copy

    changed = copy.deepcopy(document)
    node = changed
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = mutate(node[path[-1]])
    return changed


def dotted(path: tuple[Any, ...]) -> str:
    """``("proof", 0, "created")`` → ``proof[0].created``."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out
