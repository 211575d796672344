"""Notebook 08, the capstone: its hidden checks drive the service with call sequences
drawn from the grading's seed.

The reference solution's cells run in this process with a sink that collects what the
hidden checks observe (``grader.child.observe.set_sink``), once per grading seed. The
random call sequences must change with the seed (so feedback from one grading does not
predict the next), the fixed probes must not, and every run of the same seed must observe
the same values.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grader.child.observe import set_grading_seed, set_sink

ROOT = Path(__file__).resolve().parents[2]
CAPSTONE = ROOT / "solutions" / "08-master-challenge" / "08-master-challenge.ipynb"
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
