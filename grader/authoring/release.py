"""The learner release: ``exercises/`` generated from the instructor sources in ``solutions/``.

nbgrader's ``generate_assignment`` does the authoring-format work (solution regions become
``# YOUR CODE HERE`` + ``raise NotImplementedError()``, hidden test regions disappear, graded
and locked cells get checksums and read-only flags). This module drives it programmatically,
without touching any gradebook, and makes its output fit for version control: no outputs,
no volatile metadata, the same bytes for the same sources.

* :func:`build_release` generates the release in memory (``{relative path: bytes}``),
  without the instructor's grading configuration (traps and check weights);
* :func:`write_release` brings a release folder up to date (atomic writes, stale files
  removed, unchanged files left untouched);
* :func:`check_release` lists every problem: a release folder out of date with its
  sources, or solution / hidden-test text that leaked into a learner notebook.

>>> problems = check_release(Path("solutions"), Path("exercises"))  # doctest: +SKIP
>>> print("\\n".join(str(p) for p in problems))  # doctest: +SKIP
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import nbformat

from grader.core.errors import GraderError

__all__ = [
    "HIDDEN_TESTS",
    "IGNORED",
    "SOLUTION",
    "Problem",
    "ReleaseError",
    "ReleaseReport",
    "build_release",
    "check_release",
    "find_assignments",
    "find_leaks",
    "normalise_notebook",
    "secret_lines",
    "write_release",
]

#: nbgrader's region delimiters (it matches them anywhere in a line, and so do we).
SOLUTION = ("BEGIN SOLUTION", "END SOLUTION")
HIDDEN_TESTS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
#: Names never released nor compared (nbgrader's default ``CourseDirectory.ignore``).
IGNORED = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback")

_NOTEBOOK_VOLATILE_METADATA = ("widgets",)
_CELL_VOLATILE_METADATA = ("execution", "collapsed", "scrolled")
_HAS_WORD = re.compile(r"\w")
_QUALIFIED = re.compile(r"^(?:\w+\.)+(?=\w+(?:Error|Exception)\b)")  # jsonschema.x.ValidationError


def _reads(text: str | bytes) -> Any:
    """Parse a notebook (nbformat 4) from its JSON text."""
    return nbformat.reads(text, as_version=4)  # type: ignore[no-untyped-call]


class ReleaseError(GraderError):
    """The release cannot be generated; the message names the assignment and the reason."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a release folder: ``path`` (as shown to people) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class ReleaseReport:
    """What :func:`write_release` did, as paths relative to the release folder."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- discovery


def _ignored(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in IGNORED)


def _walk(folder: Path) -> Iterator[PurePosixPath]:
    """Files under ``folder`` (relative, sorted), skipping nbgrader's ignored names."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not _ignored(d))
        here = Path(dirpath).relative_to(folder)
        for name in sorted(filenames):
            if not _ignored(name):
                yield PurePosixPath(here.as_posix()) / name


def find_assignments(source_dir: Path) -> list[str]:
    """The assignment slugs in ``source_dir``: its sub-folders holding a notebook, sorted."""
    if not source_dir.is_dir():
        raise ReleaseError(f"source folder {source_dir} does not exist")
    return sorted(
        child.name
        for child in source_dir.iterdir()
        if child.is_dir() and not _ignored(child.name) and any(child.glob("*.ipynb"))
    )


# --------------------------------------------------------------------------- generation


#: Grading configuration that stays with the instructor: which hidden checks carry which
#: trap (notebook metadata) and how much each check weighs (test-cell metadata).
_INSTRUCTOR_ONLY = ("traps", "weights")


def _without_instructor_settings(nb: Any) -> None:
    """Drop ``metadata.context_course.{traps,weights}`` (notebook and cells) in place."""
    for metadata in [nb.metadata, *(cell.metadata for cell in nb.cells)]:
        course = metadata.get("context_course")
        if isinstance(course, dict):
            for key in _INSTRUCTOR_ONLY:
                course.pop(key, None)
            if not course:
                metadata.pop("context_course")


def normalise_notebook(text: str | bytes) -> bytes:
    """A notebook as it is committed: no outputs, no volatile metadata, stable bytes.

    Outputs and execution counts are cleared, per-run metadata (execution timings,
    widget state, the Python version in ``language_info``) dropped, and the JSON written
    the way nbformat writes it (sorted keys, one-space indent, sources as line lists)
    with a final newline. Applying it twice changes nothing.
    """
    nb = _reads(text)
    for key in _NOTEBOOK_VOLATILE_METADATA:
        nb.metadata.pop(key, None)
    language = nb.metadata.get("language_info")
    if isinstance(language, dict):
        nb.metadata["language_info"] = {"name": language.get("name", "python")}
    for cell in nb.cells:
        for key in _CELL_VOLATILE_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    out = str(nbformat.writes(nb))  # type: ignore[no-untyped-call]
    return (out if out.endswith("\n") else out + "\n").encode("utf-8")


