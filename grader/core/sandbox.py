"""Isolation of learner code: the sandboxed, pre-warmed executor and its sessions.

One :class:`Sandbox` per grading process and import policy starts
:mod:`grader.child.zygote` once, inside bubblewrap (``bwrap``, its command line built by
:mod:`grader.core.mounts`) on Linux:

- a fresh mount namespace whose root holds only the system folders (read-only), the
  Python installation, the virtual environment and the ``grader`` and ``context_lib``
  packages: the course folder (sources, hidden tests, reference values, gradebook,
  signing keys) and the user's home are simply not there; forbidden modules are
  absent from this view of the filesystem;
- a private ``/tmp`` (tmpfs, size-capped) for the learners' working folders;
- new PID, network (no interfaces but a downed loopback: no network), IPC and UTS
  namespaces; it dies with the grading process;
- each session (one notebook) then gets its own PID, mount and IPC namespaces (a
  private, size-capped working root and ``/dev/shm`` that vanish with it), a distinct
  unprivileged uid and resource limits (see :mod:`grader.child.zygote`).

Where bubblewrap cannot run, the zygote runs unsandboxed (own process group, limits,
uid drop when root) and :func:`isolation_report` says loudly what is missing; the
verdict's guarantees (the child never decides, never sees expected values) still hold.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

from grader.core.errors import GradingError
from grader.core.mounts import (
    SANDBOX_WORKROOT,
    SHM_BYTES,
    TMPFS_BYTES,
    bwrap_command,
    bwrap_path,
    module_dir,
    python_paths,
    readable_by_others,
)

__all__ = [
    "IsolationReport",
    "Sandbox",
    "SandboxLimits",
    "Session",
    "get_sandbox",
    "isolation_report",
    "share_isolation_warning",
    "shutdown_sandboxes",
]

PREIMPORT = ("context_lib", "ipywidgets", "json", "pathlib", "tempfile", "shutil")
# Where notebooks run inside bubblewrap: a path no host folder can be under, so mounting a
# private tmpfs there per notebook never hides the Python install or the packages.
MAX_CONTROL_LINE = 1 << 20


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one session (one notebook's process tree)."""

    address_space: int = 3 << 30  # bytes of virtual memory per process
    cpu_seconds: int = 600  # CPU time per process (a backstop: wall clocks come first)
    file_size: int = 64 << 20  # largest file a session may write
    processes: int = 64  # processes of the session's uid (binds when the uid is distinct)
    open_files: int = 256

    def as_message(self) -> dict[str, int]:
        """The limits as sent to the zygote."""
        return {
            "address_space": self.address_space,
            "cpu_seconds": self.cpu_seconds,
            "file_size": self.file_size,
            "processes": self.processes,
            "open_files": self.open_files,
        }


@dataclass(frozen=True)
class IsolationReport:
    """Which isolation features are active on this machine."""

    bubblewrap: bool
    mount_namespace: bool
    network_namespace: bool
    pid_namespace_per_notebook: bool
    distinct_uid_per_notebook: bool
    private_files_per_notebook: bool
    reason: str = ""

    @property
    def complete(self) -> bool:
        """Every feature is active."""
        return all(
            (
                self.bubblewrap,
                self.mount_namespace,
                self.network_namespace,
                self.pid_namespace_per_notebook,
                self.distinct_uid_per_notebook,
                self.private_files_per_notebook,
            )
        )

    def describe(self) -> str:
        """One plain paragraph for people."""
        flags = {
            "filesystem view without the course folder (mount namespace)": self.mount_namespace,
            "no network (network namespace)": self.network_namespace,
            "own PID namespace per notebook": self.pid_namespace_per_notebook,
            "distinct unprivileged uid per notebook": self.distinct_uid_per_notebook,
            "private temporary files, /dev/shm and IPC per notebook": (
                self.private_files_per_notebook
            ),
        }
        active = [name for name, on in flags.items() if on]
        missing = [name for name, on in flags.items() if not on]
        text = "sandbox: " + ("; ".join(active) if active else "no isolation features")
        if missing:
            text += ". MISSING: " + "; ".join(missing)
            if self.reason:
                text += f" ({self.reason})"
        return text


@dataclass
class Session:
    """One running notebook process tree: its channel, captured output and id."""

    pid: int
    uid: int
    channel: socket.socket
    output_fd: int
    closed: bool = False


_warned = False
_warn_lock = threading.Lock()
#: A file whose creation claims the isolation warning for a whole process tree (the batch
#: and its grading workers), so the person reads it once, not once per worker.
WARNING_MARKER_ENV = "CONTEXT_COURSE_ISOLATION_WARNING_MARKER"


