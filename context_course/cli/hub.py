"""``context-course hub up | passwords``: the course hub on one machine."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from context_course.cli.app import UserError, app
from context_course.cli.grading import CourseOption

if TYPE_CHECKING:
    from grader.pipeline.config import Course

__all__ = ["hub_passwords", "hub_up"]

hub_app = typer.Typer(
    help="Run the course on JupyterHub: learners log in, submit from the notebook and get "
    "feedback and certificates back.",
    no_args_is_help=True,
)
app.add_typer(hub_app, name="hub")


def _course(course: Path | None) -> Course:
    from grader.pipeline.config import load_course

    return load_course(course)


@hub_app.command("up")
def hub_up(
    port: Annotated[
        int, typer.Option("--port", help="Port of the hub (the URL you share).")
    ] = 8000,
    instructor: Annotated[
        list[str] | None,
        typer.Option("--instructor", help="Hub user name of an instructor (repeatable)."),
    ] = None,
    course: CourseOption = None,
) -> None:
    """Start JupyterHub, its proxy and the course service for the roster's learners.

    Learners log in with the passwords in hub/initial-passwords.csv (give each learner
    theirs); the instructor sees the class dashboard at /services/course/instructor.
    Ctrl+C stops everything it started.

    Example: `context-course hub up --port 8000 --instructor grace`
    """
    from context_course.hub.launch import plan_hub, start_hub

    plan = plan_hub(
        _course(course),
        port=port,
        service_port=port + 2101,
        hub_api_port=port + 81,
        proxy_api_port=port + 1,
        instructors=tuple(instructor or ["instructor"]),
    )
    typer.echo(f"starting JupyterHub for {len(plan.learners)} learners …")
    running = start_hub(plan)
    typer.echo(f"hub:        {plan.url}")
    typer.echo(f"course:     {plan.service_url}")
    typer.echo(f"passwords:  {plan.state_dir / 'initial-passwords.csv'} (hand each one out)")
    typer.echo("Ctrl+C stops the hub, the proxy and the course service")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        running.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()


@hub_app.command("passwords")
def hub_passwords(
    reset: Annotated[
        list[str] | None, typer.Option("--reset", help="Issue a new password to this user.")
    ] = None,
    course: CourseOption = None,
) -> None:
    """Issue passwords to roster learners who have none (or --reset ID), for the hub login.

    New passwords are printed once and added to hub/initial-passwords.csv.

    Example: `context-course hub passwords --reset ada`
    """
    from context_course.hub.auth import issue_passwords
    from context_course.hub.launch import plan_hub

    plan = plan_hub(_course(course))
    plan.state_dir.mkdir(parents=True, exist_ok=True)
    if reset:
        unknown = sorted(set(reset) - set(plan.learners) - set(plan.instructors))
        if unknown:
            raise UserError(f"{unknown[0]} is not on the roster")
        issued = issue_passwords(plan.state_dir, list(reset), reset=True)
    else:
        issued = issue_passwords(plan.state_dir, [*plan.learners, *plan.instructors])
    for user, password in sorted(issued.items()):
        typer.echo(f"{user}: {password}")
    if not issued:
        typer.echo("everyone already has a password (use --reset ID to issue a new one)")