class _Collect(logging.Handler):
    """Keeps nbgrader's error messages so a failure can be explained in one line."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _explain(messages: list[str], exc: BaseException) -> str:
    """The most useful line out of nbgrader's log: the exception that made it fail."""
    for message in messages:
        if message.startswith("Traceback"):
            lines = [line for line in message.strip().splitlines() if line.strip()]
            return _QUALIFIED.sub("", lines[-1].strip())
    for message in messages:
        if not message.startswith(("There was an error", "Please see")):
            return message.strip().splitlines()[0]
    return str(exc) or type(exc).__name__


def _generate_one(source_dir: Path, slug: str, staging: Path) -> None:
    # nbgrader is imported here: it takes a second to import and only releases need it.
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import SaveCells
    from traitlets.config import Config

    config = Config()
    config.CourseDirectory.root = str(source_dir.parent.resolve())
    config.CourseDirectory.source_directory = source_dir.name
    # An absolute release folder: nbgrader writes into our staging area, never into
    # the course, and the course's files change only when the output is complete.
    config.CourseDirectory.release_directory = str(staging)
    config.CourseDirectory.assignment_id = slug
    # Never touch a gradebook: the database trait points at a throwaway file, the
    # converter skips its own database step and SaveCells (its only other writer) is
    # left out of the pipeline; it does not change the notebook.
    config.CourseDirectory.db_url = f"sqlite:///{staging / 'unused-gradebook.db'}"
    config.GenerateAssignment.no_database = True
    config.GenerateAssignment.force = True

    log = logging.Logger(f"nbgrader.generate_assignment.{slug}")
    collect = _Collect()
    log.addHandler(collect)
    coursedir = CourseDirectory(config=config, log=log)
    converter = GenerateAssignment(coursedir=coursedir, config=config, log=log)
    converter.preprocessors = [p for p in converter.preprocessors if p is not SaveCells]
    try:
        converter.start()
    except Exception as exc:  # nbgrader raises several types; all mean "cannot release"
        raise ReleaseError(
            f"cannot generate the learner version of {slug!r}: {_explain(collect.messages, exc)}"
        ) from None


def build_release(source_dir: Path, slugs: Iterable[str] | None = None) -> dict[str, bytes]:
    """Generate the learner release of ``source_dir`` in memory.

    Returns ``{path relative to the release folder (posix): bytes}`` for every file of
    every assignment (``slugs``, default: all of :func:`find_assignments`). Notebooks are
    normalised; other files are copied as nbgrader copies them. Raises
    :class:`ReleaseError` if nbgrader rejects a source notebook.
    """
    source_dir = Path(source_dir)
    chosen = find_assignments(source_dir) if slugs is None else list(slugs)
    files: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="context-course-release-") as tmp:
        staging = Path(tmp) / "release"
        for slug in chosen:
            _generate_one(source_dir, slug, staging)
            folder = staging / slug
            for rel in _walk(folder):
                data = (folder / rel).read_bytes()
                if rel.suffix == ".ipynb":
                    try:
                        learner = _reads(data)
                        _without_instructor_settings(learner)
                        data = normalise_notebook(nbformat.writes(learner))  # type: ignore[no-untyped-call]
                    except (ValueError, nbformat.ValidationError) as exc:
                        raise ReleaseError(
                            f"nbgrader wrote an invalid notebook for {slug}/{rel}: {exc}"
                        ) from None
                files[f"{slug}/{rel}"] = data
    return files


# --------------------------------------------------------------------------- writing


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _stale_files(release_dir: Path, expected: Mapping[str, bytes]) -> list[str]:
    """Files in the release folder's assignment sub-folders that no source produces."""
    if not release_dir.is_dir():
        return []
    stale = []
    for rel in _walk(release_dir):
        if len(rel.parts) >= 2 and str(rel) not in expected:
            stale.append(str(rel))
    return stale


def write_release(source_dir: Path, release_dir: Path) -> ReleaseReport:
    """Bring ``release_dir`` up to date with ``source_dir``.

    Everything is generated before anything is written, so a source nbgrader rejects
    leaves the release folder as it was. Changed files are replaced atomically,
    unchanged files are not touched, and files in assignment sub-folders that no source
    produces any more are removed (loose files at the top of ``release_dir`` are kept).
    """
    files = build_release(source_dir)
    report = ReleaseReport()
    for rel, data in files.items():
        target = release_dir / rel
        if target.is_file() and target.read_bytes() == data:
            report.unchanged.append(rel)
            continue
        _atomic_write(target, data)
        report.written.append(rel)
    for rel in _stale_files(release_dir, files):
        (release_dir / rel).unlink()
        report.removed.append(rel)
    for folder in sorted({(release_dir / r).parent for r in report.removed}, reverse=True):
        if folder != release_dir and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return report


# --------------------------------------------------------------------------- leak detection


