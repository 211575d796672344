"""``context-course hub passwords | up`` and ``submit --hub`` from the command line."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

import pytest

from context_course.cli import main
from context_course.hub.auth import verify_password
from context_course.hub.client import HubClientError, hub_connection
from context_course.workspace import locate_release, sync_workspace
from tests.context_course.hub.conftest import ROOT, make_course


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_course(tmp_path_factory.mktemp("hub-cli") / "course")


def _sheet(course: Path) -> dict[str, str]:
    with (course / "hub" / "initial-passwords.csv").open(encoding="utf-8") as handle:
        return {row["user"]: row["password"] for row in csv.DictReader(handle)}


def test_passwords_are_issued_once_kept_as_hashes_and_reset_on_demand(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hub", "passwords", "--course", str(course)]) == 0
    first = _sheet(course)
    assert set(first) == {"ada", "bob", "instructor"}
    stored = json.loads((course / "hub" / "passwords.json").read_text())
    assert all(h.startswith("scrypt$") and first[u] not in h for u, h in stored.items())
    for name in ("passwords.json", "initial-passwords.csv"):
        assert stat.S_IMODE((course / "hub" / name).stat().st_mode) == 0o600
    assert main(["hub", "passwords", "--course", str(course)]) == 0
    assert "everyone already has a password" in capsys.readouterr().out
    assert main(["hub", "passwords", "--reset", "ada", "--course", str(course)]) == 0
    second = _sheet(course)
    assert second["ada"] != first["ada"] and second["bob"] == first["bob"]
    stored = json.loads((course / "hub" / "passwords.json").read_text())
    assert verify_password(second["ada"], stored["ada"])
    assert not verify_password(first["ada"], stored["ada"])


def test_reset_of_someone_off_the_roster_is_one_line(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hub", "passwords", "--reset", "zed", "--course", str(course)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: zed is not on the roster"


def test_hub_up_without_a_roster_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "course"
    empty.mkdir()
    (empty / "course.toml").write_text((ROOT / "course.toml").read_text())
    (empty / "solutions").symlink_to(ROOT / "solutions")
    assert main(["hub", "up", "--course", str(empty)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: the roster is empty") and "\n" not in err


def test_submit_hub_off_the_hub_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CONTEXT_COURSE_HUB_URL", raising=False)
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    workspace = tmp_path / "ws"
    sync_workspace(workspace, locate_release(ROOT))
    assert main(["submit", "--hub", "--workspace", str(workspace)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: not running on the course hub")


def test_the_connection_comes_from_the_servers_environment() -> None:
    connection = hub_connection(
        {"CONTEXT_COURSE_HUB_URL": "http://h/services/course", "JUPYTERHUB_API_TOKEN": "t"}
    )
    assert connection.url == "http://h/services/course/" and connection.token == "t"
    with pytest.raises(HubClientError):
        hub_connection({"JUPYTERHUB_API_TOKEN": "t"})
