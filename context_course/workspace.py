"""The learner's workspace: a private copy of the learner notebooks, safe to update.

A learner never edits the notebooks that ship with the course. ``context-course lab``
copies them into a workspace folder of the learner's choice (default
``./context-course-workspace``) and JupyterLab runs there::

    context-course-workspace/
      01-basic-operations/01-basic-operations.ipynb    the learner's copy (theirs to edit)
      …
      .context-course/workspace.json                    what was copied, from which release
      .context-course/release/01-basic-operations.ipynb the pristine copy it started from
      .context-course/progress.json                     local check results (progress.py)
      .context-course/jupyter-config/                   the lab session's Jupyter settings

Syncing again never overwrites a learner's work: new notebooks are added, a deleted one is
restored, an untouched one is brought up to date, and one the learner changed while the
course also changed is kept and reported.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from context_course.errors import ContextCourseError
from grader.core.nbsource import file_sha256
from grader.pipeline.atomic import write_atomic
from grader.pipeline.config import COURSE_FILE, CourseConfigError, find_course_root, load_course

__all__ = [
    "DEFAULT_WORKSPACE",
    "INSTRUCTOR_LAB_EXTENSIONS",
    "INSTRUCTOR_SERVER_EXTENSIONS",
    "LAB_CONFIG_DIR",
    "STATE_DIR",
    "Release",
    "SyncReport",
    "Workspace",
    "WorkspaceError",
    "find_workspace",
    "lab_argv",
    "lab_environment",
    "load_json_file",
    "locate_release",
    "notebook_number",
    "open_workspace",
    "regular_file_inside",
    "same_work",
    "shipped_course_root",
    "start_lab",
    "sync_workspace",
    "widgets_extension_missing",
    "write_lab_config",
]

#: The folder ``context-course lab`` creates when none is given.
DEFAULT_WORKSPACE = "context-course-workspace"
#: The workspace's own bookkeeping folder (hidden from JupyterLab's file browser).
STATE_DIR = ".context-course"
_STATE_FILE = "workspace.json"
_FORMAT = "context-course-workspace"
_FORMAT_VERSION = 1
#: The lab session's own Jupyter configuration, inside :data:`STATE_DIR`.
LAB_CONFIG_DIR = "jupyter-config"
#: nbgrader's JupyterLab extension: the "Nbgrader" menu, "Create Assignment", the
#: formgrader and assignment lists. Instructor tools, so hidden in the learner's lab.
INSTRUCTOR_LAB_EXTENSIONS = ("@jupyter/nbgrader",)
#: The nbgrader server extensions behind that UI, switched off in the learner's lab.
INSTRUCTOR_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.course_list",
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.validate_assignment",
)
_SKIPPED = frozenset({".ipynb_checkpoints", "__pycache__", ".DS_Store"})


class WorkspaceError(ContextCourseError):
    """A workspace or course release cannot be used; the message says what to do."""


@dataclass(frozen=True)
class Release:
    """The pristine learner notebooks a workspace is made from."""

    root: Path  # the folder holding <slug>/<slug>.ipynb
    course_id: str
    course_version: str
    notebooks: Mapping[str, Path]  # slug -> notebook, in course order
    levels: Mapping[str, Any] | None = None  # the course's [certificates.levels], if set

    def folder(self, slug: str) -> Path:
        """The assignment folder of ``slug`` (its notebook and any data files)."""
        return self.notebooks[slug].parent


@dataclass
class SyncReport:
    """What :func:`sync_workspace` did, by notebook slug."""

    added: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)  # deleted by the learner, copied again
    updated: list[str] = field(default_factory=list)  # untouched, brought up to date
    upstream_changed: list[str] = field(default_factory=list)  # learner's work kept
    adopted: list[str] = field(default_factory=list)  # a file already there, now tracked
    unchanged: list[str] = field(default_factory=list)


def notebook_number(slug: str) -> int | None:
    """The exercise number of a slug such as ``03-dirty-keys`` (``3``), if it has one."""
    head = slug.split("-", 1)[0]
    return int(head) if head.isdigit() else None


# --------------------------------------------------------------------------- releases


def shipped_course_root() -> Path | None:
    """The course folder that ships with this code, if there is one.

    A learner package (wheel) carries it as ``context_course/_course/`` (``course.toml`` and the
    learner notebooks); a source checkout or editable install has it next to the packages.
    """
    package = Path(__file__).resolve().parent
    for candidate in (package / "_course", package.parent):
        if (candidate / COURSE_FILE).is_file():
            return candidate
    return None


def _release_notebooks(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    for child in sorted(folder.iterdir()):
        if child.name.startswith((".", "_")) or child.is_symlink() or not child.is_dir():
            continue
        notebook = child / f"{child.name}.ipynb"
        if notebook.is_file() and not notebook.is_symlink():
            found[child.name] = notebook
    return found


def locate_release(source: Path | None = None, *, start: Path | None = None) -> Release:
    """Find the learner notebooks to copy.

    ``source`` may be a course folder (holding ``course.toml``) or a folder of
    ``<slug>/<slug>.ipynb``. Without it: the course folder at or above ``start`` (default
    the current folder), else the course that ships with this code.
    """
    if source is not None:
        source = Path(source)
        if not source.is_dir():
            raise WorkspaceError(f"{source} is not a folder; pass a course folder or exercises/")
        if (source / COURSE_FILE).is_file():
            return _release_of_course(source)
        if (source.parent / COURSE_FILE).is_file():
            course_id, version, _, levels = _load(source.parent)
            return _release_from(source, course_id, version, levels)
        return _release_from(source, "context-course", "0", None)
    try:
        return _release_of_course(find_course_root(start))
    except CourseConfigError:
        pass
    shipped = shipped_course_root()
    if shipped is None:
        raise WorkspaceError(
            "no course found: run this in a course folder, pass --from DIR, or install the "
            "learner package (pip install context-course-*.whl)"
        )
    return _release_of_course(shipped)


def _load(root: Path) -> tuple[str, str, Path, dict[str, Any] | None]:
    try:
        course = load_course(root)
    except CourseConfigError as exc:
        raise WorkspaceError(str(exc)) from None
    section = course.raw.get("certificates")
    levels = section.get("levels") if isinstance(section, dict) else None
    return (
        course.id,
        course.version,
        course.release_dir,
        levels if isinstance(levels, dict) else None,
    )


def _release_of_course(root: Path) -> Release:
    course_id, version, release_dir, levels = _load(root)
    return _release_from(release_dir, course_id, version, levels)


def _release_from(
    folder: Path, course_id: str, version: str, levels: dict[str, Any] | None
) -> Release:
    notebooks = _release_notebooks(folder)
    if not notebooks:
        raise WorkspaceError(
            f"{folder} holds no learner notebooks (expected <slug>/<slug>.ipynb); "
            "an instructor runs `context-course release` to generate them"
        )
    return Release(
        root=folder.resolve(),
        course_id=course_id,
        course_version=version,
        notebooks=notebooks,
        levels=levels,
    )


# --------------------------------------------------------------------------- workspaces


@dataclass
class Workspace:
    """A learner workspace on disk and what it records about its notebooks."""

    root: Path
    course_id: str
    course_version: str
    source: str  # where the notebooks came from, for messages
    records: dict[str, dict[str, str]]  # slug -> {"sha256": release hash, "copied": time}
    levels: dict[str, Any] | None = None  # the course's level policy table, if it set one

    @property
    def state_dir(self) -> Path:
        """The hidden bookkeeping folder."""
        return self.root / STATE_DIR

    def notebook_path(self, slug: str) -> Path:
        """Where the learner's copy of ``slug`` lives."""
        return self.root / slug / f"{slug}.ipynb"

    def pristine_path(self, slug: str) -> Path:
        """The untouched release copy the learner's notebook started from."""
        return self.state_dir / "release" / f"{slug}.ipynb"

    @property
    def slugs(self) -> list[str]:
        """Every notebook slug the workspace was given, in course order."""
        return sorted(self.records)

    def notebooks(self) -> dict[str, Path]:
        """The learner notebooks present (regular files, never symbolic links)."""
        present: dict[str, Path] = {}
        for slug in self.slugs:
            path = self.notebook_path(slug)
            if regular_file_inside(path, self.root):
                present[slug] = path
        return present

    def resolve(self, ref: str) -> str:
        """The slug meant by ``ref``: ``3``, ``03``, ``03-dirty-keys-persistence`` or a path."""
        text = ref.strip()
        candidates = self.slugs
        name = Path(text).name
        stem = name[: -len(".ipynb")] if name.endswith(".ipynb") else name
        if stem in candidates:
            return stem
        if text.isdigit():
            matches = [s for s in candidates if notebook_number(s) == int(text)]
            if len(matches) == 1:
                return matches[0]
        shown = ", ".join(str(notebook_number(s) or s) for s in candidates)
        raise WorkspaceError(f"no notebook {ref!r} in this workspace; choose one of {shown}")

    def save(self) -> None:
        """Write ``workspace.json`` atomically."""
        data = {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "course": {"id": self.course_id, "version": self.course_version},
            "source": self.source,
            "levels": self.levels,
            "notebooks": {slug: self.records[slug] for slug in sorted(self.records)},
        }
        write_atomic(self.state_dir / _STATE_FILE, json.dumps(data, indent=2) + "\n")


