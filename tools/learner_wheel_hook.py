"""Hatch build hook: put the learner course inside the wheel, making it the learner package.

Off by default (``enable-by-default = false`` in pyproject.toml), so ``pip install -e .``
and ordinary builds of the instructor repository are unaffected. ``context-course
release`` switches it on for one wheel build with hatch's own switch,
``HATCH_BUILD_HOOK_ENABLE_CUSTOM=true``, and names the course folder in
``CONTEXT_COURSE_LEARNER_COURSE`` (default: the project root). The wheel then carries::

    context_course/_course/course.toml
    context_course/_course/<release folder>/<slug>/<slug>.ipynb   (and the assignment's other files)

which is where ``context_course.workspace.shipped_course_root`` looks. Only the course's learner
release is added (never its source notebooks), and the build stops if any added file
still holds an nbgrader solution or hidden-test region.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

COURSE_ENV = "CONTEXT_COURSE_LEARNER_COURSE"
SHIPPED = PurePosixPath("context_course/_course")
_MARKERS = (b"BEGIN SOLUTION", b"END SOLUTION", b"BEGIN HIDDEN TESTS", b"END HIDDEN TESTS")
_SKIPPED = {".ipynb_checkpoints", "__pycache__"}


class LearnerCourseError(Exception):
    """The course cannot go into a learner package; the message says why."""


def _release_folder(course: Path) -> PurePosixPath:
    try:
        with (course / "course.toml").open("rb") as handle:
            config = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LearnerCourseError(f"cannot read {course / 'course.toml'}: {exc}") from None
    section = config.get("course", {})
    name = section.get("release", "exercises") if isinstance(section, dict) else "exercises"
    release = PurePosixPath(str(name))
    if release.is_absolute() or ".." in release.parts or not release.parts:
        raise LearnerCourseError(
            f"course.toml's release folder {name!r} must be a folder inside the course"
        )
    return release


def learner_course_files(course: Path) -> dict[str, str]:
    """``{file on disk: path in the wheel}`` for the course's learner release.

    Holds ``course.toml`` and every file of every ``<release>/<slug>/`` folder (hidden
    files, checkpoints and caches left out). Raises :class:`LearnerCourseError` if the
    release has no notebook or a file still holds a solution or hidden-test region.
    """
    course = course.resolve()
    release = _release_folder(course)
    folder = course / release
    files = {str(course / "course.toml"): str(SHIPPED / "course.toml")}
    notebooks = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED and not d.startswith("."))
        relative = here.relative_to(folder)
        for name in sorted(filenames):
            path = here / name
            if name.startswith(".") or not relative.parts or path.is_symlink():
                continue  # loose files at the top of the release are not assignments
            data = path.read_bytes()
            marker = next((m for m in _MARKERS if m in data), None)
            if marker is not None:
                raise LearnerCourseError(
                    f"{path} holds {marker.decode()!r}: the learner release leaks a solution "
                    "or hidden test; run `context-course release` and check it"
                )
            notebooks += name.endswith(".ipynb")
            files[str(path)] = str(SHIPPED / release / relative.as_posix() / name)
    if notebooks == 0:
        raise LearnerCourseError(
            f"{folder} holds no learner notebooks; run `context-course release` first"
        )
    return files


class LearnerCourseHook(BuildHookInterface):  # type: ignore[type-arg]
    """Adds the learner course to a standard (non-editable) wheel when enabled."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Force-include the course files (see the module docstring)."""
        if self.target_name != "wheel" or version == "editable":
            return
        course = Path(os.environ.get(COURSE_ENV) or self.root)
        build_data["force_include"].update(learner_course_files(course))
