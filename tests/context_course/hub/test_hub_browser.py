"""The learner's path on the course hub, in a real browser (Playwright + Debian's Chromium).

A learner logs in to JupyterHub with the password ``hub up`` issued, gets a JupyterLab
server whose home already holds the course's notebooks, opens 01, solves part 1, saves,
presses Submit in part 1's Check my work panel, and sees the graded notebook on the
course page of the hub.
"""

from __future__ import annotations

import csv
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.context_course.hub.conftest import Hub, make_course, start_test_hub
from tests.e2e.test_lab_browser import (  # noqa: F401 - the browser fixture
    ANSWER,
    KERNEL_NAME,
    NOTEBOOK,
    _cells,
    _solution,
    _write_json,
    artifacts,
    browser,
)

pytestmark = [pytest.mark.browser, pytest.mark.hub, pytest.mark.slow]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    folder = make_course(tmp_path_factory.mktemp("hub-browser") / "course")
    config = tmp_path_factory.mktemp("jupyter-config")  # no news, no update checks
    settings = config / "lab" / "user-settings" / "@jupyterlab"
    _write_json(
        settings / "apputils-extension" / "notification.jupyterlab-settings",
        {"fetchNews": "false", "checkForUpdates": False},
    )
    _write_json(
        settings / "notebook-extension" / "tracker.jupyterlab-settings", {"windowingMode": "none"}
    )
    _write_json(
        config / "jupyter_server_config.json",
        {"LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}},
    )
    running = start_test_hub(folder, spawner_env={"JUPYTER_CONFIG_DIR": str(config)})
    try:
        yield running
    finally:
        running.running.stop()


def _password(hub: Hub, user: str) -> str:
    sheet = hub.plan.state_dir / "initial-passwords.csv"
    with sheet.open(encoding="utf-8") as handle:
        return next(row["password"] for row in csv.DictReader(handle) if row["user"] == user)


def test_a_learner_submits_from_the_notebook_and_sees_the_grade_in_the_hub(
    hub: Hub,
    browser: Any,  # noqa: F811 - the fixture imported above
    artifacts: Path,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(hub.plan.url + "hub/login")
        page.fill("#username_input", "ada")
        page.fill("#password_input", _password(hub, "ada"))
        page.click("#login_submit")
        # the hub spawns ada's server; its home already holds the course (fetched, synced)
        page.wait_for_url(re.compile(r"/user/ada/lab"), timeout=240_000)
        home = hub.plan.state_dir / "users" / "ada"
        notebook = home / NOTEBOOK / f"{NOTEBOOK}.ipynb"
        assert notebook.is_file()
        page.goto(f"{hub.plan.url}user/ada/lab/tree/{NOTEBOOK}/{NOTEBOOK}.ipynb")
        expect(page.locator("#jp-main-statusbar")).to_contain_text(
            f"{KERNEL_NAME} | Idle", timeout=180_000
        )
        data = _cells(notebook)
        answer_index = next(i for i, c in enumerate(data) if c.get("id") == ANSWER)
        check_index = next(
            i
            for i, c in enumerate(data)
            if i > answer_index and "check_panel(" in "".join(c.get("source", ""))
        )
        cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
        # run the setup cells (everything above the answer), then type and run the answer
        cells.nth(0).locator(".jp-InputArea").click()
        page.keyboard.press("Escape")
        for _ in range(answer_index):
            page.keyboard.press("Shift+Enter")
        answer = cells.nth(answer_index)
        answer.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(_solution(Path(__file__).resolve().parents[3]))
        page.keyboard.press("Shift+Enter")
        expect(answer.locator(".jp-InputPrompt")).to_have_text(re.compile(r"^\[\d+\]:$"))
        page.keyboard.press("Control+s")
        deadline = time.monotonic() + 60
        while "changed.append(key)" not in notebook.read_text(encoding="utf-8"):
            assert time.monotonic() < deadline, "the notebook was not saved"
            time.sleep(0.2)
        # show part 1's panel and press Submit
        check = cells.nth(check_index)
        check.locator(".jp-InputArea").click()
        page.keyboard.press("Escape")
        page.keyboard.press("Control+Enter")
        submit = check.get_by_role("button", name="Submit", exact=True)
        expect(submit).to_be_visible(timeout=120_000)
        submit.click()
        expect(check.locator(".cc-submit-status")).to_contain_text("submitted", timeout=60_000)
        page.screenshot(path=str(artifacts / "hub-submitted.png"))
        # the course page in the hub shows the graded notebook
        page.goto(hub.service)
        row = page.locator(f"tr:has-text('{NOTEBOOK}') td[data-state]")
        deadline = time.monotonic() + 600
        while row.count() == 0 or row.first.get_attribute("data-state") not in ("done", "failed"):
            assert time.monotonic() < deadline, "the submission was not graded"
            time.sleep(1)
            page.reload()
        assert row.first.get_attribute("data-state") == "done"
        score = page.locator(f"tr:has-text('{NOTEBOOK}') td").nth(3).inner_text()
        points, maximum = (float(x) for x in score.split("/"))
        assert 0 < points < maximum  # part 1 solved, the others not
        page.screenshot(path=str(artifacts / "hub-course-page.png"))
        page.goto(hub.service + "api/submissions")  # the same cookie, as JSON
        mine = json.loads(page.locator("body").inner_text())
        assert [s["notebook"] for s in mine["submissions"]] == [NOTEBOOK]
    except Exception:
        page.screenshot(path=str(artifacts / "FAILED-hub.png"))
        raise
    finally:
        context.close()
    assert os.path.exists(artifacts / "hub-course-page.png")
