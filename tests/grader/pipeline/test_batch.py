"""Batch grading: right scores, rejections that do not stop the batch, idempotence, resume."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from rich.console import Console

from grader.pipeline.batch import BatchSummary, grade_submissions, render_summary
from grader.pipeline.config import Course
from grader.pipeline.dispatch import SerialExecutor
from grader.pipeline.gradebook import GradebookStore
from tests.grader.pipeline.builders import (
    COURSE_ID,
    answer,
    folder_submission,
    make_course,
    notebook,
    rewrite_zip,
    write_notebook,
    zip_submission,
)
from tests.grader.pipeline.fakes import FAKE

ROOT = Path(__file__).resolve().parents[3]

# learner -> (answers per notebook, expected score per notebook)
PLAN: dict[str, dict[str, tuple[tuple[str, ...], float]]] = {}
for i in range(17):
    a1 = ("pass test-a1",) if i % 2 == 0 else ()
    a2 = ("pass test-a2",) if i % 3 == 0 else ("half test-a2",) if i % 3 == 1 else ()
    b1 = ("pass test-b1",) if i % 4 != 3 else ("timeout test-b1",)
    PLAN[f"learner{i:02d}"] = {
        "01-alpha": (a1 + a2, (2.0 if a1 else 0.0) + {0: 3.0, 1: 1.5, 2: 0.0}[i % 3]),
        "02-beta": (b1, 5.0 if i % 4 != 3 else 0.0),
    }


def quiet() -> Console:
    return Console(file=io.StringIO(), width=200)


def make_batch(subs: Path) -> None:
    """17 good submissions (some zips, some folders) and 3 malformed ones."""
    for i, (learner, notebooks) in enumerate(PLAN.items()):
        answers = {slug: answer(*directives) for slug, (directives, _) in notebooks.items()}
        if i % 2:
            zip_submission(subs, learner, answers, name=f"Learner {i}", email=f"l{i}@example.org")
        else:
            folder_submission(subs / "submitted", learner, answers)
    (subs / "truncated.zip").write_bytes(b"PK\x03\x04\x14\x00broken")
    write_notebook(
        subs / "submitted" / "bad..id" / "01-alpha" / "01-alpha.ipynb",
        notebook("01-alpha", answer("pass test-a1")),
    )
    nb = notebook("02-beta", answer("pass test-b1"))
    nb["nbformat"] = 3
    write_notebook(subs / "submitted" / "oldformat" / "02-beta" / "02-beta.ipynb", nb)


def grade(course: Course, subs: Path, **options: object) -> BatchSummary:
    options.setdefault("executor", SerialExecutor(FAKE))
    return grade_submissions([subs], course=course, console=quiet(), show_progress=False, **options)  # type: ignore[arg-type]


def expected_scores() -> dict[tuple[str, str], float]:
    return {
        (learner, slug): score for learner, nbs in PLAN.items() for slug, (_, score) in nbs.items()
    }


@pytest.mark.slow
def test_twenty_submissions_with_three_malformed_grade_to_completion(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    make_batch(subs)
    summary = grade(course, subs, executor=None, workers=2, grade_function=FAKE)
    assert summary.count("failed") == 0
    assert len(summary.rejected) == 3
    reasons = sorted(r.reason for r in summary.rejected)
    assert any("not a valid zip archive" in r for r in reasons)
    assert any("contains '..'" in r for r in reasons)
    assert any("only nbformat 4" in r for r in reasons)
    graded = {(i.learner_id, i.notebook): i.score for i in summary.items if i.status == "graded"}
    assert graded == expected_scores()
    with GradebookStore(course.db_url(), course_id=COURSE_ID) as store:
        assert {(r.learner_id, r.notebook): r.score for r in store.records()} == expected_scores()
    with Gradebook(course.db_url(), course_id=COURSE_ID) as gb:
        for (learner, slug), score in expected_scores().items():
            assert gb.find_submission_notebook(slug, slug, learner).score == pytest.approx(score)
        assert gb.find_student("learner01").email == "l1@example.org"
    text = (course.output_dir / "grades.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 17
    by_id = {row["learner_id"]: row for row in rows}
    for learner, notebooks in PLAN.items():
        total = sum(score for _, score in notebooks.values())
        assert float(by_id[learner]["total"]) == pytest.approx(total)
        assert by_id[learner]["max_total"] == "10"
    assert (course.output_dir / "feedback" / "learner00" / "index.html").is_file()
    autograded = course.root / "autograded" / "learner01" / "02-beta" / "02-beta.ipynb"
    assert json.loads(autograded.read_text())["cells"][1]["source"] == answer("pass test-b1")
    assert (course.output_dir / "feedback" / "learner00" / "02-beta.html").is_file()


def test_second_run_is_a_no_op_and_force_regrades(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    folder_submission(subs / "submitted", "ann", {"01-alpha": answer("pass test-a1")})
    zip_submission(subs, "bob", {"02-beta": answer("pass test-b1")})
    first = grade(course, subs)
    assert first.count("graded") == 2
    stamp = {r.learner_id: r.graded_at for r in _records(course)}
    second = grade(course, subs)
    assert (second.count("graded"), second.count("unchanged")) == (0, 2)
    assert {r.learner_id: r.graded_at for r in _records(course)} == stamp
    assert second.ok
    forced = grade(course, subs, force=True)
    assert (forced.count("graded"), forced.count("unchanged")) == (2, 0)
    assert all(r.graded_at > stamp[r.learner_id] for r in _records(course))


def test_a_changed_submission_or_source_is_regraded(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    folder_submission(subs / "submitted", "ann", {"01-alpha": answer("pass test-a1")})
    folder_submission(subs / "submitted", "bob", {"01-alpha": answer()})
    grade(course, subs)
    folder_submission(
        subs / "submitted", "ann", {"01-alpha": answer("pass test-a1", "pass test-a2")}
    )
    again = grade(course, subs)
    assert {(i.learner_id, i.status) for i in again.items} == {
        ("ann", "graded"),
        ("bob", "unchanged"),
    }
    assert next(i.score for i in again.items if i.learner_id == "ann") == 5.0
    source = course.source_dir / "01-alpha" / "01-alpha.ipynb"
    nb = json.loads(source.read_text())
    nb["cells"][0]["source"] += "\nA clarified instruction."
    source.write_text(json.dumps(nb))
    third = grade(course, subs)
    assert third.count("graded") == 2


def test_an_instructor_side_error_fails_one_notebook_and_is_retried_next_run(
    tmp_path: Path,
) -> None:
    course = make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    folder_submission(subs / "submitted", "ann", {"01-alpha": answer("instructor-error")})
    folder_submission(subs / "submitted", "bob", {"01-alpha": answer("pass test-a1")})
    summary = grade(course, subs)
    failed = [i for i in summary.items if i.status == "failed"]
    assert [(i.learner_id, i.message) for i in failed] == [
        ("ann", "reference solution of 01-alpha failed: NameError in cell 2")
    ]
    assert not summary.ok
    assert [r.learner_id for r in _records(course)] == ["bob"]
    again = grade(course, subs)
    assert [(i.learner_id, i.status) for i in again.items if i.status != "unchanged"] == [
        ("ann", "failed")
    ]


def test_summary_names_rejections_and_failures_one_per_line(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    folder_submission(subs / "submitted", "ann", {"01-alpha": answer("instructor-error")})
    (subs / "junk.zip").write_bytes(b"junk")
    summary = grade(course, subs)
    out = Console(record=True, width=60)
    render_summary(summary, out)
    lines = out.export_text().splitlines()
    assert any(
        line.startswith("rejected: unknown learner (") and "not a valid zip" in line
        for line in lines
    )
    assert any(line.startswith("failed: ann 01-alpha: reference solution") for line in lines)
    assert lines[-1].startswith("graded 0, unchanged 0, rejected 1, failed 1 in ")
    data = summary.to_dict()
    assert data["counts"] == {
        "graded": 0,
        "unchanged": 0,
        "rejected": 1,
        "unverified": 0,
        "failed": 1,
    }
    json.dumps(data)


def test_feedback_is_rewritten_for_unchanged_learners(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    folder_submission(subs / "submitted", "ann", {"01-alpha": answer("pass test-a1")})
    grade(course, subs)
    page = course.output_dir / "feedback" / "ann" / "01-alpha.html"
    page.unlink()  # e.g. killed between the gradebook write and the feedback page
    grade(course, subs)
    assert page.is_file()


@pytest.mark.slow
def test_a_worker_that_dies_costs_only_its_notebook(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    folder_submission(subs / "submitted", "ann", {"01-alpha": answer("exit-worker")})
    for learner in ("bob", "cy", "dee"):
        folder_submission(subs / "submitted", learner, {"02-beta": answer("pass test-b1")})
    summary = grade(course, subs, executor=None, workers=2, grade_function=FAKE)
    statuses = {(i.learner_id, i.status) for i in summary.items}
    assert statuses == {("ann", "failed"), ("bob", "graded"), ("cy", "graded"), ("dee", "graded")}
    assert "died while grading this notebook (2 times)" in next(
        i.message for i in summary.items if i.learner_id == "ann"
    )


def _records(course: Course) -> list:  # type: ignore[type-arg]
    with GradebookStore(course.db_url(), course_id=COURSE_ID) as store:
        return store.records()


RUNNER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from grader.pipeline.batch import grade_submissions
    from grader.pipeline.config import load_course

    if __name__ == "__main__":
        summary = grade_submissions(
            [Path(sys.argv[2])], course=load_course(Path(sys.argv[1])), workers=2,
            grade_function="tests.grader.pipeline.fakes:fake_grade", show_progress=False,
        )
        print(summary.headline())
    """
)


