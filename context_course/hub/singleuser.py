"""A learner's server on the course hub: fetch the course's notebooks, then serve.

JupyterHub starts ``python -m context_course.hub.singleuser [ARGS]`` instead of
``jupyterhub-singleuser [ARGS]`` (``hub up`` configures it). Before the server starts, the
course's learner notebooks are synced into the learner's home folder exactly as
``context-course lab`` does (new notebooks are added, untouched ones updated, and a
notebook the learner has worked on is never overwritten), and the server gets the same
Jupyter settings as ``lab`` (nbgrader's instructor UI switched off).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from context_course.workspace import (
    STATE_DIR,
    WorkspaceError,
    lab_environment,
    locate_release,
    sync_workspace,
    write_lab_config,
)

__all__ = ["main", "prepare_workspace"]


def prepare_workspace(home: Path, release_source: Path) -> list[str]:
    """Sync the release into ``home``; the notebooks kept because the learner edited them."""
    report = sync_workspace(home, locate_release(release_source))
    return list(report.upstream_changed)


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - replaced by exec
    args = sys.argv[1:] if argv is None else argv
    source = os.environ.get("CONTEXT_COURSE_RELEASE", "")
    if source:
        try:
            kept = prepare_workspace(Path.cwd(), Path(source))
        except WorkspaceError as exc:
            print(f"context-course: could not fetch the course notebooks: {exc}", file=sys.stderr)
        else:
            for slug in kept:
                print(f"context-course: kept your edited {slug}", file=sys.stderr)
    # the learner's lab, as `context-course lab` makes it: nbgrader's instructor UI off
    config = write_lab_config(Path.cwd() / STATE_DIR / "jupyter-config")
    env = lab_environment(config)
    server = Path(sys.executable).parent / "jupyterhub-singleuser"
    extra = ["--allow-root"] if os.geteuid() == 0 else []  # containers and CI run as root
    os.execve(str(server), [str(server), *args, *extra], env)


if __name__ == "__main__":  # pragma: no cover
    main()
