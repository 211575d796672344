"""Machine instructions per operation, counted by valgrind: a figure load cannot move.

Thread CPU time on a shared machine still moves single rounds by 2x and more (caches and
cores are shared), so two versions of a hot path that differ by 10 % cannot be told
apart by timing them there. The number of machine instructions the interpreter executes
for the same work does not depend on the load: repeated runs agree to within about 1 %.

How: the work to count is called through :func:`counted` (``operator.call``, a C function
nothing else in a benchmark calls), and valgrind's callgrind counts only while that
function is on the stack (``--collect-atstart=no --toggle-collect=_operator_call``). The
interpreter's start, imports and setup are not counted. This needs ``valgrind`` and a
``libpython`` whose symbol table names ``_operator_call`` (pyenv and distribution builds
keep it). Children run with ``PYTHONHASHSEED=0``.

Instructions are not time: a cache miss or a mispredicted branch costs more than an
``add``. Read these counts beside the CPU-time ratios, as the measure that shows whether
a change removed work.
"""

from __future__ import annotations

import operator
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["CountError", "count_instructions", "counted"]

TOGGLE = "_operator_call"
_COLLECTED = re.compile(r"^==\d+== Collected : (\d+)$", re.MULTILINE)


class CountError(RuntimeError):
    """Instructions could not be counted (no valgrind, or nothing was counted)."""


def counted(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn(*args)``; under :func:`count_instructions`, only this call is counted."""
    return operator.call(fn, *args)


def count_instructions(argv: Sequence[str], timeout: float = 1800) -> tuple[int, str]:
    """Run ``python argv...`` under callgrind; returns the instructions executed inside
    :func:`counted` calls, and what the command printed on stdout."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise CountError("valgrind is not installed (apt install valgrind)")
    cmd = [
        valgrind,
        "--tool=callgrind",
        "--collect-atstart=no",
        f"--toggle-collect={TOGGLE}",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        *argv,
    ]
    # A fixed hash seed: string hashes decide dict probe sequences, and so a few
    # instructions per lookup. With it, repeated runs agree to within about 1 % (types and
    # other objects still hash by address, which changes from run to run).
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
    if done.returncode != 0:
        own = [line for line in done.stderr.splitlines() if line and not line.startswith("==")]
        last = own[-1] if own else f"exit status {done.returncode}"  # not valgrind's summary
        raise CountError(f"{' '.join(argv)} failed under valgrind: {last}")
    found = _COLLECTED.search(done.stderr)
    if found is None or int(found.group(1)) == 0:
        raise CountError(
            f"valgrind counted nothing in {TOGGLE}: this Python's libpython has no symbol "
            "for it (a stripped build)"
        )
    return int(found.group(1)), done.stdout
