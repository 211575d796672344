"""A source notebook prepared for grading: its cells, settings and test-cell plans."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.core.checks import TestCellPlan, plan_test_cell
from grader.core.errors import GradingError
from grader.core.nbsource import (
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


_plans: dict[tuple[str, str], SourcePlan] = {}
_PLAN_CACHE_SIZE = 64


def load_source_plan(path: Path) -> SourcePlan:
    """Read and check a source notebook; :class:`GradingError` names what is wrong.

    Plans are kept per path and content hash in this process, so a batch parses and
    rewrites each source notebook once.
    """
    path = Path(path)
    try:
        digest = file_sha256(path)
    except OSError as exc:
        raise GradingError(f"source notebook {path} cannot be read: {exc}") from None
    key = (str(path.resolve()), digest)
    cached = _plans.get(key)
    if cached is not None:
        return cached
    plan = _build_plan(path, digest)
    if len(_plans) >= _PLAN_CACHE_SIZE:
        _plans.clear()
    _plans[key] = plan
    return plan


def _build_plan(path: Path, digest: str) -> SourcePlan:
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
        source_hash=digest,
        settings=settings,
        cells=tuple(cells),
        tests=tests,
    )
