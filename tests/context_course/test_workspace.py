"""The learner workspace: copying, re-syncing without losing work, finding notebooks."""

from __future__ import annotations

import html
import json
import os
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import nbformat
import pytest

from context_course.workspace import (
    STATE_DIR,
    WorkspaceError,
    find_workspace,
    lab_argv,
    lab_environment,
    locate_release,
    notebook_number,
    open_workspace,
    same_work,
    shipped_course_root,
    sync_workspace,
    write_lab_config,
)
from tests.conftest import free_port
from tests.learner_course import SOLVED_ADD, adding_notebook, make_course, write_notebook


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return make_course(tmp_path / "course")


def test_locate_release_reads_course_id_version_and_notebooks(course: Path) -> None:
    release = locate_release(course)
    assert (release.course_id, release.course_version) == ("tiny-course", "2026.1")
    assert list(release.notebooks) == ["01-adding", "02-words"]
    assert release.notebooks["01-adding"] == course / "exercises/01-adding/01-adding.ipynb"


def test_locate_release_accepts_the_exercises_folder_itself(course: Path) -> None:
    release = locate_release(course / "exercises")
    assert release.course_id == "tiny-course"


def test_locate_release_finds_the_course_from_the_current_folder(course: Path) -> None:
    release = locate_release(start=course / "exercises" / "01-adding")
    assert release.root == (course / "exercises").resolve()


