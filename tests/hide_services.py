"""A pytest plugin that makes this machine look like one with only Python and pip.

Load it with ``-p tests.hide_services`` and ``CONTEXT_COURSE_HIDE`` set to what to hide:
``all`` hides every system service and library in :mod:`tests.services`;
``harfbuzz-subset`` hides only HarfBuzz's subsetter (the library whose absence made
WeasyPrint warn, and ``filterwarnings = error`` turn 73 tests into errors). Unset, it
hides nothing (tests import :func:`shadow_path` from it).

How, so that the code under test meets a real absence rather than a flag:

- binaries: ``PATH`` becomes a folder of links to everything on the real ``PATH`` except
  the hidden programs (the product and the tests both look programs up on ``PATH``), and
  the extra folders :mod:`tests.services` searches (PostgreSQL's) are dropped;
- shared libraries: cffi's ``FFI.dlopen`` (what WeasyPrint loads Pango and HarfBuzz
  with) raises ``OSError`` for the hidden ones, as a missing ``.so`` does;
- fonts: the font folders :mod:`tests.services` searches are dropped.

Used by ``tests/test_without_system_packages.py``; never loaded in a normal run.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import cffi

from tests import services

HIDDEN_BINARIES = frozenset(
    {
        "redis-server",
        "redis-cli",
        "initdb",
        "postgres",
        "pg_ctl",
        "chromium",
        "chromium-browser",
        "bwrap",
        "pdftotext",
        "pdftoppm",
    }
)
HIDDEN_LIBRARIES = ("pango", "harfbuzz-subset")


def shadow_path(hidden: frozenset[str]) -> str:
    """A folder to use as PATH: links to every program on PATH except ``hidden``."""
    shadow = Path(tempfile.mkdtemp(prefix="cc-shadow-bin-"))
    atexit.register(shutil.rmtree, shadow, ignore_errors=True)
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not folder or not Path(folder).is_dir():
            continue
        for entry in Path(folder).iterdir():
            link = shadow / entry.name
            if entry.name in hidden or link.exists() or link.is_symlink():
                continue
            if entry.is_file() and os.access(entry, os.X_OK):
                link.symlink_to(entry)
    return str(shadow)


def _hide_libraries(fragments: tuple[str, ...]) -> None:
    real = cffi.FFI.dlopen

    def dlopen(self: cffi.FFI, name: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(name, str) and any(f in name for f in fragments):
            raise OSError(f"cannot load library '{name}': hidden by tests/hide_services.py")
        return real(self, name, *args, **kwargs)

    cffi.FFI.dlopen = dlopen  # type: ignore[method-assign]


def _hide() -> None:
    what = os.environ.get("CONTEXT_COURSE_HIDE")
    if what == "harfbuzz-subset":
        _hide_libraries(("harfbuzz-subset",))
        return
    os.environ["PATH"] = shadow_path(HIDDEN_BINARIES)
    services.EXTRA_BIN_GLOBS.clear()
    services.FONT_DIRS.clear()
    _hide_libraries(HIDDEN_LIBRARIES)


if os.environ.get("CONTEXT_COURSE_HIDE"):
    _hide()
