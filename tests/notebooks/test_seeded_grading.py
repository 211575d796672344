"""Each grading draws every notebook's hidden probe inputs from its own seed.

Two gradings with different seeds must probe different inputs (their reference values
differ, in every part), and both must score the honest solution 100 and a trap answer at
least a trap's price lower: knowing last grading's inputs is worth nothing, and the
verdict does not depend on the draw.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from grader.core.grading import grade_notebook
from grader.core.plan import load_source_plan
from grader.core.reference import load_reference
from grader.core.sandbox import get_sandbox
from tests.notebooks.mutants import TRAP_COST, corpus_path, load_corpus, mutate

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "solutions").glob("*/*.ipynb"))
SEEDS = (101, 202)
by_source = pytest.mark.parametrize("source", SOURCES, ids=[p.parent.name[:2] for p in SOURCES])


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("seeded-cache")


@by_source
def test_two_seeds_probe_different_inputs_in_every_part(cache: Path, source: Path) -> None:
    plan = load_source_plan(source)
    sandbox = get_sandbox(plan.settings.forbidden_imports)
    first, second = (
        load_reference(plan, cache_dir=cache, sandbox=sandbox, seed=seed) for seed in SEEDS
    )
    default = load_reference(plan, cache_dir=cache, sandbox=sandbox)

    for grade_id in plan.tests:
        probes = first.parts[grade_id].probes
        differing = [
            label for label in probes if probes[label] != second.parts[grade_id].probes[label]
        ]
        assert differing, f"{grade_id}: the two seeds drew the same inputs"
    assert (first.seed, second.seed, default.seed) == (*SEEDS, None)
    assert len(list(cache.glob(f"{source.stem}-*.json"))) == 3  # one per seed


@by_source
def test_both_gradings_score_the_honest_and_a_wrong_answer_alike(
    cache: Path, tmp_path: Path, source: Path
) -> None:
    notebook = json.loads(source.read_text("utf-8"))
    trap = next(m for m in load_corpus(corpus_path(source)) if m.trap)
    honest, wrong = tmp_path / "honest" / source.name, tmp_path / "wrong" / source.name
    for path, content in ((honest, notebook), (wrong, mutate(notebook, trap))):
        path.parent.mkdir()
        path.write_text(json.dumps(content), "utf-8")

    scores = {
        seed: [
            grade_notebook(source, path, cache_dir=cache, seed=seed).score
            for path in (honest, wrong)
        ]
        for seed in SEEDS
    }

    assert scores[SEEDS[0]][0] == scores[SEEDS[1]][0] == 100
    # Which generated case exposes a trap may change with the draw; that it costs the
    # trap's price may not.
    assert all(scores[seed][1] <= 100 - TRAP_COST for seed in SEEDS), scores


def test_old_seeded_references_do_not_pile_up(tmp_path: Path) -> None:
    from grader.core.reference import GRADER_VERSION, KEEP_SEEDED, _prune_seeded

    for number in range(KEEP_SEEDED + 4):
        path = tmp_path / f"01-basic-operations-abc-g{GRADER_VERSION}-s{number}.json"
        path.write_text("{}", "utf-8")
        os.utime(path, (number, number))
    unseeded = tmp_path / f"01-basic-operations-abc-g{GRADER_VERSION}.json"
    unseeded.write_text("{}", "utf-8")

    _prune_seeded(tmp_path, "01-basic-operations")

    kept = sorted(int(p.stem.rsplit("-s", 1)[1]) for p in tmp_path.glob("*-s*.json"))
    assert kept == list(range(4, KEEP_SEEDED + 4))  # the newest
    assert unseeded.exists()
