"""``context-course cluster up`` and the one-line errors of cluster grading."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import pytest
from distributed import Client

from context_course.cli import main
from grader.pipeline.cluster import ClusterError, DaskExecutor, start_local_cluster
from tests.conftest import free_port


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--workers", "0"], "--workers must be at least 1"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--port", "70000"], "--port must be between 0 and 65535"),
    ],
)
def test_bad_options_are_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    code, out, err = run(capsys, "cluster", "up", *args)
    assert code == 2 and out == ""
    assert err.strip() == f"error: {says}"


def test_a_port_in_use_is_one_line_and_starts_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run(capsys, "cluster", "up", "--port", str(port))
    assert code == 2
    assert err.count("\n") == 2  # "starting…" then the error line
    assert f"error: cannot listen on 127.0.0.1:{port}" in err and "--port" in err


def test_help_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "cluster", "up", "--help")
    assert code == 0
    assert "context-course cluster up --workers 4" in out and "--scheduler" in out


def test_an_unreachable_scheduler_is_a_cluster_error_naming_it() -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(ClusterError) as caught:
        DaskExecutor(address, connect_timeout=1.0)
    assert caught.value.address == address
    assert f"cannot reach the Dask scheduler at {address}" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_start_local_cluster_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        start_local_cluster(0)


@pytest.mark.slow
def test_cluster_up_serves_until_ctrl_c_and_leaves_nothing_running() -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "context_course",
            "cluster",
            "up",
            "--workers",
            "2",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith(f"scheduler: tcp://127.0.0.1:{port} (2 worker(s)"), first
        assert f"--scheduler tcp://127.0.0.1:{port}" in process.stdout.readline()
        with Client(f"tcp://127.0.0.1:{port}", timeout=30, set_as_default=False) as client:
            assert len(client.nthreads()) == 2
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    deadline = time.monotonic() + 120  # the scheduler exited already: its port closes with it
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                break
        time.sleep(0.1)
    else:
        pytest.fail("the scheduler still listens after Ctrl-C")
