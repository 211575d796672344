"""Builders for nbgrader-format notebooks and learner submissions (test helpers)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "grading"


def code_cell(source: str, cell_id: str, **nbgrader: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    if nbgrader:
        metadata["nbgrader"] = {
            "schema_version": 3,
            "locked": False,
            "solution": False,
            "grade": False,
            **nbgrader,
        }
    return {
        "cell_type": "code",
        "id": cell_id,
        "metadata": metadata,
        "source": source,
        "outputs": [],
        "execution_count": None,
    }


def markdown_cell(source: str, cell_id: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": source}


def solution(grade_id: str, source: str) -> dict[str, Any]:
    return code_cell(source, grade_id, grade_id=grade_id, solution=True)


def graded(grade_id: str, source: str, points: float, **extra: Any) -> dict[str, Any]:
    cell = code_cell(source, grade_id, grade_id=grade_id, grade=True, locked=True, points=points)
    if extra:
        cell["metadata"]["context_course"] = extra
    return cell


def locked(grade_id: str, source: str) -> dict[str, Any]:
    return code_cell(source, grade_id, grade_id=grade_id, locked=True)


def notebook(cells: list[dict[str, Any]], **context_course: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    }
    if context_course:
        metadata["context_course"] = context_course
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells}


def write(nb: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path


def load(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


_SOLUTION = re.compile(r"^(\s*)### BEGIN SOLUTION\n.*?^\s*### END SOLUTION\n?", re.S | re.M)
_HIDDEN = re.compile(r"^\s*### BEGIN HIDDEN TESTS\n.*?^\s*### END HIDDEN TESTS\n?", re.S | re.M)


def release(source: dict[str, Any]) -> dict[str, Any]:
    """What nbgrader generate_assignment gives learners: no solutions, no hidden tests."""
    nb = copy.deepcopy(source)
    for cell in nb["cells"]:
        text = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        text = _SOLUTION.sub(
            lambda m: f"{m[1]}# YOUR CODE HERE\n{m[1]}raise NotImplementedError()\n", text
        )
        cell["source"] = _HIDDEN.sub("", text)
    return nb


def cell_index(nb: dict[str, Any], cell_id: str) -> int:
    for index, cell in enumerate(nb["cells"]):
        if cell.get("id") == cell_id:
            return index
    raise KeyError(cell_id)


def answer(nb: dict[str, Any], grade_id: str, code: str) -> dict[str, Any]:
    nb = copy.deepcopy(nb)
    nb["cells"][cell_index(nb, grade_id)]["source"] = code
    return nb


def insert_after(nb: dict[str, Any], cell_id: str, code: str, new_id: str) -> dict[str, Any]:
    nb = copy.deepcopy(nb)
    nb["cells"].insert(cell_index(nb, cell_id) + 1, code_cell(code, new_id))
    return nb


def edit_cell(nb: dict[str, Any], cell_id: str, **changes: Any) -> dict[str, Any]:
    nb = copy.deepcopy(nb)
    nb["cells"][cell_index(nb, cell_id)].update(changes)
    return nb


def delete_cell(nb: dict[str, Any], cell_id: str) -> dict[str, Any]:
    nb = copy.deepcopy(nb)
    del nb["cells"][cell_index(nb, cell_id)]
    return nb