def _peek_committed(db: Path) -> set[str]:
    """Read-only look at the batch's progress, without touching the schema it creates."""
    if not db.exists():
        return set()
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return {row[0] for row in conn.execute("SELECT learner_id FROM cc_graded_notebooks")}
    except sqlite3.OperationalError:  # not created yet, or locked for a moment
        return set()


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def _describe(pid: int) -> str:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        state = Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0]
    except (FileNotFoundError, IndexError):
        return f"{pid}: gone"
    return f"{pid} ({state.strip()}): {cmdline[:200]}"


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(p) for p in text)
    return found


@pytest.mark.slow
def test_killed_mid_batch_then_rerun_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    learners = [f"k{i:02d}" for i in range(12)]
    # The first six grade at once; the rest hang in the first run (CC_FAKE_HANG), so the
    # kill lands half way whatever the machine's load.
    for i, learner in enumerate(learners):
        directives = ["pass test-b1"] if i % 2 else []
        if i >= 6:
            directives.append("hang-first-run")
        folder_submission(subs / "submitted", learner, {"02-beta": answer(*directives)})
    script = tmp_path / "run_batch.py"
    script.write_text(RUNNER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CC_FAKE_HANG": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(course.root), str(subs)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # Readiness: six learners committed, the seventh hangs for good; the bound is for a
    # batch that never gets there, generous enough for a loaded machine.
    deadline = time.monotonic() + 600
    committed: set[str] = set()
    while len(committed) < 6:
        assert time.monotonic() < deadline, f"only {sorted(committed)} committed in 600 s"
        time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        committed = _peek_committed(course.root / "gradebook.db")
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=120)
    if proc.stderr:
        proc.stderr.close()
    before = {r.learner_id for r in _records(course)}
    assert before == set(learners[:6]), "the batch was killed half way"
    # A worker still starting up (imports take seconds on a loaded machine) notices only
    # when its start-up finishes.
    deadline = time.monotonic() + 300
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [pid for pid in workers if _alive(pid)]
    assert not survivors, f"workers outlived the batch: {[_describe(pid) for pid in survivors]}"

    rerun = grade(course, subs)
    graded = {i.learner_id for i in rerun.items if i.status == "graded"}
    unchanged = {i.learner_id for i in rerun.items if i.status == "unchanged"}
    assert unchanged == before
    assert graded == set(learners) - before
    records = _records(course)
    assert sorted(r.learner_id for r in records) == learners  # one row each, none lost
    assert {r.learner_id: r.score for r in records} == {
        learner: (5.0 if i % 2 else 0.0) for i, learner in enumerate(learners)
    }
    with Gradebook(course.db_url(), course_id=COURSE_ID) as gb:
        for learner in learners:
            assert len(gb.find_submission("02-beta", learner).notebooks) == 1


