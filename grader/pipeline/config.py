"""``course.toml``: the one file that configures a course.

Every package reads its own section from :attr:`Course.raw`; the ``[course]`` and
``[grader]`` sections are typed here. Instructor commands find ``course.toml`` in the
current folder or a parent (or take ``--course DIR``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.core.errors import GraderError

COURSE_FILE = "course.toml"


class CourseConfigError(GraderError):
    """``course.toml`` is missing or invalid; the message says what to fix."""


@dataclass(frozen=True)
class GraderSettings:
    db_url: str = "sqlite:///gradebook.db"
    workers: int = 0  # 0 = os.cpu_count()
    cell_timeout: float = 30.0
    notebook_timeout: float = 300.0
    output: str = "output"
    scheduler: str = ""
    #: Run each notebook a second time with another hash seed; a part whose checks see
    #: different results scores nothing (costs a second run of the learner's notebook).
    second_run: bool = True
    #: Feedback names each failed hidden check by its label (the behaviour it tests);
    #: false: only "3 of 5 hidden checks passed".
    hidden_check_names: bool = True

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1


@dataclass(frozen=True)
class Course:
    root: Path
    raw: dict[str, Any]
    id: str
    name: str
    version: str
    source_dir: Path
    release_dir: Path
    grader: GraderSettings

    @property
    def output_dir(self) -> Path:
        return self.root / self.grader.output

    def db_url(self, override: str | None = None) -> str:
        """The gradebook URL; a relative SQLite path is relative to the course folder."""
        url = override or self.grader.db_url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/"):
            return prefix + str(self.root / url[len(prefix) :])
        return url


def find_course_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding ``course.toml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / COURSE_FILE).is_file():
            return folder
    raise CourseConfigError(
        f"no {COURSE_FILE} in {here} or any parent folder; run this inside a course folder "
        "or pass --course DIR"
    )


def load_course(course_dir: Path | None = None) -> Course:
    """Load ``course.toml`` from ``course_dir`` (or find it from the current folder)."""
    root = find_course_root() if course_dir is None else Path(course_dir).resolve()
    path = root / COURSE_FILE
    if not path.is_file():
        raise CourseConfigError(f"{path} does not exist; is {root} a course folder?")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CourseConfigError(f"{path} is not valid TOML: {exc}") from None
    course = raw.get("course", {})
    grader = raw.get("grader", {})
    flags: dict[str, bool] = {}
    for flag in ("second_run", "hidden_check_names"):
        value = grader.get(flag, getattr(GraderSettings, flag))
        if not isinstance(value, bool):
            raise CourseConfigError(f"{path}: [grader] {flag} must be true or false")
        flags[flag] = value
    try:
        settings = GraderSettings(
            db_url=str(grader.get("db_url", GraderSettings.db_url)),
            workers=int(grader.get("workers", 0)),
            cell_timeout=float(grader.get("cell_timeout", GraderSettings.cell_timeout)),
            notebook_timeout=float(grader.get("notebook_timeout", GraderSettings.notebook_timeout)),
            output=str(grader.get("output", GraderSettings.output)),
            scheduler=str(grader.get("scheduler", "")),
            **flags,
        )
    except (TypeError, ValueError) as exc:
        raise CourseConfigError(f"{path}: bad value in [grader]: {exc}") from None
    return Course(
        root=root,
        raw=raw,
        id=str(course.get("id", "context-course")),
        name=str(course.get("name", "Context.py Mastery")),
        version=str(course.get("version", "0")),
        source_dir=root / str(course.get("source", "solutions")),
        release_dir=root / str(course.get("release", "exercises")),
        grader=settings,
    )
