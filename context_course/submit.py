"""``context-course submit``: bundle a learner workspace into one submission zip.

The zip is built by the pipeline's own :func:`grader.pipeline.manifest.build_submission_zip`, so
every notebook is validated exactly as the grader's intake will validate it, and a
problem stops the submission before anything is written. Only the workspace's own
notebooks go in (``<slug>/<slug>.ipynb``, regular files, no symbolic links); the learner
is warned about notebooks that look unsaved or unstarted, and about a JupyterLab still
running on the workspace.

The learner's id, name, email and submission secret are remembered in the workspace
(``.context-course/learner.json``, mode 0600) so the next ``submit`` needs no flags. With
a secret (issued by the instructor's ``roster import``) the manifest is signed, which is
how the grader knows the zip is this learner's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from context_course.workspace import (
    Workspace,
    WorkspaceError,
    load_json_file,
    regular_file_inside,
    same_work,
)
from grader.pipeline.atomic import write_atomic
from grader.pipeline.errors import IntakeError
from grader.pipeline.identity import normalise_secret
from grader.pipeline.manifest import LearnerInfo, build_submission_zip, validate_learner_id

__all__ = [
    "SubmissionCheck",
    "check_submission",
    "default_output",
    "has_secret",
    "remembered_learner",
    "running_lab_urls",
    "submit_workspace",
    "unsaved_warning",
]

_LEARNER_FILE = "learner.json"


@dataclass
class SubmissionCheck:
    """What would go into a submission, and what the learner should know first."""

    notebooks: dict[str, Path]  # slug -> the learner's notebook (regular files only)
    warnings: list[str] = field(default_factory=list)


def _checkpoint(path: Path) -> Path:
    return path.parent / ".ipynb_checkpoints" / f"{path.stem}-checkpoint{path.suffix}"


def unsaved_warning(path: Path) -> str | None:
    """Why the notebook on disk may not be the learner's latest work, if it may not be.

    JupyterLab writes a checkpoint on every explicit save; a checkpoint that is newer than
    the notebook and differs from it means the file was replaced or reverted after the
    learner last saved.
    """
    checkpoint = _checkpoint(path)
    if checkpoint.is_symlink() or not checkpoint.is_file():
        return None
    try:
        newer = checkpoint.stat().st_mtime > path.stat().st_mtime + 1.0
        differs = checkpoint.read_bytes() != path.read_bytes()
    except OSError:
        return None
    if newer and differs:
        return (
            "its last checkpoint is newer than the saved file: open it in JupyterLab "
            "and save (Ctrl+S) before submitting"
        )
    return None


def running_lab_urls(root: Path) -> list[str]:
    """URLs of Jupyter servers on this machine that serve ``root`` (or a folder in it)."""
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError:
        return []
    urls: list[str] = []
    root = root.resolve()
    try:
        for server in list_running_servers():
            served = Path(str(server.get("root_dir", ""))).resolve()
            if served == root or root in served.parents or served in root.parents:
                urls.append(str(server.get("url", "")))
    except (OSError, ValueError):
        return urls
    return urls


def check_submission(workspace: Workspace) -> SubmissionCheck:
    """The notebooks to bundle and warnings about them (unsaved, unstarted, missing).

    Only ``<slug>/<slug>.ipynb`` files of the workspace's own notebooks are bundled: no
    other file, nothing reached through a symbolic link, nothing outside the workspace.
    """
    check = SubmissionCheck(notebooks={})
    for slug in workspace.slugs:
        path = workspace.notebook_path(slug)
        if path.is_symlink() or (path.exists() and not regular_file_inside(path, workspace.root)):
            check.warnings.append(f"{slug}: skipped, it is a symbolic link (only real files go)")
            continue
        if not path.is_file():
            check.warnings.append(f"{slug}: missing from the workspace, not submitted")
            continue
        check.notebooks[slug] = path
        reason = unsaved_warning(path)
        if reason:
            check.warnings.append(f"{slug}: {reason}")
        pristine = workspace.pristine_path(slug)
        if pristine.is_file() and same_work(path, pristine):
            check.warnings.append(f"{slug}: not started (identical to the course's notebook)")
    for url in running_lab_urls(workspace.root):
        check.warnings.append(
            f"JupyterLab is running on this workspace ({url}): use File > Save All there "
            "first, or your latest edits are not in the submission"
        )
    return check


def remembered_learner(workspace: Workspace) -> LearnerInfo | None:
    """The learner identity saved by the last ``submit`` in this workspace, if any."""
    data = load_json_file(workspace.state_dir / _LEARNER_FILE)
    if data is None or not isinstance(data.get("id"), str):
        return None
    return LearnerInfo(
        id=str(data["id"]), name=str(data.get("name", "")), email=str(data.get("email", ""))
    )


def has_secret(workspace: Workspace) -> bool:
    """Whether the last ``submit`` in this workspace signed with a submission secret."""
    saved = remembered_learner(workspace)
    return saved is not None and bool(_remembered_secret(workspace, saved.id))


def _remembered_secret(workspace: Workspace, learner_id: str) -> str:
    data = load_json_file(workspace.state_dir / _LEARNER_FILE)
    if data is None or data.get("id") != learner_id:
        return ""  # a secret belongs to one learner id
    secret = data.get("secret", "")
    return secret if isinstance(secret, str) else ""


def _identity(
    workspace: Workspace, learner_id: str | None, name: str | None, email: str | None
) -> LearnerInfo:
    saved = remembered_learner(workspace)
    chosen = learner_id or (saved.id if saved else None)
    if not chosen:
        raise WorkspaceError(
            "who is submitting? pass --id YOUR_ID (the id your instructor gave you), and "
            "optionally --name and --email; they are remembered for the next submit"
        )
    same_person = saved is not None and saved.id == chosen
    info = LearnerInfo(
        id=chosen,
        name=name if name is not None else (saved.name if same_person and saved else ""),
        email=email if email is not None else (saved.email if same_person and saved else ""),
    )
    try:
        validate_learner_id(info.id)
    except IntakeError as exc:
        raise WorkspaceError(str(exc)) from None
    return info


def default_output(workspace: Workspace, learner_id: str, folder: Path | None = None) -> Path:
    """``<folder>/<course id>-<learner id>.zip``; ``folder`` defaults to the folder that
    holds the workspace (beside it, never inside it), wherever ``submit`` is run from."""
    return (folder or workspace.root.parent) / f"{workspace.course_id}-{learner_id}.zip"


def submit_workspace(
    workspace: Workspace,
    *,
    learner_id: str | None = None,
    name: str | None = None,
    email: str | None = None,
    output: Path | None = None,
    secret: str | None = None,
) -> tuple[Path, SubmissionCheck]:
    """Bundle the workspace's notebooks into a submission zip; return its path and checks.

    Raises :class:`WorkspaceError` (nothing written) when the learner id is missing or
    unsafe, no notebook is present, the output lies inside the workspace, or a notebook
    would be rejected by the grader's intake.
    """
    learner = _identity(workspace, learner_id, name, email)
    if secret is not None and not normalise_secret(secret):
        raise WorkspaceError("--secret is empty; copy it from your instructor's message")
    secret = normalise_secret(secret) if secret else _remembered_secret(workspace, learner.id)
    check = check_submission(workspace)
    if not check.notebooks:
        raise WorkspaceError(f"no notebooks to submit in {workspace.root}")
    target = Path(output) if output is not None else default_output(workspace, learner.id)
    target = target.resolve()
    if target.suffix.lower() != ".zip":
        raise WorkspaceError(f"{target.name}: the submission file must end in .zip")
    if target.is_dir():
        raise WorkspaceError(f"{target} is a folder; give a file name ending in .zip")
    if workspace.root == target or workspace.root in target.parents:
        raise WorkspaceError(
            f"{target} is inside the workspace; write the submission somewhere else (-o FILE)"
        )
    try:
        build_submission_zip(
            check.notebooks,
            learner=learner,
            course_id=workspace.course_id,
            course_version=workspace.course_version,
            output=target,
            generator=f"context-course {_version()}",
            secret=secret or None,
        )
    except IntakeError as exc:
        raise WorkspaceError(f"cannot submit: {exc}") from None
    except OSError as exc:
        raise WorkspaceError(f"cannot write {target}: {exc.strerror or exc}") from None
    record = {"id": learner.id, "name": learner.name, "email": learner.email, "secret": secret}
    state = workspace.state_dir / _LEARNER_FILE
    write_atomic(state, json.dumps(record, indent=2) + "\n")
    state.chmod(0o600)
    return target, check


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("context-course")
    except PackageNotFoundError:
        return "0"
