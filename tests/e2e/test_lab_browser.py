"""The learner's journey in a real browser: JupyterLab + Playwright + Debian's Chromium.

``context-course lab`` serves a learner workspace; the browser opens notebook 01, runs
it, types a correct answer into part 1, runs it, presses "Check my work" and sees part 1
pass; the notebook is saved and ``context-course check 1`` gives the same verdict.

Follows /work/shared/recipes/jupyterlab-browser-test (its gotchas are cited by number).
Artifacts (screenshots, the server log) go to ``$LAB_E2E_ARTIFACTS`` or a pytest temp dir.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from context_course.workspace import (
    locate_release,
    open_workspace,
    shipped_course_root,
    sync_workspace,
)
from tests.conftest import free_port
from tests.services import require_binary

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = "01-basic-operations"
PART = "part1-tests"
ANSWER = "part1-answer"
KERNEL_NAME = "Python 3 (ipykernel)"  # what the status bar shows (gotcha 1)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # gotcha 9
]
CONTEXT_COURSE = [sys.executable, "-m", "context_course"]


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def _cells(path: Path) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return cells


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _solution(course: Path) -> str:
    """The reference answer of part 1, without nbgrader's solution markers."""
    solution = course / "solutions" / NOTEBOOK / f"{NOTEBOOK}.ipynb"
    (cell,) = (c for c in _cells(solution) if c.get("id") == ANSWER)
    lines = _source(cell).splitlines()
    return (
        "\n".join(
            line
            for line in lines
            if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
        )
        + "\n"
    )


def _ensure_check_cell(notebook: Path) -> int:
    """Index of part 1's check cell; added to this copy if the notebook has none yet."""
    data = json.loads(notebook.read_text(encoding="utf-8"))
    cells = data["cells"]
    test = next(i for i, c in enumerate(cells) if c.get("id") == PART)
    for index in range(test + 1, len(cells)):
        cell = cells[index]
        if cell.get("cell_type") == "code" and "check_panel(" in _source(cell):
            return index
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            break
    cells.insert(
        test + 1,
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "check-part1-e2e",
            "metadata": {},
            "outputs": [],
            "source": "from context_course.checkpanel import check_panel\ncheck_panel()",
        },
    )
    notebook.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return test + 1


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("LAB_E2E_ARTIFACTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("lab-e2e")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[dict[str, Any]]:
    """``context-course lab`` on a fresh learner workspace, on a free loopback port."""
    course = shipped_course_root()
    assert course is not None and (course / "solutions" / NOTEBOOK).is_dir()
    workspace = tmp_path_factory.mktemp("learner") / "context-course-workspace"
    sync_workspace(workspace, locate_release(course))
    notebook = open_workspace(workspace).notebook_path(NOTEBOOK)
    check_index = _ensure_check_cell(notebook)
    # the panel finds its part from the cell JupyterLab says is running, in the release copy
    assert _ensure_check_cell(open_workspace(workspace).pristine_path(NOTEBOOK)) == check_index

    config = tmp_path_factory.mktemp("jupyter-config")  # throw-away settings (gotchas 4, 5)
    settings = config / "lab" / "user-settings" / "@jupyterlab"
    _write_json(
        settings / "apputils-extension" / "notification.jupyterlab-settings",
        {"fetchNews": "false", "checkForUpdates": False},
    )
    _write_json(
        settings / "notebook-extension" / "tracker.jupyterlab-settings", {"windowingMode": "none"}
    )
    _write_json(  # no outgoing requests from the server (gotcha 7)
        config / "jupyter_server_config.json",
        {
            "ServerApp": {"ip": "127.0.0.1"},
            "LabApp": {
                "news_url": None,
                "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                "extension_manager": "readonly",
            },
        },
    )
    token = secrets.token_hex(16)
    port = free_port()
    env = dict(
        os.environ, JUPYTER_CONFIG_DIR=str(config), JUPYTER_TOKEN=token, PYTHONUNBUFFERED="1"
    )
    log = open(artifacts / "jupyter-lab.log", "w")  # noqa: SIM115 - closed in finally
    started = time.monotonic()
    process = subprocess.Popen(
        [
            *CONTEXT_COURSE,
            "lab",
            "--workspace",
            str(workspace),
            "--port",
            str(port),
            "--no-browser",
        ],
        cwd=workspace.parent,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"context-course lab exited; see {artifacts}/jupyter-lab.log")
            try:
                request = urllib.request.Request(
                    f"{url}/api/status", headers={"Authorization": f"token {token}"}
                )
                with urllib.request.urlopen(request, timeout=2) as reply:
                    if reply.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() - started > 300:
                raise RuntimeError("JupyterLab did not answer within 300 s")
            time.sleep(0.2)
        print(f"\n[timing] context-course lab ready in {time.monotonic() - started:.1f}s")
        yield {
            "url": url,
            "token": token,
            "workspace": workspace,
            "notebook": notebook,
            "check_index": check_index,
            "solution": _solution(course),
        }
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # `lab` passes it on to JupyterLab
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # the session we started, only
                process.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = require_binary("chromium", "chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright's own browser download does not work here: use Debian's Chromium.
        instance = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


def test_check_my_work_in_jupyterlab_agrees_with_context_course_check(
    browser: Any, lab: dict[str, Any], artifacts: Path
) -> None:  # browser first: without Chromium the test skips before JupyterLab starts
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    outside: list[str] = []
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith(("http://127.0.0.1", "data:", "blob:"))
            else outside.append(r.url)
        ),
    )
    try:
        _journey(page, lab, artifacts)
    except Exception:
        page.screenshot(path=str(artifacts / "FAILED-notebook-check.png"))
        raise
    finally:
        context.close()
    assert outside == [], outside


