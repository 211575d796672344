"""Isolation of the sandboxed child, observed from inside it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from grader.core.executor import PlannedCell, execute
from grader.core.sandbox import Sandbox, SandboxLimits, get_sandbox, isolation_report
from tests.services import require_service

PROBE = """
import os, socket
def _try(action):
    try:
        action()
        return "allowed"
    except Exception as exc:
        return type(exc).__name__
__cc_observe__("uid", lambda: os.getuid())
__cc_observe__("home", lambda: os.environ.get("HOME"))
__cc_observe__("env", lambda: sorted(os.environ))
__cc_observe__("files", lambda: sorted(os.listdir(".")))
__cc_observe__("course", lambda: _try(lambda: open({secret!r}).read()))
__cc_observe__("repo", lambda: sorted(os.listdir({repo!r})))
__cc_observe__("network", lambda: _try(lambda: socket.create_connection(("1.1.1.1", 53), 1)))
__cc_observe__("patterns", lambda: os.path.exists({patterns!r}))
"""


@pytest.fixture(scope="module")
def report() -> Any:
    require_service("bubblewrap")
    return isolation_report()


def _observe(code: str, forbidden: tuple[str, ...] = ()) -> dict[str, Any]:
    execution = execute(
        [PlannedCell(code=code, name="probe cell")],
        sandbox=get_sandbox(forbidden),
        files={"data.csv": b"a,b\n"},
        limits=SandboxLimits(),
        cell_timeout=30,
        notebook_timeout=60,
    )
    return {obs.check: obs.value for obs in execution.outcomes[0].observations}


def test_every_isolation_feature_is_active_here(report: Any) -> None:
    assert report.complete, report.describe()
    assert "MISSING" not in report.describe()


def test_the_child_sees_only_its_files_and_no_course_folder(report: Any, tmp_path: Path) -> None:
    secret = tmp_path / "gradebook.db"
    secret.write_text("grades", encoding="utf-8")
    import context_lib

    repo = Path(context_lib.__file__).parents[1]
    seen = _observe(
        PROBE.format(
            secret=str(secret),
            repo=str(repo),
            patterns=str(Path(context_lib.__file__).parent / "patterns"),
        ),
        forbidden=("context_lib.patterns",),
    )
    assert seen["uid"] >= 200_000
    assert seen["files"] == ["data.csv"]
    assert seen["course"] == "FileNotFoundError"
    assert "solutions" not in seen["repo"] and "tests" not in seen["repo"]
    assert seen["network"] == "OSError"
    assert seen["patterns"] is False
    assert set(seen["env"]) <= {
        "HOME",
        "PATH",
        "LANG",
        "TMPDIR",
        "MPLBACKEND",
        "PYTHONDONTWRITEBYTECODE",
    }
    assert seen["home"] != os.environ.get("HOME")


def test_each_notebook_gets_a_distinct_uid(report: Any) -> None:
    first = _observe('__cc_observe__("uid", lambda: __import__("os").getuid())')
    second = _observe('__cc_observe__("uid", lambda: __import__("os").getuid())')
    assert first["uid"] != second["uid"]


def test_forbidden_modules_cannot_be_imported(report: Any) -> None:
    code = (
        "try:\n    import context_lib.patterns\n    r = 'imported'\n"
        "except ImportError as exc:\n    r = type(exc).__name__\n"
        "__cc_observe__('r', lambda: r)\n"
    )
    assert _observe(code, forbidden=("context_lib.patterns",))["r"] == "ModuleNotFoundError"
    assert _observe(code)["r"] == "imported"


def test_without_bubblewrap_the_missing_isolation_is_reported_and_grading_still_works() -> None:
    sandbox = Sandbox((), use_bwrap=False)
    try:
        report = sandbox.start()
        assert not report.complete
        assert "MISSING: filesystem view without the course folder" in report.describe()
        execution = execute(
            [
                PlannedCell(code="import os\nos._exit(1)", name="crashing cell"),
                PlannedCell(code='__cc_observe__("x", lambda: 6 * 7)', name="probe cell"),
            ],
            sandbox=sandbox,
            files={},
            limits=SandboxLimits(),
            cell_timeout=30,
            notebook_timeout=60,
        )
    finally:
        sandbox.close()
    assert [o.status for o in execution.outcomes] == ["crashed", "ok"]
    assert execution.outcomes[1].observations[0].value == 42


def test_process_pools_work_inside_the_sandbox(report: Any) -> None:
    code = (
        "from concurrent.futures import ProcessPoolExecutor\n"
        "with ProcessPoolExecutor(2) as pool:\n"
        "    squares = list(pool.map(abs, [-1, -2, -3]))\n"
        "__cc_observe__('squares', lambda: squares)\n"
    )
    assert _observe(code)["squares"] == [1, 2, 3]


def test_notebook_processes_are_the_first_the_kernel_kills_when_memory_runs_out(
    report: Any,
) -> None:
    code = (
        "def _lower():\n"
        "    with open('/proc/self/oom_score_adj', 'w') as handle:\n"
        "        handle.write('0')\n"
        "    return 'lowered'\n"
        "__cc_observe__('score', lambda: open('/proc/self/oom_score_adj').read().strip())\n"
        "__cc_observe__('lower', lambda: _lower)\n"
    )
    seen = _observe(code)
    assert seen["score"] == "1000"
    assert seen["lower"] == "PermissionError"


def test_a_notebook_cannot_exhaust_kernel_memory_with_empty_files(report: Any) -> None:
    code = (
        "import os\n"
        "def _fill():\n"
        "    made = 0\n"
        "    try:\n"
        "        while made < 200_000:\n"
        "            open(f'f{made}', 'x').close()\n"
        "            made += 1\n"
        "    except OSError as exc:\n"
        "        return [made, type(exc).__name__]\n"
        "    return [made, 'no limit']\n"
        "__cc_observe__('made', lambda: _fill())\n"
    )
    made, error = _observe(code)["made"]
    assert error == "OSError"
    assert made < 200_000


def test_a_notebook_sees_only_its_own_processes_and_cannot_raise_its_limits(report: Any) -> None:
    code = (
        "import os, resource\n"
        "def _raise():\n"
        "    resource.setrlimit(resource.RLIMIT_NPROC, (10**6, 10**6))\n"
        "def _commands():\n"
        "    found = []\n"
        "    for entry in os.listdir('/proc'):\n"
        "        if entry.isdigit():\n"
        "            with open(f'/proc/{entry}/cmdline', 'rb') as handle:\n"
        "                found.append(handle.read().replace(b'\\0', b' ').decode())\n"
        "    return found\n"
        "__cc_observe__('commands', lambda: _commands())\n"
        "__cc_observe__('raise', lambda: _raise)\n"
        "__cc_observe__('init', lambda: os.getppid())\n"
    )
    seen = _observe(code)
    assert len(seen["commands"]) == 2  # the session's init and the notebook's process
    assert not any("bwrap" in command for command in seen["commands"])
    assert seen["raise"] == "ValueError"
    assert seen["init"] == 1


def test_a_forbidden_single_file_module_leaves_no_bytecode_to_load(report: Any) -> None:
    import importlib

    import context_lib

    importlib.import_module("context_lib.merge")  # its bytecode exists on the host
    cache = Path(context_lib.__file__).parent / "__pycache__"
    assert any(cache.glob("merge.*.pyc"))
    code = (
        "import os, importlib.machinery, importlib.util\n"
        f"cache = {str(cache)!r}\n"
        "def _load():\n"
        "    for name in os.listdir(cache):\n"
        "        if name.startswith('merge.'):\n"
        "            path = os.path.join(cache, name)\n"
        "            loader = importlib.machinery.SourcelessFileLoader('stolen', path)\n"
        "            spec = importlib.util.spec_from_loader('stolen', loader)\n"
        "            module = importlib.util.module_from_spec(spec)\n"
        "            loader.exec_module(module)\n"
        "            return 'loaded'\n"
        "    return 'absent'\n"
        "__cc_observe__('bytecode', lambda: _load())\n"
        "others = any(n.startswith('context.') for n in os.listdir(cache))\n"
        "__cc_observe__('others', lambda: others)\n"
    )
    seen = _observe(code, forbidden=("context_lib.merge",))
    assert seen == {"bytecode": "absent", "others": True}


def test_no_mount_in_the_sandbox_hides_what_was_bound_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A virtualenv or checkout under /tmp (as in CI's fresh clones) must stay visible.
    # (The folder of a forbidden module is rebuilt on purpose: tmpfs, then its entries.)
    import grader.core.mounts as mounts

    checkout = tmp_path / "checkout" / "grader"  # pytest's tmp_path is under /tmp
    checkout.mkdir(parents=True)
    real = mounts.module_dir
    monkeypatch.setattr(
        mounts, "module_dir", lambda name: checkout if name == "grader" else real(name)
    )
    args = mounts.bwrap_command("/usr/bin/bwrap", ("context_lib.service",), "{}")
    assert str(checkout) in args
    SANDBOX_WORKROOT = mounts.SANDBOX_WORKROOT
    shared = {"/tmp", SANDBOX_WORKROOT, "/dev/shm", "/dev", "/proc"}
    bound: list[str] = []
    for i, arg in enumerate(args):
        if arg in ("--ro-bind", "--bind"):
            bound.append(args[i + 2])
        elif arg in ("--tmpfs", "--dev", "--proc") and args[i + 1] in shared:
            target = args[i + 1]
            hidden = [b for b in bound if b == target or b.startswith(target.rstrip("/") + "/")]
            assert not hidden, f"--tmpfs {target} hides {hidden}"


CONFINEMENT = """
import ctypes, os, socket, subprocess
def _try(action):
    try:
        return action()
    except Exception as exc:
        return type(exc).__name__
libc = ctypes.CDLL(None, use_errno=True)
def _userns():
    return "allowed" if libc.unshare(0x10000000) == 0 else os.strerror(ctypes.get_errno())
def _loopback():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    socket.create_connection(server.getsockname(), 1)
    return "connected"
__cc_observe__("userns", lambda: _try(_userns))
def _unshare_command():
    return subprocess.run(["unshare", "-U", "true"]).returncode
__cc_observe__("unshare", lambda: _try(_unshare_command))
__cc_observe__("loopback", lambda: _try(_loopback))
__cc_observe__("etc", lambda: sorted(os.listdir("/etc")))
"""


def test_no_user_namespaces_no_loopback_and_no_host_etc(report: Any) -> None:
    seen = _observe(CONFINEMENT)
    assert seen["userns"] == "Operation not permitted"
    assert seen["unshare"] != 0
    assert seen["loopback"] != "connected"
    assert "passwd" not in seen["etc"] and "shadow" not in seen["etc"]
    assert "hosts" not in seen["etc"] and "ld.so.cache" in seen["etc"]
