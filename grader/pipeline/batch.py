"""Grade many submissions: intake → executor → gradebook → feedback → grades.csv.

:func:`grade_submissions` is the whole pipeline as a list of small steps:

1. load the course catalog and register it in the gradebook;
2. intake: validate every submission, stage the good notebooks, reject the bad ones
   (one line each; the batch goes on);
3. skip notebooks already graded with the same submission hash, source hash and
   grader version (idempotence; ``force=True`` regrades);
4. grade the rest through an :class:`~grader.pipeline.dispatch.Executor` (a local process pool
   by default), with a progress bar and an ETA;
5. as each result arrives, the parent — the only writer — records it in the gradebook
   in one transaction, so a run killed half way loses nothing already graded and the
   next run grades only what is missing;
6. copy graded notebooks to nbgrader's ``autograded/`` folder (for formgrader), write
   feedback pages for every learner in the batch (and for learners with manual scores
   from formgrader, so a changed manual score reaches their pages) and ``grades.csv``,
   atomically. A page whose content is unchanged is not rewritten.

The default executor starts worker processes with ``spawn``: a script that calls
:func:`grade_submissions` must do so under ``if __name__ == "__main__":``, as with any
use of :mod:`multiprocessing`.
"""

from __future__ import annotations

import csv
import io
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from grader.pipeline.admission import check_identities, check_signatures
from grader.pipeline.atomic import write_atomic
from grader.pipeline.catalog import Catalog, load_catalog
from grader.pipeline.config import Course
from grader.pipeline.dispatch import (
    DEFAULT_GRADE_FUNCTION,
    Executor,
    GradeJob,
    JobOutcome,
    LocalProcessExecutor,
    grading_seed,
)
from grader.pipeline.errors import IntakeError, PipelineError
from grader.pipeline.feedback import refresh_feedback, write_learner_feedback
from grader.pipeline.gradebook import GradebookStore, grader_version
from grader.pipeline.identity import SubmissionKeys, default_key_path, learner_dir
from grader.pipeline.intake import (
    IntakeLimits,
    Rejection,
    StagedNotebook,
    collect_submissions,
    reject_duplicates,
)
from grader.pipeline.received import ReceivedLedger
from grader.pipeline.replay import SequenceLedger, check_replays
from grader.pipeline.sanitize import instructor_copy
from scoring import exact, points_text

__all__ = [
    "BatchItem",
    "BatchSummary",
    "grade_submissions",
    "render_summary",
    "write_grades_csv",
]

ItemStatus = Literal["graded", "unchanged", "failed"]


@dataclass(frozen=True)
class BatchItem:
    """What happened to one learner's notebook in this batch."""

    learner_id: str
    notebook: str
    status: ItemStatus
    score: float = 0.0
    max_score: float = 0.0
    message: str = ""  # why it failed, or the grading events in plain words
    origin: str = ""


@dataclass
class BatchSummary:
    """The outcome of a batch; :meth:`to_dict` is what ``grade --json`` prints."""

    items: list[BatchItem] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    #: Zips not proven to come from the learner they name (filed, not graded).
    unverified: list[Rejection] = field(default_factory=list)
    #: Learners graded from zips on their word: the course issued no secrets (no roster).
    on_their_word: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    grades_csv: Path | None = None
    feedback_dir: Path | None = None
    interrupted: bool = False

    def count(self, status: ItemStatus) -> int:
        """How many notebooks ended with ``status``."""
        return sum(item.status == status for item in self.items)

    @property
    def ok(self) -> bool:
        """Everything submitted was graded (or was already graded)."""
        return (
            not self.rejected
            and not self.unverified
            and not self.count("failed")
            and not self.interrupted
        )

    def headline(self) -> str:
        """One line: ``graded 57, unchanged 3, rejected 3, failed 0 in 41.2 s``."""
        return (
            f"graded {self.count('graded')}, unchanged {self.count('unchanged')}, "
            f"rejected {len(self.rejected)}, "
            + (f"unverified {len(self.unverified)}, " if self.unverified else "")
            + f"failed {self.count('failed')} "
            f"in {self.wall_seconds:.1f} s"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "ok": self.ok,
            "interrupted": self.interrupted,
            "wall_seconds": round(self.wall_seconds, 3),
            "counts": {
                "graded": self.count("graded"),
                "unchanged": self.count("unchanged"),
                "rejected": len(self.rejected),
                "unverified": len(self.unverified),
                "failed": self.count("failed"),
            },
            "on_their_word": list(self.on_their_word),
            "items": [
                {
                    "learner_id": i.learner_id,
                    "notebook": i.notebook,
                    "status": i.status,
                    "score": i.score,
                    "max_score": i.max_score,
                    "message": i.message,
                    "origin": i.origin,
                }
                for i in self.items
            ],
            "rejected": [
                {
                    "learner_id": r.learner_id,
                    "notebook": r.notebook,
                    "origin": r.origin,
                    "reason": r.reason,
                    "line": str(r),
                }
                for r in self.rejected
            ],
            "unverified": [
                {"claimed_id": r.learner_id, "origin": r.origin, "reason": r.reason, "line": str(r)}
                for r in self.unverified
            ],
            "grades_csv": str(self.grades_csv) if self.grades_csv else None,
            "feedback_dir": str(self.feedback_dir) if self.feedback_dir else None,
        }


