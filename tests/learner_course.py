"""Builders for a tiny course (course.toml + learner notebooks) used by the learner tests.

The course has two notebooks, ``01-adding`` and ``02-words``, each with graded parts whose
visible tests are plain asserts, in nbgrader's learner format (solution regions replaced by
``raise NotImplementedError()``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

COURSE_TOML = """\
[course]
id = "tiny-course"
name = "Tiny"
version = "2026.1"
source = "solutions"
release = "exercises"
"""

CHECK_CELL = "from context_course.checkpanel import check_panel\ncheck_panel()"


def _cell(kind: str, source: str, cell_id: str, **nbgrader: Any) -> Any:
    maker = new_code_cell if kind == "code" else new_markdown_cell
    cell = maker(source)
    cell["id"] = cell_id
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, **nbgrader}
    return cell


def graded_cell(grade_id: str, source: str, points: float, hints: list[str] | None = None) -> Any:
    """A locked, graded test cell (optionally with progressive hints)."""
    cell = _cell(
        "code",
        source,
        grade_id,
        grade=True,
        grade_id=grade_id,
        locked=True,
        points=points,
        solution=False,
    )
    if hints is not None:
        cell.metadata["context_course"] = {"hints": hints}
    return cell


def answer_cell(grade_id: str, source: str) -> Any:
    """An editable solution cell."""
    return _cell(
        "code", source, grade_id, grade=False, grade_id=grade_id, locked=False, solution=True
    )


def check_cell(cell_id: str) -> Any:
    """A locked "Check my work" cell."""
    return _cell(
        "code", CHECK_CELL, cell_id, grade=False, grade_id=cell_id, locked=True, solution=False
    )


STUB = "    # YOUR CODE HERE\n    raise NotImplementedError()"


def adding_notebook(add_body: str = STUB, double_body: str = STUB) -> Any:
    """Notebook 01: part 1 ``add`` (2 visible asserts), part 2 ``double`` (1 assert)."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    nb.cells = [
        _cell("markdown", "# 01 · Adding\n\nA tiny notebook.", "title"),
        _cell("markdown", "### Part 1 (10 points): add two numbers", "part1-task"),
        answer_cell("part1-answer", f"def add(a, b):\n{add_body}\n"),
        graded_cell(
            "part1-tests",
            'assert add(1, 2) == 3, f"add(1, 2) should be 3, got {add(1, 2)!r}"\n'
            "assert add(-1, 1) == 0\n",
            10,
            hints=["Use the + operator.", "return a + b"],
        ),
        check_cell("check-part1"),
        _cell("markdown", "### Part 2 (5 points): double", "part2-task"),
        answer_cell("part2-answer", f"def double(x):\n{double_body}\n"),
        graded_cell("part2-tests", 'assert double(4) == 8, "double(4) should be 8"\n', 5),
        check_cell("check-part2"),
        _cell(
            "code",
            "from context_course.checkpanel import check_notebook\ncheck_notebook()",
            "check-all",
            grade=False,
            grade_id="check-all",
            locked=True,
            solution=False,
        ),
    ]
    return nb


def words_notebook() -> Any:
    """Notebook 02: one part, ``shout``."""
    nb = new_notebook()
    nb.cells = [
        _cell("markdown", "# 02 · Words", "title"),
        answer_cell("shout-answer", f"def shout(word):\n{STUB}\n"),
        graded_cell("shout-tests", 'assert shout("hi") == "HI!"\n', 4),
    ]
    return nb


SOLVED_ADD = "    return a + b"
SOLVED_DOUBLE = "    return 2 * x"


def write_notebook(nb: Any, path: Path) -> Path:
    """Write ``nb`` to ``path`` (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def make_course(root: Path, *, toml: str = COURSE_TOML) -> Path:
    """A course folder with ``course.toml`` and two learner notebooks in ``exercises/``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "course.toml").write_text(toml, encoding="utf-8")
    write_notebook(adding_notebook(), root / "exercises" / "01-adding" / "01-adding.ipynb")
    write_notebook(words_notebook(), root / "exercises" / "02-words" / "02-words.ipynb")
    (root / "exercises" / "01-adding" / "data.txt").write_text("1 2 3\n", encoding="utf-8")
    return root
