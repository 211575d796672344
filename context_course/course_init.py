"""``context-course init``: a course folder for a real class, from the course that ships here.

The folder it makes is self-contained and safe to put under version control::

    course.toml        the shipped course's id, name, version and level policy; the issuer
                       and the gradebook database to fill in (with comments)
    solutions/         the instructor notebooks (copied: edit them, then `release`)
    exercises/         the learner notebooks generated from them
    submissions/       where learners' zips go (never committed)
    .gitignore         keeps rosters, submissions, gradebooks, keys and output out of git
    NEXT-STEPS.md      what to do next, in order

It refuses to touch a folder that already holds a course or any of these names, and it
builds everything in a staging folder first, so a failure leaves nothing half-written.
(Belongs with the product package's CLI helpers after the restructure.)
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from context_course.demo import _toml_value
from context_course.errors import ContextCourseError
from context_course.workspace import shipped_course_root
from grader.pipeline.config import COURSE_FILE, Course, CourseConfigError, load_course

__all__ = ["GITIGNORE", "CourseInitError", "InitResult", "init_course"]

#: What a course folder keeps out of git: learners' data, grades and secrets.
GITIGNORE = """\
# Learners' personal data, their work, grades and the issuer's secrets never go into git.
# (Written by `context-course init`; keep these lines when you edit this file.)
roster*.csv
*roster*.csv
submissions/
submitted/
autograded/
feedback/
output/
gradebook*.db
gradebook*.db-*
*.sqlite
issuer-keys/
keys.json
*.key
*.zip
.cache/
.ipynb_checkpoints/
__pycache__/
"""

NEXT_STEPS = """\
# Next steps

1. Edit `course.toml`: set `issuer_id` (the https URL where you will publish
   `issuer.json`) and `issuer_name` under `[certificates]`, and `db_url` under `[grader]`
   if the gradebook should live on PostgreSQL rather than in `gradebook.db` here.
2. Put this folder under version control if you like (`git init`): `.gitignore` already
   keeps rosters, submissions, gradebooks, keys and output out of it. The solutions are
   in it, so keep such a repository private.
3. Build the learner package and hand it to your learners:
   `context-course release` (writes `exercises/` and a wheel into `dist/`).
4. Import the roster: `context-course roster import roster.csv`
   (columns id,first_name,last_name,email).
5. Collect the learners' zips in `submissions/`, then:
   `context-course grade submissions/` → `context-course report` →
   `context-course certify --all`.
6. Back up the issuer keys (`context-course keys init` creates them; they live outside
   this folder) and publish `output/certificates/issuer.json` and `revocations.json`
   at your issuer URL.
"""

_MADE = (COURSE_FILE, "solutions", "exercises", "submissions", ".gitignore", "NEXT-STEPS.md")


class CourseInitError(ContextCourseError):
    """The course folder cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class InitResult:
    """What :func:`init_course` made."""

    root: Path
    notebooks: list[str]


def _shipped(source: Path | None) -> Course:
    root = source or shipped_course_root()
    if root is None:
        raise CourseInitError(
            "this installation ships no course to start from (a wheel never carries the "
            "instructor notebooks): in a clone of the course repository, pip install -e "
            "'.[instructor]', or pass --from DIR (a course folder with solutions/)"
        )
    try:
        course = load_course(root)
    except CourseConfigError as exc:
        raise CourseInitError(str(exc)) from None
    if not course.source_dir.is_dir():
        raise CourseInitError(
            f"{root} has no instructor notebooks ({course.source_dir.name}/): a learner "
            "package cannot start a class; use the course repository or an instructor install"
        )
    return course


