"""Plausible wrong answers lose points; the traps a notebook teaches cost at least 10.

Each course notebook has a corpus of mutants of its reference solution
(``tests/fixtures/mutants/NN-slug.toml``, see :mod:`tests.notebooks.mutants`). The fast
tests check that every corpus still applies to its notebook and covers every trap the
notebook declares; the slow test grades each corpus through the real grader (one
reference run and one sandbox per notebook) and requires every mutant to lose points,
and every trap mutant to lose at least 10 of the 100.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.notebooks.mutants import (
    TRAP_COST,
    corpus_path,
    declared_traps,
    grade_corpus,
    load_corpus,
    mutate,
)

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(ROOT.glob("solutions/*/*.ipynb"))
by_source = pytest.mark.parametrize("path", SOURCES, ids=[p.parent.name for p in SOURCES])


@by_source
def test_every_notebook_has_a_corpus_that_applies_to_it(path: Path) -> None:
    mutants = load_corpus(corpus_path(path))
    notebook = json.loads(path.read_text("utf-8"))

    changed = [mutate(notebook, mutant) != notebook for mutant in mutants]

    assert len(mutants) >= 5, f"{corpus_path(path).name}: only {len(mutants)} mutants"
    assert all(changed)


@by_source
def test_the_corpus_falls_into_every_declared_trap_and_no_other(path: Path) -> None:
    traps = declared_traps(path)
    used = {mutant.trap for mutant in load_corpus(corpus_path(path)) if mutant.trap}

    assert traps, f"{path.name} declares no traps (metadata.context_course.traps)"
    assert sorted(used) == sorted(traps)


@pytest.mark.slow
@by_source
def test_every_mutant_loses_points_and_every_trap_costs_at_least_10(
    path: Path, tmp_path: Path
) -> None:
    graded = grade_corpus(path, tmp_path / "reference-cache")

    survivors = [
        f"{g.mutant.name}: lost {g.lost:g}" + (f" (trap {g.mutant.trap})" if g.mutant.trap else "")
        for g in graded
        if not g.killed
    ]

    assert survivors == [], f"a trap must cost at least {TRAP_COST:g}; every mutant something"