def _progress(console: Console, enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]grading[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
        console=console,
        disable=not enabled,
        transient=True,
    )


def grade_submissions(
    paths: Iterable[Path],
    *,
    course: Course,
    db_url: str | None = None,
    workers: int | None = None,
    force: bool = False,
    cell_timeout: float | None = None,
    notebook_timeout: float | None = None,
    executor: Executor | None = None,
    grade_function: str = DEFAULT_GRADE_FUNCTION,
    limits: IntakeLimits | None = None,
    console: Console | None = None,
    show_progress: bool = True,
    late_penalties: Mapping[tuple[str, str], float] | None = None,
) -> BatchSummary:
    """Grade every submission under ``paths`` for ``course``; see the module docstring.

    ``late_penalties`` maps (learner id, notebook) to the late penalty in points that the
    caller's rules gave that submission (the course hub); it is recorded with the grade as
    nbgrader's ``late_submission_penalty``. ``context-course grade`` records none.

    Raises :class:`PipelineError` only for instructor-side problems found before
    grading starts (no source notebooks, unusable gradebook). Learners' problems are
    rejections in the summary; a notebook the core could not grade is a ``failed``
    item (retried by the next run).
    """
    started = time.monotonic()
    if executor is None and course.grader.scheduler:
        raise PipelineError(
            f"course.toml sets [grader] scheduler = {course.grader.scheduler!r}, but no "
            "executor was given: pass grader.pipeline.cluster.DaskExecutor (as "
            "`context-course grade` does), or leave scheduler empty to grade on this machine"
        )
    console = console or Console(stderr=True)
    catalog = load_catalog(course.source_dir)
    try:
        keys = SubmissionKeys.load(course.id, default_key_path(course.root))
    except (IntakeError, ValueError) as exc:
        raise PipelineError(f"the course's submission key is unusable: {exc}") from None
    summary = BatchSummary(feedback_dir=course.output_dir / "feedback")
    version = grader_version()
    with GradebookStore(course.db_url(db_url), course_id=course.id) as store:
        store.register_catalog(catalog)
        with tempfile.TemporaryDirectory(prefix="context-course-intake-") as staging:
            ledger = ReceivedLedger(course.root / ".cache" / "grader" / "received.json")
            intake = collect_submissions(
                paths,
                catalog=catalog,
                course_id=course.id,
                staging_dir=Path(staging),
                limits=limits,
                first_seen=ledger.first_seen,
                reject_duplicates=False,
            )
            ledger.save()
            summary.unverified = check_signatures(intake, keys, course.output_dir / "unverified")
            if keys is None:
                claimed = {s.learner.id for s in intake.accepted if s.manifest is not None}
                summary.on_their_word = sorted(claimed)
            impostors = check_identities(intake, store)
            sequences = SequenceLedger(course.root / ".cache" / "grader" / "sequences.json")
            check_replays(intake, sequences)
            sequences.save()
            reject_duplicates(intake)
            summary.rejected = intake.rejected
            todo = _skip_unchanged(intake.accepted, store, catalog, version, force, summary)
            jobs = _jobs(
                todo,
                catalog,
                course,
                cell_timeout=course.grader.cell_timeout if cell_timeout is None else cell_timeout,
                notebook_timeout=(
                    course.grader.notebook_timeout if notebook_timeout is None else notebook_timeout
                ),
            )
            owned = executor is None
            runner: Executor = executor or LocalProcessExecutor(
                min(workers or course.grader.worker_count, max(len(jobs), 1)),
                grade_function=grade_function,
            )
            try:
                _run(
                    jobs,
                    todo,
                    runner,
                    store,
                    catalog,
                    course,
                    version,
                    summary,
                    console,
                    show_progress,
                    late_penalties or {},
                )
            except KeyboardInterrupt:
                summary.interrupted = True
            finally:
                if owned:
                    runner.close()
            _write_autograded(intake.accepted, store, catalog, course)
        learners = sorted(
            {s.learner.id for s in intake.accepted}
            | {
                r.learner_id
                for r in intake.rejected
                if r.learner_id and r.proven and r.learner_id not in impostors
            }
        )
        manual = store.manual_scores()
        for learner in learners:
            write_learner_feedback(
                learner,
                store.records(learner_id=learner),
                catalog=catalog,
                course_name=course.name,
                rejections=[r for r in intake.rejected if r.proven and r.learner_id == learner],
                out_dir=course.output_dir / "feedback",
                manual=manual.get(learner, {}),
                hidden_names=course.grader.hidden_check_names,
            )
        # Manual scores entered in formgrader since the last run reach the pages of
        # learners who did not submit again; unchanged pages are left alone.
        refresh_feedback(
            store,
            catalog,
            course_name=course.name,
            out_dir=course.output_dir / "feedback",
            learners=sorted(set(manual) - set(learners) - impostors),
            hidden_names=course.grader.hidden_check_names,
        )
        summary.grades_csv = write_grades_csv(store, catalog, course.output_dir / "grades.csv")
    summary.wall_seconds = time.monotonic() - started
    return summary