def share_isolation_warning() -> None:
    """Make this process and the processes it starts from now on warn once between them.

    Call it before starting worker processes (they inherit the environment).
    """
    if os.environ.get(WARNING_MARKER_ENV):
        return
    folder = tempfile.mkdtemp(prefix="cc-isolation-warning-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ[WARNING_MARKER_ENV] = os.path.join(folder, "warned")


def _claim_warning() -> bool:
    """True if this process is the one to print the warning (first in its process tree)."""
    marker = os.environ.get(WARNING_MARKER_ENV)
    if not marker:
        return True
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return False
    except OSError:
        return True  # the marker's folder is gone: better twice than never
    return True


def _warn_once(report: IsolationReport) -> None:
    global _warned
    with _warn_lock:
        if _warned or report.complete:
            return
        _warned = True
        if not _claim_warning():
            return
    sys.stderr.write(
        "context-course grader: WARNING: learner code runs with reduced isolation on this "
        f"machine. {report.describe()}\n"
    )


class Sandbox:
    """The pre-warmed executor for one import policy, owned by one grading process."""

    def __init__(
        self,
        forbidden: tuple[str, ...] = (),
        *,
        use_bwrap: bool | None = None,
        hash_seed: str = "",
    ) -> None:
        self.forbidden = tuple(sorted(set(forbidden)))
        # the zygote's PYTHONHASHSEED ("" = Python's own random one); every child forked
        # from it shares its string hashes, so set order differs only between zygotes
        self.hash_seed = hash_seed
        self.owner_pid = os.getpid()
        self._use_bwrap = use_bwrap
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._buffer = b""
        self._workroot: str | None = None
        self._stderr: IO[bytes] | None = None
        self.report: IsolationReport | None = None
        self._lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------
    @property
    def alive(self) -> bool:
        """The zygote is running and belongs to this process."""
        return (
            self._process is not None
            and self._process.poll() is None
            and os.getpid() == self.owner_pid
        )

    def start(self) -> IsolationReport:
        """Start the zygote (once); return which isolation features are active."""
        if self.alive and self.report is not None:
            return self.report
        self.close()
        bwrap = bwrap_path() if self._use_bwrap is not False else None
        reason = ""
        if bwrap is not None:
            try:
                return self._spawn(bwrap)
            except GradingError as exc:
                if self._use_bwrap:
                    raise
                reason = f"bubblewrap failed: {exc}"
                self.close()
        else:
            reason = (
                "bubblewrap (bwrap) is not installed"
                if self._use_bwrap is None
                else "bubblewrap disabled"
            )
        return self._spawn(None, reason)

    def _spawn(self, bwrap: str | None, reason: str = "") -> IsolationReport:
        ours, theirs = socket.socketpair()
        if bwrap is None:
            self._workroot = tempfile.mkdtemp(prefix="context-course-sandbox-")
            os.chmod(self._workroot, 0o711)  # the per-notebook uid must reach its folder
            workroot = self._workroot
        else:
            workroot = SANDBOX_WORKROOT
        config = json.dumps(
            {
                "forbidden": list(self.forbidden),
                "preimport": list(PREIMPORT),
                "workroot": workroot,
                "workroot_bytes": TMPFS_BYTES,
                "shm_bytes": SHM_BYTES,
                # without bwrap, a uid drop only works if Python is readable by others
                "drop_uid": bwrap is not None or readable_by_others(python_paths()),
                "own_network": bwrap is not None,
            }
        )
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the zygote)
        if bwrap is not None:
            command = bwrap_command(bwrap, self.forbidden, config, hash_seed=self.hash_seed)
            env = None
        else:
            command = [sys.executable, "-s", "-m", "grader.child.zygote", config]
            parents = [str(p.parent) for p in map(module_dir, ("grader",)) if p is not None]
            env = {
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "LANG": "C.UTF-8",
                "HOME": workroot,
                "PYTHONPATH": os.pathsep.join(parents),
            }
            if self.hash_seed:
                env["PYTHONHASHSEED"] = self.hash_seed
        try:
            self._process = subprocess.Popen(
                command,
                stdin=theirs.fileno(),
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                cwd=workroot if bwrap is None else None,
                env=env,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise GradingError(f"cannot start the grading sandbox: {exc}") from None
        finally:
            theirs.close()
        self._control = ours
        self._buffer = b""
        ready = self._receive(timeout=120.0)
        if ready is None or ready.get("t") != "ready":
            detail = self._stderr_tail()
            self.close()
            raise GradingError(
                "the grading sandbox did not start" + (f": {detail}" if detail else "")
            )
        features = ready.get("features", {})
        self.report = IsolationReport(
            bubblewrap=bwrap is not None,
            mount_namespace=bwrap is not None,
            network_namespace=bwrap is not None,
            pid_namespace_per_notebook=bool(features.get("pid_namespace")),
            distinct_uid_per_notebook=bool(features.get("distinct_uid")),
            private_files_per_notebook=bool(features.get("private_filesystems")),
            reason=reason,
        )
        _warn_once(self.report)
        return self.report

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0)
            lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
            return lines[-1][:300] if lines else ""
        return ""

    def close(self) -> None:
        """Stop the zygote (and with it every session it started)."""
        if self._control is not None:
            with contextlib.suppress(OSError):
                self._control.close()
            self._control = None
        if self._process is not None and os.getpid() == self.owner_pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, 9)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=10)
        self._process = None
        if self._stderr is not None:
            with contextlib.suppress(OSError):
                self._stderr.close()
            self._stderr = None
        if self._workroot is not None:
            shutil.rmtree(self._workroot, ignore_errors=True)
            self._workroot = None

    # -- control channel -------------------------------------------------------------
    def _send(self, message: dict[str, Any]) -> None:
        assert self._control is not None
        self._control.sendall(json.dumps(message).encode() + b"\n")

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        received = self._receive_with_fds(timeout)
        if received is None:
            return None
        message, fds = received
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        return message

    def _receive_with_fds(self, timeout: float) -> tuple[dict[str, Any], list[int]] | None:
        assert self._control is not None
        deadline = time.monotonic() + timeout
        fds: list[int] = []
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._control.settimeout(remaining)
            try:
                data, new_fds, _, _ = socket.recv_fds(self._control, 1 << 16, 4)
            except (TimeoutError, OSError):
                return None
            fds.extend(new_fds)
            if not data:
                return None
            self._buffer += data
            if len(self._buffer) > MAX_CONTROL_LINE:
                return None
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            message = json.loads(line)
        except ValueError:
            return None
        if not isinstance(message, dict):
            return None
        return message, fds

    # -- sessions --------------------------------------------------------------------
    def open_session(self, files: dict[str, bytes], limits: SandboxLimits) -> Session:
        """Fork a fresh warm interpreter holding ``files`` in its working folder."""
        with self._lock:
            for attempt in range(2):
                self.start()
                self._send(
                    {
                        "t": "session",
                        "files": {n: base64.b64encode(d).decode() for n, d in files.items()},
                        "limits": limits.as_message(),
                    }
                )
                reply = self._receive_with_fds(timeout=30.0)
                if reply is not None and reply[0].get("t") == "session":
                    message, fds = reply
                    if len(fds) == 2:
                        channel = socket.socket(fileno=fds[0])
                        return Session(
                            pid=int(message["pid"]),
                            uid=int(message.get("uid", -1)),
                            channel=channel,
                            output_fd=fds[1],
                        )
                    for fd in fds:
                        with contextlib.suppress(OSError):
                            os.close(fd)
                if attempt == 0:
                    self.close()
            raise GradingError(
                f"the grading sandbox could not start a session: {self._stderr_tail()}"
            )

    def interrupt(self, session: Session) -> bool:
        """Send an interrupt (SIGINT) to the session's own process, nothing it spawned.

        Returns whether it was delivered; when it was, the signal is pending on that
        process before anything sent to the session afterwards is read.
        """
        if session.closed:
            return False
        with self._lock:
            if not self.alive:
                return False
            self._send({"t": "interrupt", "pid": session.pid})
            reply = self._receive(timeout=10.0)
            if isinstance(reply, dict) and reply.get("t") == "interrupted":
                return reply.get("pid") == session.pid and reply.get("sent") is True
            self.close()  # no reply, or not in step: the zygote cannot be trusted any more
        return False

    def end_session(self, session: Session, *, grace: float = 0.0) -> str:
        """Kill everything the session started; return how its process ended.

        ``grace`` seconds let a session that is already ending (a crash) report its own
        exit status before it is killed.
        """
        if session.closed:
            return "ended"
        session.closed = True
        with contextlib.suppress(OSError):
            session.channel.close()
        with contextlib.suppress(OSError):
            os.close(session.output_fd)
        with self._lock:
            if not self.alive:
                return "unknown"
            self._send({"t": "kill", "pid": session.pid, "grace": grace})
            reply = self._receive(timeout=30.0)
        if isinstance(reply, dict) and reply.get("t") == "ended":
            return str(reply.get("status", "unknown"))
        self.close()
        return "unknown"