def _regions(source: str) -> tuple[list[str], list[str]]:
    """Split a cell source into (lines inside solution/hidden regions, lines outside)."""
    inside: list[str] = []
    outside: list[str] = []
    depth_end: str | None = None
    for line in source.split("\n"):
        if depth_end is None:
            begin = next((pair for pair in (HIDDEN_TESTS, SOLUTION) if pair[0] in line), None)
            if begin is not None:
                depth_end = begin[1]
            else:
                outside.append(line)
        elif depth_end in line:
            depth_end = None
        else:
            inside.append(line)
    return inside, outside


def secret_lines(source_nb: Any) -> set[str]:
    """The lines of a source notebook that appear *only* inside solution or hidden-test
    regions (stripped; lines without a letter or digit are ignored).

    A correctly generated learner notebook contains none of them, so finding one in a
    learner notebook means solution or hidden-test text leaked.
    """
    inside: set[str] = set()
    outside: set[str] = set()
    for cell in source_nb.cells:
        cell_inside, cell_outside = _regions(cell.source)
        inside.update(line.strip() for line in cell_inside)
        outside.update(line.strip() for line in cell_outside)
    return {line for line in inside - outside if _HAS_WORD.search(line)}


def find_leaks(source_nb: Any, learner_nb: Any, learner_path: str) -> list[Problem]:
    """Solution or hidden-test text of ``source_nb`` found in ``learner_nb``.

    Reports region markers left in the learner notebook and every line that only the
    source's solution or hidden-test regions hold, naming the cell it was found in.
    """
    problems: list[Problem] = []
    secrets = secret_lines(source_nb)
    markers = (SOLUTION[0], SOLUTION[1], HIDDEN_TESTS[0], HIDDEN_TESTS[1])
    for index, cell in enumerate(learner_nb.cells):
        where = f"cell {cell.get('id') or index}"
        leaked: list[str] = []
        for line in cell.source.split("\n"):
            stripped = line.strip()
            marker = next((m for m in markers if m in stripped), None)
            if marker is not None:
                problems.append(Problem(learner_path, f"{where} contains a {marker!r} marker"))
            elif stripped in secrets and stripped not in leaked:
                leaked.append(stripped)
        for line in leaked:
            problems.append(
                Problem(learner_path, f"{where} leaks solution or hidden-test text: {line!r}")
            )
    return problems


# --------------------------------------------------------------------------- checking


def _outputs_in_sources(source_dir: Path, display: str) -> list[Problem]:
    problems = []
    for rel in _walk(source_dir):
        if rel.suffix != ".ipynb":
            continue
        try:
            nb = _reads((source_dir / rel).read_bytes())
        except (OSError, ValueError) as exc:
            problems.append(Problem(f"{display}/{rel}", f"cannot be read as a notebook: {exc}"))
            continue
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None):
                problems.append(
                    Problem(
                        f"{display}/{rel}",
                        f"cell {cell.get('id') or index} has outputs committed; clear them "
                        "(Kernel > Restart Kernel and Clear Outputs) and save",
                    )
                )
    return problems


def check_release(
    source_dir: Path,
    release_dir: Path,
    *,
    display_source: str | None = None,
    display_release: str | None = None,
) -> list[Problem]:
    """Every problem with ``release_dir`` as the learner release of ``source_dir``.

    Reported: source notebooks with committed outputs; learner files missing, out of
    date or no longer produced by any source; and, in every learner notebook, leaked
    solution or hidden-test text (see :func:`find_leaks`). An empty list means the
    release is exactly what :func:`write_release` would write. ``display_*`` name the
    folders in messages (default: the paths as given).
    """
    source_dir, release_dir = Path(source_dir), Path(release_dir)
    src_name = display_source or source_dir.as_posix()
    rel_name = display_release or release_dir.as_posix()
    fix = "run `context-course release`"
    problems = _outputs_in_sources(source_dir, src_name)
    expected = build_release(source_dir)
    for rel, data in expected.items():
        target = release_dir / rel
        if not target.is_file():
            problems.append(Problem(f"{rel_name}/{rel}", f"missing; {fix}"))
        elif target.read_bytes() != data:
            problems.append(
                Problem(f"{rel_name}/{rel}", f"out of date with {src_name}/{rel}; {fix}")
            )
    for rel in _stale_files(release_dir, expected):
        problems.append(Problem(f"{rel_name}/{rel}", f"not generated from {src_name}/; {fix}"))
    for rel in sorted(r for r in expected if r.endswith(".ipynb")):
        target = release_dir / rel
        if not target.is_file():
            continue
        try:
            learner = _reads(target.read_bytes())
        except (OSError, ValueError) as exc:
            problems.append(Problem(f"{rel_name}/{rel}", f"cannot be read as a notebook: {exc}"))
            continue
        source = _reads((source_dir / rel).read_bytes())
        problems.extend(find_leaks(source, learner, f"{rel_name}/{rel}"))
    return problems
