"""Show an ipywidget that still says something useful where no frontend draws it.

JupyterLab renders a widget from its ``application/vnd.jupyter.widget-view+json`` view;
a kernel driven by nbclient, nbval or the grader has no frontend, and a notebook saved
from there would show ``IntSlider(value=0)`` at best. :func:`show` publishes one output
carrying both the widget view and a plain-text ``summary`` written by the author, so
each reader picks the representation it understands.

>>> import ipywidgets
>>> bundle(ipywidgets.IntSlider(value=3), "slider at 3")["text/plain"]
'slider at 3'
"""

from __future__ import annotations

from typing import Any

import ipywidgets  # type: ignore[import-untyped]
from IPython.core.interactiveshell import InteractiveShell
from IPython.display import display

__all__ = ["WIDGET_VIEW", "bundle", "show"]

#: The MIME type under which Jupyter frontends find a widget to render.
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def bundle(widget: Any, summary: str) -> dict[str, Any]:
    """The mimebundle :func:`show` publishes: the widget's view plus ``summary`` as text.

    Raises ``TypeError`` for something that is not an ipywidget or a summary that is
    not a non-empty string.
    """
    if not isinstance(widget, ipywidgets.Widget):
        raise TypeError(f"show() needs an ipywidgets widget, not {type(widget).__name__}")
    if not isinstance(summary, str) or not summary.strip():
        raise TypeError("show() needs a non-empty summary string for kernels without a frontend")
    data: dict[str, Any] = dict(widget._repr_mimebundle_() or {})  # IPython display protocol
    if WIDGET_VIEW not in data:
        raise TypeError(f"{type(widget).__name__} has no widget view to display")
    data["text/plain"] = summary
    return data


def show(widget: Any, summary: str) -> None:
    """Display ``widget``; where nothing can render it, ``summary`` is what appears.

    In a Jupyter kernel this publishes one ``display_data`` output holding the widget
    view and ``summary`` as ``text/plain``. Outside IPython (a plain ``python``
    process) it prints ``summary``.
    """
    data = bundle(widget, summary)
    if InteractiveShell.initialized():
        display(data, raw=True)  # type: ignore[no-untyped-call]
    else:
        print(summary)
