"""Fixtures shared by the whole suite: real servers started on free loopback ports.

Tests that need a system service or library (redis-server, PostgreSQL, Chromium,
bubblewrap, Pango for WeasyPrint, poppler-utils, fonts) ask :mod:`tests.services` (directly
or with the ``needs(...)`` marker): they skip with one line naming the apt package on a
developer machine; in CI (``CONTEXT_COURSE_REQUIRE_SERVICES=1``, set by ``.ci/run``) a
missing one fails the test instead, so nothing is silently skipped.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import require_binary, require_service

__all__ = ["free_port", "require_binary", "require_service", "wait_for_port"]

# nbgrader runs helper programs (alembic) from PATH: use this environment's, as the CLI does.
_SCRIPTS = os.path.dirname(sys.executable)
if _SCRIPTS not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _SCRIPTS + os.pathsep + os.environ.get("PATH", "")


def _port_block() -> range:
    """This pytest process's own block of ports, below the kernel's ephemeral range.

    ``bind(0)`` and every outgoing connection take ports from the ephemeral range, so a
    port found free there can be taken by anyone before our server binds it (CI lost a
    JupyterHub start to that). Below the range nothing takes a port on its own, and each
    xdist worker gets a block of its own, so two workers never pick the same one.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    first = 10000 if low > 12000 else 1024
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1), 1)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) if worker.isdigit() else 0
    size = max((low - first) // workers, 64)
    start = first + (index % workers) * size
    return range(start, start + size)


_PORTS = _port_block()
# a random place to start, so two test sessions on one machine rarely walk the same ports
_next_port = random.randrange(len(_PORTS))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now and that this test session
    hands out only once (see :func:`_port_block`)."""
    global _next_port
    for _ in range(len(_PORTS)):
        port = _PORTS[_next_port % len(_PORTS)]
        _next_port += 1
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken by something outside this session
            return port
    raise RuntimeError(f"no free port in {_PORTS.start}-{_PORTS.stop - 1}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "needs(*services): needs system services or libraries (keys of tests.services.SERVICES); "
        "skipped with the apt package named when one is missing, failed in CI",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers("needs"):
        require_service(*marker.args)


def wait_for_port(
    port: int, *, process: subprocess.Popen[bytes] | None = None, timeout: float = 300.0
) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``.

    Readiness, not a race: returns as soon as the port answers and raises at once if
    ``process`` (the server being waited for) exits first. ``timeout`` is only a bound for
    a server that hangs, generous enough for a machine under heavy load.
    """
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"the server meant to listen on 127.0.0.1:{port} exited with {process.returncode}"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing answered on 127.0.0.1:{port} within {timeout} s")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port, for the whole session."""
    binary = require_binary("redis", "redis-server")
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
        wait_for_port(port, process=proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_until_postgres_accepts(port: int, timeout: float = 300.0) -> None:
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
    initdb = require_binary("postgres", "initdb")
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
        wait_for_port(port, process=proc)
        _wait_until_postgres_accepts(port)
        yield f"postgresql+psycopg://grader@127.0.0.1:{port}/postgres"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(datadir, ignore_errors=True)