def test_locate_release_errors_are_one_readable_line(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="is not a folder"):
        locate_release(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(WorkspaceError, match="holds no learner notebooks"):
        locate_release(tmp_path / "empty")


def test_the_repository_ships_a_course() -> None:
    root = shipped_course_root()
    assert root is not None and (root / "course.toml").is_file()


def test_sync_copies_notebooks_and_data_and_keeps_originals_pristine(
    course: Path, tmp_path: Path
) -> None:
    original = (course / "exercises/01-adding/01-adding.ipynb").read_bytes()
    report = sync_workspace(tmp_path / "ws", locate_release(course))
    assert report.added == ["01-adding", "02-words"]
    ws = open_workspace(tmp_path / "ws")
    assert ws.notebooks() == {
        "01-adding": ws.root / "01-adding/01-adding.ipynb",
        "02-words": ws.root / "02-words/02-words.ipynb",
    }
    assert (ws.root / "01-adding/data.txt").read_text() == "1 2 3\n"
    assert ws.pristine_path("01-adding").read_bytes() == original
    assert (ws.course_id, ws.course_version) == ("tiny-course", "2026.1")
    # the learner edits their copy; the course's notebook does not change
    write_notebook(adding_notebook(add_body=SOLVED_ADD), ws.notebook_path("01-adding"))
    assert (course / "exercises/01-adding/01-adding.ipynb").read_bytes() == original


def test_resync_never_overwrites_work_and_reports_upstream_changes(
    course: Path, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    sync_workspace(root, locate_release(course))
    ws = open_workspace(root)
    write_notebook(adding_notebook(add_body=SOLVED_ADD), ws.notebook_path("01-adding"))
    mine = ws.notebook_path("01-adding").read_bytes()
    (root / "01-adding/data.txt").write_text("changed by me\n")
    ws.notebook_path("02-words").unlink()

    # the course publishes new versions of both notebooks
    changed = adding_notebook()
    changed.cells[0].source += "\n\nNew text."
    write_notebook(changed, course / "exercises/01-adding/01-adding.ipynb")
    words = course / "exercises/02-words/02-words.ipynb"
    words.write_text(words.read_text().replace("02 · Words", "02 · More words"))

    report = sync_workspace(root, locate_release(course))
    assert report.upstream_changed == ["01-adding"]
    assert report.restored == ["02-words"]
    assert ws.notebook_path("01-adding").read_bytes() == mine
    assert (root / "01-adding/data.txt").read_text() == "changed by me\n"
    assert "More words" in ws.notebook_path("02-words").read_text()
    # still reported next time: the learner's copy is still based on the old version
    assert sync_workspace(root, locate_release(course)).upstream_changed == ["01-adding"]


def test_resync_updates_an_untouched_notebook(course: Path, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    sync_workspace(root, locate_release(course))
    changed = adding_notebook()
    changed.cells[0].source += "\n\nNew text."
    write_notebook(changed, course / "exercises/01-adding/01-adding.ipynb")
    report = sync_workspace(root, locate_release(course))
    assert report.updated == ["01-adding"]
    assert report.unchanged == ["02-words"]
    ws = open_workspace(root)
    assert "New text." in ws.notebook_path("01-adding").read_text()
    assert ws.pristine_path("01-adding").read_text() == ws.notebook_path("01-adding").read_text()


def test_resync_adds_new_notebooks(course: Path, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    sync_workspace(root, locate_release(course))
    write_notebook(adding_notebook(), course / "exercises/03-more/03-more.ipynb")
    report = sync_workspace(root, locate_release(course))
    assert report.added == ["03-more"]
    assert report.unchanged == ["01-adding", "02-words"]


def test_an_existing_notebook_without_a_record_is_adopted_not_overwritten(
    course: Path, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    mine = write_notebook(adding_notebook(add_body=SOLVED_ADD), root / "01-adding/01-adding.ipynb")
    before = mine.read_bytes()
    report = sync_workspace(root, locate_release(course))
    assert report.adopted == ["01-adding"]
    assert mine.read_bytes() == before


def test_a_workspace_of_another_course_is_refused(course: Path, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    sync_workspace(root, locate_release(course))
    other = make_course(tmp_path / "other", toml='[course]\nid = "other"\n')
    with pytest.raises(WorkspaceError, match="workspace for course 'tiny-course'"):
        sync_workspace(root, locate_release(other))


def test_symbolic_links_in_the_release_are_not_followed(course: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not copy")
    os.symlink(secret, course / "exercises/01-adding/link.txt")
    sync_workspace(tmp_path / "ws", locate_release(course))
    assert not (tmp_path / "ws/01-adding/link.txt").exists()


def test_find_workspace_from_inside_and_from_the_parent(course: Path, tmp_path: Path) -> None:
    root = tmp_path / "context-course-workspace"
    sync_workspace(root, locate_release(course))
    assert find_workspace(root / "01-adding").root == root.resolve()
    assert find_workspace(tmp_path).root == root.resolve()
    with pytest.raises(WorkspaceError, match="run `context-course lab` first"):
        find_workspace(course)


def test_open_workspace_rejects_garbage_and_newer_formats(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="not a context-course workspace"):
        open_workspace(tmp_path)
    state = tmp_path / STATE_DIR / "workspace.json"
    state.parent.mkdir()
    state.write_text("{not json")
    with pytest.raises(WorkspaceError, match="unreadable"):
        open_workspace(tmp_path)
    state.write_text(json.dumps({"format": "context-course-workspace", "format_version": 99}))
    with pytest.raises(WorkspaceError, match="newer context-course"):
        open_workspace(tmp_path)


def test_resolve_accepts_numbers_slugs_and_paths(course: Path, tmp_path: Path) -> None:
    sync_workspace(tmp_path / "ws", locate_release(course))
    ws = open_workspace(tmp_path / "ws")
    assert ws.resolve("1") == ws.resolve("01") == ws.resolve("01-adding") == "01-adding"
    assert ws.resolve("02-words/02-words.ipynb") == "02-words"
    with pytest.raises(WorkspaceError, match="choose one of 1, 2"):
        ws.resolve("9")


def test_same_work_ignores_outputs_but_not_edits(course: Path, tmp_path: Path) -> None:
    pristine = course / "exercises/01-adding/01-adding.ipynb"
    ran = adding_notebook()
    ran.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x")]
    ran.cells[2].execution_count = 3
    assert same_work(write_notebook(ran, tmp_path / "ran.ipynb"), pristine)
    edited = write_notebook(adding_notebook(add_body=SOLVED_ADD), tmp_path / "edited.ipynb")
    assert not same_work(edited, pristine)


def test_notebook_number() -> None:
    assert notebook_number("03-dirty-keys") == 3
    assert notebook_number("intro") is None


def test_lab_argv_serves_the_workspace(tmp_path: Path) -> None:
    argv = lab_argv(tmp_path, port=8899, open_browser=False, python="py")
    assert argv[:3] == ["py", "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={tmp_path}" in argv
    assert {"--port=8899", "--ServerApp.port_retries=0", "--no-browser"} <= set(argv)
    assert ("--allow-root" in argv) == (os.geteuid() == 0)


def test_lab_config_disables_only_nbgrader_and_is_read_first(tmp_path: Path) -> None:
    folder = write_lab_config(tmp_path / "session")
    page = json.loads((folder / "labconfig" / "page_config.json").read_text())
    assert page == {"disabledExtensions": {"@jupyter/nbgrader": True}}
    server = json.loads((folder / "jupyter_server_config.json").read_text())
    assert set(server) == {"ServerApp"} and set(server["ServerApp"]) == {"jpserver_extensions"}
    switched = server["ServerApp"]["jpserver_extensions"]
    assert switched and all(
        name.startswith("nbgrader.") and not on for name, on in switched.items()
    )
    env = lab_environment(folder, {"PATH": "/bin", "JUPYTER_CONFIG_PATH": "/a" + os.pathsep + "/b"})
    assert env == {
        "PATH": "/bin",
        "JUPYTER_CONFIG_PATH": os.pathsep.join([str(folder.resolve()), "/a", "/b"]),
    }
    assert lab_environment(folder, {})["JUPYTER_CONFIG_PATH"] == str(folder.resolve())


def _get(url: str, token: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, reply.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def _lab_page_config(url: str, token: str, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + 300
    while True:
        assert process.poll() is None, "JupyterLab exited"
        try:
            status, page = _get(f"{url}/lab", token)
        except (urllib.error.URLError, OSError):
            status, page = 0, ""
        if status == 200:
            break
        assert time.monotonic() < deadline, "JupyterLab did not serve /lab within 300 s"
        time.sleep(0.25)
    found = re.search(
        r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.DOTALL
    )
    assert found, "no page config in /lab"
    return dict(json.loads(html.unescape(found.group(1))))


@pytest.mark.slow
def test_a_real_lab_session_hides_nbgrader_and_keeps_the_widgets_extension(
    tmp_path: Path,
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    token = secrets.token_hex(16)
    base = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(tmp_path / "settings"),  # nothing of this machine's own
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTER_TOKEN=token,
    )
    env = lab_environment(write_lab_config(tmp_path / "session"), base)
    port = free_port()
    argv = [*lab_argv(root, port=port, open_browser=False), "--ServerApp.ip=127.0.0.1"]
    with subprocess.Popen(
        argv, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as process:
        try:
            config = _lab_page_config(f"http://127.0.0.1:{port}", token, process)
            formgrader, _ = _get(f"http://127.0.0.1:{port}/formgrader", token)
        finally:
            process.terminate()
            process.wait(timeout=30)
    loaded = {extension["name"] for extension in config["federated_extensions"]}
    disabled = set(config["disabledExtensions"])
    assert "@jupyter/nbgrader" in disabled
    assert "@jupyter-widgets/jupyterlab-manager" in loaded - disabled
    assert formgrader == 404  # nbgrader's server side is off too