def test_the_autograded_copy_shows_no_output_the_learner_saved(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    nb = notebook("02-beta", answer())
    nb["cells"][1]["execution_count"] = 7
    nb["cells"][1]["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "All tests passed! 5/5\n"},
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {
                "text/html": "<script>fetch('/formgrader/api/grade', {method: 'PUT'})</script>"
            },
        },
    ]
    write_notebook(tmp_path / "subs" / "submitted" / "eve" / "02-beta" / "02-beta.ipynb", nb)
    summary = grade(course, tmp_path / "subs")
    assert [(i.learner_id, i.score) for i in summary.items] == [("eve", 0.0)]
    copy = json.loads(
        (course.root / "autograded" / "eve" / "02-beta" / "02-beta.ipynb").read_text("utf-8")
    )
    code = [cell for cell in copy["cells"] if cell["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert copy["cells"][1]["source"] == answer()  # the learner's work itself is kept


def test_manifest_created_claim_is_not_the_gradebook_submission_time(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    path = zip_submission(subs, "bob", {"02-beta": answer("pass test-b1")})

    def backdate(members: dict[str, bytes]) -> dict[str, bytes]:
        manifest = json.loads(members["manifest.json"])
        manifest["created"] = "2001-01-01T00:00:00Z"  # "I handed it in long before the deadline"
        members["manifest.json"] = json.dumps(manifest).encode()
        return members

    rewrite_zip(path, backdate)
    before = datetime.now(UTC)
    assert grade(course, subs).count("graded") == 1
    after = datetime.now(UTC)
    with Gradebook(course.db_url(), course_id=COURSE_ID) as gb:
        stamp = gb.find_submission("02-beta", "bob").timestamp.replace(tzinfo=UTC)
    # The grader's own clock while it read the file, however long grading took.
    assert before <= stamp <= after


def _set_manual(course: Course, learner: str, slug: str, cell: str, score: float) -> None:
    """Enter a manual score the way formgrader does: through nbgrader's own Gradebook API."""
    with Gradebook(course.db_url(), course_id=COURSE_ID) as gb:
        gb.find_grade(cell, slug, slug, learner).manual_score = score
        gb.db.commit()


def _pages(course: Course) -> dict[str, tuple[int, int]]:
    """Each feedback page's identity on disk (a rewrite makes a new file)."""
    folder = course.output_dir / "feedback"
    return {
        page.relative_to(folder).as_posix(): (page.stat().st_ino, page.stat().st_mtime_ns)
        for page in folder.rglob("*.html")
    }


def _visible_text(page: Path) -> str:
    html = page.read_text(encoding="utf-8")
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_manual_scores_reach_the_feedback_pages_and_reruns_are_otherwise_no_ops(
    tmp_path: Path,
) -> None:
    course = make_course(tmp_path / "course")
    subs, later = tmp_path / "subs", tmp_path / "later"
    folder_submission(subs / "submitted", "ann", {"01-alpha": answer("pass test-a1")})
    zip_submission(later, "bob", {"02-beta": answer("pass test-b1")})
    grade(course, subs)
    grade(course, later)
    ann = course.output_dir / "feedback" / "ann" / "01-alpha.html"
    assert "2 / 5 points" in _visible_text(ann)
    pages = _pages(course)
    again = grade(course, subs)
    assert again.count("unchanged") == 1
    assert _pages(course) == pages  # nothing changed: no page rewritten

    _set_manual(course, "ann", "01-alpha", "test-a2", 2.5)
    _set_manual(course, "bob", "02-beta", "test-b1", 4.0)
    rerun = grade(course, subs)  # bob is not in this batch
    assert rerun.count("unchanged") == 1 and rerun.count("graded") == 0
    text = _visible_text(ann)
    assert "4.5 / 5 points" in text
    assert "2.5 / 3" in text and "adjusted by your instructor" in text
    assert "4.5 / 5 (adjusted by your instructor)" in _visible_text(ann.with_name("index.html"))
    bob = course.output_dir / "feedback" / "bob" / "02-beta.html"
    assert "4 / 5 points" in _visible_text(bob) and "adjusted by your instructor" in _visible_text(
        bob
    )
    now = _pages(course)
    assert {page for page in now if now[page] != pages[page]} == {
        "ann/01-alpha.html",
        "ann/index.html",
        "bob/02-beta.html",
        "bob/index.html",
    }
    pages = _pages(course)
    grade(course, subs)
    assert _pages(course) == pages
    rows = {
        r["learner_id"]: r
        for r in csv.DictReader(
            io.StringIO((course.output_dir / "grades.csv").read_text(encoding="utf-8"))
        )
    }
    assert (rows["ann"]["total"], rows["bob"]["total"]) == ("4.5", "4")