def _journey(page: Any, lab: dict[str, Any], artifacts: Path) -> None:
    from playwright.sync_api import expect

    started = time.monotonic()
    page.goto(f"{lab['url']}/lab/tree/{NOTEBOOK}/{NOTEBOOK}.ipynb?token={lab['token']}")
    # the kernel must really be idle before "Run All" (gotcha 1)
    expect(page.locator("#jp-main-statusbar")).to_contain_text(
        f"{KERNEL_NAME} | Idle", timeout=90_000
    )
    cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    data = _cells(lab["notebook"])
    answer_index = next(i for i, c in enumerate(data) if c.get("id") == ANSWER)
    check_cell = cells.nth(lab["check_index"])

    # Run > Run All Cells (gotcha 6); it stops at part 1's failing test (no answer yet)
    page.locator("#jp-MainMenu").get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    first_test = cells.nth(answer_index + 1)
    expect(first_test.locator(".jp-OutputArea-output")).to_contain_text(
        "NotImplementedError", timeout=60_000
    )

    # type the correct answer into part 1's cell and run it
    answer = cells.nth(answer_index)
    answer.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(lab["solution"])
    page.keyboard.press("Shift+Enter")
    expect(answer.locator(".jp-InputPrompt")).to_have_text(re.compile(r"^\[\d+\]:$"))

    # run the check cell, press the button, see part 1 pass
    check_cell.locator(".jp-InputArea").click()
    page.keyboard.press("Escape")  # command mode: run the cell, not edit it
    page.keyboard.press("Control+Enter")
    button = check_cell.get_by_role("button", name="Check my work", exact=True)
    expect(button).to_be_visible(timeout=60_000)
    button.click()
    verdict = check_cell.locator(".cc-check-results")
    expect(verdict).to_contain_text("visible checks passed", timeout=60_000)
    text = verdict.all_inner_texts()
    shown = " ".join(text)
    match = re.search(r"✓ [^—]*— (\d+) of (\d+) visible checks passed", shown)
    assert match and match.group(1) == match.group(2), shown
    assert "hidden tests run at grading" in shown
    # the panel covers part 1 only: it knew which cell it runs in
    header = check_cell.locator(".widget-html-content").first.inner_text()
    assert "Part 1" in header and "Part 2" not in header, header
    widget_checks = int(match.group(1))
    print(f"[timing] page open -> part 1 passes in the widget {time.monotonic() - started:.1f}s")
    check_cell.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "notebook-check.png"))

    # save, then the command line says the same about the saved notebook
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 120
    while "changed.append(key)" not in lab["notebook"].read_text(encoding="utf-8"):
        assert time.monotonic() < deadline, "the notebook was not saved"
        time.sleep(0.2)
    command = subprocess.run(
        [*CONTEXT_COURSE, "check", "1", "--workspace", str(lab["workspace"]), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    (result,) = json.loads(command.stdout)
    part = next(p for p in result["parts"] if p["grade_id"] == PART)
    assert [c["passed"] for c in part["checks"]] == [True] * widget_checks
    assert part["points"] == part["max_points"] > 0
    print(f"[timing] whole journey {time.monotonic() - started:.1f}s")
