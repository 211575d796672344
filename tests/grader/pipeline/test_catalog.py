"""Reading the course's source notebooks: part titles as learners see them."""

from __future__ import annotations

from pathlib import Path

import nbformat

from grader.core.localcheck import load_checks
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


def test_plural_hints_are_read_and_the_singular_key_still_counts(tmp_path: Path) -> None:
    graded = {"grade": True, "solution": False, "locked": True, "points": 5}
    _source(
        tmp_path,
        [
            nbformat.v4.new_code_cell(
                "assert True",
                metadata={
                    "nbgrader": {**graded, "grade_id": "p1"},
                    "context_course": {"hints": ["First look here.", " ", "Then there."]},
                },
            ),
            nbformat.v4.new_code_cell(
                "assert True",
                metadata={
                    "nbgrader": {**graded, "grade_id": "p2"},
                    "context_course": {"hint": "The old key."},
                },
            ),
        ],
    )
    notebook = next(iter(load_catalog(tmp_path).values()))
    assert [c.hints for c in notebook.grade_cells] == [
        ("First look here.", "Then there."),
        ("The old key.",),
    ]
    assert [c.title for c in notebook.grade_cells] == ["p1", "p2"]


def test_the_feedback_and_the_check_panel_name_every_course_part_alike() -> None:
    """The real course: the catalog (feedback pages) and the learner notebooks' local
    checks (check panel, ``check``) read titles and hints through one reader."""
    root = Path(__file__).resolve().parents[3]
    catalog = load_catalog(root / "solutions")
    compared = 0
    for slug, source in catalog.items():
        local = load_checks(root / "exercises" / slug / f"{slug}.ipynb")
        for spec in source.grade_cells:
            if spec.grade_id in local.parts:
                part = local.parts[spec.grade_id]
                assert (part.title, part.hints) == (spec.title, spec.hints)
                assert "`" not in part.title
                compared += 1
    assert compared >= 40
    assert any(spec.hints for source in catalog.values() for spec in source.grade_cells)
