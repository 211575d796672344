"""Notebook 08, the capstone: a design from a specification, judged by behaviour.

- Its hidden checks drive the service with call sequences drawn from the grading's seed.
  The reference solution's cells run in this process with a sink that collects what the
  hidden checks observe (``grader.child.observe.set_sink``), once per grading seed. The
  random call sequences must change with the seed (so feedback from one grading does not
  predict the next), the fixed probes must not, and every run of the same seed must
  observe the same values.
- The specification, not the reference's internals, is what counts: another design
  written from it (``tests/fixtures/capstone/08-another-design.toml``) earns 100 through
  the real grader.
"""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grader.child.observe import set_grading_seed, set_sink
from grader.core.grading import grade_notebook

ROOT = Path(__file__).resolve().parents[2]
CAPSTONE = ROOT / "solutions" / "08-master-challenge" / "08-master-challenge.ipynb"
ANOTHER_DESIGN = ROOT / "tests" / "fixtures" / "capstone" / "08-another-design.toml"
SEQUENCES = (
    "random calls",
    "random offline edits",
    "random jobs",
    "random reads",
    "random traffic",
)
SEEDED = (*SEQUENCES, "placement of many tenants", "node of each tenant", "tenants moved by")

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _restore_observe() -> Iterator[None]:
    yield
    set_sink(None)
    set_grading_seed(None)


def observations(seed: int | None) -> dict[str, Any]:
    """{label: (kind, value)} of every hidden check of the reference, under ``seed``."""
    seen: dict[str, Any] = {}
    set_sink(lambda label, kind, value: seen.__setitem__(label, (kind, json.dumps(value))))
    set_grading_seed(seed)
    namespace: dict[str, Any] = {}
    for cell in json.loads(CAPSTONE.read_text("utf-8"))["cells"]:
        source = "".join(cell["source"])
        graded = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code" and (
            graded.get("solution") or graded.get("grade") or cell["id"] == "setup"
        ):
            exec(compile(source, cell["id"], "exec"), namespace)  # our own notebook, trusted
    return seen


def test_generated_sequences_follow_the_grading_seed_and_fixed_probes_do_not() -> None:
    first, again, other = observations(11), observations(11), observations(12)

    sequences = [label for label in first if label.startswith(SEQUENCES)]
    seeded = {label for label in first if label.startswith(SEEDED)}
    changed = {label for label in first if first[label] != other[label]}

    assert first == again
    assert len(sequences) == 5 * 3 * 2  # five parts, three sequences each, two checks each
    assert changed <= seeded
    assert len(changed) >= len(seeded) - 2, sorted(seeded - changed)


def test_another_design_written_from_the_specification_earns_100(tmp_path: Path) -> None:
    answers = tomllib.loads(ANOTHER_DESIGN.read_text("utf-8"))["answers"]
    notebook = copy.deepcopy(json.loads(CAPSTONE.read_text("utf-8")))
    replaced = []
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
            replaced.append(grade_id)
    learner = tmp_path / CAPSTONE.name
    learner.write_text(json.dumps(notebook), "utf-8")

    result = grade_notebook(CAPSTONE, learner, cache_dir=tmp_path / "reference-cache")

    failed = [
        f"{p.grade_id}/{c.label}: {c.message}"
        for p in result.parts
        for c in p.checks
        if not c.passed
    ]
    assert sorted(replaced) == sorted(answers)
    assert failed == []
    assert result.score == result.max_score == 100
