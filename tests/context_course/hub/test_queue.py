"""The durable submission queue: acknowledged means stored; a crash loses nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from context_course.hub.queue import SubmissionQueue

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def queue(tmp_path: Path) -> SubmissionQueue:
    return SubmissionQueue(f"sqlite:///{tmp_path / 'gradebook.db'}", tmp_path / "incoming")


def add(q: SubmissionQueue, learner: str = "ada", notebook: str = "01-a", at: datetime = NOW):
    return q.enqueue(
        learner_id=learner, notebook=notebook, data=b"{}", sha256="0" * 64, received_at=at
    )


def test_an_acknowledged_submission_is_on_disk_under_its_row_id(tmp_path: Path) -> None:
    q = queue(tmp_path)
    item = add(q, learner="../../etc")
    assert item.state == "queued"
    assert q.path_of(item.id) == tmp_path / "incoming" / f"{item.id}.ipynb"
    assert q.path_of(item.id).read_bytes() == b"{}"
    assert [p.name for p in (tmp_path / "incoming").iterdir()] == [f"{item.id}.ipynb"]


def test_rows_are_claimed_oldest_first_and_once(tmp_path: Path) -> None:
    q = queue(tmp_path)
    first, second = add(q), add(q, learner="bob")
    claimed = q.claim_next()
    assert claimed is not None and claimed.id == first.id and claimed.state == "grading"
    again = q.claim_next()
    assert again is not None and again.id == second.id
    assert q.claim_next() is None


def test_a_crashed_service_gets_its_claimed_rows_back(tmp_path: Path) -> None:
    q = queue(tmp_path)
    item = add(q)
    assert q.claim_next() is not None
    q.close()
    restarted = queue(tmp_path)  # a new process after kill -9
    assert restarted.recover() == 1
    again = restarted.claim_next()
    assert again is not None and again.id == item.id and again.attempts == 2


def test_finished_rows_record_the_outcome_and_regrade_requeues_the_newest(tmp_path: Path) -> None:
    q = queue(tmp_path)
    old, new = add(q), add(q)
    for _ in range(2):
        claimed = q.claim_next()
        assert claimed is not None
        q.finish(claimed.id, ok=True, message="graded", score=7, max_score=10)
    assert q.get(new.id).score == 7 and q.pending() == 0
    assert q.requeue_learner("ada") == 1
    assert q.get(new.id).state == "queued" and q.get(old.id).state == "done"


def test_the_daily_limit_counts_one_learner_one_notebook_one_utc_day(tmp_path: Path) -> None:
    q = queue(tmp_path)
    add(q)
    add(q)
    add(q, notebook="02-b")
    add(q, learner="bob")
    add(q, at=NOW - timedelta(days=1))
    assert q.count_today("ada", "01-a", NOW) == 2


def test_a_row_that_is_not_committed_leaves_no_file(tmp_path: Path) -> None:
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    q = queue(tmp_path)
    with q.engine.begin() as conn:  # the database refuses every new row
        conn.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON cc_hub_queue "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        )
    with pytest.raises(SQLAlchemyError):
        add(q)
    assert list((tmp_path / "incoming").iterdir()) == []
    assert q.items() == []


def test_a_notebook_staged_by_a_killed_service_is_removed_at_restart(tmp_path: Path) -> None:
    q = queue(tmp_path)
    kept = add(q)
    (tmp_path / "incoming" / "staged-0123abcd.tmp").write_bytes(b"{}")  # never committed
    q.close()
    restarted = queue(tmp_path)
    restarted.recover()
    assert sorted(p.name for p in (tmp_path / "incoming").iterdir()) == [f"{kept.id}.ipynb"]
