"""Certify from the gradebook: the product's adapter between the grader's database and
``certificates`` (which receive scores as :class:`certificates.inputs.LearnerRecord` and
contain no SQL of the grader).

Scores come from nbgrader's :class:`~nbgrader.api.Gradebook` API: one assignment per
exercise, named by the course slug (``01-basic-operations`` …). When the grading
pipeline's ``cc_graded_notebooks`` table is present in the same database, the latest
row per learner and notebook supplies the evidence (the submission's SHA-256, and the
course and grader versions); without the table, certificates carry no evidence entries.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from certificates.credential import ExerciseScore, Learner
from certificates.curriculum import EXERCISES
from certificates.errors import GradebookError
from certificates.inputs import LearnerRecord
from certificates.issue import Outcome, certify
from certificates.settings import CertificateSettings
from scoring import clamp_points, effective_score

__all__ = ["EVIDENCE_TABLE", "certify_gradebook", "read_gradebook"]

EVIDENCE_TABLE = "cc_graded_notebooks"


def _check_url(db_url: str) -> None:
    prefix = "sqlite:///"
    if db_url.startswith(prefix) and ":memory:" not in db_url:
        path = Path(db_url[len(prefix) :])
        if not path.is_file():
            raise GradebookError(f"no gradebook at {path}; grade submissions first or pass --db")


def _shown(db_url: str) -> str:
    """The URL without its password, for messages (they end up in terminals and logs)."""
    try:
        return sa.engine.make_url(db_url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return db_url


def _reason(exc: BaseException) -> str:
    """The first line of a driver error (SQLAlchemy appends SQL and a help link)."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return (lines[0] if lines else type(original).__name__)[:200]


@contextlib.contextmanager
def _open(db_url: str, course_id: str) -> Iterator[Any]:
    from nbgrader.api import Gradebook

    _check_url(db_url)
    try:
        gradebook = Gradebook(db_url, course_id=course_id)
    except Exception as exc:  # SQLAlchemy/driver errors: bad URL, unreachable server, …
        raise GradebookError(f"cannot open gradebook {_shown(db_url)}: {_reason(exc)}") from None
    try:
        yield gradebook
    finally:
        gradebook.close()
        gradebook.engine.dispose()


def _evidence_rows(session: Any) -> dict[tuple[str, str], dict[str, Any]]:
    bind = session.get_bind()
    if not sa.inspect(bind).has_table(EVIDENCE_TABLE):
        return {}
    table = sa.Table(EVIDENCE_TABLE, sa.MetaData(), autoload_with=bind)
    query = sa.select(
        table.c.learner_id,
        table.c.notebook,
        table.c.submission_hash,
        table.c.course_version,
        table.c.grader_version,
        table.c.graded_at,
    )
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in session.execute(query).mappings():
        notebook = Path(str(row["notebook"])).name.removesuffix(".ipynb")
        key = (str(row["learner_id"]), notebook)
        previous = latest.get(key)
        if previous is None or str(row["graded_at"]) >= str(previous["graded_at"]):
            latest[key] = dict(row)
    return latest


def _effective(submission: Any) -> Fraction:
    """A submission's score by :func:`scoring.effective_score`, from its cells' grades,
    less nbgrader's ``late_submission_penalty`` (the course hub's late policy records it)."""
    auto: dict[str, float] = {}
    manual: dict[str, float] = {}
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            key = f"{notebook.name}/{grade.name}"
            auto[key] = float(grade.auto_score or 0.0)
            if grade.manual_score is not None:
                manual[key] = float(grade.manual_score)
    return effective_score(auto, manual, submission.late_submission_penalty or 0.0)


def read_gradebook(
    db_url: str, course_id: str, learner_ids: list[str] | None = None
) -> list[LearnerRecord]:
    """Every learner (or those in ``learner_ids``) with their scores, sorted by id."""
    from nbgrader.api import MissingEntry

    records = []
    with _open(db_url, course_id) as gradebook:
        try:
            students = {student.id: student for student in gradebook.students}
            if learner_ids is not None:
                missing = [lid for lid in learner_ids if lid not in students]
                if missing:
                    raise GradebookError(
                        f"no learner {missing[0]!r} in the gradebook {_shown(db_url)}"
                    )
                wanted = learner_ids
            else:
                wanted = sorted(students)
            evidence = _evidence_rows(gradebook.db)
            for learner_id in wanted:
                student = students[learner_id]
                scores: dict[int, ExerciseScore] = {}
                for exercise in EXERCISES:
                    try:
                        submission = gradebook.find_submission(exercise.slug, learner_id)
                    except MissingEntry:
                        continue
                    row = evidence.get((learner_id, exercise.slug), {})
                    maximum = max(float(submission.max_score or 0.0), 0.0)
                    scores[exercise.number] = ExerciseScore(
                        number=exercise.number,
                        # the course's one formula (scoring.effective_score: manual wins
                        # per cell, less the late penalty, exact), within 0..maximum: a
                        # manual score typed above the maximum never claims more than full
                        # marks
                        score=float(clamp_points(_effective(submission), maximum)),
                        max_score=maximum,
                        submission_hash=str(row.get("submission_hash") or ""),
                        course_version=str(row.get("course_version") or ""),
                        grader_version=str(row.get("grader_version") or ""),
                    )
                learner = Learner(
                    id=learner_id,
                    first_name=student.first_name or "",
                    last_name=student.last_name or "",
                    email=student.email or "",
                )
                records.append(LearnerRecord(learner=learner, scores=scores))
        except sa.exc.SQLAlchemyError as exc:
            raise GradebookError(
                f"cannot read gradebook {_shown(db_url)}: {_reason(exc)}"
            ) from None
    return records


def certify_gradebook(
    settings: CertificateSettings,
    *,
    db_url: str,
    learner_ids: list[str] | None = None,
    now: datetime | None = None,
    reissue_revoked: bool = False,
    pdf: bool = True,
) -> list[Outcome]:
    """Read the gradebook and :func:`certificates.issue.certify` its learners (keys created
    on first use)."""
    records = read_gradebook(db_url, settings.course_id, learner_ids)
    keyring = settings.keystore.load_or_create()
    return certify(
        records,
        settings=settings,
        keyring=keyring,
        now=now,
        reissue_revoked=reissue_revoked,
        pdf=pdf,
    )
