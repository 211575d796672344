"""The learner package: one wheel with the library, the learner tools and the learner notebooks.

A learner never needs the instructor's repository. :func:`build_learner_wheel` builds the
``context-course`` wheel from this source checkout with the learner build hook switched on
(``tools/learner_wheel_hook.py``, off for every other build), so that the course's
``course.toml`` and learner release ride along as package data in ``context_course/_course/``, where
:func:`context_course.workspace.shipped_course_root` finds them after ``pip install``. The wheel is
then audited (:func:`audit_wheel`) and only moved into place when nothing in it gives an
answer away: no source notebook, no solution or hidden-test region, no line that only the
sources' solution or hidden-test regions hold, no tests, no reference values.

>>> build_learner_wheel(load_course(Path(".")), Path("dist"))  # doctest: +SKIP
PosixPath('dist/context_course-0.1.0-py3-none-any.whl')
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import nbformat

from grader.authoring.release import (
    HIDDEN_TESTS,
    SOLUTION,
    Problem,
    ReleaseError,
    find_assignments,
    secret_lines,
)
from grader.pipeline.config import Course

__all__ = [
    "COURSE_ENV",
    "HOOK_SWITCH",
    "SHIPPED_COURSE",
    "audit_wheel",
    "build_learner_wheel",
    "project_root",
]

#: hatch's own switch for the (off by default) learner hook, named ``custom`` in pyproject.
HOOK_SWITCH = "HATCH_BUILD_HOOK_ENABLE_CUSTOM"
#: Tells the hook which course folder to ship (default: the project root).
COURSE_ENV = "CONTEXT_COURSE_LEARNER_COURSE"
#: Where the course sits inside the wheel (see ``shipped_course_root``).
SHIPPED_COURSE = PurePosixPath("context_course/_course")

_PACKAGES = ("certificates", "context_course", "context_lib", "grader", "scoring")
_MARKERS = tuple(f"### {begin}".encode() for begin, _end in (SOLUTION, HIDDEN_TESTS))
#: Folder names whose content must never reach a learner (sources, tests, grading state).
_NEVER = frozenset({"solutions", "tests", ".cache", "autograded", "submitted", "feedback"})
_BUILD = "import sys; from hatchling.build import build_wheel; print(build_wheel(sys.argv[1]))"
_LAST_ERROR = re.compile(r"^(?:[\w.]+(?:Error|Exception)): (?P<message>.+)$")
_BUILD_TIMEOUT = 300.0


def project_root() -> Path | None:
    """The source checkout this code runs from (``pyproject.toml`` next to ``grader/``)."""
    root = Path(__file__).resolve().parent.parent
    pyproject = root / "pyproject.toml"
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return None
    return root if re.search(r'(?m)^name\s*=\s*"context-course"', text) else None


def _build_error(stderr: str, code: int) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        match = _LAST_ERROR.match(line)
        if match:
            return match.group("message")
    return lines[-1] if lines else f"the build exited with code {code}"


def build_learner_wheel(course: Course, wheel_dir: Path, *, project: Path | None = None) -> Path:
    """Build, audit and write the learner wheel for ``course`` into ``wheel_dir``.

    ``project`` is the context-course source checkout to build (default:
    :func:`project_root`). The wheel is built in a temporary folder and moved into
    ``wheel_dir`` (replacing a wheel of the same name) only if :func:`audit_wheel` finds
    nothing; otherwise, or if the build fails, :class:`~grader.authoring.release.ReleaseError` says
    why and ``wheel_dir`` is left as it was. Returns the wheel's path.
    """
    project = project or project_root()
    if project is None:
        raise ReleaseError(
            "the learner package is built from a source checkout of context-course "
            "(pyproject.toml next to grader/); this installation has none"
        )
    if importlib.util.find_spec("hatchling") is None:
        raise ReleaseError(
            "building the learner package needs hatchling: pip install 'hatchling>=1.25' "
            "(it comes with context-course[dev]), or pass --no-wheel"
        )
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env[HOOK_SWITCH] = "true"
    env[COURSE_ENV] = str(course.root.resolve())
    wheel_dir = Path(wheel_dir)
    with tempfile.TemporaryDirectory(prefix="context-course-wheel-") as tmp:
        try:
            done = subprocess.run(
                [sys.executable, "-c", _BUILD, tmp],
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
                timeout=_BUILD_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ReleaseError(
                f"building the learner package took over {_BUILD_TIMEOUT:.0f} s"
            ) from None
        if done.returncode != 0:
            reason = _build_error(done.stderr, done.returncode)
            raise ReleaseError(f"cannot build the learner package: {reason}")
        name = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        built = Path(tmp) / name
        if not name or not built.is_file():
            raise ReleaseError("cannot build the learner package: hatchling wrote no wheel")
        problems = audit_wheel(built, course)
        if problems:
            listed = "; ".join(str(p) for p in problems[:5])
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            raise ReleaseError(f"the learner package would give answers away: {listed}{more}")
        wheel_dir.mkdir(parents=True, exist_ok=True)
        staged = wheel_dir / f".{name}.tmp"
        staged.write_bytes(built.read_bytes())
        target = wheel_dir / name
        os.replace(staged, target)
    return target


def _text_lines(name: str, data: bytes) -> set[str]:
    """The stripped lines of a course file; of a notebook, the lines of its cells."""
    text = data.decode("utf-8", errors="replace")
    if name.endswith(".ipynb"):
        try:
            cells = json.loads(text).get("cells", [])
        except (ValueError, AttributeError):
            return {line.strip() for line in text.splitlines()}
        lines: set[str] = set()
        for cell in cells if isinstance(cells, list) else []:
            source = cell.get("source", "") if isinstance(cell, dict) else ""
            joined = "".join(source) if isinstance(source, list) else str(source)
            lines.update(line.strip() for line in joined.splitlines())
        return lines
    return {line.strip() for line in text.splitlines()}


def _course_secrets(course: Course) -> dict[str, set[str]]:
    """Per assignment slug, the lines only its sources' solution/hidden regions hold."""
    secrets: dict[str, set[str]] = {}
    for slug in find_assignments(course.source_dir):
        found = secrets.setdefault(slug, set())
        for path in sorted((course.source_dir / slug).glob("*.ipynb")):
            found |= secret_lines(nbformat.read(path, as_version=4))  # type: ignore[no-untyped-call]
    return secrets


