"""The worker's side of a shipped job, run in this process (no cluster needed)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from grader.core.plan import load_source_plan
from grader.core.reference import load_reference
from grader.core.sandbox import get_sandbox
from grader.pipeline.cluster_worker import SHIPMENT_VERSION, grade_shipped_job, installed_version
from grader.pipeline.dispatch import GradeJob, JobOutcome
from tests.grader.pipeline.cluster.conftest import FIXTURE, SLUG, learner_notebook


@pytest.fixture(scope="module")
def reference_file(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The fixture's reference values, computed once as the client would."""
    cache = tmp_path_factory.mktemp("client-cache")
    plan = load_source_plan(FIXTURE)
    load_reference(plan, cache_dir=cache, sandbox=get_sandbox(()), cell_timeout=20)
    (path,) = cache.glob("*.json")
    return {"name": path.name, "text": path.read_text(encoding="utf-8")}


def shipment(kind: str, reference: dict[str, str] | None, **changes: Any) -> dict[str, Any]:
    data = FIXTURE.read_bytes()
    task: dict[str, Any] = {
        "version": SHIPMENT_VERSION,
        "client_version": installed_version(),
        "job": GradeJob(
            key=f"ada/{SLUG}",
            source=f"/client/only/{SLUG}.ipynb",  # the client's paths mean nothing here
            submitted="/client/only/staging/000001/x.ipynb",
            cache_dir="/client/only/.cache",
            cell_timeout=20.0,
            notebook_timeout=60.0,
        ).to_dict(),
        "grade_function": "grader.core.grading:grade_notebook",
        "source": {
            "name": FIXTURE.name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "data": data,
        },
        "reference": reference,
        "submitted_name": f"{SLUG}.ipynb",
        "files": {f"{SLUG}.ipynb": json.dumps(learner_notebook(kind)).encode()},
    }
    task.update(changes)
    return task


@pytest.fixture(scope="module")
def worker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The worker's private folder, shared by this module's jobs as on a real worker."""
    return tmp_path_factory.mktemp("worker")


@pytest.fixture
def outcome_of(worker_dir: Path) -> Callable[[dict[str, Any]], JobOutcome]:
    def grade(task: dict[str, Any]) -> JobOutcome:
        return JobOutcome.from_dict(json.loads(grade_shipped_job(task, folder=worker_dir)))

    return grade


@pytest.mark.slow
def test_a_shipped_job_grades_as_locally(
    reference_file: dict[str, str], outcome_of: Callable[[dict[str, Any]], JobOutcome]
) -> None:
    right = outcome_of(shipment("right", reference_file))
    wrong = outcome_of(shipment("wrong-add", reference_file))
    assert right.key == f"ada/{SLUG}"
    assert right.result is not None and right.result.score == 100.0
    assert wrong.result is not None and wrong.result.score == 60.0


@pytest.mark.slow
def test_the_worker_grades_against_the_shipped_reference_values(
    reference_file: dict[str, str], outcome_of: Callable[[dict[str, Any]], JobOutcome]
) -> None:
    doctored = json.loads(reference_file["text"])
    probes = doctored["parts"]["words-tests"]["probes"]
    probes["empty text"] = ["value", {"not": "empty"}]
    shipped = {"name": reference_file["name"], "text": json.dumps(doctored)}
    outcome = outcome_of(shipment("right", shipped))
    assert outcome.result is not None
    words = next(p for p in outcome.result.parts if p.grade_id == "words-tests")
    assert words.points < words.max_points  # judged by the shipped values, not recomputed
    restored = outcome_of(shipment("right", reference_file))
    assert restored.result is not None and restored.result.score == 100.0


@pytest.mark.slow
def test_without_a_shipped_reference_the_worker_computes_it(
    outcome_of: Callable[[dict[str, Any]], JobOutcome],
) -> None:
    outcome = outcome_of(shipment("right", None))
    assert outcome.result is not None and outcome.result.score == 100.0


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"client_version": "0.0.0-other"}, "install the same version everywhere"),
        ({"version": SHIPMENT_VERSION + 1}, "shipment version"),
        ({"submitted_name": "../escape.ipynb"}, "unsafe file name"),
        ({"files": {".hidden": b""}}, "unsafe file name"),
    ],
)
def test_a_job_the_worker_cannot_trust_is_refused_in_one_line(
    changes: dict[str, Any], says: str, outcome_of: Callable[[dict[str, Any]], JobOutcome]
) -> None:
    outcome = outcome_of(shipment("right", None, **changes))
    assert outcome.result is None and outcome.instructor_side
    assert says in outcome.error and "\n" not in outcome.error


def test_a_source_damaged_in_transit_is_refused(
    outcome_of: Callable[[dict[str, Any]], JobOutcome],
) -> None:
    task = shipment("right", None)
    task["source"]["data"] = task["source"]["data"] + b" "
    outcome = outcome_of(task)
    assert outcome.result is None and "hash mismatch" in outcome.error
