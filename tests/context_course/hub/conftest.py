"""A real course hub for tests: JupyterHub + configurable-http-proxy + the course service.

The hub runs the course shipped in this repository (copied to a temporary folder) with a
two-learner roster and one instructor. A test-only external service, ``tester``, holds an
admin token so tests can mint hub API tokens for users, as a learner's server would have.
"""

from __future__ import annotations

import json
import secrets
import shutil
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from context_course.hub.launch import HubPlan, RunningHub, plan_hub, start_hub
from grader.pipeline.config import load_course
from grader.pipeline.gradebook import GradebookStore
from grader.pipeline.roster import import_roster_csv
from tests.conftest import free_port
from tests.services import require_binary

ROOT = Path(__file__).resolve().parents[3]
ROSTER = (
    "id,first_name,last_name,email\n"
    "ada,Ada,Lovelace,ada@example.org\n"
    "bob,Bob,Builder,bob@example.org\n"
)


def make_course(folder: Path, hub_section: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "course.toml").read_text(encoding="utf-8")
    text = text.replace('key_dir = ""', f'key_dir = "{folder / "keys"}"')
    text = text.replace(
        'issuer_url = "https://context-course.example/issuer"',
        'issuer_url = "https://courses.example.org/context"',
    )
    text += '\n[hub]\nlearner_group = "learners"\n' + hub_section
    (folder / "course.toml").write_text(text, encoding="utf-8")
    for name in ("solutions", "exercises"):
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns(".*"))
    (folder / "roster.csv").write_text(ROSTER, encoding="utf-8")
    course = load_course(folder)
    with GradebookStore(course.db_url(), course_id=course.id) as store:
        import_roster_csv(folder / "roster.csv", store)
    return folder


@dataclass
class Hub:
    plan: HubPlan
    running: RunningHub
    admin_token: str

    @property
    def service(self) -> str:
        return self.plan.service_url

    def token_for(self, user: str) -> str:
        request = urllib.request.Request(
            f"{self.plan.url}hub/api/users/{user}/tokens",
            data=json.dumps({"note": "test"}).encode(),
            headers={"Authorization": f"token {self.admin_token}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return str(json.load(response)["token"])


def plan_test_hub(
    folder: Path,
    *,
    spawner_env: dict[str, str] | None = None,
    extra_services: tuple[dict[str, object], ...] = (),
) -> HubPlan:
    """The course in ``folder`` on four free ports, with grace as instructor."""
    return plan_hub(
        load_course(folder),
        port=free_port(),
        service_port=free_port(),
        hub_api_port=free_port(),
        proxy_api_port=free_port(),
        instructors=("grace",),
        others=("mallory",),
        spawner_env=spawner_env,
        extra_services=extra_services,
    )


def start_test_hub(folder: Path, *, spawner_env: dict[str, str] | None = None) -> Hub:
    require_binary("chp", "configurable-http-proxy")
    admin = secrets.token_hex(32)
    services: tuple[dict[str, object], ...] = ({"name": "tester", "api_token": admin},)
    plan = plan_test_hub(folder, spawner_env=spawner_env, extra_services=services)
    return Hub(plan, start_hub(plan, ready_timeout=300), admin)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    folder = make_course(tmp_path_factory.mktemp("hub-course") / "course")
    running = start_test_hub(folder)
    try:
        yield running
    finally:
        running.running.stop()
