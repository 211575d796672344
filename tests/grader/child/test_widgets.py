"""grader.child.widgets.show: one output with the widget view and a plain-text summary."""

from __future__ import annotations

import ipywidgets
import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from grader.child.widgets import WIDGET_VIEW, bundle, show


def test_bundle_holds_the_widget_view_and_the_summary_as_text() -> None:
    slider = ipywidgets.IntSlider(value=3)

    data = bundle(slider, "change 3 of 5: retries = 2")

    assert data["text/plain"] == "change 3 of 5: retries = 2"
    assert data[WIDGET_VIEW]["model_id"] == slider.model_id
    assert data[WIDGET_VIEW]["version_major"] == 2


@pytest.mark.parametrize(
    ("widget", "summary", "message"),
    [
        ("not a widget", "summary", "needs an ipywidgets widget, not str"),
        (ipywidgets.Label("x"), "", "needs a non-empty summary"),
        (ipywidgets.Label("x"), "   ", "needs a non-empty summary"),
        (ipywidgets.Label("x"), None, "needs a non-empty summary"),
    ],
)
def test_bad_arguments_are_type_errors(widget: object, summary: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        show(widget, summary)  # type: ignore[arg-type]


def test_outside_ipython_the_summary_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    show(ipywidgets.IntSlider(value=1), "slider at 1 of 10")

    assert capsys.readouterr().out == "slider at 1 of 10\n"


def test_in_a_kernel_without_frontend_the_output_carries_the_summary() -> None:
    nb = new_notebook()
    nb.cells = [
        new_code_cell(
            "import ipywidgets\n"
            "from grader.child.widgets import show\n"
            "show(ipywidgets.IntSlider(value=2, max=5), 'as of change 2 of 5: a = 1')",
            id="widget",
        )
    ]
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()

    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == ["display_data"]
    assert outputs[0].data["text/plain"] == "as of change 2 of 5: a = 1"
    assert set(outputs[0].data) == {"text/plain", WIDGET_VIEW}
    assert nbformat.validate(nb) is None