def _skip_unchanged(
    staged: Sequence[StagedNotebook],
    store: GradebookStore,
    catalog: Catalog,
    version: str,
    force: bool,
    summary: BatchSummary,
) -> list[StagedNotebook]:
    todo: list[StagedNotebook] = []
    for item in staged:
        record = None if force else store.graded(item.learner.id, item.notebook)
        if (
            record is not None
            and record.submission_hash == item.sha256
            and record.source_hash == catalog[item.notebook].sha256
            and record.grader_version == version
        ):
            summary.items.append(
                BatchItem(
                    learner_id=item.learner.id,
                    notebook=item.notebook,
                    status="unchanged",
                    score=record.score,
                    max_score=record.max_score,
                    origin=item.origin,
                )
            )
            continue
        todo.append(item)
    return todo


def _write_autograded(
    staged: Sequence[StagedNotebook], store: GradebookStore, catalog: Catalog, course: Course
) -> None:
    """Copy each graded notebook to nbgrader's ``autograded/<learner>/<assignment>/`` folder.

    formgrader shows the notebook from there when an instructor grades by hand. The copy
    is :func:`grader.pipeline.sanitize.instructor_copy`: no outputs (whatever the learner saved,
    not the graded run), Markdown and raw cells cleaned by a sanitiser, metadata reduced
    to nbgrader's own, so nothing in it runs script in the instructor's browser. Copies
    are refreshed when missing or stale (e.g. after a run killed before writing them).
    """
    for item in staged:
        record = store.graded(item.learner.id, item.notebook)
        if record is None or record.submission_hash != item.sha256:
            continue
        source = catalog[item.notebook]
        folder = learner_dir(course.root / "autograded", item.learner.id)
        target = folder / source.assignment / item.path.name
        data = instructor_copy(item.path.read_bytes())
        if not target.is_file() or target.read_bytes() != data:
            write_atomic(target, data)


def _key(item: StagedNotebook) -> str:
    return f"{item.learner.id}/{item.notebook}"


def _jobs(
    todo: Sequence[StagedNotebook],
    catalog: Catalog,
    course: Course,
    *,
    cell_timeout: float,
    notebook_timeout: float,
) -> list[GradeJob]:
    cache_dir = course.root / ".cache" / "grader"
    seed = grading_seed()
    return [
        GradeJob(
            key=_key(item),
            source=str(catalog[item.notebook].path),
            submitted=str(item.path),
            cache_dir=str(cache_dir),
            cell_timeout=cell_timeout,
            notebook_timeout=notebook_timeout,
            seed=seed,
            second_run=course.grader.second_run,
        )
        for item in todo
    ]


def _run(
    jobs: list[GradeJob],
    todo: list[StagedNotebook],
    runner: Executor,
    store: GradebookStore,
    catalog: Catalog,
    course: Course,
    version: str,
    summary: BatchSummary,
    console: Console,
    show_progress: bool,
    late: Mapping[tuple[str, str], float],
) -> None:
    by_key = {_key(item): item for item in todo}
    with _progress(console, show_progress and bool(jobs)) as progress:
        task = progress.add_task("", total=len(jobs))
        for outcome in runner.run(jobs):
            item = by_key[outcome.key]
            penalty = late.get((item.learner.id, item.notebook), 0.0)
            summary.items.append(_record(outcome, item, store, catalog, course, version, penalty))
            progress.update(task, advance=1, description=outcome.key)


