"""The same course and the same submissions, laid out for our grader and for nbgrader.

Shared by ``bench_grader.py`` and ``bench_cli.py``: both sides grade identical bytes.

- :func:`stage_submissions` writes nbgrader's ``submitted/<learner>/<slug>/<slug>.ipynb``
  layout (which ``context-course grade`` also reads): even learners hand in the
  instructor's solved notebooks, odd learners the untouched exercises.
- :class:`NbgraderCourse` is nbgrader's own course folder: ``source/`` from our solutions,
  ``generate_assignment`` run once into a template gradebook, and :meth:`fresh` before
  each graded run (a copy of that template; no ``autograded/`` or ``feedback/`` left).
- :class:`OurCourse` is a course folder with our ``course.toml``; :meth:`fresh` gives a new
  gradebook URL and an empty output folder. The reference-value cache
  (``.cache/grader``) is kept, as in real use, where it is computed once per source
  version; :meth:`prime` fills it before anything is timed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CONTEXT_COURSE = BIN / "context-course"
NBGRADER = BIN / "nbgrader"

__all__ = [
    "BIN",
    "CONTEXT_COURSE",
    "NBGRADER",
    "ROOT",
    "NbgraderCourse",
    "OurCourse",
    "slugs",
    "stage_submissions",
    "tool_env",
]


def slugs() -> list[str]:
    """The course's notebooks, in order (``01-basic-operations`` …)."""
    return sorted(p.parent.name for p in (ROOT / "solutions").glob("*/*.ipynb"))


def tool_env() -> dict[str, str]:
    """This environment's scripts first on PATH (nbgrader runs alembic from PATH)."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def stage_submissions(submitted: Path, learners: int, *, only: str | None = None) -> list[str]:
    """Write ``learners`` submissions of every notebook (or only ``only``) under
    ``submitted`` (a folder named ``submitted``); even learners solved, odd blank.
    Returns the learner ids."""
    ids = [f"learner{i:03d}" for i in range(learners)]
    for index, learner in enumerate(ids):
        origin = "solutions" if index % 2 == 0 else "exercises"
        for slug in slugs() if only is None else [only]:
            target = submitted / learner / slug / f"{slug}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / origin / slug / f"{slug}.ipynb", target)
    return ids


@dataclass
class NbgraderCourse:
    """nbgrader's course folder (``source/``, ``release/``, ``submitted/``, gradebook)."""

    root: Path

    @property
    def submitted(self) -> Path:
        return self.root / "submitted"

    @property
    def gradebook(self) -> Path:
        return self.root / "gradebook.db"

    @property
    def template(self) -> Path:
        return self.root.parent / f"{self.root.name}-template.db"

    def command(self, *args: str) -> list[str]:
        """An ``nbgrader`` command line for this course."""
        return [str(NBGRADER), *args, f"--CourseDirectory.root={self.root}", "--log-level=ERROR"]

    def create(self) -> NbgraderCourse:
        """Copy the sources and run ``generate_assignment`` once per notebook (untimed),
        keeping the resulting gradebook as the template every run starts from."""
        for slug in slugs():
            folder = self.root / "source" / slug
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / "solutions" / slug / f"{slug}.ipynb", folder / f"{slug}.ipynb")
        for slug in slugs():
            self.run("generate_assignment", slug, "--force")
        shutil.copyfile(self.gradebook, self.template)
        return self

    def clone(self, root: Path) -> NbgraderCourse:
        """Another course folder with the same sources, release and template gradebook
        (``generate_assignment`` is not run again)."""
        other = NbgraderCourse(root)
        for step in ("source", "release"):
            shutil.copytree(self.root / step, root / step, dirs_exist_ok=True)
        shutil.copyfile(self.template, other.template)
        return other

    def fresh(self) -> None:
        """A gradebook that has the assignments and no grades; no earlier output."""
        shutil.copyfile(self.template, self.gradebook)
        for step in ("autograded", "feedback"):
            shutil.rmtree(self.root / step, ignore_errors=True)

    def run(self, *args: str) -> None:
        done = subprocess.run(
            self.command(*args),
            cwd=self.root,
            env=tool_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"nbgrader {' '.join(args)} failed: {' | '.join(tail)}")


@dataclass
class OurCourse:
    """A course folder with this repository's ``course.toml``, sources and exercises."""

    root: Path
    runs: int = 0

    def create(self) -> OurCourse:
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "course.toml", self.root / "course.toml")
        for folder in ("solutions", "exercises"):
            shutil.copytree(ROOT / folder, self.root / folder, dirs_exist_ok=True)
        return self

    def clone(self, root: Path) -> OurCourse:
        """Another course folder with the same files and reference-value cache."""
        shutil.copytree(self.root, root, ignore=shutil.ignore_patterns("output", "gradebooks"))
        return OurCourse(root)

    def fresh(self) -> str:
        """A new, empty gradebook URL and no earlier output folder."""
        self.runs += 1
        shutil.rmtree(self.root / "output", ignore_errors=True)
        path = self.root / "gradebooks" / f"run{self.runs:03d}.db"
        path.parent.mkdir(exist_ok=True)
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"

    def grade_command(self, submissions: Path, *extra: str) -> list[str]:
        """``context-course grade`` of ``submissions`` into a fresh gradebook."""
        return [
            str(CONTEXT_COURSE),
            "grade",
            str(submissions),
            "--course",
            str(self.root),
            "--db",
            self.fresh(),
            *extra,
        ]

    def prime(self, submissions: Path) -> None:
        """Grade once, untimed, so the reference values of every source are cached."""
        done = subprocess.run(
            self.grade_command(submissions),
            env=tool_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"context-course grade failed: {' | '.join(tail)}")
