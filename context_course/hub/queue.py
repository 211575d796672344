"""The hub's durable submission queue, a table in the gradebook database.

A submission is acknowledged to the learner only after its notebook is on disk (written
and fsynced under a temporary name before any database lock is taken, then renamed to its
row id inside the transaction that commits the row), so an acknowledged submission
survives a crash of the service. Holding no lock across the notebook's fsync matters on
SQLite, where one writer at a time holds the whole database: a burst of submissions
otherwise queues behind each other's disk flushes and the grader's own writes.

Rows move ``queued`` → ``grading`` → ``done`` | ``failed``; when the service starts, rows
left in ``grading`` by a killed service go back to ``queued``. The
pipeline itself is idempotent (a notebook already graded with the same hash is not graded
again), so a row graded just before a crash is recorded once.

Stored files are named after the row id, never after anything the learner sent.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine

__all__ = ["QueueItem", "SubmissionQueue"]

metadata = MetaData()

hub_queue = Table(
    "cc_hub_queue",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("learner_id", String(128), nullable=False, index=True),
    Column("notebook", String(128), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("days_late", Integer, nullable=False, default=0),
    Column("penalty_percent", Float, nullable=False, default=0.0),
    Column("score", Float),
    Column("max_score", Float),
    Column("message", Text, nullable=False, default=""),
    Column("finished_at", DateTime(timezone=True)),
)

hub_flags = Table(
    "cc_hub_flags",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

STATES = ("queued", "grading", "done", "failed")
_STAGED_PREFIX = "staged-"


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class QueueItem:
    id: int
    learner_id: str
    notebook: str
    sha256: str
    received_at: datetime
    state: str
    attempts: int
    days_late: int
    penalty_percent: float
    score: float | None
    max_score: float | None
    message: str
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> QueueItem:
        data = dict(row._mapping)
        data["received_at"] = _aware(data["received_at"])
        data["finished_at"] = _aware(data["finished_at"])
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "notebook": self.notebook,
            "received_at": self.received_at.isoformat(),
            "state": self.state,
            "days_late": self.days_late,
            "penalty_percent": self.penalty_percent,
            "score": self.score,
            "max_score": self.max_score,
            "message": self.message,
        }


class SubmissionQueue:
    """The queue over one database URL, with submitted files under ``files_dir``."""

    def __init__(self, db_url: str, files_dir: Path) -> None:
        options: dict[str, Any] = {"future": True}
        if db_url.startswith("sqlite"):
            # wait for the lock as the gradebook does (the grader shares this database)
            options["connect_args"] = {"timeout": 60}
        self.engine: Engine = create_engine(db_url, **options)
        self.files_dir = files_dir
        files_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def path_of(self, item_id: int) -> Path:
        return self.files_dir / f"{int(item_id)}.ipynb"

    # ------------------------------------------------------------------ writes

    def enqueue(
        self,
        *,
        learner_id: str,
        notebook: str,
        data: bytes,
        sha256: str,
        received_at: datetime,
        days_late: int = 0,
        penalty_percent: float = 0.0,
    ) -> QueueItem:
        """Store ``data`` durably, then commit the row: only then is it acknowledged."""
        staged = self.files_dir / f"{_STAGED_PREFIX}{secrets.token_hex(12)}.tmp"
        self._write_file(staged, data)  # durable before the database is locked
        try:
            with self._tx() as conn:
                result = conn.execute(
                    hub_queue.insert().values(
                        learner_id=learner_id,
                        notebook=notebook,
                        sha256=sha256,
                        received_at=received_at,
                        state="queued",
                        attempts=0,
                        days_late=days_late,
                        penalty_percent=penalty_percent,
                        message="",
                    )
                )
                key = result.inserted_primary_key
                assert key is not None  # an INSERT always has one
                item_id = int(key[0])
                # a rename and a directory flush: the file is in place before the commit
                os.replace(staged, self.path_of(item_id))
                self._sync_dir()
        finally:
            staged.unlink(missing_ok=True)  # only left when the row was not committed
        return self.get(item_id)

    def _write_file(self, path: Path, data: bytes) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:  # writes all of it, then closes the fd
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    def _sync_dir(self) -> None:
        dir_fd = os.open(self.files_dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def recover(self) -> int:
        """Put rows a killed service left in ``grading`` back in the queue; how many."""
        with self._tx() as conn:
            result = conn.execute(
                update(hub_queue).where(hub_queue.c.state == "grading").values(state="queued")
            )
            # rows an older version left half-stored were never acknowledged: drop them
            conn.execute(hub_queue.delete().where(hub_queue.c.state == "storing"))
        for staged in self.files_dir.glob(f"{_STAGED_PREFIX}*.tmp"):
            staged.unlink(missing_ok=True)  # written, never committed: never acknowledged
        return int(result.rowcount or 0)

    def claim_next(self) -> QueueItem | None:
        """The oldest queued row, now marked ``grading``; ``None`` when the queue is empty."""
        with self._tx() as conn:
            row = conn.execute(
                select(hub_queue.c.id)
                .where(hub_queue.c.state == "queued")
                .order_by(hub_queue.c.id)
                .limit(1)
            ).first()
            if row is None:
                return None
            claimed = conn.execute(
                update(hub_queue)
                .where((hub_queue.c.id == row.id) & (hub_queue.c.state == "queued"))
                .values(state="grading", attempts=hub_queue.c.attempts + 1)
            )
            if claimed.rowcount != 1:
                return None
        return self.get(int(row.id))

    def claim_batch(self, limit: int) -> list[QueueItem]:
        """Up to ``limit`` of the oldest queued rows, at most one per learner and notebook
        (a later one waits for the next batch), now marked ``grading``."""
        with self._tx() as conn:
            rows = conn.execute(
                select(hub_queue.c.id, hub_queue.c.learner_id, hub_queue.c.notebook)
                .where(hub_queue.c.state == "queued")
                .order_by(hub_queue.c.id)
                .limit(limit * 4)
            ).all()
            chosen: list[int] = []
            seen: set[tuple[str, str]] = set()
            for row in rows:
                if (row.learner_id, row.notebook) in seen:
                    continue
                seen.add((row.learner_id, row.notebook))
                chosen.append(int(row.id))
                if len(chosen) == limit:
                    break
            if not chosen:
                return []
            conn.execute(
                update(hub_queue)
                .where(hub_queue.c.id.in_(chosen) & (hub_queue.c.state == "queued"))
                .values(state="grading", attempts=hub_queue.c.attempts + 1)
            )
            claimed = conn.execute(
                select(hub_queue).where(hub_queue.c.id.in_(chosen)).order_by(hub_queue.c.id)
            ).all()
        return [QueueItem.from_row(row) for row in claimed]

    def finish(
        self,
        item_id: int,
        *,
        ok: bool,
        message: str,
        score: float | None = None,
        max_score: float | None = None,
    ) -> None:
        with self._tx() as conn:
            conn.execute(
                update(hub_queue)
                .where(hub_queue.c.id == item_id)
                .values(
                    state="done" if ok else "failed",
                    message=message[:2000],
                    score=score,
                    max_score=max_score,
                    finished_at=datetime.now(UTC),
                )
            )

    def requeue_learner(self, learner_id: str | None = None) -> int:
        """Queue the newest submission of each (learner, notebook) again (regrade)."""
        newest = (
            select(func.max(hub_queue.c.id))
            .where(hub_queue.c.state.in_(("done", "failed")))
            .group_by(hub_queue.c.learner_id, hub_queue.c.notebook)
        )
        if learner_id is not None:
            newest = newest.where(hub_queue.c.learner_id == learner_id)
        with self._tx() as conn:
            result = conn.execute(
                update(hub_queue).where(hub_queue.c.id.in_(newest)).values(state="queued")
            )
        return int(result.rowcount or 0)

    def set_flag(self, name: str, value: str) -> None:
        with self._tx() as conn:
            conn.execute(hub_flags.delete().where(hub_flags.c.name == name))
            conn.execute(hub_flags.insert().values(name=name, value=value))

    def flag(self, name: str) -> str | None:
        with self._tx() as conn:
            row = conn.execute(select(hub_flags.c.value).where(hub_flags.c.name == name)).first()
        return None if row is None else str(row.value)

    # ------------------------------------------------------------------ reads

    def get(self, item_id: int) -> QueueItem:
        with self._tx() as conn:
            row = conn.execute(select(hub_queue).where(hub_queue.c.id == item_id)).one()
        return QueueItem.from_row(row)

    def items(self, learner_id: str | None = None) -> list[QueueItem]:
        query = select(hub_queue).where(hub_queue.c.state != "storing").order_by(hub_queue.c.id)
        if learner_id is not None:
            query = query.where(hub_queue.c.learner_id == learner_id)
        with self._tx() as conn:
            return [QueueItem.from_row(row) for row in conn.execute(query)]

    def count_today(self, learner_id: str, notebook: str, now: datetime) -> int:
        start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        with self._tx() as conn:
            value = conn.execute(
                select(func.count())
                .select_from(hub_queue)
                .where(
                    (hub_queue.c.learner_id == learner_id)
                    & (hub_queue.c.notebook == notebook)
                    & (hub_queue.c.received_at >= start)
                    & (hub_queue.c.received_at < start + timedelta(days=1))
                )
            ).scalar_one()
        return int(value)

    def pending(self) -> int:
        with self._tx() as conn:
            value = conn.execute(
                select(func.count())
                .select_from(hub_queue)
                .where(hub_queue.c.state.in_(("queued", "grading")))
            ).scalar_one()
        return int(value)
