"""A source notebook prepared for grading: its cells, settings and test-cell plans."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.checks import TestCellPlan, plan_test_cell
from grader.grading_errors import GradingError
from grader.nbsource import (
    Cell,
    NotebookSettings,
    file_sha256,
    load_notebook_json,
    read_cells,
    read_settings,
)

__all__ = ["SourcePlan", "load_source_plan"]


@dataclass(frozen=True)
class SourcePlan:
    """Everything the grader needs from an instructor's source notebook."""

    path: Path
    notebook: str  # the file's stem, e.g. "01-basic-operations"
    source_hash: str
    settings: NotebookSettings
    cells: tuple[Cell, ...]
    tests: dict[str, TestCellPlan]  # by grade_id, in notebook order

    @property
    def max_score(self) -> float:
        """The notebook's total points."""
        return sum(test.points for test in self.tests.values())


def load_source_plan(path: Path) -> SourcePlan:
    """Read and check a source notebook; :class:`GradingError` names what is wrong."""
    path = Path(path)
    data = load_notebook_json(path)
    cells = read_cells(data)
    settings = read_settings(data, path=path)
    tests: dict[str, TestCellPlan] = {}
    for cell in cells:
        if cell.role != "test" or cell.cell_type != "code":
            continue
        if not cell.grade_id:
            raise GradingError(
                f"{path.name}: test cell {cell.id or cell.index + 1} has no nbgrader grade_id",
                notebook=path.stem,
            )
        if cell.grade_id in tests:
            raise GradingError(
                f"{path.name}: two test cells share grade_id {cell.grade_id!r}",
                notebook=path.stem,
                part=cell.grade_id,
            )
        try:
            tests[cell.grade_id] = plan_test_cell(cell)
        except GradingError as exc:
            raise GradingError(
                f"{path.name}: {exc.message}", notebook=path.stem, part=cell.grade_id
            ) from None
    return SourcePlan(
        path=path,
        notebook=path.stem,
        source_hash=file_sha256(path),
        settings=settings,
        cells=tuple(cells),
        tests=tests,
    )
