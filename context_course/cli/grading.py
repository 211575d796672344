"""``context-course grade``, ``feedback``, ``report``, ``roster import``: the grading commands.

Each command loads the course (``course.toml``), calls one library function and turns
known errors into one line (:class:`~context_course.cli.app.UserError`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from context_course.cli.app import UserError, app
from grader.pipeline.batch import grade_submissions, render_summary
from grader.pipeline.catalog import load_catalog
from grader.pipeline.cluster import DaskExecutor
from grader.pipeline.config import Course, load_course
from grader.pipeline.dispatch import DEFAULT_GRADE_FUNCTION
from grader.pipeline.feedback import refresh_feedback
from grader.pipeline.gradebook import GradebookStore
from grader.pipeline.identity import SubmissionKeys, default_key_path
from grader.pipeline.report import write_class_report
from grader.pipeline.roster import (
    import_roster_csv,
    read_roster_csv,
    secrets_path,
    write_secrets_csv,
)

__all__ = [
    "CourseOption",
    "feedback",
    "grade",
    "os_error_line",
    "report",
    "roster_app",
    "roster_import",
]

#: The grading core the ``grade`` command uses (an import path, resolved in the workers).
GRADE_FUNCTION = DEFAULT_GRADE_FUNCTION

CourseOption = Annotated[
    Path | None,
    typer.Option(
        "--course",
        help="Course folder (holding course.toml); default: found from the current folder.",
        file_okay=False,
    ),
]
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Gradebook database URL (sqlite:///gradebook.db, postgresql://…); "
        "default: db_url in course.toml.",
    ),
]

roster_app = typer.Typer(
    name="roster",
    help="Manage the learners' names and emails (nbgrader's student table).",
    no_args_is_help=True,
)
app.add_typer(roster_app, name="roster")


def _course(course_dir: Path | None) -> Course:
    try:
        return load_course(course_dir)
    except OSError as exc:  # course.toml unreadable
        raise UserError(os_error_line(exc)) from None


def os_error_line(exc: OSError) -> str:
    """One line for a file or folder a command could not read or write."""
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@app.command()
def grade(
    submissions: Annotated[
        list[Path],
        typer.Argument(
            help="Submission zips, nbgrader `submitted/` folders or single learner folders.",
            show_default=False,
        ),
    ],
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", help="Parallel graders; default: workers in course.toml (0 = CPU count)."
        ),
    ] = None,
    db: DbOption = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout", help="Seconds per cell; default: cell_timeout in course.toml (30)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Regrade notebooks that are already graded.")
    ] = False,
    course: CourseOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON on stdout.")
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Grade on a Dask cluster: its scheduler's address (tcp://HOST:8786); "
            "default: scheduler in course.toml, else this machine's process pool.",
        ),
    ] = None,
) -> None:
    """Grade submissions into the gradebook; write feedback pages and grades.csv.

    Malformed submissions are rejected (one line each); the rest is graded.

    Unchanged notebooks are skipped unless --force; an interrupted run loses nothing.

    Exit status: 0 when every notebook was graded, 1 when some were rejected or failed.

    Example: `context-course grade submissions/ --workers 4`
    (on a cluster: `context-course grade submissions/ --scheduler tcp://HOST:8786`)
    """
    loaded = _course(course)
    if workers is not None and workers < 1:
        raise UserError("--workers must be at least 1")
    if timeout is not None and timeout <= 0:
        raise UserError("--timeout must be a positive number of seconds")
    missing = [str(p) for p in submissions if not p.exists()]
    if missing:
        raise UserError(f"{', '.join(missing)}: no such file or folder")
    address = scheduler or loaded.grader.scheduler
    executor = None
    if address:
        executor = DaskExecutor(address, grade_function=GRADE_FUNCTION)
    progress = Console(stderr=True)
    try:
        summary = grade_submissions(
            submissions,
            course=loaded,
            db_url=db,
            workers=workers,
            force=force,
            cell_timeout=timeout,
            grade_function=GRADE_FUNCTION,
            executor=executor,
            console=progress,
            show_progress=progress.is_terminal,
        )
    except OSError as exc:  # e.g. the output folder cannot be written
        raise UserError(
            f"{os_error_line(exc)} (grades already recorded stay in the gradebook; "
            "run the command again once this is fixed)"
        ) from None
    finally:
        if executor is not None:
            executor.close()
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        out = Console()
        render_summary(summary, out)
        if summary.feedback_dir and summary.grades_csv:
            out.print(
                f"feedback: {_shown(summary.feedback_dir)}  grades: {_shown(summary.grades_csv)}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    if summary.interrupted:
        raise typer.Exit(130)
    if not summary.ok:
        raise typer.Exit(1)


@app.command()
def feedback(
    learner: Annotated[
        str | None,
        typer.Option("--learner", help="Only this learner's pages; default: every graded learner."),
    ] = None,
    db: DbOption = None,
    course: CourseOption = None,
) -> None:
    """Re-render learners' feedback pages from the gradebook, without grading.

    Picks up scores entered by hand in formgrader; pages that would not change are
    left untouched.

    Example: `context-course feedback --learner ann`
    """
    loaded = _course(course)
    out_dir = loaded.output_dir / "feedback"
    try:
        catalog = load_catalog(loaded.source_dir)
        with GradebookStore(loaded.db_url(db), course_id=loaded.id) as store:
            if learner is not None and not store.records(learner_id=learner):
                raise UserError(f"learner {learner!r} has no graded notebook in the gradebook")
            written = refresh_feedback(
                store,
                catalog,
                course_name=loaded.name,
                out_dir=out_dir,
                learners=None if learner is None else [learner],
                hidden_names=loaded.grader.hidden_check_names,
            )
    except OSError as exc:
        raise UserError(f"cannot write feedback pages: {os_error_line(exc)}") from None
    pages = sum(len(pages.written) for pages in written)
    typer.echo(
        f"feedback: {pages} page{'s' * (pages != 1)} updated for {len(written)} "
        f"learner{'s' * (len(written) != 1)} in {_shown(out_dir)}"
    )


@app.command()
def report(db: DbOption = None, course: CourseOption = None) -> None:
    """Write the class report (per-part pass rates, score distributions) as HTML.

    Example: `context-course report` (writes output/report.html)
    """
    loaded = _course(course)
    path = loaded.output_dir / "report.html"
    try:
        catalog = load_catalog(loaded.source_dir)
        with GradebookStore(loaded.db_url(db), course_id=loaded.id) as store:
            write_class_report(store, catalog, course_name=loaded.name, path=path)
    except OSError as exc:
        raise UserError(f"cannot write the class report: {os_error_line(exc)}") from None
    typer.echo(f"class report: {_shown(path)}")


@roster_app.command("import")
def roster_import(
    file: Annotated[
        Path, typer.Argument(help="CSV file with the columns id,first_name,last_name,email.")
    ],
    db: DbOption = None,
    course: CourseOption = None,
    secrets: Annotated[
        Path | None,
        typer.Option(
            "--secrets",
            help="Where to write learners' submission secrets (default: ROSTER-secrets.csv).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Create or update learners from a roster CSV (all or nothing) and issue secrets.

    The roster wins over names and emails proposed by submissions. Every learner on it
    gets a submission secret, written to a mail-merge CSV beside the roster (mode 0600):
    send each learner their line; they pass it once to `context-course submit --secret`.
    From then on `grade` counts a zip only when it is signed with its learner's secret.

    Example: `context-course roster import roster.csv`
    """
    loaded = _course(course)
    try:
        with GradebookStore(loaded.db_url(db), course_id=loaded.id) as store:
            outcome = import_roster_csv(file, store)
        keys = SubmissionKeys.load_or_create(loaded.id, default_key_path(loaded.root))
        target = write_secrets_csv(read_roster_csv(file), keys, secrets or secrets_path(file))
    except OSError as exc:
        raise UserError(f"cannot write the submission secrets: {os_error_line(exc)}") from None
    typer.echo(f"roster {_shown(file)}: {outcome.summary()}")
    typer.echo(
        f"submission secrets: {_shown(target)} (send each learner their line; keep it private)"
    )
