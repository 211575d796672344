"""Real processes: a writer killed with SIGKILL mid-save, and two processes writing one
SQLite store at the same time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from context_lib.persistence import load, open_store

ROOT = Path(__file__).resolve().parents[3]

# Saves two large, different versions of a context over and over; prints "saved" after
# each save so the parent knows saves are under way before it kills the writer.
_WRITER = textwrap.dedent(
    """
    import sys
    from context_lib import Context
    from context_lib.persistence import open_store, save

    url = sys.argv[1]
    versions = [
        Context({f"k.n{i}": {"v": v, "pad": "x" * 40} for i in range(5_000)})
        for v in (0, 1)
    ]
    with open_store(url) as store:
        n = 0
        while True:
            save(versions[n % 2], store)
            n += 1
            print("saved", flush=True)
    """
)


def _kill_mid_save(url: str, phase: float) -> int:
    """Start the writer, time one save, kill it ``phase`` (0..1) of the way into another."""
    with subprocess.Popen(
        [sys.executable, "-c", _WRITER, url], cwd=ROOT, stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "saved"  # one complete save exists
            started = time.monotonic()
            assert proc.stdout.readline().strip() == "saved"
            one_save = time.monotonic() - started
            time.sleep(one_save * phase)  # somewhere inside the next save
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    return proc.returncode


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["file", "sqlite"])
def test_sigkill_mid_save_leaves_a_loadable_previous_state(tmp_path: Path, kind: str) -> None:
    url = f"file://{tmp_path}/state.json" if kind == "file" else f"sqlite:///{tmp_path}/state.db"
    for phase in (0.2, 0.5, 0.8, 0.95):  # encoding, writing, syncing, renaming/committing
        assert _kill_mid_save(url, phase) == -signal.SIGKILL
        with open_store(url) as store:
            data = load(store).to_dict()
        assert len(data) == 5_000
        versions = {value["v"] for value in data.values()}
        assert versions in ({0}, {1}), "a torn write mixed two versions"
        with open_store(url) as store:
            store.put_many({"after.crash": True})  # the next writer sweeps temp files away
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


_DELTA_WRITER = textwrap.dedent(
    """
    import sys
    from context_lib import Context
    from context_lib.persistence import open_store, save_delta

    url, who = sys.argv[1], sys.argv[2]
    ctx = Context()
    with open_store(url) as store:
        print("ready", flush=True)
        sys.stdin.readline()  # start together
        for batch in range(40):
            for i in range(25):
                ctx.set(f"{who}.b{batch}.k{i}", [batch, i])
            ctx.set(f"shared.{who}", batch)
            save_delta(ctx, store, with_history=False)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "file"])
def test_two_processes_writing_one_store_lose_nothing(tmp_path: Path, kind: str) -> None:
    url = (
        f"sqlite:///{tmp_path}/shared.db?name=pipeline&timeout=60"
        if kind == "sqlite"
        else f"file://{tmp_path}/shared.json"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _DELTA_WRITER, url, who],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for who in ("alpha", "beta")
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.close()
    for proc in procs:
        assert proc.wait(timeout=120) == 0
        assert proc.stdout is not None
        proc.stdout.close()
    with open_store(url) as store:
        data = load(store).to_dict()
    for who in ("alpha", "beta"):
        mine = {k: v for k, v in data.items() if k.startswith(who + ".")}
        assert len(mine) == 40 * 25
        assert mine[f"{who}.b39.k24"] == [39, 24]
        assert data[f"shared.{who}"] == 39
