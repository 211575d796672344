"""The pipeline end to end through the real grading core (sandbox, verdict) on a tiny notebook."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from rich.console import Console

from grader.pipeline.batch import grade_submissions
from grader.pipeline.config import load_course
from grader.pipeline.intake import LearnerInfo, build_submission_zip

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "grading" / "arithmetic.ipynb"
SLUG = "01-arithmetic"


def _with_answer(nb: dict, grade_id: str, source: str) -> dict:  # type: ignore[type-arg]
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            cell["source"] = source
    return nb


@pytest.mark.slow
def test_right_and_wrong_submissions_through_the_real_core(tmp_path: Path) -> None:
    root = tmp_path / "course"
    (root / "solutions" / SLUG).mkdir(parents=True)
    shutil.copyfile(FIXTURE, root / "solutions" / SLUG / f"{SLUG}.ipynb")
    (root / "course.toml").write_text(
        '[course]\nid = "real-core"\nname = "Real Core"\nversion = "r1"\n'
        "[grader]\nworkers = 1\ncell_timeout = 20\n",
        encoding="utf-8",
    )
    course = load_course(root)
    source = json.loads(FIXTURE.read_text(encoding="utf-8"))

    right = tmp_path / "subs" / "submitted" / "right" / SLUG / f"{SLUG}.ipynb"
    right.parent.mkdir(parents=True)
    right.write_text(json.dumps(source), encoding="utf-8")

    wrong_nb = _with_answer(
        json.loads(json.dumps(source)), "add-answer", "def add(a, b):\n    return a - b\n"
    )
    wrong_path = tmp_path / "work" / f"{SLUG}.ipynb"
    wrong_path.parent.mkdir()
    wrong_path.write_text(json.dumps(wrong_nb), encoding="utf-8")
    build_submission_zip(
        {SLUG: wrong_path},
        learner=LearnerInfo("wrong", "Wanda Wrong", "wanda@example.org"),
        course_id="real-core",
        course_version="r1",
        output=tmp_path / "subs" / "wrong.zip",
    )

    summary = grade_submissions(
        [tmp_path / "subs"],
        course=course,
        console=Console(file=io.StringIO()),
        show_progress=False,
    )
    assert summary.ok, summary.to_dict()
    assert {(i.learner_id, i.score, i.max_score) for i in summary.items} == {
        ("right", 100.0, 100.0),
        ("wrong", 60.0, 100.0),
    }
    with Gradebook(course.db_url(), course_id="real-core") as gb:
        assert gb.find_submission_notebook(SLUG, SLUG, "wrong").score == pytest.approx(60.0)
        assert gb.find_grade("add-tests", SLUG, SLUG, "wrong").auto_score == 0.0
        assert gb.find_grade("mean-tests", SLUG, SLUG, "wrong").auto_score == 40.0
        assert gb.find_student("wrong").email == "wanda@example.org"

    page = (course.output_dir / "feedback" / "wrong" / f"{SLUG}.html").read_text(encoding="utf-8")
    assert "0 of 3 hidden checks passed" in page
    assert "3 of 3 hidden checks passed" in page
    assert "add(1, 2) should be 3" in page  # the author's message of a failed visible assert
    # failed hidden checks are named by their behaviour labels ...
    assert "<li>large numbers</li><li>strings concatenate</li><li>lists</li>" in page
    # ... never by their code, inputs or expected values
    for hidden in ("10**12", '"con"', 'concat"', "2000000000000", "[1, 2, 3]"):
        assert hidden not in page

    again = grade_submissions(
        [tmp_path / "subs"],
        course=course,
        console=Console(file=io.StringIO()),
        show_progress=False,
    )
    assert again.count("unchanged") == 2 and again.count("graded") == 0
