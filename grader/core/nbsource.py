"""Reading nbgrader-format notebooks: cells, their nbgrader roles and per-notebook settings.

Notebooks are read as plain JSON (nbformat 4); the grader needs only cell ids, types,
sources and metadata. The instructor's source notebook must be well formed
(:class:`~grader.core.errors.GradingError` otherwise); a learner's notebook has passed
intake, but is still read defensively by :func:`read_cells`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from grader.core.errors import GradingError

__all__ = [
    "Cell",
    "NotebookSettings",
    "PartText",
    "Role",
    "file_sha256",
    "hidden_line_ranges",
    "load_notebook_json",
    "part_texts",
    "read_cells",
    "read_settings",
    "strip_hidden_tests",
    "strip_solutions",
]

Role = Literal["test", "solution", "locked", "manual", "plain"]

SOLUTION_BEGIN = re.compile(r"^\s*###\s*BEGIN SOLUTION\s*$")
SOLUTION_END = re.compile(r"^\s*###\s*END SOLUTION\s*$")
HIDDEN_BEGIN = re.compile(r"^\s*###\s*BEGIN HIDDEN TESTS\s*$")
HIDDEN_END = re.compile(r"^\s*###\s*END HIDDEN TESTS\s*$")

#: How a check-panel cell starts: such locked cells are skipped at grading.
CHECK_PANEL_IMPORT = "from context_course.checkpanel import"


@dataclass(frozen=True)
class Cell:
    """One notebook cell with its nbgrader role."""

    index: int
    id: str
    cell_type: str
    source: str
    nbgrader: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def grade_id(self) -> str:
        value = self.nbgrader.get("grade_id")
        return value if isinstance(value, str) else ""

    @property
    def role(self) -> Role:
        """``test``, ``solution``, ``manual`` (graded answer), ``locked`` or ``plain``."""
        grade = self.nbgrader.get("grade") is True
        solution = self.nbgrader.get("solution") is True
        if grade and not solution:
            return "test"
        if grade and solution:
            return "manual"
        if solution:
            return "solution"
        if self.nbgrader.get("locked") is True:
            return "locked"
        return "plain"

    @property
    def is_check_panel(self) -> bool:
        """A locked cell showing the learner's Check my work panel (the course product's UI).

        It is never executed when grading or building reference values: the panel belongs
        to the learner's live kernel, and the sandboxed child imports no product code.
        """
        if self.role != "locked" or self.cell_type != "code":
            return False
        return any(line.strip().startswith(CHECK_PANEL_IMPORT) for line in self.source.splitlines())

    @property
    def points(self) -> float:
        value = self.nbgrader.get("points", 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return 0.0
        return float(value)


@dataclass(frozen=True)
class NotebookSettings:
    """``metadata.context_course`` of a source notebook."""

    forbidden_imports: tuple[str, ...] = ()
    cell_timeout: float | None = None
    float_tolerance: float = 1e-9


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_notebook_json(path: Path, *, what: str = "source notebook") -> dict[str, Any]:
    """Parse an nbformat-4 notebook as JSON; :class:`GradingError` if it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GradingError(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GradingError(f"{what} {path} is not a readable JSON notebook: {exc}") from None
    if not isinstance(data, dict) or data.get("nbformat") != 4:
        raise GradingError(f"{what} {path} is not an nbformat 4 notebook")
    if not isinstance(data.get("cells"), list):
        raise GradingError(f"{what} {path} has no list of cells")
    return data


def _text(source: Any) -> str:
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    return ""


def read_cells(notebook: dict[str, Any]) -> list[Cell]:
    """The cells of a parsed notebook; malformed entries become empty ``raw`` cells."""
    cells: list[Cell] = []
    for index, raw in enumerate(notebook.get("cells", [])):
        if not isinstance(raw, dict):
            cells.append(Cell(index=index, id="", cell_type="raw", source=""))
            continue
        metadata = raw.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        nbgrader = metadata.get("nbgrader")
        cell_id = raw.get("id")
        cell_type = raw.get("cell_type")
        cells.append(
            Cell(
                index=index,
                id=cell_id if isinstance(cell_id, str) else "",
                cell_type=cell_type if isinstance(cell_type, str) else "raw",
                source=_text(raw.get("source")),
                nbgrader=nbgrader if isinstance(nbgrader, dict) else {},
                metadata=metadata,
            )
        )
    return cells


def read_settings(notebook: dict[str, Any], *, path: Path) -> NotebookSettings:
    """The per-notebook grading settings; :class:`GradingError` when they are malformed."""
    metadata = notebook.get("metadata")
    raw = metadata.get("context_course", {}) if isinstance(metadata, dict) else {}
    if not isinstance(raw, dict):
        raise GradingError(f"{path}: metadata.context_course must be an object")
    forbidden = raw.get("forbidden_imports", [])
    if not isinstance(forbidden, list) or not all(
        isinstance(name, str) and re.fullmatch(r"[A-Za-z_][\w.]*", name) for name in forbidden
    ):
        raise GradingError(
            f"{path}: metadata.context_course.forbidden_imports must be a list of module names"
        )
    timeout = raw.get("cell_timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
    ):
        raise GradingError(f"{path}: metadata.context_course.cell_timeout must be positive")
    tolerance = raw.get("float_tolerance", 1e-9)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or tolerance < 0:
        raise GradingError(f"{path}: metadata.context_course.float_tolerance must be >= 0")
    return NotebookSettings(
        forbidden_imports=tuple(forbidden),
        cell_timeout=float(timeout) if timeout is not None else None,
        float_tolerance=float(tolerance),
    )


@dataclass(frozen=True)
class PartText:
    """What a learner reads about a graded part: its title and the author's hints."""

    title: str
    hints: tuple[str, ...] = ()


_HEADING = re.compile(r"^#{2,6}\s+(.+?)\s*#*\s*$")


def _plain(text: str) -> str:
    """Markdown emphasis and code marks dropped: titles are shown as plain text."""
    return text.replace("`", "").replace("*", "").strip()


def _hints(extra: dict[str, Any]) -> tuple[str, ...]:
    hints = extra.get("hints")
    if isinstance(hints, list):
        return tuple(h.strip() for h in hints if isinstance(h, str) and h.strip())
    hint = extra.get("hint")  # the older singular key
    return (hint.strip(),) if isinstance(hint, str) and hint.strip() else ()


def part_texts(cells: list[Cell]) -> dict[str, PartText]:
    """Title and hints of every graded cell, by ``grade_id``: the one reader of both.

    The title is the cell's ``context_course.title`` metadata, else the last ``##``…
    ``######`` heading above it (the last one: a cell that opens a section and then states
    a part, "## 2. Merging" then "### Part 2 (20 points): a resolver", names the part by
    its own heading), else the ``grade_id``; Markdown backticks and emphasis are dropped.
    Hints are ``context_course.hints`` (a list; the singular ``hint`` is read too).
    """
    found: dict[str, PartText] = {}
    heading = ""
    for cell in cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                match = _HEADING.match(line)
                if match:
                    heading = _plain(match.group(1))
            continue
        if not cell.nbgrader.get("grade") or not cell.grade_id:
            continue
        extra = cell.metadata.get("context_course")
        extra = extra if isinstance(extra, dict) else {}
        title = extra.get("title")
        title = _plain(title) if isinstance(title, str) else ""
        found[cell.grade_id] = PartText(
            title=title or heading or cell.grade_id, hints=_hints(extra)
        )
    return found


def hidden_line_ranges(source: str) -> list[tuple[int, int]]:
    """1-based inclusive line ranges between ``### BEGIN/END HIDDEN TESTS`` markers."""
    ranges: list[tuple[int, int]] = []
    start: int | None = None
    for number, line in enumerate(source.splitlines(), start=1):
        if HIDDEN_BEGIN.match(line) and start is None:
            start = number
        elif HIDDEN_END.match(line) and start is not None:
            ranges.append((start, number))
            start = None
    if start is not None:
        ranges.append((start, len(source.splitlines())))
    return ranges


def strip_solutions(source: str) -> str:
    """What nbgrader's generate_assignment leaves of a solution cell."""
    lines = source.splitlines()
    out: list[str] = []
    inside = False
    found = False
    for line in lines:
        if SOLUTION_BEGIN.match(line):
            inside = True
            found = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# YOUR CODE HERE")
            out.append(f"{indent}raise NotImplementedError()")
            continue
        if SOLUTION_END.match(line):
            inside = False
            continue
        if not inside:
            out.append(line)
    if not found:
        return "# YOUR CODE HERE\nraise NotImplementedError()"
    return "\n".join(out)


def strip_hidden_tests(source: str) -> str:
    """What nbgrader's generate_assignment leaves of a test cell (hidden regions removed)."""
    lines = source.splitlines()
    out: list[str] = []
    inside = False
    for line in lines:
        if HIDDEN_BEGIN.match(line):
            inside = True
        elif HIDDEN_END.match(line) and inside:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)