def audit_wheel(wheel: Path, course: Course) -> list[Problem]:
    """Everything wrong with ``wheel`` as the learner package of ``course``.

    Reported: a missing package, ``course.toml`` or learner notebook (one per source
    notebook); a file outside the three packages; a path through a source, test or
    grading-state folder, or a notebook outside ``context_course/_course``; any file holding an
    nbgrader solution or hidden-test marker; and any course file holding a line that only
    its own sources' solution or hidden-test regions hold (library code is not compared:
    it *is* the reference the course teaches). An empty list means it may ship.
    """
    shown = Path(wheel).name
    try:
        release = course.release_dir.relative_to(course.root).as_posix()
    except ValueError:  # a release folder outside the course cannot be shipped as configured
        return [Problem(shown, f"the release folder {course.release_dir} is outside the course")]
    shipped_release = f"{SHIPPED_COURSE}/{release}/"
    never = _NEVER | {course.source_dir.name}
    secrets = _course_secrets(course)
    problems: list[Problem] = []
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        return [Problem(shown, f"is not a readable wheel: {exc}")]
    with archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        required = [f"{package}/__init__.py" for package in _PACKAGES]
        required.append(f"{SHIPPED_COURSE}/course.toml")
        required += [
            f"{shipped_release}{path.relative_to(course.source_dir).as_posix()}"
            for slug in find_assignments(course.source_dir)
            for path in sorted((course.source_dir / slug).glob("*.ipynb"))
        ]
        problems += [Problem(shown, f"lacks {name}") for name in required if name not in names]
        for name in names:
            parts = PurePosixPath(name).parts
            if parts[0] not in _PACKAGES and not parts[0].endswith(".dist-info"):
                problems.append(Problem(shown, f"holds {name}, outside the packages"))
            if never & set(parts[:-1]):
                problems.append(Problem(shown, f"holds {name}, from a folder no learner gets"))
            if name.endswith(".ipynb") and not name.startswith(shipped_release):
                problems.append(Problem(shown, f"holds the notebook {name} outside the course"))
            data = archive.read(name)
            for marker in _MARKERS:
                if marker in data:
                    problems.append(Problem(shown, f"{name} holds {marker.decode()!r}"))
            if name.startswith(f"{SHIPPED_COURSE}/"):
                slug = name[len(shipped_release) :].split("/")[0]
                if name.startswith(shipped_release) and slug in secrets:
                    own = secrets[slug]  # other notebooks may show the same line legitimately
                else:
                    own = set().union(*secrets.values())
                leaked = sorted(_text_lines(name, data) & own)
                if leaked:
                    problems.append(
                        Problem(shown, f"{name} holds solution or hidden-test text: {leaked[0]!r}")
                    )
    return problems
