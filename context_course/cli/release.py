"""``context-course release``: generate the learner notebooks, or check that they are current."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from context_course.cli.app import UserError, app
from context_course.learner_wheel import build_learner_wheel, project_root
from grader.authoring.release import ReleaseError, check_release, write_release
from grader.pipeline.config import Course, load_course

__all__ = ["authoring_audit", "authoring_warnings", "release"]


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _authoring_function(name: str) -> Callable[[Path], Any] | None:
    """``grader.authoring.<name>`` if that module is installed and has it, else ``None``."""
    try:
        module = importlib.import_module("grader.authoring.lint")
    except ModuleNotFoundError as exc:
        if exc.name == "grader.authoring.lint":
            return None
        raise
    function = getattr(module, name, None)
    return function if callable(function) else None


def authoring_audit(source_dir: Path) -> tuple[list[str], list[str]] | None:
    """``(trap report, warnings)`` for every source notebook, or ``None`` when no linter
    exists. The trap report says which hidden checks carry which trap (empty when the
    installed linter has no trap report)."""
    audit = _authoring_function("audit_source")
    lint = _authoring_function("lint_source")
    if audit is None and lint is None:
        return None
    traps: list[str] = []
    warnings: list[str] = []
    for path in sorted(source_dir.glob("*/*.ipynb")):
        if audit is not None:
            found = audit(path)
            traps.extend(str(line) for line in found.traps)
            warnings.extend(str(item) for item in found.warnings)
        elif lint is not None:
            warnings.extend(str(item) for item in lint(path))
    return traps, warnings


def authoring_warnings(source_dir: Path) -> list[str] | None:
    """Authoring warnings for every source notebook, or ``None`` when no linter exists."""
    audited = authoring_audit(source_dir)
    return None if audited is None else audited[1]


@app.command()
def release(
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Change nothing; exit 1 listing every problem if the learner notebooks are "
            "out of date or leak solution or hidden-test text. Also runs the authoring "
            "checks: which hidden checks carry which trap (each must cost at least 10 "
            "points) and parts a constant answer would pass.",
        ),
    ] = False,
    course: Annotated[
        Path | None,
        typer.Option(
            "--course",
            help="Course folder (holding course.toml); default: found from the current folder.",
            file_okay=False,
        ),
    ] = None,
    wheel_dir: Annotated[
        Path | None,
        typer.Option(
            "--wheel-dir",
            help="Folder for the learner package (wheel); default: dist/ in the course folder.",
            file_okay=False,
        ),
    ] = None,
    no_wheel: Annotated[
        bool,
        typer.Option("--no-wheel", help="Only regenerate the learner notebooks; build no wheel."),
    ] = False,
) -> None:
    """Generate the learner notebooks (exercises/) and the learner package (a wheel).

    Solutions become `# YOUR CODE HERE` stubs, hidden tests disappear, outputs are
    cleared; unchanged notebooks are left byte-for-byte as they were. Then the learner
    package is built into dist/ (or --wheel-dir): the library, the learner tools, course.toml
    and the learner notebooks, and nothing that gives an answer away (it is checked before
    it is written). Learners `pip install` it and run `context-course lab`. `--check`
    changes nothing and builds no wheel (what CI runs).

    Example: `context-course release --wheel-dir /tmp/wheels`
    """
    if check and (wheel_dir is not None or no_wheel):
        raise UserError("--check builds no wheel; drop --wheel-dir/--no-wheel")
    if wheel_dir is not None and no_wheel:
        raise UserError("--wheel-dir and --no-wheel contradict each other; choose one")
    loaded = load_course(course)
    try:
        if check:
            _check(loaded)
        else:
            _release(loaded)
            if not no_wheel:
                _wheel(loaded, wheel_dir)
    except ReleaseError as exc:
        raise UserError(str(exc), exit_code=1) from None


def _wheel(course: Course, wheel_dir: Path | None) -> None:
    if wheel_dir is None and project_root() is None:
        typer.echo(
            "note: learner package not built: this installation of context-course is not a "
            "source checkout (pass --no-wheel to silence this)",
            err=True,
        )
        return
    target = wheel_dir if wheel_dir is not None else course.root / "dist"
    wheel = build_learner_wheel(course, target)
    typer.echo(
        f"wrote {_shown(wheel, course.root)}: the learner package "
        f"(learners: pip install {wheel.name}, then context-course lab)"
    )


def _release(course: Course) -> None:
    report = write_release(course.source_dir, course.release_dir)
    shown = _shown(course.release_dir, course.root)
    for rel in report.written:
        typer.echo(f"wrote {shown}/{rel}")
    for rel in report.removed:
        typer.echo(f"removed {shown}/{rel} (no source produces it any more)")
    typer.echo(
        f"{shown}/: {len(report.written)} written, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} removed"
    )


def _check(course: Course) -> None:
    source = _shown(course.source_dir, course.root)
    target = _shown(course.release_dir, course.root)
    problems = check_release(
        course.source_dir, course.release_dir, display_source=source, display_release=target
    )
    audited = authoring_audit(course.source_dir)
    if audited is None:
        typer.echo("note: authoring checks skipped (grader.authoring.lint is not available)")
    else:
        traps, warnings = audited
        for line in traps:
            typer.echo(f"trap: {line}")
        for warning in warnings:
            typer.echo(f"warning: {warning}")
    for problem in problems:
        typer.echo(f"error: {problem}", err=True)
    if problems:
        typer.echo(
            f"{len(problems)} problem(s) with {target}/; fix the sources, then run "
            "`context-course release`",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"{target}/ is up to date with {source}/ and leaks nothing")
