"""The autograded/ copy formgrader shows: no learner script runs in the instructor's browser.

Rendered with nbgrader's own formgrader exporter (nbconvert's HTMLExporter with the
``formgrade`` template) and opened in Debian's Chromium through Playwright; the learner's
notebook, rendered the same way without the copy step, runs every payload (the control:
the test would catch a regression).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grader.pipeline.sanitize import instructor_copy
from tests.grader.pipeline.builders import answer, notebook
from tests.services import require_binary

PAYLOADS = {
    "script": "<script>window.__pwned.push('script')</script>",
    "img-onerror": "<img src=x onerror=\"window.__pwned.push('onerror')\">",
    "svg-onload": "<svg onload=\"window.__pwned.push('svg')\"></svg>",
    "iframe-srcdoc": "<iframe srcdoc=\"<script>parent.__pwned.push('iframe')</script>\"></iframe>",
    "details-ontoggle": "<details open ontoggle=\"window.__pwned.push('toggle')\"></details>",
    "markdown-js-link": "[click me](javascript:window.__pwned.push('link'))",
    "html-js-link": "<a id=jslink href=\"javascript:window.__pwned.push('alink')\">x</a>",
}


def hostile_notebook() -> dict[str, Any]:
    nb = notebook("01-alpha", answer())
    for index, (name, payload) in enumerate(PAYLOADS.items()):
        nb["cells"].append(
            {"cell_type": "markdown", "id": f"md{index}", "metadata": {}, "source": payload}
        )
        del name
    nb["cells"].append(
        {
            "cell_type": "raw",
            "id": "raw-html",
            "metadata": {"format": "text/html", "raw_mimetype": "text/html"},
            "source": "<img src=y onerror=\"window.__pwned.push('raw')\">",
        }
    )
    code = nb["cells"][1]
    code["outputs"] = [
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {"text/html": "<img src=z onerror=\"window.__pwned.push('output')\">"},
        }
    ]
    code["metadata"]["nbgrader"]["grade_id"] = "x\"><script>window.__pwned.push('meta')</script>"
    return nb


def _render(nb: dict[str, Any], folder: Path) -> Path:
    """HTML exactly as formgrader renders an autograded notebook."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    path = folder / "nb.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    resources = {"base_url": "/", "mathjax_url": "", "index": 0, "total": 1}
    html, _ = HTMLExporter(config=config).from_filename(str(path), resources=resources)
    page = folder / "page.html"
    page.write_text(html, encoding="utf-8")
    return page


def _pwned(page: Path) -> list[str]:
    """What ran when Chromium opened ``page`` and clicked every link."""
    chromium = require_binary("chromium", "/usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND"],
        )
        try:
            context = browser.new_context(java_script_enabled=True)
            context.add_init_script("window.__pwned = window.__pwned || [];")
            browser_page = context.new_page()
            browser_page.on("dialog", lambda dialog: dialog.dismiss())
            browser_page.goto(page.as_uri(), wait_until="load")
            for link in browser_page.locator("a[href^='javascript:']").all():
                link.click(no_wait_after=True)
            # one round trip through the page's own event loop: pending handlers have run
            browser_page.evaluate("() => new Promise(r => setTimeout(r, 0))")
            ran: list[str] = browser_page.evaluate("() => window.__pwned")
            return ran
        finally:
            browser.close()


@pytest.mark.browser
@pytest.mark.slow
def test_the_autograded_copy_runs_no_learner_script_in_formgrader(tmp_path: Path) -> None:
    nb = hostile_notebook()
    raw = tmp_path / "raw"
    raw.mkdir()
    control = _pwned(_render(nb, raw))
    assert {"script", "onerror", "svg", "iframe", "output"} <= set(control), control  # they work
    safe = tmp_path / "safe"
    safe.mkdir()
    copy = json.loads(instructor_copy(json.dumps(nb).encode("utf-8")))
    assert _pwned(_render(copy, safe)) == []
    assert all(cell.get("outputs", []) == [] for cell in copy["cells"])
    assert "grade_id" not in copy["cells"][1]["metadata"].get("nbgrader", {})