def regular_file_inside(path: Path, root: Path) -> bool:
    """A regular file (no symlink anywhere on the way) that really lies under ``root``."""
    try:
        relative = path.relative_to(root)
    except ValueError:
        return False
    here = root
    for part in relative.parts:
        here = here / part
        if here.is_symlink():
            return False
    return path.is_file()


def open_workspace(root: Path) -> Workspace:
    """Read the workspace at ``root``; :class:`WorkspaceError` if it is not one."""
    root = Path(root).resolve()
    state = root / STATE_DIR / _STATE_FILE
    if not state.is_file():
        raise WorkspaceError(
            f"{root} is not a context-course workspace (no {STATE_DIR}/{_STATE_FILE}); "
            "run `context-course lab` to create one"
        )
    try:
        data = json.loads(state.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WorkspaceError(
            f"{state} is unreadable ({exc}); delete it and run `context-course lab` again"
        ) from None
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        raise WorkspaceError(f"{state} is not a context-course workspace file")
    version = data.get("format_version")
    if not isinstance(version, int) or version > _FORMAT_VERSION:
        raise WorkspaceError(
            f"{state} was written by a newer context-course (format {version!r}); "
            "upgrade: pip install -U context-course"
        )
    course = data.get("course")
    course = course if isinstance(course, dict) else {}
    records = data.get("notebooks")
    records = records if isinstance(records, dict) else {}
    levels = data.get("levels")
    return Workspace(
        root=root,
        course_id=str(course.get("id", "context-course")),
        course_version=str(course.get("version", "0")),
        source=str(data.get("source", "")),
        records={
            str(slug): {str(k): str(v) for k, v in record.items()}
            for slug, record in records.items()
            if isinstance(record, dict)
        },
        levels=levels if isinstance(levels, dict) else None,
    )


def find_workspace(start: Path | None = None) -> Workspace:
    """The workspace at or above ``start``, else ``./context-course-workspace``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / STATE_DIR / _STATE_FILE).is_file():
            return open_workspace(folder)
    default = here / DEFAULT_WORKSPACE
    if (default / STATE_DIR / _STATE_FILE).is_file():
        return open_workspace(default)
    raise WorkspaceError(
        f"no workspace in {here} or its parents; run `context-course lab` first, "
        "or pass --workspace DIR"
    )


# --------------------------------------------------------------------------- syncing


def _cell_sources(path: Path) -> list[tuple[str, str]] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        return None
    out: list[tuple[str, str]] = []
    for cell in cells:
        if not isinstance(cell, dict):
            return None
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        out.append((str(cell.get("cell_type", "")), text.strip()))
    return out


def same_work(learner: Path, pristine: Path) -> bool:
    """Whether ``learner`` holds the same cells as ``pristine`` (outputs do not count).

    A notebook opened and run but not edited is still "the same work": nothing in it
    would be graded differently from the release.
    """
    mine = _cell_sources(learner)
    return mine is not None and mine == _cell_sources(pristine)


def _iter_files(folder: Path) -> Iterator[Path]:
    """Regular files under ``folder``, relative, never following symbolic links."""
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames if d not in _SKIPPED and not (here / d).is_symlink()
        )
        for name in sorted(filenames):
            path = here / name
            if name not in _SKIPPED and not path.is_symlink() and path.is_file():
                yield path.relative_to(folder)


def _copy_file(source: Path, target: Path) -> None:
    write_atomic(target, source.read_bytes())
    shutil.copymode(source, target)
    target.chmod(target.stat().st_mode | 0o200)  # the learner's copy is writable


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _copy_assignment(release: Release, slug: str, workspace: Workspace, *, notebook: bool) -> None:
    """Copy the assignment folder's files that are missing (and the notebook if asked)."""
    folder = release.folder(slug)
    target_folder = workspace.root / slug
    for relative in _iter_files(folder):
        target = target_folder / relative
        is_notebook = relative == Path(f"{slug}.ipynb")
        if is_notebook and not notebook:
            continue
        if is_notebook or not target.exists():
            _copy_file(folder / relative, target)


def sync_workspace(root: Path, release: Release) -> SyncReport:
    """Create or update the workspace at ``root`` from ``release``; never lose work.

    For each release notebook: missing → copied (``added`` or ``restored``); unchanged in
    the release → left alone; changed in the release → replaced if the learner never
    edited it (``updated``), else kept and reported (``upstream_changed``). Other files of
    an assignment folder are copied only when missing. A workspace made for another
    course is refused.
    """
    root = Path(root).resolve()
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"{root} exists and is not a folder; choose another --workspace")
    if (root / STATE_DIR / _STATE_FILE).is_file():
        workspace = open_workspace(root)
        if workspace.course_id != release.course_id:
            raise WorkspaceError(
                f"{root} is a workspace for course {workspace.course_id!r}, not "
                f"{release.course_id!r}; choose another --workspace"
            )
    else:
        workspace = Workspace(root, release.course_id, release.course_version, "", {})
    workspace.course_version = release.course_version
    workspace.source = str(release.root)
    workspace.levels = dict(release.levels) if release.levels is not None else None
    report = SyncReport()
    for slug, source in release.notebooks.items():
        digest = file_sha256(source)
        record = workspace.records.get(slug)
        mine = workspace.notebook_path(slug)
        pristine = workspace.pristine_path(slug)
        present = mine.exists() or mine.is_symlink()
        if record is None or not present:
            if present:  # a notebook the workspace did not record: never overwrite it
                _copy_assignment(release, slug, workspace, notebook=False)
                report.adopted.append(slug)
            else:
                _copy_assignment(release, slug, workspace, notebook=True)
                (report.added if record is None else report.restored).append(slug)
        elif record.get("sha256") == digest:
            _copy_assignment(release, slug, workspace, notebook=False)
            report.unchanged.append(slug)
            continue
        elif pristine.is_file() and same_work(mine, pristine):
            _copy_assignment(release, slug, workspace, notebook=True)
            report.updated.append(slug)
        else:
            _copy_assignment(release, slug, workspace, notebook=False)
            report.upstream_changed.append(slug)
            continue
        write_atomic(pristine, source.read_bytes())
        workspace.records[slug] = {"sha256": digest, "copied": _now()}
    workspace.save()
    return report