_sandboxes: dict[tuple[tuple[str, ...], bool], Sandbox] = {}
_registry_lock = threading.Lock()


def get_sandbox(forbidden: tuple[str, ...] = (), *, other_hash_seed: bool = False) -> Sandbox:
    """The running sandbox of this process for an import policy (started on first use).

    With ``other_hash_seed``, a second sandbox for the same policy whose zygote runs with
    a different ``PYTHONHASHSEED`` (its own, drawn when it starts): a second run there
    iterates sets of strings in another order, which is how determinism is checked.
    """
    policy = tuple(sorted(set(forbidden)))
    key = (policy, other_hash_seed)
    with _registry_lock:
        sandbox = _sandboxes.get(key)
        if sandbox is None or sandbox.owner_pid != os.getpid():
            # the first zygote keeps Python's own random hash secret (from urandom); the
            # second derives its secret from a drawn seed: they differ but by chance
            # of 2**-32 or less
            seed = str(secrets.randbelow(2**32 - 1) + 1) if other_hash_seed else ""
            sandbox = Sandbox(policy, hash_seed=seed)
            _sandboxes[key] = sandbox
    sandbox.start()
    return sandbox


def shutdown_sandboxes() -> None:
    """Stop every sandbox this process started."""
    with _registry_lock:
        for sandbox in _sandboxes.values():
            if sandbox.owner_pid == os.getpid():
                sandbox.close()
        _sandboxes.clear()


def isolation_report() -> IsolationReport:
    """Which isolation features are active here (starts a sandbox if none is running)."""
    report = get_sandbox(()).report
    assert report is not None
    return report


atexit.register(shutdown_sandboxes)
