"""The course's graded notebooks, read from the instructor's source folder.

The source folder follows nbgrader's layout: ``solutions/<NN-slug>/<NN-slug>.ipynb``,
one assignment per folder. The catalog lists, for every notebook, its slug, the
assignment it belongs to, the hash of its bytes and its graded cells with their
points, which is what the gradebook registers and what intake accepts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.core.nbsource import PartText, part_texts, read_cells
from grader.pipeline.errors import CatalogError

__all__ = ["Catalog", "GradeCellSpec", "SourceNotebook", "load_catalog"]


@dataclass(frozen=True)
class GradeCellSpec:
    """A graded cell of a source notebook (nbgrader ``grade: true``)."""

    grade_id: str
    points: float
    cell_type: str  # "code" or "markdown"
    autograded: bool  # a test cell (grade only); False for manually graded answers
    title: str = ""  # see grader.core.nbsource.part_texts, the one reader of titles and hints
    hints: tuple[str, ...] = ()  # the author's hints (``context_course.hints``)


@dataclass(frozen=True)
class SourceNotebook:
    """One instructor notebook: what it is called, where it lives, what it is worth."""

    slug: str  # the notebook's name without ``.ipynb``, e.g. "01-basic-operations"
    assignment: str  # the folder it lives in (nbgrader's assignment name)
    path: Path
    sha256: str
    grade_cells: tuple[GradeCellSpec, ...]
    solution_cells: tuple[str, ...]  # grade_ids of solution cells (for nbgrader comments)
    title: str = ""

    @property
    def max_score(self) -> float:
        """Sum of the points of all graded cells."""
        return float(sum(cell.points for cell in self.grade_cells))

    def grade_cell(self, grade_id: str) -> GradeCellSpec | None:
        """The graded cell called ``grade_id``, if there is one."""
        return next((c for c in self.grade_cells if c.grade_id == grade_id), None)


class Catalog(Mapping[str, SourceNotebook]):
    """Source notebooks by slug, in course order."""

    def __init__(self, notebooks: Mapping[str, SourceNotebook]) -> None:
        self._notebooks = dict(sorted(notebooks.items()))

    def __getitem__(self, slug: str) -> SourceNotebook:
        return self._notebooks[slug]

    def __iter__(self) -> Iterator[str]:
        return iter(self._notebooks)

    def __len__(self) -> int:
        return len(self._notebooks)

    def describe(self) -> str:
        """The slugs as a short, readable list for error messages."""
        names = list(self._notebooks)
        shown = ", ".join(names[:8]) + (", …" if len(names) > 8 else "")
        return shown or "(none)"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _cell_source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else _text(source)


def _title(cells: list[Any]) -> str:
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "markdown":
            for line in _cell_source(cell).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


def _read_source(path: Path, assignment: str) -> SourceNotebook:
    try:
        data = path.read_bytes()
        nb = json.loads(data)
    except (OSError, ValueError) as exc:
        raise CatalogError(f"cannot read source notebook {path}: {exc}") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise CatalogError(f"source notebook {path} is not an nbformat 4 notebook")
    grade_cells: list[GradeCellSpec] = []
    solution_cells: list[str] = []
    seen: set[str] = set()
    texts = part_texts(read_cells(nb))
    for index, cell in enumerate(cells, 1):
        meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
        nbg = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
        if not isinstance(nbg, dict) or not (nbg.get("grade") or nbg.get("solution")):
            continue
        grade_id = nbg.get("grade_id")
        if not isinstance(grade_id, str) or not grade_id:
            raise CatalogError(f"{path}: graded or solution cell {index} has no nbgrader grade_id")
        if grade_id in seen:
            raise CatalogError(f"{path}: grade_id {grade_id!r} is used by two cells")
        seen.add(grade_id)
        if nbg.get("solution"):
            solution_cells.append(grade_id)
        if nbg.get("grade"):
            try:
                points = float(nbg.get("points", 0) or 0)
            except (TypeError, ValueError):
                raise CatalogError(f"{path}: cell {grade_id!r} has non-numeric points") from None
            if points < 0:
                raise CatalogError(f"{path}: cell {grade_id!r} has negative points")
            text = texts.get(grade_id, PartText(title=grade_id))
            grade_cells.append(
                GradeCellSpec(
                    grade_id=grade_id,
                    points=points,
                    cell_type="markdown" if cell.get("cell_type") == "markdown" else "code",
                    autograded=not nbg.get("solution"),
                    title=text.title,
                    hints=text.hints,
                )
            )
    return SourceNotebook(
        slug=path.stem,
        assignment=assignment,
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        grade_cells=tuple(grade_cells),
        solution_cells=tuple(solution_cells),
        title=_title(cells),
    )


def load_catalog(source_dir: Path) -> Catalog:
    """Read every ``<assignment>/<notebook>.ipynb`` under ``source_dir``.

    Raises :class:`CatalogError` when the folder is missing, holds no notebook, or a
    notebook is malformed (no ``grade_id``, duplicate ``grade_id``, bad points).
    """
    if not source_dir.is_dir():
        raise CatalogError(f"source folder {source_dir} does not exist; check [course] source")
    notebooks: dict[str, SourceNotebook] = {}
    for folder in sorted(p for p in source_dir.iterdir() if p.is_dir()):
        if folder.name.startswith((".", "_")):
            continue
        for path in sorted(folder.glob("*.ipynb")):
            if path.stem in notebooks:
                raise CatalogError(
                    f"two source notebooks are called {path.stem!r}: "
                    f"{notebooks[path.stem].path} and {path}"
                )
            notebooks[path.stem] = _read_source(path, folder.name)
    if not notebooks:
        raise CatalogError(
            f"no source notebooks in {source_dir} (expected <assignment>/<notebook>.ipynb)"
        )
    return Catalog(notebooks)
