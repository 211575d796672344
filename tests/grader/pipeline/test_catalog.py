"""Reading the course's source notebooks: part titles as learners see them."""

from __future__ import annotations

from pathlib import Path

import nbformat

from grader.pipeline.catalog import load_catalog


def _source(folder: Path, cells: list[nbformat.NotebookNode]) -> None:
    nb = nbformat.v4.new_notebook(cells=cells)
    (folder / "01-x").mkdir(parents=True)
    nbformat.write(nb, folder / "01-x" / "01-x.ipynb")


def test_a_part_is_named_by_the_last_heading_before_it_without_backticks(tmp_path: Path) -> None:
    graded = {"nbgrader": {"grade": True, "solution": False, "locked": True, "points": 5}}
    _source(
        tmp_path,
        [
            nbformat.v4.new_markdown_cell(
                "# Notebook\n## 2. Merging\n### Part 2 (5 points): `merge3`"
            ),
            nbformat.v4.new_code_cell(
                "assert True", metadata={"nbgrader": {**graded["nbgrader"], "grade_id": "p2"}}
            ),
            nbformat.v4.new_markdown_cell("## 3. Another section"),
            nbformat.v4.new_code_cell(
                "assert True",
                metadata={
                    "nbgrader": {**graded["nbgrader"], "grade_id": "p3"},
                    "context_course": {"title": "Chosen by the author"},
                },
            ),
        ],
    )
    notebook = next(iter(load_catalog(tmp_path).values()))
    assert [c.title for c in notebook.grade_cells] == [
        "Part 2 (5 points): merge3",
        "Chosen by the author",
    ]
