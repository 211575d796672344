"""Grades into nbgrader's gradebook database, plus the course's own record of each grading.

The gradebook *is* nbgrader's database (SQLite file by default, any SQLAlchemy URL such
as PostgreSQL), written through nbgrader's own SQLAlchemy models so that
``nbgrader export``, formgrader and :class:`nbgrader.api.Gradebook` read it as theirs:

* :meth:`GradebookStore.register_catalog` registers every assignment, notebook, grade
  cell (with its maximum score from the source notebook) and solution cell;
* :meth:`GradebookStore.record` writes one graded notebook in **one transaction**: the
  student (created from the submission's proposed name/email if not on the roster), the
  submission, an automatic score per grade cell, and a row of ``cc_graded_notebooks``.
  Only ``auto_score`` is ever written: a manual score entered in formgrader stays, and
  nbgrader's ``Grade.score`` already prefers it (:meth:`GradebookStore.manual_scores`
  reads them back for the learners' feedback pages).

``cc_graded_notebooks`` (one row per learner and notebook) holds the submission and
source hashes and the grader version (for idempotence), the automatic score, the course
version and the full result as JSON (for feedback, reports and certificates' evidence).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any, TypeVar

from nbgrader import api
from sqlalchemy import (
    Column,
    DateTime,
    Float,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from grader.core.results import NotebookResult
from grader.pipeline.catalog import Catalog, SourceNotebook
from grader.pipeline.dburl import driver_url, redact
from grader.pipeline.errors import GradebookError
from grader.pipeline.gradebook_records import (
    GradedRecord,
    ManualScores,
    NotebookScore,
    StudentRow,
    grader_version,
    late_penalties,
    split_name,
)
from grader.pipeline.manifest import LearnerInfo, learner_key, same_email
from scoring import bounded_total, clamp_points, effective_score, exact

__all__ = [
    "GRADED_NOTEBOOKS_TABLE",
    "GradebookStore",
    "GradedRecord",
    "ManualScores",
    "NotebookScore",
    "StudentRow",
    "driver_url",
    "graded_notebooks",
    "grader_version",
    "split_name",
]

GRADED_NOTEBOOKS_TABLE = "cc_graded_notebooks"

#: How many times a write transaction that lost a race with another grader runs.
WRITE_ATTEMPTS = 6
#: PostgreSQL SQLSTATEs of a transaction that may simply run again.
_RETRY_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock
#: The PostgreSQL advisory lock that serializes schema creation between graders.
_SCHEMA_LOCK = 0x63635F67

_T = TypeVar("_T")

_metadata = MetaData()

#: The course's own table, in the same database as nbgrader's.
graded_notebooks = Table(
    GRADED_NOTEBOOKS_TABLE,
    _metadata,
    Column("learner_id", String(128), primary_key=True),  # unique on (learner_id, notebook)
    Column("notebook", String(128), primary_key=True),
    Column("submission_hash", String(64), nullable=False),
    Column("source_hash", String(64), nullable=False),
    Column("score", Float, nullable=False),  # the automatic score of this grading
    Column("max_score", Float, nullable=False),
    Column("course_version", String(64), nullable=False),
    Column("grader_version", String(64), nullable=False),
    Column("result_json", Text, nullable=False),
    Column("graded_at", DateTime(timezone=True), nullable=False),
)


def _alembic_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    config = Config()
    config.set_main_option("script_location", ALEMBIC_DIR)
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:  # pragma: no cover - nbgrader always ships migrations
        raise GradebookError("nbgrader ships no database migrations; reinstall nbgrader")
    return head


def _reason(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None)
    return str(original or exc).splitlines()[0][:200]


def _lost_a_race(exc: SQLAlchemyError) -> bool:
    """Another writer committed a conflicting row first: running again will succeed."""
    if isinstance(exc, IntegrityError):  # e.g. both inserted the same new student
        return True
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(exc, DBAPIError) and sqlstate in _RETRY_SQLSTATES


def _bounded_score(result: NotebookResult, source: SourceNotebook) -> float:
    """The result's score counted the way the gradebook counts it (see
    :func:`scoring.bounded_total`): a reported part the source does not grade, or more
    points than the source gives, cannot inflate the recorded score."""
    maxima = {spec.grade_id: spec.points for spec in source.grade_cells}
    return float(bounded_total({part.grade_id: part.points for part in result.parts}, maxima))


class GradebookStore:
    """nbgrader's gradebook database, opened once by the (only) writing process.

    Use as a context manager or call :meth:`close`. The schema (nbgrader's tables, its
    migration stamp and ``cc_graded_notebooks``) is created on first use.
    """

    def __init__(self, db_url: str, *, course_id: str) -> None:
        self.db_url = db_url
        self.course_id = course_id
        try:
            options: dict[str, Any] = {"future": True}
            if db_url.startswith("sqlite"):
                options["connect_args"] = {"timeout": 30}
            self.engine: Engine = create_engine(driver_url(db_url), **options)
        except ArgumentError:
            raise GradebookError(f"{redact(db_url)!r} is not a database URL") from None
        except ImportError as exc:
            raise GradebookError(
                f"cannot open the gradebook {redact(db_url)}: its database driver "
                f"{exc.name or ''} is not installed"
            ) from None
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        try:
            self._ensure_schema()
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise GradebookError(
                f"cannot open the gradebook {redact(db_url)}: {_reason(exc)}"
            ) from None
        except BaseException:
            self.engine.dispose()
            raise

    # -- lifecycle -----------------------------------------------------------------

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> GradebookStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed at the end, or rolled back on any error."""
        try:
            with self._sessions.begin() as session:
                yield session
        except SQLAlchemyError as exc:
            raise GradebookError(
                f"gradebook write failed (nothing was saved): {_reason(exc)}"
            ) from None

    def _write(self, work: Callable[[Session], _T]) -> _T:
        """Run ``work`` in one transaction, again if it lost a race with another grader.

        Several graders may write one gradebook at once (PostgreSQL). Every row has a
        unique key, so a race ends with one transaction failing on a unique constraint
        (or, on PostgreSQL, a deadlock or serialization failure) and rolled back whole;
        running it again reads what the other grader committed and updates it. Nothing
        is lost and nothing is written twice.
        """
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with self._sessions.begin() as session:
                    return work(session)
            except SQLAlchemyError as exc:
                if attempt < WRITE_ATTEMPTS and _lost_a_race(exc):
                    time.sleep(random.uniform(0.0, 0.02 * 2**attempt))
                    continue
                raise GradebookError(
                    f"gradebook write failed (nothing was saved): {_reason(exc)}"
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _ensure_schema(self) -> None:
        # One transaction (PostgreSQL's DDL is transactional), serialized by an advisory
        # lock between graders that start at once on a fresh database.
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK}
                )
            fresh = not inspect(connection).get_table_names()
            api.Base.metadata.create_all(bind=connection)
            _metadata.create_all(bind=connection)
            if fresh:
                connection.execute(
                    text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
                )
                connection.execute(
                    text("INSERT INTO alembic_version (version_num) VALUES (:v)"),
                    {"v": _alembic_head()},
                )
        self._write(self._ensure_course)

    def _ensure_course(self, session: Session) -> None:
        if session.get(api.Course, self.course_id) is None:
            session.add(api.Course(id=self.course_id))

    # -- course structure ------------------------------------------------------------

    def register_catalog(self, catalog: Catalog) -> None:
        """Register assignments, notebooks, grade cells (max scores) and solution cells.

        Idempotent; a changed maximum score is updated. One transaction.
        """

        def work(session: Session) -> None:
            for source in catalog.values():
                assignment = self._assignment(session, source.assignment)
                if assignment is None:
                    assignment = api.Assignment(name=source.assignment, course_id=self.course_id)
                    session.add(assignment)
                    session.flush()
                notebook = self._notebook(session, assignment, source.slug)
                if notebook is None:
                    notebook = api.Notebook(name=source.slug, assignment=assignment)
                    session.add(notebook)
                    session.flush()
                cells = {
                    (c.name, c.type): c
                    for c in session.scalars(
                        select(api.BaseCell).where(api.BaseCell.notebook_id == notebook.id)
                    )
                }
                for spec in source.grade_cells:
                    cell = cells.get((spec.grade_id, "GradeCell"))
                    if cell is None:
                        session.add(
                            api.GradeCell(
                                name=spec.grade_id,
                                notebook=notebook,
                                max_score=spec.points,
                                cell_type=spec.cell_type,
                            )
                        )
                    else:
                        cell.max_score = spec.points
                        cell.cell_type = spec.cell_type
                for grade_id in source.solution_cells:
                    if (grade_id, "SolutionCell") not in cells:
                        session.add(api.SolutionCell(name=grade_id, notebook=notebook))

        self._write(work)

    @staticmethod
    def _assignment(session: Session, name: str) -> Any:
        return session.scalars(select(api.Assignment).where(api.Assignment.name == name)).first()

    @staticmethod
    def _notebook(session: Session, assignment: Any, name: str) -> Any:
        return session.scalars(
            select(api.Notebook).where(
                api.Notebook.assignment_id == assignment.id, api.Notebook.name == name
            )
        ).first()

    # -- writing grades ----------------------------------------------------------------

    def record(
        self,
        result: NotebookResult,
        *,
        learner: LearnerInfo,
        source: SourceNotebook,
        submission_hash: str,
        course_version: str,
        grader_version: str,
        submitted_at: datetime | None = None,
        late_penalty: float = 0.0,
    ) -> GradedRecord:
        """Write one graded notebook, all or nothing, and return its record.

        A learner not in the student table is added with the name and email the
        submission proposes; an existing learner's details are left as the roster has
        them. Manual scores are never touched.

        ``submitted_at`` becomes nbgrader's submission timestamp: pass when the grader
        received the submission (intake's :attr:`StagedNotebook.submitted_at`), never a
        time the learner's own files claim; by default, now. ``late_penalty``: in points.
        """
        now = datetime.now(UTC)
        row = GradedRecord(
            learner_id=learner.id,
            notebook=source.slug,
            submission_hash=submission_hash,
            source_hash=source.sha256,
            score=_bounded_score(result, source),
            max_score=source.max_score,
            course_version=course_version,
            grader_version=grader_version,
            result_json=json.dumps(result.to_dict(), sort_keys=True),
            graded_at=now,
            late_penalty=late_penalty,
        )

        def work(session: Session) -> None:
            if session.get_bind().dialect.name == "postgresql":
                # One writer per learner at a time: no deadlock between two graders.
                session.execute(
                    text("SELECT pg_advisory_xact_lock(hashtextextended(:id, 0))"),
                    {"id": f"{self.course_id}/{learner.id}"},
                )
            self._ensure_student(session, learner)
            assignment = self._assignment(session, source.assignment)
            notebook = assignment and self._notebook(session, assignment, source.slug)
            if notebook is None:
                raise GradebookError(
                    f"notebook {source.slug} is not registered in the gradebook; "
                    "register the course catalog first"
                )
            submission = self._submission(session, assignment, learner.id)
            stamp = (submitted_at or now).astimezone(UTC).replace(tzinfo=None)
            submission.timestamp = stamp
            submitted = next(n for n in submission.notebooks if n.notebook_id == notebook.id)
            submitted.late_submission_penalty = late_penalty or None  # nbgrader: None = none
            self._write_grades(session, submitted, notebook, source, result)
            self._upsert(session, row)

        self._write(work)
        return row

    @staticmethod
    def _ensure_student(session: Session, learner: LearnerInfo) -> None:
        """Add a learner not on the roster yet, with what their submission proposes.

        Refused (nothing saved): an id that differs from an existing learner's only in
        letter case or Unicode form. Ignored: a proposed email that already belongs to
        another learner, since a certificate's identity hash would then name them.
        """
        if session.get(api.Student, learner.id) is not None:
            return
        key = learner_key(learner.id)
        email = learner.email
        for other_id, other_email in session.execute(select(api.Student.id, api.Student.email)):
            if learner_key(other_id) == key:
                raise GradebookError(
                    f"learner id {learner.id!r} differs only in letter case or Unicode form "
                    f"from the existing learner {other_id!r}"
                )
            if other_email and same_email(email, other_email):
                email = ""
        first, last = split_name(learner.name)
        session.add(
            api.Student(
                id=learner.id,
                first_name=first or None,
                last_name=last or None,
                email=email or None,
            )
        )
        session.flush()

    @staticmethod
    def _submission(session: Session, assignment: Any, learner_id: str) -> Any:
        """The learner's submission of ``assignment``, mirroring its structure as nbgrader does."""
        submission = session.scalars(
            select(api.SubmittedAssignment).where(
                api.SubmittedAssignment.assignment_id == assignment.id,
                api.SubmittedAssignment.student_id == learner_id,
            )
        ).first()
        if submission is None:
            submission = api.SubmittedAssignment(assignment=assignment, student_id=learner_id)
            session.add(submission)
        present = {n.notebook_id for n in submission.notebooks}
        for notebook in assignment.notebooks:
            if notebook.id not in present:
                session.add(api.SubmittedNotebook(notebook=notebook, assignment=submission))
        session.flush()
        return submission

    @staticmethod
    def _write_grades(
        session: Session, submitted: Any, notebook: Any, source: SourceNotebook, result: Any
    ) -> None:
        parts = {part.grade_id: part for part in result.parts}
        grades = {g.cell_id: g for g in submitted.grades}
        comments = {c.cell_id for c in submitted.comments}
        for cell in session.scalars(
            select(api.BaseCell).where(api.BaseCell.notebook_id == notebook.id)
        ):
            if cell.type == "SolutionCell":
                if cell.id not in comments:
                    session.add(api.Comment(cell_id=cell.id, notebook=submitted))
                continue
            if cell.type != "GradeCell":
                continue
            grade = grades.get(cell.id)
            if grade is None:
                grade = api.Grade(cell_id=cell.id, notebook=submitted)
                session.add(grade)
            part = parts.get(cell.name)
            spec = source.grade_cell(cell.name)
            if part is not None:
                grade.auto_score = float(clamp_points(part.points, cell.max_score))
                grade.needs_manual_grade = False
            elif spec is None or spec.autograded:
                grade.auto_score = 0.0  # a test the core did not report earns nothing
                grade.needs_manual_grade = False
            # else: a manually graded answer the core does not score: left for formgrader

    @staticmethod
    def _upsert(session: Session, row: GradedRecord) -> None:
        values = {
            "submission_hash": row.submission_hash,
            "source_hash": row.source_hash,
            "score": row.score,
            "max_score": row.max_score,
            "course_version": row.course_version,
            "grader_version": row.grader_version,
            "result_json": row.result_json,
            "graded_at": row.graded_at,
        }
        key = (
            graded_notebooks.c.learner_id == row.learner_id,
            graded_notebooks.c.notebook == row.notebook,
        )
        exists = session.execute(select(graded_notebooks.c.learner_id).where(*key)).first()
        if exists is None:
            session.execute(
                graded_notebooks.insert().values(
                    learner_id=row.learner_id, notebook=row.notebook, **values
                )
            )
        else:
            session.execute(graded_notebooks.update().where(*key).values(**values))

    # -- reading -----------------------------------------------------------------------

    def graded(self, learner_id: str, notebook: str) -> GradedRecord | None:
        """The record of the last grading of ``learner_id``'s ``notebook``, if any."""
        found = self.records(learner_id=learner_id, notebook=notebook)
        return found[0] if found else None

    def records(
        self, *, learner_id: str | None = None, notebook: str | None = None
    ) -> list[GradedRecord]:
        """Rows of ``cc_graded_notebooks``, by learner then notebook."""
        query = select(graded_notebooks).order_by(
            graded_notebooks.c.learner_id, graded_notebooks.c.notebook
        )
        if learner_id is not None:
            query = query.where(graded_notebooks.c.learner_id == learner_id)
        if notebook is not None:
            query = query.where(graded_notebooks.c.notebook == notebook)
        with self.transaction() as session:
            rows = session.execute(query).mappings().all()
            late = late_penalties(session)
        return [GradedRecord.from_row(row, late) for row in rows]

    def scores(self) -> list[NotebookScore]:
        """Effective scores of every graded notebook: :func:`scoring.effective_score` over
        each grade cell's automatic and manual points (manual wins) less the late penalty."""
        query = (
            select(
                graded_notebooks.c.learner_id,
                graded_notebooks.c.notebook,
                api.GradeCell.name,
                api.Grade.auto_score,
                api.Grade.manual_score,
            )
            .join(
                api.SubmittedAssignment,
                api.SubmittedAssignment.student_id == graded_notebooks.c.learner_id,
            )
            .join(
                api.SubmittedNotebook,
                api.SubmittedNotebook.assignment_id == api.SubmittedAssignment.id,
            )
            .join(
                api.Notebook,
                (api.Notebook.id == api.SubmittedNotebook.notebook_id)
                & (api.Notebook.name == graded_notebooks.c.notebook),
            )
            .join(api.Grade, api.Grade.notebook_id == api.SubmittedNotebook.id)
            .join(api.GradeCell, api.GradeCell.id == api.Grade.cell_id)
            .order_by(graded_notebooks.c.learner_id, graded_notebooks.c.notebook)
        )
        max_query = select(api.Notebook.name, api.GradeCell.max_score).join(
            api.GradeCell, api.GradeCell.notebook_id == api.Notebook.id
        )
        cells: dict[tuple[str, str], tuple[dict[str, float], dict[str, float]]] = {}
        maxima: dict[str, Fraction] = {}
        with self.transaction() as session:
            for name, maximum in session.execute(max_query):
                maxima[name] = maxima.get(name, Fraction(0)) + exact(maximum or 0)
            for learner, notebook, cell, auto, manual in session.execute(query):
                autos, manuals = cells.setdefault((learner, notebook), ({}, {}))
                autos[cell] = auto or 0.0
                if manual is not None:
                    manuals[cell] = manual
            late = late_penalties(session)
        return [
            NotebookScore(
                learner_id=learner,
                notebook=notebook,
                score=effective_score(autos, manuals, late.get((learner, notebook), 0)),
                max_score=maxima.get(notebook, Fraction(0)),
                manual=bool(manuals),
                late_penalty=exact(late.get((learner, notebook), 0)),
            )
            for (learner, notebook), (autos, manuals) in sorted(cells.items())
        ]

    def manual_scores(self, *, learner_id: str | None = None) -> dict[str, ManualScores]:
        """Manual scores entered in formgrader, by learner, notebook and grade cell id.

        Only grade cells that carry a manual score appear; a learner without any does
        not appear at all.
        """
        query = (
            select(
                api.SubmittedAssignment.student_id,
                api.Notebook.name,
                api.GradeCell.name,
                api.Grade.manual_score,
            )
            .join(api.SubmittedNotebook, api.SubmittedNotebook.id == api.Grade.notebook_id)
            .join(
                api.SubmittedAssignment,
                api.SubmittedAssignment.id == api.SubmittedNotebook.assignment_id,
            )
            .join(api.Notebook, api.Notebook.id == api.SubmittedNotebook.notebook_id)
            .join(api.GradeCell, api.GradeCell.id == api.Grade.cell_id)
            .where(api.Grade.manual_score.is_not(None))
            .order_by(api.SubmittedAssignment.student_id, api.Notebook.name, api.GradeCell.name)
        )
        if learner_id is not None:
            query = query.where(api.SubmittedAssignment.student_id == learner_id)
        found: dict[str, ManualScores] = {}
        with self.transaction() as session:
            for learner, notebook, cell, score in session.execute(query):
                found.setdefault(learner, {}).setdefault(notebook, {})[cell] = float(score)
        return found

    def students(self) -> list[StudentRow]:
        """Everyone in nbgrader's student table, by id."""
        with self.transaction() as session:
            found = session.scalars(select(api.Student).order_by(api.Student.id)).all()
            return [
                StudentRow(
                    id=s.id,
                    first_name=s.first_name or "",
                    last_name=s.last_name or "",
                    email=s.email or "",
                )
                for s in found
            ]
