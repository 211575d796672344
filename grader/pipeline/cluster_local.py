"""A Dask scheduler and grading workers on this machine, each a separate process.

:func:`start_local_cluster` runs Dask's own ``dask scheduler`` and ``dask worker``
commands — the very ones an instructor runs on real machines — bound to loopback, and
returns a :class:`LocalGradingCluster` holding the scheduler's address. It is what
``context-course cluster up`` serves, what the cluster tests grade on and what the
benchmark measures.

Each process is started through this module (``python -m grader.pipeline.cluster_local
scheduler|worker …``), which runs the Dask command unchanged after arranging for it to
stop when the process that started it dies, even by SIGKILL: a crashed test or a closed
terminal leaves no scheduler or worker behind. Processes run in their own session, so a
Ctrl-C in the terminal reaches only ``cluster up``, which then stops the workers before
the scheduler (a worker that outlives its scheduler waits for it before leaving).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from grader.pipeline.cluster_errors import ClusterError

__all__ = ["LocalGradingCluster", "start_local_cluster"]

_STOP_SECONDS = 15.0


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)


def _stop(processes: list[subprocess.Popen[bytes]], timeout: float) -> None:
    """SIGTERM each process, then SIGKILL its whole process group after ``timeout``."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class LocalGradingCluster:
    """A running scheduler and its workers; :meth:`close` (or ``with``) stops them."""

    address: str
    log_dir: Path
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    owns_log_dir: bool = False

    def log_tail(self, process: str = "scheduler", lines: int = 3) -> str:
        """The last ``lines`` lines of a log (``"scheduler"`` or ``"worker-N"``), joined."""
        return _tail(self.log_dir / f"{process}.log", lines)

    def worker_logs(self) -> list[Path]:
        """Each worker's log file, in start order."""
        return [self.log_dir / f"worker-{index}.log" for index in range(len(self.workers))]

    def kill_worker(self, index: int, sig: int = signal.SIGKILL) -> int:
        """Send ``sig`` (default SIGKILL) to worker ``index``; return its process id."""
        process = self.workers[index]
        process.send_signal(sig)
        return process.pid

    def wait(self) -> int:
        """Block until the scheduler exits; return its exit status."""
        return self.scheduler.wait()

    def close(self, timeout: float = _STOP_SECONDS) -> None:
        """Stop the workers, then the scheduler; remove the log folder if it was ours."""
        _stop(self.workers, timeout)
        _stop([self.scheduler], timeout)
        if self.owns_log_dir:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def __enter__(self) -> LocalGradingCluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _spawn(role: str, args: list[str], log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "grader.pipeline.cluster_local", role, *args]
    with open(log, "wb") as handle:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _check_port_free(host: str, port: int) -> None:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ClusterError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
                "pick another port with --port"
            ) from None


def _read_address(path: Path, process: subprocess.Popen[bytes], log: Path, deadline: float) -> str:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ClusterError(
                f"the Dask scheduler exited with status {process.returncode}: {_tail(log)}"
            )
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            address = json.loads(path.read_text(encoding="utf-8"))["address"]
            if isinstance(address, str) and address:
                return address
        time.sleep(0.05)
    raise ClusterError(f"the Dask scheduler did not start in time: {_tail(log)}")


def _await_workers(cluster: LocalGradingCluster, count: int, deadline: float) -> None:
    from distributed import Client

    try:
        with Client(  # type: ignore[no-untyped-call]
            cluster.address,
            timeout=max(deadline - time.monotonic(), 1.0),
            set_as_default=False,
        ) as client:
            while len(client.nthreads()) < count:
                dead = [i for i, w in enumerate(cluster.workers) if w.poll() is not None]
                if dead:
                    log = cluster.worker_logs()[dead[0]]
                    raise ClusterError(
                        f"Dask worker {dead[0]} exited with status "
                        f"{cluster.workers[dead[0]].returncode}: {_tail(log)}",
                        address=cluster.address,
                    )
                if time.monotonic() > deadline:
                    raise ClusterError(
                        f"only {len(client.nthreads())} of {count} Dask workers joined "
                        f"{cluster.address} in time; see the logs in {cluster.log_dir}",
                        address=cluster.address,
                    )
                time.sleep(0.1)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(
            f"cannot reach the local Dask scheduler at {cluster.address}: {exc}",
            address=cluster.address,
        ) from None


