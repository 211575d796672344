"""Mutant corpora: plausible wrong answers to each course notebook, as test data.

``tests/fixtures/mutants/NN-slug.toml`` holds, for the source notebook
``solutions/NN-slug/NN-slug.ipynb``, a list of mutants of its reference solution: the
traps the notebook teaches (each mutant names the trap id it falls into, as declared in
the notebook's ``metadata.context_course.traps``), off-by-one errors, wrong tie rules,
unsorted output, a missing rollback … Each mutant is a list of edits, each replacing one
exact text (found exactly once) in one answer cell::

    [[mutant]]
    name = "detects a change with =="
    trap = "json-equality"            # optional
    [[mutant.edit]]
    cell = "part1-answer"
    old = "if len(ctx.history) > before:"
    new = "if value != current:"

Run as ``python -m tests.notebooks.mutants [NN ...]`` to grade the corpora and print the
mutation score per notebook (the README's table).
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.core.grading import grade_notebook
from grader.core.results import NotebookResult

ROOT = Path(__file__).resolve().parents[2]
CORPORA = ROOT / "tests" / "fixtures" / "mutants"
TRAP_COST = 10.0  # a trap mutant must lose at least this many of the notebook's 100 points


class CorpusError(Exception):
    """A corpus that no longer fits its notebook (the message says which edit)."""


@dataclass(frozen=True)
class Edit:
    cell: str
    old: str
    new: str


@dataclass(frozen=True)
class Mutant:
    name: str
    trap: str | None
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Graded:
    mutant: Mutant
    result: NotebookResult

    @property
    def lost(self) -> float:
        return round(self.result.max_score - self.result.score, 6)

    @property
    def killed(self) -> bool:
        return self.lost > 0 and (self.mutant.trap is None or self.lost >= TRAP_COST)


def corpus_path(source: Path) -> Path:
    return CORPORA / f"{source.parent.name}.toml"


def load_corpus(path: Path) -> list[Mutant]:
    data = tomllib.loads(path.read_text("utf-8"))
    mutants = []
    for entry in data.get("mutant", []):
        edits = tuple(Edit(e["cell"], e["old"], e["new"]) for e in entry["edit"])
        mutants.append(Mutant(entry["name"], entry.get("trap"), edits))
    names = [m.name for m in mutants]
    if len(names) != len(set(names)):
        raise CorpusError(f"{path.name}: two mutants share a name")
    return mutants


def declared_traps(source: Path) -> list[str]:
    meta = json.loads(source.read_text("utf-8"))["metadata"].get("context_course", {})
    return [trap["id"] for trap in meta.get("traps", [])]


def mutate(notebook: dict[str, Any], mutant: Mutant) -> dict[str, Any]:
    """A copy of the source notebook with the mutant's edits applied to its answer cells."""
    result = copy.deepcopy(notebook)
    cells = {cell["metadata"].get("nbgrader", {}).get("grade_id"): cell for cell in result["cells"]}
    for edit in mutant.edits:
        cell = cells.get(edit.cell)
        if cell is None:
            raise CorpusError(f"mutant {mutant.name!r}: no cell {edit.cell!r}")
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if source.count(edit.old) != 1:
            raise CorpusError(
                f"mutant {mutant.name!r}: {edit.old!r} occurs {source.count(edit.old)} times "
                f"in {edit.cell}, not once"
            )
        cell["source"] = source.replace(edit.old, edit.new)
    return result


def grade_corpus(source: Path, cache_dir: Path) -> list[Graded]:
    """Grade every mutant of ``source`` through the real grader, one after the other
    (one reference run, one sandbox, shared by the whole corpus)."""
    notebook = json.loads(source.read_text("utf-8"))
    graded = []
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        for number, mutant in enumerate(load_corpus(corpus_path(source))):
            folder = Path(tmp) / f"m{number:03d}"
            folder.mkdir()
            learner = folder / source.name
            learner.write_text(json.dumps(mutate(notebook, mutant)), "utf-8")
            graded.append(Graded(mutant, grade_notebook(source, learner, cache_dir=cache_dir)))
    return graded


def score_line(source: Path, graded: list[Graded]) -> str:
    killed = sum(g.killed for g in graded)
    traps = [g.lost for g in graded if g.mutant.trap]
    least = f"{min(traps):.1f}" if traps else "-"
    return (
        f"| {source.parent.name} | {len(graded)} | {killed} | "
        f"{killed / len(graded):.0%} | {len(traps)} | {least} |"
    )


def main(argv: list[str]) -> int:
    sources = sorted(ROOT.glob("solutions/*/*.ipynb"))
    chosen = [s for s in sources if not argv or any(s.parent.name.startswith(a) for a in argv)]
    print("| notebook | mutants | killed | mutation score | trap mutants | least lost by a trap |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="mutant-cache-") as cache:
        for source in chosen:
            graded = grade_corpus(source, Path(cache))
            print(score_line(source, graded), flush=True)
            for g in graded:
                if not g.killed:
                    print(f"  survived: {g.mutant.name} (lost {g.lost:g})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
