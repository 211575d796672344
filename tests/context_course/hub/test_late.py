"""Late work through the real hub: a penalised submission is graded with nbgrader's
``late_submission_penalty`` and every score a learner or instructor sees (the learner's
course page, the class dashboard, grades.csv, feedback pages, the certificate's input)
subtracts it once; under ``late_policy = "refuse"`` late work is refused and never graded."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest

from context_course.gradebook_scores import read_gradebook
from grader.pipeline.config import load_course
from grader.pipeline.gradebook import GradebookStore
from scoring import exact, late_penalty_points, points_text
from tests.context_course.hub.conftest import Hub, make_course, start_test_hub
from tests.context_course.hub.test_service import SOLVED, call, wait_done

pytestmark = [pytest.mark.slow, pytest.mark.hub]

SLUG = "01-basic-operations"


def _due_36_hours_ago() -> str:
    return (datetime.now(UTC) - timedelta(hours=36)).isoformat(timespec="seconds")


def _two_places(value: Fraction) -> str:
    """How feedback pages print points."""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


@pytest.fixture(scope="module")
def late_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    section = f'penalty_per_day = 10\n[hub.due]\n"{SLUG}" = "{_due_36_hours_ago()}"\n'
    folder = make_course(tmp_path_factory.mktemp("late-hub") / "course", section)
    running = start_test_hub(folder)
    try:
        yield running
    finally:
        running.running.stop()


def test_a_late_submission_loses_its_penalty_once_on_every_page(late_hub: Hub) -> None:
    ada, grace = late_hub.token_for("ada"), late_hub.token_for("grace")
    answer = call(
        late_hub, "POST", f"api/submissions?notebook={SLUG}", ada, content=SOLVED.read_bytes()
    )
    assert answer.status_code == 202, answer.text
    assert "2 day(s) late" in answer.json()["late"]  # 36 hours: two started days, 20 %
    item = wait_done(late_hub, ada, 1)[-1]
    assert (item["state"], item["days_late"], item["penalty_percent"]) == ("done", 2, 20.0)
    maximum = exact(item["max_score"])
    penalty = late_penalty_points(20, maximum)
    net = maximum - penalty  # a solved notebook: full marks less 20 % of them
    assert maximum > 0 and exact(item["score"]) == net

    # the learner's course page and API
    row = next(
        r
        for r in call(late_hub, "GET", "api/notebooks", ada).json()["notebooks"]
        if r["slug"] == SLUG
    )
    assert (exact(row["score"]), exact(row["late_penalty"])) == (net, penalty)
    home = call(late_hub, "GET", "", ada).text
    assert f"late: {float(penalty):g} points deducted" in home
    # the class dashboard and grades.csv
    table = call(late_hub, "GET", "api/class", grace).json()
    cell = next(r for r in table["learners"] if r["learner"] == "ada")["notebooks"][0]
    assert (exact(cell["score"]), exact(cell["late_penalty"])) == (net, penalty)
    grades = call(late_hub, "GET", "api/grades.csv", grace)
    rows = {r["learner_id"]: r for r in csv.DictReader(io.StringIO(grades.text))}
    assert rows["ada"][SLUG] == rows["ada"]["total"] == points_text(net)
    # the feedback pages
    page = call(late_hub, "GET", f"feedback/{SLUG}.html", ada).text
    assert f"late: {_two_places(penalty)} points deducted" in page
    shown = re.search(r'class="big">([^<]+)<', page)
    assert shown and shown.group(1) == _two_places(net)
    # what certificates are decided on
    course = load_course(Path(late_hub.plan.course.root))
    record = read_gradebook(course.db_url(), course.id, ["ada"])[0]
    assert exact(record.scores[1].score) == net
    # a regrade records the same penalty again, not a second one
    assert (
        call(late_hub, "POST", "api/regrade", grace, json={"learner": "ada"}).json()["requeued"]
        == 1
    )
    wait_done(late_hub, ada, 1)
    with GradebookStore(course.db_url(), course_id=course.id) as store:
        (score,) = [s for s in store.scores() if s.learner_id == "ada"]
    assert (score.score, score.late_penalty) == (net, penalty)
    assert Fraction(score.max_score) == maximum


def test_late_work_under_the_refuse_policy_is_refused_and_never_graded(tmp_path: Path) -> None:
    section = f'late_policy = "refuse"\n[hub.due]\n"{SLUG}" = "{_due_36_hours_ago()}"\n'
    hub = start_test_hub(make_course(tmp_path / "course", section))
    try:
        bob = hub.token_for("bob")
        answer = call(
            hub, "POST", f"api/submissions?notebook={SLUG}", bob, content=SOLVED.read_bytes()
        )
        assert answer.status_code == 422
        assert "late work is refused" in answer.json()["error"]
        # another notebook (no due date) goes through, so the refusal is the late policy's
        other = SOLVED.parent.parent / "02-history-tracking" / "02-history-tracking.ipynb"
        accepted = call(
            hub,
            "POST",
            "api/submissions?notebook=02-history-tracking",
            bob,
            content=other.read_bytes(),
        )
        assert accepted.status_code == 202, accepted.text
        items = wait_done(hub, bob, 1)
        assert [i["notebook"] for i in items] == ["02-history-tracking"]
        course = load_course(Path(hub.plan.course.root))
        with GradebookStore(course.db_url(), course_id=course.id) as store:
            assert [r.notebook for r in store.records(learner_id="bob")] == ["02-history-tracking"]
        assert len(list((course.root / "hub" / "incoming").glob("*.ipynb"))) == 1
    finally:
        hub.running.stop()
