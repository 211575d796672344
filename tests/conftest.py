"""Fixtures shared by the whole suite: real servers started on free loopback ports.

Tests that need a system binary (redis-server, PostgreSQL, Chromium) skip with a loud
reason when it is missing on a developer machine; in CI (``CONTEXT_COURSE_REQUIRE_SERVICES=1``,
set by ``.ci/run``) a missing binary fails the test instead, so nothing is silently skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# nbgrader runs helper programs (alembic) from PATH: use this environment's, as the CLI does.
_SCRIPTS = os.path.dirname(sys.executable)
if _SCRIPTS not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _SCRIPTS + os.pathsep + os.environ.get("PATH", "")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_binary(name: str, *candidates: str) -> str:
    """Path of a system binary; skip (locally) or fail (CI) when it is missing."""
    for candidate in (name, *candidates):
        found = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
        if found:
            return found
    message = f"{name} is not installed (CI installs it with apt; see .ci/run)"
    if os.environ.get("CONTEXT_COURSE_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(f"SKIPPED LOUDLY: {message}")


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered on 127.0.0.1:{port} within {timeout} s")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port, for the whole session."""
    binary = require_binary("redis-server", "/usr/bin/redis-server")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_until_postgres_accepts(port: int, timeout: float = 60.0) -> None:
    """The port opens before PostgreSQL accepts sessions ("the database system is starting up")."""
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(
                host="127.0.0.1", port=port, user="grader", dbname="postgres"
            ) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server (initdb + postgres) on a free loopback port, for the session.

    Runs as an unprivileged user when the tests run as root (PostgreSQL refuses root).
    """
    bindir = Path("/usr/lib/postgresql")
    versions = sorted(bindir.glob("*/bin/initdb")) if bindir.is_dir() else []
    initdb = require_binary("initdb", *(str(v) for v in versions))
    postgres = str(Path(initdb).with_name("postgres"))
    # Not under pytest's tmp folder: that is private to root, and PostgreSQL runs as
    # another user when the tests run as root.
    datadir = Path(tempfile.mkdtemp(prefix="context-course-pg-"))
    port = free_port()
    run_as: list[str] = []
    if os.geteuid() == 0:
        import pwd

        user = "postgres"
        try:
            pwd.getpwnam(user)
        except KeyError:
            pytest.fail("running as root needs the 'postgres' system user (apt's postgresql)")
        shutil.chown(datadir, user)
        run_as = ["runuser", "-u", user, "--"]
    subprocess.run(
        [*run_as, initdb, "-D", str(datadir), "-U", "grader", "--auth=trust", "-E", "UTF8"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    proc = subprocess.Popen(
        [
            *run_as,
            postgres,
            "-D",
            str(datadir),
            "-p",
            str(port),
            "-k",
            str(datadir),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        _wait_until_postgres_accepts(port)
        yield f"postgresql+psycopg://grader@127.0.0.1:{port}/postgres"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(datadir, ignore_errors=True)
