"""Restoring a learner's notebook against the source: what actually runs when grading.

The source notebook is the authority. Walking its cells in order:

- check-panel cells (the learner's Check my work UI) do not run at all;
- locked cells and test cells run as the *source* has them: a test cell the learner
  deleted, edited, re-typed (e.g. to markdown) or whose metadata they changed is put
  back, and a note says so;
- answer (solution) cells run the learner's code, whatever cell type or metadata the
  learner gave them; a missing answer cell runs as released (``raise
  NotImplementedError()``);
- other code cells run the learner's version if present, else the source's;
- a text (markdown or raw) cell the learner turned into code runs as their code;
- cells the learner added run too, after the matched cell that precedes them.

Learner cells are matched to source cells by nbgrader ``grade_id`` and cell id both,
then by ``grade_id``, then by cell id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from grader.core.nbsource import Cell, Role, strip_hidden_tests, strip_solutions

__all__ = ["Restored", "RunCell", "restore_cells"]

RunRole = Role | Literal["added"]


@dataclass(frozen=True)
class RunCell:
    """A code cell as it will run when grading."""

    role: RunRole
    grade_id: str
    code: str
    name: str  # plain words for events: "the test cell of part p1", "your cell 7"
    learner_code: bool  # the code is the learner's (scanned for forbidden imports)
    source_index: int | None = None


@dataclass(frozen=True)
class Restored:
    """The cells to run, in order, and plain-words notes about what was put back."""

    cells: tuple[RunCell, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)


def _same_both(source: Cell, learner: Cell) -> bool:
    return _same_grade_id(source, learner) and _same_id(source, learner)


def _same_grade_id(source: Cell, learner: Cell) -> bool:
    return bool(source.grade_id) and source.grade_id == learner.grade_id


def _same_id(source: Cell, learner: Cell) -> bool:
    return bool(source.id) and source.id == learner.id


def _match(source: list[Cell], learner: list[Cell]) -> dict[int, Cell]:
    """Map source cell index → matched learner cell (each learner cell used once)."""
    matched: dict[int, Cell] = {}
    used: set[int] = set()
    for same in (_same_both, _same_grade_id, _same_id):
        for cell in source:
            if cell.index in matched:
                continue
            for candidate in learner:
                if candidate.index not in used and same(cell, candidate):
                    matched[cell.index] = candidate
                    used.add(candidate.index)
                    break
    return matched


def _normalized(code: str) -> list[str]:
    return [line.rstrip() for line in code.strip().splitlines() if line.strip()]


def _same_code(theirs: str, source: str) -> bool:
    """Whether a learner's copy of a locked/test cell is the source's or the released one."""
    mine = _normalized(theirs)
    return mine in (_normalized(source), _normalized(strip_hidden_tests(source)))


def _graded_metadata(cell: Cell) -> dict[str, object]:
    keys = ("grade", "solution", "locked", "grade_id", "points")
    return {key: cell.nbgrader.get(key) for key in keys}


def _describe(cell: Cell) -> str:
    if cell.role == "test":
        return f"the test cell of part {cell.grade_id}"
    if cell.role in ("solution", "manual"):
        return f"your answer cell {cell.grade_id or cell.id}"
    return f"cell {cell.grade_id or cell.id or cell.index + 1}"


def restore_cells(source: list[Cell], learner: list[Cell]) -> Restored:
    """The code cells to run for a learner notebook; see the module docstring."""
    matched = _match(source, learner)
    matched_learner = {cell.index: s_index for s_index, cell in matched.items()}
    extras: dict[int, list[Cell]] = {}
    anchor = -1
    for cell in learner:
        if cell.index in matched_learner:
            anchor = matched_learner[cell.index]
        elif cell.cell_type == "code" and cell.source.strip():
            extras.setdefault(anchor, []).append(cell)
    notes: list[str] = []
    run: list[RunCell] = []

    def add_extras(at: int) -> None:
        for extra in extras.get(at, []):
            run.append(
                RunCell(
                    role="added",
                    grade_id="",
                    code=extra.source,
                    name=f"your added cell {extra.index + 1}",
                    learner_code=True,
                )
            )

    add_extras(-1)
    for cell in source:
        theirs = matched.get(cell.index)
        role = cell.role
        name = _describe(cell)
        if cell.is_check_panel:
            pass  # the learner's panel: never run at grading (see Cell.is_check_panel)
        elif role in ("test", "locked"):
            if cell.cell_type == "code":
                if theirs is None:
                    notes.append(f"{name} was missing; the original was put back")
                elif theirs.cell_type != "code":
                    notes.append(f"{name} had been changed to {theirs.cell_type}; it was restored")
                elif not _same_code(theirs.source, cell.source):
                    notes.append(f"{name} had been edited; the original was put back")
                elif _graded_metadata(theirs) != _graded_metadata(cell):
                    notes.append(f"{name} had changed metadata; the source's was used")
                run.append(RunCell(role, cell.grade_id, cell.source, name, False, cell.index))
        elif role in ("solution", "manual"):
            if cell.cell_type == "code":
                if theirs is None:
                    notes.append(f"{name} was missing; it was graded as unanswered")
                    code, own = strip_solutions(cell.source), False
                else:
                    code, own = theirs.source, True
                run.append(RunCell(role, cell.grade_id, code, name, own, cell.index))
        elif cell.cell_type == "code":
            code = theirs.source if theirs is not None else cell.source
            run.append(RunCell(role, cell.grade_id, code, name, theirs is not None, cell.index))
        elif theirs is not None and theirs.cell_type == "code" and theirs.source.strip():
            # a text cell the learner turned into code (JupyterLab keeps the cell's id)
            run.append(
                RunCell(
                    role="added",
                    grade_id="",
                    code=theirs.source,
                    name=f"your cell {theirs.index + 1} (a text cell turned into code)",
                    learner_code=True,
                )
            )
        add_extras(cell.index)
    return Restored(cells=tuple(run), notes=tuple(notes))