def load_json_file(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``, or ``None`` if it is missing or not an object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


# --------------------------------------------------------------------------- JupyterLab


def lab_argv(
    root: Path, *, port: int | None = None, open_browser: bool = True, python: str | None = None
) -> list[str]:
    """The command that starts JupyterLab on the workspace at ``root``.

    JupyterLab refuses to run as root without ``--allow-root``; it is added then, since a
    container or a teaching VM often runs everything as root.
    """
    argv = [python or sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root}"]
    if port is not None:
        argv += [f"--port={port}", "--ServerApp.port_retries=0"]
    if not open_browser:
        argv.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    return argv


def write_lab_config(folder: Path) -> Path:
    """Write the learner lab session's own Jupyter configuration into ``folder``.

    It hides nbgrader's instructor UI (:data:`INSTRUCTOR_LAB_EXTENSIONS` disabled in
    JupyterLab's ``labconfig/page_config.json``, :data:`INSTRUCTOR_SERVER_EXTENSIONS`
    switched off in ``jupyter_server_config.json``) and changes nothing else: every other
    extension, the widgets extension included, stays as installed. The files apply only to
    a server started with :func:`lab_environment`; the learner's own Jupyter settings and
    the instructor's installation are left alone. Returns ``folder``.
    """
    folder = Path(folder)
    page_config = {"disabledExtensions": dict.fromkeys(INSTRUCTOR_LAB_EXTENSIONS, True)}
    server_config = {
        "ServerApp": {"jpserver_extensions": dict.fromkeys(INSTRUCTOR_SERVER_EXTENSIONS, False)}
    }
    write_atomic(folder / "labconfig" / "page_config.json", json.dumps(page_config, indent=2))
    write_atomic(folder / "jupyter_server_config.json", json.dumps(server_config, indent=2))
    return folder


def lab_environment(config_dir: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a lab session that reads ``config_dir`` (see :func:`write_lab_config`).

    ``config_dir`` goes first on ``JUPYTER_CONFIG_PATH``, the highest-priority place Jupyter
    reads configuration from, ahead of any path already there; ``JUPYTER_CONFIG_DIR``
    (the learner's own settings) is untouched. ``base`` defaults to ``os.environ``.
    """
    env = dict(os.environ if base is None else base)
    existing = env.get("JUPYTER_CONFIG_PATH")
    paths = [str(Path(config_dir).resolve())]
    if existing:
        paths.append(existing)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(paths)
    return env


def widgets_extension_missing() -> bool:
    """Whether JupyterLab lacks the widgets extension (the check panels would not render)."""
    return importlib.util.find_spec("jupyterlab_widgets") is None


def start_lab(argv: list[str], cwd: Path, env: Mapping[str, str] | None = None) -> int:
    """Run JupyterLab in the foreground until it exits; return its exit code.

    ``env`` is its environment (default: this process's; see :func:`lab_environment`).

    Ctrl+C reaches JupyterLab too (same process group), which shuts its kernels down;
    SIGTERM sent to this process is passed on to it. Either way this function waits for
    JupyterLab to finish instead of leaving it behind.
    """
    with subprocess.Popen(argv, cwd=cwd, env=None if env is None else dict(env)) as process:
        previous = None
        if threading.current_thread() is threading.main_thread():

            def forward(signum: int, _frame: object) -> None:
                process.send_signal(signum)

            previous = signal.signal(signal.SIGTERM, forward)
        try:
            while True:
                try:
                    return process.wait()
                except KeyboardInterrupt:
                    continue
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