def course_toml(shipped: Course) -> str:
    """The new course's ``course.toml``: the shipped course's identity, settings to fill in."""
    section = shipped.raw.get("certificates", {})
    levels = section.get("levels") if isinstance(section, Mapping) else None
    lines = [
        "# Your course's settings. Instructor commands find this file in the current folder",
        "# (or a parent), or take --course DIR. Lines marked FILL IN are yours to set.",
        "",
        "[course]",
        f"id = {_toml_value(shipped.id)}  # recorded in gradebook, credentials and submissions",
        f"name = {_toml_value(shipped.name)}",
        f"version = {_toml_value(shipped.version)}  # bump it when you change the notebooks",
        'source = "solutions"               # instructor notebooks (nbgrader source format)',
        'release = "exercises"              # learner notebooks, made by `context-course release`',
        "",
        "[grader]",
        "# FILL IN if you want PostgreSQL: postgresql+psycopg://USER@HOST/DB (several graders",
        "# can then write at once). The default is a SQLite file in this folder (git-ignored).",
        'db_url = "sqlite:///gradebook.db"',
        "workers = 0                        # 0 = number of CPUs",
        "cell_timeout = 30                  # seconds per cell (interrupt, then kill)",
        "notebook_timeout = 300             # seconds per notebook",
        'output = "output"                  # feedback, certificates, grades.csv, report.html',
        'scheduler = ""                     # tcp://HOST:8786 to grade on a Dask cluster',
        "second_run = true                  # run twice (two hash seeds); differing parts score 0",
        "hidden_check_names = true          # feedback names failed hidden checks by label",
        "",
        "[certificates]",
        "# FILL IN: the https URL where you will publish issuer.json and revocations.json,",
        "# and the name learners and verifiers see on every certificate.",
        'issuer_id = "https://courses.example.org/context-course/issuer"',
        'issuer_name = "Your institution"',
        'key_dir = ""                       # empty = $XDG_CONFIG_HOME/context-course/issuer',
    ]
    if isinstance(levels, Mapping):
        lines += [
            "",
            "# Level policy, as shipped. Bump `version` whenever you change a rule.",
            "[certificates.levels]",
        ]
        lines += [f"{key} = {_toml_value(value)}" for key, value in levels.items()]
    return "\n".join(lines) + "\n"


def _existing(target: Path) -> list[str]:
    return [name for name in _MADE if (target / name).exists() or (target / name).is_symlink()]


def _stage(shipped: Course, staging: Path) -> list[str]:
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", ".*")
    shutil.copytree(shipped.source_dir, staging / "solutions", ignore=ignore, symlinks=False)
    if shipped.release_dir.is_dir():
        shutil.copytree(shipped.release_dir, staging / "exercises", ignore=ignore, symlinks=False)
    else:
        (staging / "exercises").mkdir()
    (staging / "submissions").mkdir()
    (staging / COURSE_FILE).write_text(course_toml(shipped), encoding="utf-8")
    (staging / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    (staging / "NEXT-STEPS.md").write_text(NEXT_STEPS, encoding="utf-8")
    load_course(staging)  # what we wrote must read back as a course
    return sorted(p.parent.name for p in (staging / "solutions").glob("*/*.ipynb"))


def init_course(target: Path, *, source: Path | None = None) -> InitResult:
    """Make a course folder for a real class at ``target`` (see the module docstring).

    ``source`` is the course to start from (default: the one shipped with this code).
    Raises :class:`CourseInitError` (nothing written) if ``target`` already holds a
    course or any name this would create, or the shipped course has no solutions.
    """
    target = Path(target).absolute()
    shipped = _shipped(source)
    if target.exists() and not target.is_dir():
        raise CourseInitError(f"{target} exists and is not a folder")
    if (target / COURSE_FILE).exists():
        raise CourseInitError(
            f"{target} already holds a course ({COURSE_FILE}); nothing was changed"
        )
    clashes = _existing(target)
    if clashes:
        raise CourseInitError(
            f"{target} already has {', '.join(clashes)}; choose an empty or new folder "
            "(nothing was changed)"
        )
    try:
        created = not target.exists()
        target.parent.mkdir(parents=True, exist_ok=True)
        # Staged next to where it goes (same filesystem: the final renames are atomic).
        where = target.parent if created else target
        staging = Path(tempfile.mkdtemp(prefix=".context-course-init-", dir=where))
    except OSError as exc:
        raise CourseInitError(f"cannot create {target}: {exc.strerror or exc}") from None
    moved: list[Path] = []
    try:
        notebooks = _stage(shipped, staging)
        if created:
            staging.rename(target)
        else:
            for name in _MADE:
                (staging / name).rename(target / name)
                moved.append(target / name)
            staging.rmdir()
    except (OSError, CourseConfigError) as exc:
        for path in moved:
            with contextlib.suppress(OSError):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        shutil.rmtree(staging, ignore_errors=True)
        raise CourseInitError(f"cannot create the course in {target}: {exc}") from None
    return InitResult(root=target, notebooks=notebooks)
