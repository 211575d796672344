"""The copy of a learner's notebook an instructor opens (nbgrader's ``autograded/`` folder).

formgrader renders that copy with nbconvert's HTML exporter, which passes a Markdown
cell's HTML, a raw ``text/html`` cell and saved outputs straight into the page, and its
templates print cell metadata unescaped: a learner who writes ``<img onerror=…>`` in a
Markdown cell would run script in the instructor's logged-in browser. So the copy is
rebuilt from the validated notebook with only what grading by hand needs:

* code cells: the learner's source (rendered as highlighted text), no outputs (they
  are whatever the learner saved, not the graded run), no execution count;
* Markdown cells: rendered to HTML with nbconvert's own Markdown renderer, then cleaned
  by ``nh3`` (the Ammonia sanitiser: an allow-list of tags, attributes and URL schemes,
  so no script, event handler, ``javascript:`` link or frame survives); attachments
  dropped;
* raw cells: cleaned by ``nh3`` as well;
* metadata: only nbgrader's own keys with values of the right type and, for
  ``grade_id``, nbgrader's own id pattern; the notebook's metadata is a fixed Python
  kernel description.

Belongs with the pipeline (``grader/pipeline`` after the restructure).
"""

from __future__ import annotations

import json
import re
from typing import Any

import nh3

__all__ = ["instructor_copy", "sanitise_html"]

_GRADE_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
_NBGRADER_FLAGS = ("grade", "solution", "locked", "task")
_KERNEL = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
_URL_SCHEMES = {"http", "https", "mailto"}


def sanitise_html(html: str) -> str:
    """``html`` with everything that could run script removed (nh3's allow-list)."""
    return nh3.clean(html, url_schemes=_URL_SCHEMES, link_rel="noopener noreferrer nofollow")


def _markdown_html(source: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    try:
        rendered = str(markdown2html_mistune(source))
    except Exception:  # a renderer failure must not leave the raw text in
        rendered = "<pre>" + nh3.clean_text(source) + "</pre>"
    return sanitise_html(rendered)


def _nbgrader_metadata(metadata: object) -> dict[str, Any]:
    if not isinstance(metadata, dict):
        return {}
    found = metadata.get("nbgrader")
    if not isinstance(found, dict):
        return {}
    kept: dict[str, Any] = {}
    for flag in _NBGRADER_FLAGS:
        if isinstance(found.get(flag), bool):
            kept[flag] = found[flag]
    grade_id = found.get("grade_id")
    if isinstance(grade_id, str) and _GRADE_ID.fullmatch(grade_id):
        kept["grade_id"] = grade_id
    points = found.get("points")
    if isinstance(points, int | float) and not isinstance(points, bool) and 0 <= points < 1e6:
        kept["points"] = points
    schema = found.get("schema_version")
    if isinstance(schema, int) and not isinstance(schema, bool) and 0 < schema < 100:
        kept["schema_version"] = schema
    return {"nbgrader": kept} if kept else {}


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def instructor_copy(data: bytes) -> bytes:
    """The notebook ``data`` (already validated by intake) rebuilt safe to render."""
    nb = json.loads(data)
    cells: list[dict[str, Any]] = []
    for cell in nb["cells"]:
        kind = cell.get("cell_type")
        rebuilt: dict[str, Any] = {
            "cell_type": kind,
            "id": cell["id"],
            "metadata": _nbgrader_metadata(cell.get("metadata")),
        }
        if kind == "code":
            rebuilt.update(source=_source(cell), outputs=[], execution_count=None)
        elif kind == "markdown":
            rebuilt["source"] = _markdown_html(_source(cell))
        else:
            rebuilt["source"] = sanitise_html(_source(cell))
        cells.append(rebuilt)
    copy = {
        "cells": cells,
        "metadata": _KERNEL,
        "nbformat": 4,
        "nbformat_minor": max(5, int(nb.get("nbformat_minor", 5) or 5)),
    }
    return (json.dumps(copy, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
