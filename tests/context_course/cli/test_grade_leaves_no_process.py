"""``context-course grade`` leaves no process behind when it returns.

The command runs as its own session under a helper that is a child subreaper, so that any
descendant it leaves running (a pool worker, a sandbox's zygote, bubblewrap, a session the
zygote forked) is re-parented to the helper instead of to init. After ``grade`` returns,
the helper lists what is still alive in ``/proc``: its own children, and anything in the
command's session or process group. Nothing may be.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "grading" / "arithmetic.ipynb"
SLUG = "01-arithmetic"

# Runs ARGV as a new session, waits for it, then reports what of it is still alive.
HELPER = r"""
import ctypes, json, os, signal, subprocess, sys, tempfile

libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
    raise SystemExit("cannot become a child subreaper")
# output to files, not pipes: a leftover holding a pipe must not hide that the command ended
with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
    proc = subprocess.Popen(sys.argv[1:], start_new_session=True, stdout=out, stderr=err)
    proc.wait()
    out.seek(0)
    err.seek(0)
    out, err = out.read(), err.read()


def stat(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read(4096).decode("ascii", "replace")
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read(300).replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return "?"


me, group = str(os.getpid()), str(proc.pid)
left = []
for entry in os.listdir("/proc"):
    if entry.isdigit():
        fields = stat(entry)  # state, ppid, pgrp, session, ...
        if fields and fields[0] != "Z" and (
            fields[1] == me or fields[2] == group or fields[3] == group
        ):
            left.append({"pid": int(entry), "state": fields[0], "cmdline": cmdline(entry)})
for item in left:  # they are ours now: do not leave them to the machine
    try:
        os.kill(item["pid"], signal.SIGKILL)
    except OSError:
        pass
print(json.dumps({"code": proc.returncode, "out": out.decode()[-1500:],
                  "err": err.decode()[-1500:], "left": left}))
"""


def _after(argv: list[str]) -> dict[str, Any]:
    """Run ``argv`` under the helper; its exit code, output and the processes it left."""
    done = subprocess.run(
        [sys.executable, "-c", HELPER, *argv],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    report: dict[str, Any] = json.loads(done.stdout)
    return report


linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="child subreapers are Linux's"
)


@linux_only
def test_the_check_sees_a_daemon_that_left_its_session() -> None:
    # a double-forked daemon in a session of its own: neither in the command's session
    # nor its child any more, and still found
    daemon = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(600)\n"
        "    os._exit(0)\n"
        "os.wait()\n"
    )
    report = _after([sys.executable, "-c", daemon])
    assert report["code"] == 0
    assert [p["cmdline"] for p in report["left"]] == [f"{sys.executable} -c {daemon}".strip()]


@pytest.mark.slow
@linux_only
def test_no_process_of_grade_outlives_it(tmp_path: Path) -> None:
    root = tmp_path / "course"
    (root / "solutions" / SLUG).mkdir(parents=True)
    shutil.copyfile(FIXTURE, root / "solutions" / SLUG / f"{SLUG}.ipynb")
    (root / "course.toml").write_text(
        '[course]\nid = "no-leftovers"\nname = "No Leftovers"\nversion = "r1"\n'
        "[grader]\nworkers = 2\ncell_timeout = 20\n",
        encoding="utf-8",
    )
    for learner in ("ann", "bob"):  # two learners: a pool of two workers, two sandboxes
        notebook = tmp_path / "subs" / "submitted" / learner / SLUG / f"{SLUG}.ipynb"
        notebook.parent.mkdir(parents=True)
        shutil.copyfile(FIXTURE, notebook)
    command = Path(sys.executable).parent / "context-course"

    report = _after(
        [str(command), "grade", str(tmp_path / "subs"), "--course", str(root), "--json"]
    )

    assert report["code"] == 0, report["err"]
    assert json.loads(report["out"])["counts"]["graded"] == 2
    assert report["left"] == [], "processes of `grade` still running after it returned"
