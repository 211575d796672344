"""The learner's commands: ``lab``, ``submit``, ``check``, ``progress`` (and ``demo``).

Each command parses its options, calls one library function and turns known errors into
one ``error: …`` line (:class:`~grader.cli.app.UserError`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from grader.cli.app import UserError, app
from grader.submit import submit_workspace
from grader.workspace import (
    DEFAULT_WORKSPACE,
    SyncReport,
    Workspace,
    WorkspaceError,
    find_workspace,
    lab_argv,
    locate_release,
    open_workspace,
    start_lab,
    sync_workspace,
    widgets_extension_missing,
)

__all__ = ["lab", "submit"]

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
    try:
        return open_workspace(path) if path is not None else find_workspace()
    except WorkspaceError as exc:
        raise UserError(str(exc)) from None


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
    overwrites your work. Stop JupyterLab with Ctrl+C.

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
    except WorkspaceError as exc:
        raise UserError(str(exc)) from None
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
    code = start_lab(lab_argv(root, port=port, open_browser=not no_browser), root)
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
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="The zip to write (default: ./<course>-<id>.zip).",
            dir_okay=False,
        ),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Bundle your notebooks into one zip to hand in (with a manifest of hashes).

    Save your notebooks in JupyterLab first; you are warned about notebooks that look
    unsaved or not started. Nothing outside your workspace goes in.

    Example: `context-course submit --id ada --name "Ada Lovelace" --email ada@example.org`
    """
    ws = _workspace(workspace)
    try:
        path, check = submit_workspace(
            ws, learner_id=learner_id, name=name, email=email, output=output
        )
    except WorkspaceError as exc:
        raise UserError(str(exc), exit_code=1) from None
    for warning in check.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"wrote {path} ({len(check.notebooks)} notebooks); hand this file in")