def _record(
    outcome: JobOutcome,
    item: StagedNotebook,
    store: GradebookStore,
    catalog: Catalog,
    course: Course,
    version: str,
    late_penalty: float = 0.0,
) -> BatchItem:
    learner, notebook, origin = item.learner.id, item.notebook, item.origin
    if outcome.result is None:
        return BatchItem(
            learner, notebook, "failed", message=outcome.error or "not graded", origin=origin
        )
    try:
        record = store.record(
            outcome.result,
            learner=item.learner,
            source=catalog[item.notebook],
            submission_hash=item.sha256,
            course_version=course.version,
            grader_version=version,
            submitted_at=item.submitted_at,
            late_penalty=late_penalty,
        )
    except PipelineError as exc:
        return BatchItem(learner, notebook, "failed", message=str(exc), origin=origin)
    return BatchItem(
        learner,
        notebook,
        "graded",
        score=record.score,
        max_score=record.max_score,
        message="; ".join(outcome.result.events),
        origin=origin,
    )


def write_grades_csv(store: GradebookStore, catalog: Catalog, path: Path) -> Path:
    """Write one row per learner (effective scores: manual wins) to ``path``, atomically.

    Columns: ``learner_id, first_name, last_name, email``, one column per notebook
    (empty when not graded), ``total``, ``max_total``.
    """
    scores: dict[str, dict[str, Fraction]] = {}
    for score in store.scores():
        scores.setdefault(score.learner_id, {})[score.notebook] = score.score
    notebooks = list(catalog)
    max_total = sum((exact(catalog[slug].max_score) for slug in notebooks), Fraction(0))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["learner_id", "first_name", "last_name", "email", *notebooks, "total", "max_total"]
    )
    for student in store.students():
        mine = scores.get(student.id, {})
        if not mine:
            continue
        writer.writerow(
            [
                _csv_safe(student.id),
                _csv_safe(student.first_name),
                _csv_safe(student.last_name),
                _csv_safe(student.email),
                *[points_text(mine[slug]) if slug in mine else "" for slug in notebooks],
                points_text(sum(mine.values(), Fraction(0))),
                points_text(max_total),
            ]
        )
    return write_atomic(path, buffer.getvalue())


_FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")  # and their full-width forms


def _csv_safe(value: str) -> str:
    """Defuse spreadsheet formulas in learner-controlled text (CSV injection).

    A cell is quoted with a leading ``'`` when it starts with a tab or line break, or its
    first visible character could start a formula: some spreadsheets skip leading spaces,
    and some input methods turn full-width ``＝`` into ``=``.
    """
    risky = value[:1] in ("\t", "\r", "\n") or value.lstrip()[:1] in _FORMULA_STARTS
    return "'" + value if risky else value


def render_summary(summary: BatchSummary, console: Console) -> None:
    """Print the summary table (one row per learner) and the rejections, one per line."""
    per_learner: dict[str, list[BatchItem]] = {}
    for item in summary.items:
        per_learner.setdefault(item.learner_id, []).append(item)
    table = Table(title="Grading summary", title_justify="left")
    for column in ("learner", "graded", "unchanged", "failed", "score"):
        table.add_column(column, justify="left" if column == "learner" else "right")
    for learner, items in sorted(per_learner.items()):
        done = [i for i in items if i.status != "failed"]
        score = sum(i.score for i in done)
        maximum = sum(i.max_score for i in done)
        table.add_row(
            Text(learner),
            str(sum(i.status == "graded" for i in items)),
            str(sum(i.status == "unchanged" for i in items)),
            str(sum(i.status == "failed" for i in items)),
            f"{score:g} / {maximum:g}",
        )
    if per_learner:
        console.print(table)
    for item in summary.items:
        if item.status == "failed":
            console.print(
                f"failed: {item.learner_id} {item.notebook}: {item.message}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    for rejection in summary.rejected:
        console.print(f"rejected: {rejection}", markup=False, highlight=False, soft_wrap=True)
    for unverified in summary.unverified:
        console.print(f"unverified: {unverified}", markup=False, highlight=False, soft_wrap=True)
    if summary.on_their_word:
        console.print(
            f"WARNING: {len(summary.on_their_word)} learner id(s) taken on the learner's word: "
            "this course issued no submission secrets, so anyone could have sent these zips "
            "(`context-course roster import` issues them; then only signed zips count)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if summary.interrupted:
        console.print(
            "interrupted: run the same command again to grade what is missing", soft_wrap=True
        )
    console.print(summary.headline(), markup=False, highlight=False, soft_wrap=True)
