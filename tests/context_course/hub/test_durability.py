"""kill -9 of the course service mid-queue: every acknowledged submission is graded, once.

JupyterHub restarts a managed service that dies; the restarted service puts rows the dead
one was grading back in the queue, and the pipeline records each notebook once.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from context_course.hub.launch import _descendants
from grader.pipeline.gradebook import GradebookStore
from tests.context_course.hub.conftest import ROOT, Hub, make_course, start_test_hub

pytestmark = [pytest.mark.slow, pytest.mark.hub]

NOTEBOOKS = ["01-basic-operations", "02-history-tracking", "03-dirty-keys-persistence"]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    folder = make_course(tmp_path_factory.mktemp("hub-durable") / "course")
    running = start_test_hub(folder)
    try:
        yield running
    finally:
        running.running.stop()


def _service_pid(hub: Hub) -> int | None:
    for pid in _descendants(hub.running.process.pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"context_course.hub.service" in cmdline:
            return pid
    return None


def _items(hub: Hub, token: str) -> list[dict[str, object]]:
    response = httpx.get(
        hub.service + "api/submissions",
        headers={"Authorization": f"token {token}"},
        timeout=120,
    )
    response.raise_for_status()
    return list(response.json()["submissions"])


def test_kill_9_mid_queue_loses_nothing_and_grades_each_once(hub: Hub) -> None:
    tokens = {user: hub.token_for(user) for user in ("ada", "bob")}
    acknowledged: dict[str, list[int]] = {"ada": [], "bob": []}
    for user, token in tokens.items():
        for slug in NOTEBOOKS:
            folder = "solutions" if user == "ada" else "exercises"
            response = httpx.post(
                hub.service + "api/submissions",
                params={"notebook": slug},
                content=(ROOT / folder / slug / f"{slug}.ipynb").read_bytes(),
                headers={"Authorization": f"token {token}"},
                timeout=120,
            )
            assert response.status_code == 202, response.text
            acknowledged[user].append(int(response.json()["submission"]["id"]))
    # wait until the service is grading something, then kill it without warning
    deadline = time.monotonic() + 600
    while not any(
        i["state"] == "grading" for i in _items(hub, tokens["ada"]) + _items(hub, tokens["bob"])
    ):
        assert time.monotonic() < deadline, "the service never started grading"
        time.sleep(0.1)
    victim = _service_pid(hub)
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    # JupyterHub restarts it; everything acknowledged gets graded
    deadline = time.monotonic() + 900
    while True:
        pid = _service_pid(hub)
        try:
            states = {
                user: {int(i["id"]): i["state"] for i in _items(hub, token)}  # type: ignore[call-overload]
                for user, token in tokens.items()
            }
        except httpx.HTTPError:
            states = {}
        if states and all(
            states[user].get(item) == "done" for user, ids in acknowledged.items() for item in ids
        ):
            break
        assert time.monotonic() < deadline, f"not all graded after the restart: {states}"
        time.sleep(0.5)
    assert pid is not None and pid != victim
    course = hub.plan.course
    with GradebookStore(course.db_url(), course_id=course.id) as store:
        rows = [(r.learner_id, r.notebook) for r in store.records()]
    assert sorted(rows) == sorted((user, slug) for user in acknowledged for slug in NOTEBOOKS)
