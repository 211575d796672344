"""The learner's commands: ``lab``, ``submit``, ``check``, ``progress``.

Each command parses its options, calls one library function and turns known errors into
one ``error: …`` line (:class:`~context_course.cli.app.UserError`).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from context_course.cli.app import UserError, app
from context_course.progress import course_progress, record_results
from context_course.submit import has_secret, submit_workspace
from context_course.workspace import (
    DEFAULT_WORKSPACE,
    LAB_CONFIG_DIR,
    STATE_DIR,
    SyncReport,
    Workspace,
    WorkspaceError,
    find_workspace,
    lab_argv,
    lab_environment,
    locate_release,
    open_workspace,
    regular_file_inside,
    start_lab,
    sync_workspace,
    widgets_extension_missing,
    write_lab_config,
)
from grader.core.errors import GradingError
from grader.core.localcheck import HIDDEN_NOTE, check_saved_notebook, load_checks
from grader.core.results import NotebookResult
from grader.core.sandbox import shutdown_sandboxes
from scoring import percent_text

__all__ = ["check", "lab", "progress", "submit"]

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="The learner workspace; default: the one you are in, else ./context-course-workspace.",
        file_okay=False,
    ),
]


def _workspace(path: Path | None) -> Workspace:
    return open_workspace(path) if path is not None else find_workspace()


def _say_sync(report: SyncReport, root: Path) -> None:
    for label, slugs in (
        ("added", report.added),
        ("restored (it was missing)", report.restored),
        ("updated to the course's new version (you had not started it)", report.updated),
        ("kept as it is (a notebook was already there)", report.adopted),
    ):
        for slug in slugs:
            typer.echo(f"{slug}: {label}")
    for slug in report.upstream_changed:
        typer.echo(
            f"{slug}: the course has a newer version of this notebook; your copy is kept "
            f"unchanged (the new one is in the course package)"
        )
    total = sum(
        map(
            len,
            (report.added, report.restored, report.updated, report.adopted, report.unchanged),
        )
    ) + len(report.upstream_changed)
    typer.echo(f"workspace {root}: {total} notebooks")


@app.command()
def lab(
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help=f"Folder for your copy of the notebooks (default: ./{DEFAULT_WORKSPACE}, "
            "or the workspace you are in).",
            file_okay=False,
        ),
    ] = None,
    source: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Take the notebooks from this course folder or exercises/ folder "
            "(default: the course you are in, else the one installed with this package).",
            file_okay=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", min=1, max=65535, help="Port for JupyterLab (default: 8888+)."),
    ] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open a browser; print the URL.")
    ] = False,
) -> None:
    """Copy the learner notebooks into your workspace and open it in JupyterLab.

    Your copies are yours: running `lab` again adds notebooks the course gained and never
    overwrites your work. nbgrader's instructor menus are hidden in this session (your own
    Jupyter settings are not changed). Stop JupyterLab with Ctrl+C.

    Example: `context-course lab --workspace ~/context-course --port 8890`
    """
    try:
        release = locate_release(source)
        if workspace is not None:
            root = workspace
        else:
            try:
                root = find_workspace().root
            except WorkspaceError:
                root = Path.cwd() / DEFAULT_WORKSPACE
        report = sync_workspace(root, release)
        config_dir = write_lab_config(root / STATE_DIR / LAB_CONFIG_DIR)
    except OSError as exc:
        raise UserError(f"cannot write the workspace: {exc.strerror or exc}") from None
    root = root.resolve()
    _say_sync(report, root)
    if widgets_extension_missing():
        typer.echo(
            "warning: the JupyterLab widgets extension is missing, so the check panels will "
            "show as text; pip install jupyterlab_widgets",
            err=True,
        )
    typer.echo("starting JupyterLab (stop it with Ctrl+C) …")
    argv = lab_argv(root, port=port, open_browser=not no_browser)
    code = start_lab(argv, root, env=lab_environment(config_dir))
    if code != 0:
        raise UserError(f"JupyterLab exited with code {code}", exit_code=code)


@app.command()
def submit(
    learner_id: Annotated[
        str | None,
        typer.Option("--id", help="Your learner id (from your instructor); remembered."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Your name; remembered.")] = None,
    email: Annotated[str | None, typer.Option("--email", help="Your email; remembered.")] = None,
    secret: Annotated[
        str | None,
        typer.Option(
            "--secret",
            help="Your submission secret (from your instructor); remembered. It signs the zip.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="The zip to write (default: <course>-<id>.zip beside the workspace folder).",
            dir_okay=False,
        ),
    ] = None,
    workspace: WorkspaceOption = None,
    hub: Annotated[
        bool,
        typer.Option(
            "--hub",
            help="On the course hub: send your saved notebooks to the course service "
            "(your hub login is your identity; no zip).",
        ),
    ] = False,
    notebook: Annotated[
        list[str] | None,
        typer.Option("--notebook", help="With --hub: only this notebook (e.g. 01; repeatable)."),
    ] = None,
) -> None:
    """Bundle your notebooks into one zip to hand in (with a manifest of hashes).

    Save your notebooks in JupyterLab first; you are warned about notebooks that look
    unsaved or not started. Nothing outside your workspace goes in.

    Example: `context-course submit --id ada --secret ABCD-EFGH-IJKL-MNOP-QRST-UVWX`
    """
    ws = _workspace(workspace)
    if hub:
        _submit_to_hub(ws, notebook or [])
        return
    if notebook:
        raise UserError("--notebook works with --hub only; a zip holds all your notebooks")
    try:
        path, check = submit_workspace(
            ws, learner_id=learner_id, name=name, email=email, output=output, secret=secret
        )
    except WorkspaceError as exc:
        raise UserError(str(exc), exit_code=1) from None
    for warning in check.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"wrote {path} ({len(check.notebooks)} notebooks); hand this file in")
    if not has_secret(ws):
        typer.echo(
            "note: not signed (no --secret given yet); if your instructor sent you a "
            "submission secret, submit again with --secret",
            err=True,
        )


def _submit_to_hub(ws: Workspace, wanted: list[str]) -> None:
    from context_course.hub.client import HubClientError, hub_connection, submit_notebook
    from context_course.submit import check_submission

    check = check_submission(ws)
    chosen = {
        slug: path
        for slug, path in check.notebooks.items()
        if not wanted or any(slug == w or slug.startswith(f"{w}-") for w in wanted)
    }
    if not chosen:
        raise UserError(f"no notebook of this workspace matches {', '.join(wanted)}")
    for warning in check.warnings:
        typer.echo(f"warning: {warning}", err=True)
    try:
        connection = hub_connection()
        for slug, path in chosen.items():
            answer = submit_notebook(connection, slug, path)
            typer.echo(f"{slug}: submitted ({answer.get('late', 'on time')}); grading …")
    except HubClientError as exc:
        raise UserError(str(exc), exit_code=1) from None
    typer.echo(f"see your results at {connection.url}")


def _mark(passed: bool) -> str:
    return "[green]✓[/]" if passed else "[red]✗[/]"


def _check_one(ws: Workspace, slug: str, cell_timeout: float, console: Console) -> NotebookResult:
    mine = ws.notebook_path(slug)
    if not regular_file_inside(mine, ws.root):
        raise UserError(f"{slug}: {mine} is missing; run `context-course lab` to restore it")
    release = ws.pristine_path(slug)
    if not release.is_file():
        raise UserError(f"{slug}: the workspace lost its copy of the course notebook; run lab")
    with console.status(f"running {slug} as grading will (sandboxed) …"):
        try:
            result = check_saved_notebook(
                release, mine, cell_timeout=cell_timeout, notebook_timeout=cell_timeout * 10
            )
        except GradingError as exc:
            raise UserError(f"{slug}: {exc.message}", exit_code=1) from None
    with contextlib.suppress(OSError):
        record_results(ws.root, slug, result.parts, how="check")
    return result


def _result_table(result: NotebookResult, titles: dict[str, str]) -> Table:
    table = Table(title=f"{result.notebook}: visible tests", title_justify="left")
    table.add_column("")
    table.add_column("part / check")
    table.add_column("result")
    for part in result.parts:
        passed = bool(part.checks) and all(c.passed for c in part.checks)
        count = sum(c.passed for c in part.checks)
        table.add_row(
            _mark(passed),
            f"[bold]{escape(titles.get(part.grade_id, part.grade_id))}[/]",
            f"{count} of {len(part.checks)} visible checks passed"
            + (f" — {escape(part.message)}" if part.message else ""),
        )
        for check in part.checks:
            table.add_row(
                "", f"  {_mark(check.passed)} {escape(check.label)}", escape(check.message)
            )
    return table


@app.command()
def check(
    notebook: Annotated[
        str | None,
        typer.Argument(help="Notebook number or name (e.g. 3); default: every notebook."),
    ] = None,
    workspace: WorkspaceOption = None,
    cell_timeout: Annotated[
        float, typer.Option("--cell-timeout", min=1, help="Seconds per cell, as in grading.")
    ] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Run your saved notebook as grading will (sandboxed) and show its visible tests.

    Uses the grader's own sandbox, restore step and verdict, so what passes here passes
    the visible tests at grading; hidden tests run only at grading. Like grading, it
    runs each notebook twice with different hash seeds and warns, naming the part, when
    the results differ (grading scores such a part nothing). Exits 1 when a visible check
    fails. Save the notebook in JupyterLab first.

    Example: `context-course check 3`
    """
    ws = _workspace(workspace)
    slugs = [ws.resolve(notebook)] if notebook is not None else ws.slugs
    console = Console(stderr=as_json)
    results: list[NotebookResult] = []
    try:
        for slug in slugs:
            results.append(_check_one(ws, slug, cell_timeout, console))
            if not as_json:
                titles = {
                    gid: info.title
                    for gid, info in load_checks(ws.pristine_path(slug)).parts.items()
                }
                console.print(_result_table(results[-1], titles))
                for event in results[-1].events:
                    console.print(f"  [yellow]note:[/] {escape(event)}")
    finally:
        shutdown_sandboxes()
    failed = sum(1 for r in results for p in r.parts for c in p.checks if not c.passed)
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        verdict = (
            f"[red]{failed} visible check(s) fail[/]"
            if failed
            else "[green]all visible checks pass[/]"
        )
        console.print(f"{verdict} · {HIDDEN_NOTE}")
    if failed:
        raise typer.Exit(1)