def start_local_cluster(
    workers: int,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    threads_per_worker: int = 1,
    nanny: bool = True,
    log_dir: Path | None = None,
    startup_timeout: float = 120.0,
) -> LocalGradingCluster:
    """Start a Dask scheduler and ``workers`` worker processes; return when all joined.

    The scheduler listens on ``host:port`` (``port=0``: a free port; Dask's usual port is
    8786) and the workers, on ``host`` too, each run ``threads_per_worker`` grading
    threads. With ``nanny`` (Dask's default), each worker runs under a nanny process that
    restarts it if it dies. Logs (and the workers' folders) go to ``log_dir``, by
    default a temporary folder removed by :meth:`LocalGradingCluster.close`.

    Raises :class:`ClusterError` (with the end of the failing process's log) when the
    scheduler or a worker fails to start within ``startup_timeout`` seconds; nothing is
    left running then.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if threads_per_worker < 1:
        raise ValueError("threads_per_worker must be at least 1")
    if port:
        _check_port_free(host, port)
    owned = log_dir is None
    folder = (
        Path(tempfile.mkdtemp(prefix="context-course-cluster-")) if log_dir is None else log_dir
    )
    folder.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + startup_timeout
    scheduler_file = folder / "scheduler.json"
    scheduler_file.unlink(missing_ok=True)
    scheduler_log = folder / "scheduler.log"
    scheduler = _spawn(
        "scheduler",
        [
            "--host",
            host,
            "--port",
            str(port),
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
        ],
        scheduler_log,
    )
    cluster = LocalGradingCluster(
        address="", log_dir=folder, scheduler=scheduler, owns_log_dir=owned
    )
    try:
        cluster.address = _read_address(scheduler_file, scheduler, scheduler_log, deadline)
        for index in range(workers):
            cluster.workers.append(
                _spawn(
                    "worker",
                    [
                        cluster.address,
                        "--name",
                        f"local-{index}",
                        "--host",
                        host,
                        "--nthreads",
                        str(threads_per_worker),
                        "--nworkers",
                        "1",
                        "--nanny" if nanny else "--no-nanny",
                        "--no-dashboard",
                        "--death-timeout",
                        "60",
                        "--local-directory",
                        str(folder / f"worker-{index}"),
                    ],
                    folder / f"worker-{index}.log",
                )
            )
        _await_workers(cluster, workers, deadline)
    except BaseException:
        cluster.close(timeout=5.0)
        raise
    return cluster


def _stop_with_parent(parent: int) -> None:
    """Stop this process (gracefully, then for good) once ``parent`` is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(_STOP_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="context-course-parent-watch", daemon=True).start()


def _serve(argv: list[str]) -> int:
    """Run ``dask scheduler|worker ARGS`` here, stopping when the parent process dies."""
    if not argv or argv[0] not in ("scheduler", "worker"):
        print(
            "usage: python -m grader.pipeline.cluster_local scheduler|worker [DASK ARGS]",
            file=sys.stderr,
        )
        return 2
    role, args = argv[0], argv[1:]
    _stop_with_parent(os.getppid())
    if role == "scheduler":
        from distributed.cli.dask_scheduler import main as command
    else:
        from distributed.cli.dask_worker import main as command
    try:
        command.main(args=args, prog_name=f"dask {role}", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    return 0


if __name__ == "__main__":
    sys.exit(_serve(sys.argv[1:]))
