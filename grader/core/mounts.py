"""What the sandboxed child sees of the filesystem: the bubblewrap command line.

The root holds only the system folders (read-only), the Python installation, the virtual
environment and the ``grader`` and ``context_lib`` packages; forbidden modules are hidden;
``/tmp`` and the working root are private tmpfs. :mod:`grader.core.sandbox` starts the
zygote with this command (see its docstring for the namespaces and limits).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

__all__ = [
    "SANDBOX_WORKROOT",
    "SHM_BYTES",
    "TMPFS_BYTES",
    "bwrap_command",
    "bwrap_path",
    "module_dir",
    "python_paths",
    "readable_by_others",
]

TMPFS_BYTES = 512 << 20
SHM_BYTES = 64 * 1024 * 1024
SANDBOX_WORKROOT = "/context-course-sandbox"
#: The host's /etc files the sandbox sees (the loader's cache, time zone, MIME types).
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "timezone",
    "mime.types",
    "nsswitch.conf",
)


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def module_dir(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
        return None
    origin = Path(spec.origin)
    return origin.parent if origin.name == "__init__.py" else origin


def _forbidden_paths(forbidden: tuple[str, ...]) -> list[Path]:
    paths = []
    for name in forbidden:
        located = module_dir(name)
        if located is not None and located.exists():
            paths.append(located)
    return paths


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def python_paths() -> list[Path]:
    paths = [Path(sys.base_prefix), Path(sys.prefix), Path(os.path.realpath(sys.executable))]
    for package in ("grader", "context_lib", "IPython"):
        located = module_dir(package)
        if located is not None:
            paths.append(located)
    return paths


def readable_by_others(paths: list[Path]) -> bool:
    """Whether an unprivileged uid can reach (and read) every one of ``paths``."""
    for path in paths:
        for folder in (path, *path.parents):
            try:
                mode = folder.stat().st_mode
            except OSError:
                return False
            if folder.is_dir() and not mode & 0o001:
                return False
            if not folder.is_dir() and not mode & 0o004:
                return False
    return True


def bwrap_command(
    bwrap: str, forbidden: tuple[str, ...], config: str, *, hash_seed: str = ""
) -> list[str]:
    is_root = os.geteuid() == 0
    args = [
        bwrap,
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sandbox",
    ]
    if is_root:
        args += ["--cap-add", "ALL"]
    else:
        args += ["--unshare-user", "--uid", "0", "--gid", "0", "--cap-add", "ALL"]
    bound: list[Path] = []
    made: set[Path] = {Path("/")}

    def make_parents(path: Path) -> None:
        # bwrap creates missing mount points 0700: the unprivileged child could not pass
        for parent in reversed(path.parents):
            if parent not in made and not _inside(parent, bound):
                args.extend(["--perms", "0755", "--dir", str(parent)])
                made.add(parent)

    def ro_bind(path: Path) -> None:
        if path.exists() and not _inside(path, bound):
            make_parents(path)
            args.extend(["--ro-bind", str(path), str(path)])
            bound.append(path)

    # /tmp first, so that binds below it (a virtualenv or checkout under /tmp) stay visible;
    # it is made read-only at the end: learners write only to their private work root.
    args.extend(["--size", str(1 << 20), "--tmpfs", "/tmp"])
    made.add(Path("/tmp"))
    ro_bind(Path("/usr"))
    # Not the host's /etc (users, hosts, service configs): only what the dynamic loader
    # and Python's standard library read, on an otherwise empty read-only tmpfs.
    args.extend(["--perms", "0755", "--tmpfs", "/etc"])
    made.add(Path("/etc"))
    for name in ETC_FILES:
        path = Path("/etc") / name
        if path.is_symlink():
            args.extend(["--symlink", os.readlink(path), str(path)])
        elif path.exists():
            args.extend(["--ro-bind", str(path), str(path)])
    args.extend(["--remount-ro", "/etc"])
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args.extend(["--symlink", os.readlink(path), str(path)])
        elif path.is_dir():
            ro_bind(path)
    for prefix in (sys.base_prefix, sys.prefix, sys.exec_prefix):
        ro_bind(Path(prefix).resolve())
        ro_bind(Path(prefix))
    ro_bind(Path(os.path.realpath(sys.executable)).parent)
    package_parents: list[str] = []
    for package in ("grader", "context_lib"):
        located = module_dir(package)
        if located is not None:
            ro_bind(located)
            package_parents.append(str(located.parent))
    # forbidden modules: rebuild their folder without them (and a single-file module's
    # __pycache__ without its bytecode, which would load as well as the source)
    hidden = _forbidden_paths(forbidden)
    for path in list(hidden):
        if path.suffix == ".py" and (path.parent / "__pycache__").is_dir():
            hidden.extend(sorted((path.parent / "__pycache__").glob(f"{path.stem}.*")))
    folders = sorted({path.parent for path in hidden if _inside(path.parent, bound)})
    for folder in folders:
        args.extend(["--perms", "0755", "--tmpfs", str(folder)])
        for entry in sorted(folder.iterdir()):
            if entry in hidden or entry in folders:
                continue  # hidden, or rebuilt itself next
            if entry.is_symlink():
                args.extend(["--symlink", os.readlink(entry), str(entry)])
            else:
                args.extend(["--ro-bind", str(entry), str(entry)])
    for folder in folders:
        args.extend(["--remount-ro", str(folder)])
    args += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        # A private, size-capped /dev/shm: multiprocessing's locks and pools need one.
        "--perms",
        "1777",
        "--size",
        str(SHM_BYTES),
        "--tmpfs",
        "/dev/shm",
        "--size",
        str(TMPFS_BYTES),
        "--tmpfs",
        SANDBOX_WORKROOT,
        "--remount-ro",
        "/tmp",
        "--chdir",
        SANDBOX_WORKROOT,
        "--clearenv",
        "--setenv",
        "PATH",
        "/usr/local/bin:/usr/bin:/bin",
        "--setenv",
        "LANG",
        "C.UTF-8",
        "--setenv",
        "HOME",
        SANDBOX_WORKROOT,
        "--setenv",
        "PYTHONPATH",
        os.pathsep.join(dict.fromkeys(package_parents)),
        *(("--setenv", "PYTHONHASHSEED", hash_seed) if hash_seed else ()),
        sys.executable,
        "-s",
        "-m",
        "grader.child.zygote",
        config,
    ]
    return args