@app.command()
def progress(
    workspace: WorkspaceOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the progress as JSON.")] = False,
) -> None:
    """Show the whole course: parts passing locally and the certificate level within reach.

    Counts the results of your last "Check my work" or `context-course check` per part.

    Example: `context-course progress`
    """
    ws = _workspace(workspace)
    state = course_progress(ws)
    if as_json:
        data = {
            "parts_passing": state.parts_passing,
            "parts_total": state.parts_total,
            "within_reach": state.within_reach.key if state.within_reach else None,
            "next_needs": state.next_needs,
            "notebooks": [
                {
                    "notebook": nb.slug,
                    "parts": len(nb.parts),
                    "parts_passing": len(nb.passing),
                    "parts_checked": len(nb.checked),
                    "points_passing": nb.points_passing,
                    "max_points": nb.max_points,
                    "percent": float(percent_text(nb.percent, 2)),
                }
                for nb in state.notebooks
            ],
        }
        typer.echo(json.dumps(data, indent=2))
        return
    console = Console()
    table = Table(title=f"{ws.course_id} {ws.course_version}: local progress", title_justify="left")
    for column in ("notebook", "parts passing", "points (visible tests)", "status"):
        table.add_column(column)
    for nb in state.notebooks:
        done = len(nb.parts) > 0 and len(nb.passing) == len(nb.parts)
        table.add_row(
            nb.slug,
            f"{len(nb.passing)} of {len(nb.parts)}",
            f"{nb.points_passing:g} / {nb.max_points:g} ({percent_text(nb.percent)}%)",
            "[green]✓ done[/]" if done else escape(nb.problem if nb.checked else "not checked yet"),
        )
    console.print(table)
    console.print(escape(state.summary()) + " (if the hidden tests agree)")
    if state.next_needs:
        console.print(escape(state.next_needs))
    console.print(HIDDEN_NOTE)
