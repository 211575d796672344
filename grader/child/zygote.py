"""The pre-warmed executor: started once per grading process inside the sandbox.

``python -m grader.child.zygote CONFIG_JSON`` runs with its control socket on fd 0. It imports
IPython, the Context library and the widgets once, builds one ``InteractiveShell``, and
then forks one *session* per request: a fresh copy of that warm interpreter which runs a
notebook's cells (:class:`grader.child.runner.Runner`). Forking costs milliseconds; starting a
Jupyter kernel costs about a second.

Each session, on Linux, lives in its own PID namespace (its first process is the
namespace's init: when it ends, the kernel kills everything the notebook spawned,
double-forked daemons included), runs as a distinct unprivileged uid when the zygote is
root (so the process limit binds), under resource limits, in a fresh working folder
holding only the learner's files, with a scrubbed environment. Where the zygote may
mount (inside bubblewrap, or as root), each session also gets its own mount and IPC
namespaces: fresh, size-capped tmpfs file systems over the working root and
``/dev/shm``, and its own System V IPC objects. Nothing a notebook leaves there (files,
shared memory segments, message queues) is seen by the next notebook, or outlives it.

An *interrupt* (SIGINT, a ``KeyboardInterrupt`` in the running cell) goes to the session's
runner alone, never to the processes the notebook spawned: when the session starts, before
any learner code runs, the zygote finds the runner (the only child of the session's init)
and keeps a pidfd for it, so the signal cannot reach a process that later reuses its pid.

Control protocol (JSON lines on fd 0; replies may carry file descriptors)::

    parent → zygote  {"t": "session", "files": {name: base64}, "limits": {...}}
    zygote → parent  {"t": "session", "pid": P, "uid": U}   + fds [channel, output]
    parent → zygote  {"t": "interrupt", "pid": P}
    zygote → parent  {"t": "interrupted", "pid": P, "sent": true | false}
    parent → zygote  {"t": "kill", "pid": P}
    zygote → parent  {"t": "ended", "pid": P, "status": "exit 0" | "signal 9" | ...}
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import gc
import importlib
import json
import os
import pkgutil
import resource
import secrets
import shutil
import signal
import socket
import sys
import time
import traceback
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

from grader.child.confine import deny_user_namespaces, loopback_down

__all__ = ["ForbiddenImportFinder", "main"]

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REC = 0x4000
MS_PRIVATE = 0x40000
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
UID_LOW = 200_000
UID_SPAN = 1 << 30
RUNNER_WAIT = 2.0  # seconds to wait for a new session's runner to exist


class ForbiddenImportFinder(MetaPathFinder):
    """Refuses to import forbidden modules (defence in depth: the sandbox's filesystem
    view lacks them; this finder also covers built-in modules and unsandboxed runs)."""

    def __init__(self, forbidden: Sequence[str]) -> None:
        self.forbidden = tuple(forbidden)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        for name in self.forbidden:
            if fullname == name or fullname.startswith(name + "."):
                raise ModuleNotFoundError(
                    f"{fullname} is not available in this exercise", name=fullname
                )
        return None


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, value: int) -> bool:
    return int(_libc().prctl(option, value, 0, 0, 0)) == 0


def _mount_tmpfs(target: str, mode: int, size: int) -> bool:
    # inodes cost kernel memory that size= does not count: cap them too (one per 8 KB)
    options = f"size={size},nr_inodes={max(size // 8192, 1024)},mode={mode:o}".encode()
    flags = MS_NOSUID | MS_NODEV
    return int(_libc().mount(b"tmpfs", target.encode(), b"tmpfs", flags, options)) == 0


def _private_filesystems(workroot: str, workroot_bytes: int, shm_bytes: int) -> bool:
    """In a fresh mount namespace: private tmpfs over ``workroot`` and ``/dev/shm``.

    Mount events must not propagate back to the zygote's namespace, so nothing is
    mounted unless the whole tree could first be made private.
    """
    if int(_libc().mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None)) != 0:
        return False
    mode = os.stat(workroot).st_mode & 0o7777
    if not _mount_tmpfs(workroot, mode, workroot_bytes):
        return False
    return not os.path.isdir("/dev/shm") or _mount_tmpfs("/dev/shm", 0o1777, shm_bytes)


def _mount_own_proc() -> None:
    """A /proc that shows only this session's processes (not the zygote, not bubblewrap,
    nor their command lines); best effort: some kernels refuse it in a user namespace."""
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    _libc().mount(b"proc", b"/proc", b"proc", flags, None)


def _prefer_for_oom_kill() -> None:
    """Make this process and all it will start the kernel's first choice when memory runs
    out: a notebook's processes together can exceed what per-process limits allow, and then
    they, not the grader or anything else on the machine, must be what the kernel kills.
    Unprivileged processes cannot lower the score again."""
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as handle:
        handle.write("1000")


def _write_files(workdir: str, files: dict[str, Any], uid: int) -> None:
    """The session's working folder with the learner's files, owned by the session uid."""
    os.mkdir(workdir, 0o700)
    for name, payload in files.items():
        path = os.path.join(workdir, os.path.basename(str(name)))
        try:
            with open(path, "xb") as handle:
                handle.write(base64.b64decode(payload))
            if uid >= 0:
                os.chown(path, uid, uid)
        except (OSError, ValueError, TypeError):
            continue  # a file that cannot be written is simply not there
    if uid >= 0:
        os.chown(workdir, uid, uid)


def _preimport(forbidden: Sequence[str], packages: Sequence[str]) -> None:
    def allowed(name: str) -> bool:
        return not any(name == f or name.startswith(f + ".") for f in forbidden)

    for name in packages:
        if not allowed(name):
            continue
        try:
            module = importlib.import_module(name)
        except Exception:
            continue
        for info in pkgutil.iter_modules(getattr(module, "__path__", []), prefix=name + "."):
            if allowed(info.name):
                with contextlib.suppress(Exception):
                    importlib.import_module(info.name)


def _build_shell() -> Any:
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "NoColor"
    config.InteractiveShell.xmode = "Plain"
    return InteractiveShell.instance(config=config)


class Zygote:
    """The fork server (runs inside the sandbox)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.control = socket.socket(fileno=0)
        self.forbidden: list[str] = list(config.get("forbidden", []))
        self.workroot = str(config.get("workroot", "/tmp"))
        self.is_root = os.geteuid() == 0 and bool(config.get("drop_uid", True))
        self.counter = 0
        self.workdirs: dict[int, str] = {}
        self.workroot_bytes = int(config.get("workroot_bytes", 256 << 20))
        self.shm_bytes = int(config.get("shm_bytes", 64 << 20))
        self.features = {
            "subreaper": _prctl(PR_SET_CHILD_SUBREAPER, 1),
            "pid_namespace": False,
            "distinct_uid": False,
            "private_filesystems": False,
        }
        self._buffer = b""
        self.runners: dict[int, int] = {}  # session init pid -> pidfd of its runner

    def send(self, message: dict[str, Any], fds: Sequence[int] = ()) -> None:
        data = json.dumps(message).encode() + b"\n"
        if fds:
            socket.send_fds(self.control, [data], list(fds))
        else:
            self.control.sendall(data)

    def receive(self) -> dict[str, Any] | None:
        while b"\n" not in self._buffer:
            chunk = self.control.recv(1 << 20)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        message = json.loads(line)
        return message if isinstance(message, dict) else None

    def probe_features(self) -> None:
        """Find out once whether per-session namespaces, mounts and uid drops work here."""
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            ok_private = int(_libc().unshare(CLONE_NEWNS | CLONE_NEWIPC)) == 0 and (
                _private_filesystems(self.workroot, 1 << 20, 1 << 20)
            )
            ok_ns = int(_libc().unshare(CLONE_NEWPID)) == 0
            ok_uid = False
            if self.is_root:
                inner = os.fork()
                if inner == 0:
                    try:
                        os.setgroups([])
                        os.setgid(UID_LOW)
                        os.setuid(UID_LOW)
                        os._exit(0)
                    except OSError:
                        os._exit(1)
                _, status = os.waitpid(inner, 0)
                ok_uid = os.waitstatus_to_exitcode(status) == 0
            os.write(write_end, json.dumps([ok_ns, ok_uid, ok_private]).encode())
            os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as handle:
            data = handle.read()
        os.waitpid(pid, 0)
        with contextlib.suppress(ValueError):
            ok_ns, ok_uid, ok_private = json.loads(data)
            self.features["pid_namespace"] = bool(ok_ns)
            self.features["distinct_uid"] = bool(ok_uid)
            self.features["private_filesystems"] = bool(ok_private)

    def serve(self) -> None:
        self.probe_features()
        self.send({"t": "ready", "features": self.features, "pid": os.getpid()})
        while True:
            message = self.receive()
            if message is None:
                return
            kind = message.get("t")
            if kind == "session":
                self.start_session(message)
            elif kind == "interrupt":
                self.interrupt_session(int(message["pid"]))
            elif kind == "kill":
                self.end_session(int(message["pid"]), float(message.get("grace", 0.0)))

    def start_session(self, message: dict[str, Any]) -> None:
        self.counter += 1
        uid = UID_LOW + secrets.randbelow(UID_SPAN) if self.features["distinct_uid"] else -1
        workdir = os.path.join(self.workroot, f"session-{os.getpid()}-{self.counter}")
        files = dict(message.get("files", {}))
        private = bool(self.features["private_filesystems"])
        if not private:
            _write_files(workdir, files, uid)
        parent_channel, child_channel = socket.socketpair()
        output_read, output_write = os.pipe()
        pid_pipe_read, pid_pipe_write = os.pipe()
        limits = dict(message.get("limits", {}))
        first = os.fork()
        if first == 0:  # helper: create the session's namespaces, fork their init, and leave
            try:
                os.close(pid_pipe_read)
                parent_channel.close()
                os.close(output_read)
                if private:
                    # the session's own files: if they cannot be made private, no session
                    if int(_libc().unshare(CLONE_NEWNS | CLONE_NEWIPC)) != 0:
                        os._exit(1)
                    if not _private_filesystems(self.workroot, self.workroot_bytes, self.shm_bytes):
                        os._exit(1)
                    _write_files(workdir, files, uid)
                _prefer_for_oom_kill()
                in_namespace = (
                    self.features["pid_namespace"] and int(_libc().unshare(CLONE_NEWPID)) == 0
                )
                init = os.fork()
                if init == 0:
                    os.close(pid_pipe_write)
                    self._session_init(
                        in_namespace, child_channel.detach(), output_write, workdir, uid, limits
                    )
                os.write(pid_pipe_write, str(init).encode())
            finally:
                os._exit(0)
        os.close(pid_pipe_write)
        child_channel.close()
        os.close(output_write)
        with os.fdopen(pid_pipe_read, "rb") as handle:
            raw_pid = handle.read()
        os.waitpid(first, 0)
        init_pid = int(raw_pid) if raw_pid.isdigit() else 0
        if init_pid <= 0:  # never let pid 0 (our own process group) reach kill()
            parent_channel.close()
            os.close(output_read)
            if not private:
                shutil.rmtree(workdir, ignore_errors=True)
            self.send({"t": "error", "reason": "the session could not be started"})
            return
        if not private:
            self.workdirs[init_pid] = workdir
        runner = _runner_pidfd(init_pid)
        if runner is not None:
            self.runners[init_pid] = runner
        self.send(
            {"t": "session", "pid": init_pid, "uid": uid}, [parent_channel.fileno(), output_read]
        )
        parent_channel.close()
        os.close(output_read)

    def _session_init(
        self,
        in_namespace: bool,
        channel_fd: int,
        output_fd: int,
        workdir: str,
        uid: int,
        limits: dict[str, Any],
    ) -> None:
        """The session's first process: PID 1 of its namespace when namespaces work."""
        try:
            self.control.close()
            if not in_namespace:
                os.setsid()
            elif self.features["private_filesystems"]:
                _mount_own_proc()
            runner_pid = os.fork()
            if runner_pid == 0:
                self._become_runner(channel_fd, output_fd, workdir, uid, limits)
            os.close(channel_fd)
            os.close(output_fd)
            for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(number, signal.SIG_IGN)
            code = 0
            while True:  # reap everything; end when the runner ends
                try:
                    pid, status = os.wait()
                except ChildProcessError:
                    break
                if pid == runner_pid:
                    code = os.waitstatus_to_exitcode(status)
                    break
            os._exit(128 - code if code < 0 else min(code, 127))
        finally:
            os._exit(120)

    def _become_runner(
        self, channel_fd: int, output_fd: int, workdir: str, uid: int, limits: dict[str, Any]
    ) -> None:
        try:
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            os.dup2(channel_fd, 3)
            os.dup2(output_fd, 1)
            os.dup2(output_fd, 2)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.closerange(4, 65536)
            for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
                signal.signal(number, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            _set_limits(limits)
            if uid >= 0:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            _prctl(PR_SET_NO_NEW_PRIVS, 1)
            deny_user_namespaces()  # before any learner code; inherited, irrevocable
            os.chdir(workdir)
            os.environ.clear()
            os.environ.update(
                {
                    "HOME": workdir,
                    "PATH": "/usr/local/bin:/usr/bin:/bin",
                    "LANG": "C.UTF-8",
                    "TMPDIR": workdir,
                    "MPLBACKEND": "Agg",
                    "PYTHONDONTWRITEBYTECODE": "1",
                }
            )
            sys.dont_write_bytecode = True
            sys.path[:] = [p for p in sys.path if p not in ("", ".")]
            sys.path.insert(0, workdir)
            from grader.child.runner import Runner

            Runner(_shell, 3, forbidden=self.forbidden).run()
        except BaseException:
            with contextlib.suppress(Exception):
                traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
            os._exit(0)

    def interrupt_session(self, pid: int) -> None:
        """Deliver SIGINT to the session's runner only; reply whether it was sent.

        When the reply leaves, the signal is already pending on the runner: whatever the
        parent sends next is read by the runner only after it has seen the interrupt.
        """
        runner = self.runners.get(pid)
        sent = False
        if runner is not None:
            try:
                signal.pidfd_send_signal(runner, signal.SIGINT)
                sent = True
            except OSError:
                sent = False
        self.send({"t": "interrupted", "pid": pid, "sent": sent})

    def end_session(self, pid: int, grace: float = 0.0) -> None:
        if pid <= 0 or pid == os.getpid():
            self.send({"t": "ended", "pid": pid, "status": "unknown"})
            return
        runner = self.runners.pop(pid, None)
        if runner is not None:
            with contextlib.suppress(OSError):
                os.close(runner)
        raw: int | None = None
        deadline = time.monotonic() + min(max(grace, 0.0), 5.0)
        while raw is None and time.monotonic() < deadline:  # a crashed session is ending
            try:
                done, waited = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                raw = waited
            else:
                time.sleep(0.005)
        if raw is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            if not self.features["pid_namespace"]:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                raw = os.waitpid(pid, 0)[1]
        status = "unknown"
        if raw is not None:
            if os.WIFSIGNALED(raw):
                status = f"signal {os.WTERMSIG(raw)}"
            else:
                code = os.WEXITSTATUS(raw)
                status = f"signal {code - 128}" if code > 128 else f"exit {code}"
        self._reap_orphans()
        workdir = self.workdirs.pop(pid, None)
        if workdir:
            with contextlib.suppress(Exception):  # e.g. a folder nested too deep to recurse
                shutil.rmtree(workdir, ignore_errors=True)
        self.send({"t": "ended", "pid": pid, "status": status})

    @staticmethod
    def _reap_orphans() -> None:
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return


def _parent_pid(pid: int) -> int | None:
    """The parent of ``pid`` as this process's /proc sees it (None if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()  # after the command name, which may hold ")"
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


def _runner_pidfd(init_pid: int) -> int | None:
    """A pidfd for the runner of the session whose init is ``init_pid``, or None.

    Called before the session is handed out, when no learner code has run: the init's
    only child is then the runner. The pidfd is checked after it is opened (the process
    it pins is still the init's child), so a reused pid is never signalled.
    """
    deadline = time.monotonic() + RUNNER_WAIT
    while time.monotonic() < deadline:
        try:
            entries = os.listdir("/proc")
        except OSError:
            return None
        children = [int(e) for e in entries if e.isdigit() and _parent_pid(int(e)) == init_pid]
        if len(children) > 1:
            return None
        if children:
            try:
                pidfd = os.pidfd_open(children[0])
            except OSError:
                return None
            if _parent_pid(children[0]) == init_pid:
                return pidfd
            os.close(pidfd)
            return None
        if _parent_pid(init_pid) is None:
            return None  # the session already ended
        time.sleep(0.001)
    return None


def _set_limits(limits: dict[str, Any]) -> None:
    table = {
        "cpu_seconds": resource.RLIMIT_CPU,
        "address_space": resource.RLIMIT_AS,
        "file_size": resource.RLIMIT_FSIZE,
        "processes": resource.RLIMIT_NPROC,
        "open_files": resource.RLIMIT_NOFILE,
    }
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, which in table.items():
        value = limits.get(key)
        if isinstance(value, int) and value > 0:
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(which, (value, value))


_shell: Any = None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point inside the sandbox: pre-warm, then serve sessions until fd 0 closes."""
    global _shell
    args = list(sys.argv[1:] if argv is None else argv)
    config = json.loads(args[0]) if args else {}
    forbidden = list(config.get("forbidden", []))
    if forbidden:
        sys.meta_path.insert(0, ForbiddenImportFinder(forbidden))
    os.environ["IPYTHONDIR"] = os.path.join(str(config.get("workroot", "/tmp")), ".ipython")
    _shell = _build_shell()
    _preimport(forbidden, list(config.get("preimport", [])))
    import grader.child.runner  # noqa: F401  (warm)

    if config.get("own_network"):  # only inside bubblewrap's network namespace
        loopback_down()
    gc.collect()
    gc.freeze()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    Zygote(config).serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
