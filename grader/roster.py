"""The roster: learners' names and emails in nbgrader's student table.

The roster is authoritative: :func:`import_roster_csv` creates or updates learners from
a CSV file with the columns ``id,first_name,last_name,email``. A submission's manifest
may only *propose* a name and email for a learner who is not on the roster yet (see
:meth:`grader.gradebook.GradebookStore.record`).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader import api

from grader.gradebook import GradebookStore
from grader.manifest import has_control, validate_learner_id
from grader.pipeline_errors import IntakeError, RosterError

__all__ = ["ROSTER_COLUMNS", "RosterEntry", "RosterImport", "import_roster_csv", "read_roster_csv"]

ROSTER_COLUMNS = ("id", "first_name", "last_name", "email")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MAX_ROSTER_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class RosterEntry:
    """One learner of a roster file."""

    id: str
    first_name: str
    last_name: str
    email: str


@dataclass
class RosterImport:
    """What an import changed."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people: ``3 added, 1 updated, 10 unchanged``."""
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged"
        )


def read_roster_csv(path: Path) -> list[RosterEntry]:
    """Parse and check a roster CSV; raise :class:`RosterError` naming the bad line."""
    try:
        if path.stat().st_size > _MAX_ROSTER_BYTES:
            raise RosterError(f"{path} is larger than 16 MiB; is it really a roster?")
        content = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise RosterError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise RosterError(f"{path} is a folder, not a CSV file") from None
    except UnicodeDecodeError:
        raise RosterError(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise RosterError(f"cannot read {path}: {exc.strerror}") from None
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = [column.strip().lower() for column in next(reader)]
    except StopIteration:
        raise RosterError(
            f"{path} is empty; expected a header {','.join(ROSTER_COLUMNS)}"
        ) from None
    except csv.Error as exc:
        raise RosterError(f"{path} line 1: {exc}") from None
    missing = [c for c in ROSTER_COLUMNS if c not in header]
    if missing:
        raise RosterError(
            f"{path} line 1: missing column(s) {', '.join(missing)}; "
            f"expected {','.join(ROSTER_COLUMNS)}"
        )
    index = {name: header.index(name) for name in ROSTER_COLUMNS}
    entries: list[RosterEntry] = []
    seen: dict[str, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < len(header):
                raise RosterError(f"{path} line {line}: expected {len(header)} columns")
            values = {name: row[i].strip() for name, i in index.items()}
            try:
                learner_id = validate_learner_id(values["id"])
            except IntakeError as exc:
                raise RosterError(f"{path} line {line}: {exc}") from None
            if learner_id in seen:
                raise RosterError(
                    f"{path} line {line}: learner {learner_id!r} is already on line "
                    f"{seen[learner_id]}"
                )
            seen[learner_id] = line
            for key in ("first_name", "last_name", "email"):
                if has_control(values[key]) or len(values[key]) > 128:
                    raise RosterError(f"{path} line {line}: {key} is not a short line of text")
            if values["email"] and not _EMAIL.match(values["email"]):
                raise RosterError(
                    f"{path} line {line}: {values['email']!r} is not an email address"
                )
            entries.append(
                RosterEntry(
                    id=learner_id,
                    first_name=values["first_name"],
                    last_name=values["last_name"],
                    email=values["email"],
                )
            )
    except csv.Error as exc:
        raise RosterError(f"{path} line {reader.line_num}: {exc}") from None
    return entries


def import_roster_csv(path: Path, store: GradebookStore) -> RosterImport:
    """Create or update every learner of the roster at ``path``, in one transaction.

    The roster wins over names and emails proposed by submissions. Learners absent from
    the file are left alone. On any error nothing is imported.
    """
    entries = read_roster_csv(path)
    outcome = RosterImport()
    with store.transaction() as session:
        for entry in entries:
            student = session.get(api.Student, entry.id)
            wanted = (entry.first_name or None, entry.last_name or None, entry.email or None)
            if student is None:
                session.add(
                    api.Student(
                        id=entry.id,
                        first_name=wanted[0],
                        last_name=wanted[1],
                        email=wanted[2],
                    )
                )
                outcome.added.append(entry.id)
            elif (student.first_name, student.last_name, student.email) != wanted:
                student.first_name, student.last_name, student.email = wanted
                outcome.updated.append(entry.id)
            else:
                outcome.unchanged.append(entry.id)
    return outcome
