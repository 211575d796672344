"""The roster: learners' names and emails in nbgrader's student table.

The roster is authoritative: :func:`import_roster_csv` creates or updates learners from
a CSV file with the columns ``id,first_name,last_name,email``. A submission's manifest
may only *propose* a name and email for a learner who is not on the roster yet (see
:meth:`grader.pipeline.gradebook.GradebookStore.record`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader import api
from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.pipeline.atomic import write_atomic
from grader.pipeline.errors import IntakeError, RosterError
from grader.pipeline.gradebook import GradebookStore
from grader.pipeline.identity import SubmissionKeys
from grader.pipeline.manifest import EMAIL_PATTERN, has_control, learner_key, validate_learner_id

__all__ = [
    "ROSTER_COLUMNS",
    "SECRET_COLUMNS",
    "RosterEntry",
    "RosterImport",
    "import_roster_csv",
    "read_roster_csv",
    "secrets_path",
    "write_secrets_csv",
]

ROSTER_COLUMNS = ("id", "first_name", "last_name", "email")
SECRET_COLUMNS = (*ROSTER_COLUMNS, "secret")
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
    seen: dict[str, tuple[str, int]] = {}  # learner_key -> (id, line)
    emails: dict[str, tuple[str, int]] = {}  # casefolded email -> (id, line)
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
            key = learner_key(learner_id)
            if key in seen:
                other, where = seen[key]
                same = "" if other == learner_id else f" (as {other!r}: ids ignore letter case)"
                raise RosterError(
                    f"{path} line {line}: learner {learner_id!r} is already on line {where}{same}"
                )
            seen[key] = (learner_id, line)
            for key in ("first_name", "last_name", "email"):
                if has_control(values[key]) or len(values[key]) > 128:
                    raise RosterError(f"{path} line {line}: {key} is not a short line of text")
            if values["email"] and not EMAIL_PATTERN.match(values["email"]):
                raise RosterError(
                    f"{path} line {line}: {values['email']!r} is not an email address"
                )
            if values["email"]:
                owner = emails.setdefault(values["email"].casefold(), (learner_id, line))
                if owner[0] != learner_id:
                    raise RosterError(
                        f"{path} line {line}: email {values['email']!r} is already "
                        f"{owner[0]!r}'s (line {owner[1]}); certificates identify a learner by it"
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
        _check_against_gradebook(path, entries, session)
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


def _check_against_gradebook(path: Path, entries: list[RosterEntry], session: Session) -> None:
    """Refuse a roster that would make two learners look alike or share an email."""
    existing = {s.id: s.email or "" for s in session.scalars(select(api.Student))}
    by_key = {learner_key(learner_id): learner_id for learner_id in existing}
    for entry in entries:
        other = by_key.get(learner_key(entry.id), entry.id)
        if other != entry.id:
            raise RosterError(
                f"{path}: learner {entry.id!r} differs only in letter case or Unicode form "
                f"from {other!r}, already in the gradebook; use that id"
            )
    emails = {**existing, **{entry.id: entry.email for entry in entries}}
    owners: dict[str, str] = {}
    for learner_id, email in sorted(emails.items()):
        if not email:
            continue
        owner = owners.setdefault(email.casefold(), learner_id)
        if owner != learner_id:
            raise RosterError(
                f"{path}: email {email!r} would belong to both {owner!r} and {learner_id!r}; "
                "certificates identify a learner by it"
            )


def secrets_path(roster: Path) -> Path:
    """``roster.csv`` → ``roster-secrets.csv`` beside it."""
    return roster.with_name(f"{roster.stem}-secrets.csv")


def write_secrets_csv(entries: list[RosterEntry], keys: SubmissionKeys, path: Path) -> Path:
    """Write each learner's submission secret to ``path`` (a mail-merge CSV, mode 0600).

    Secrets are derived from the course key, so writing them again gives the same file;
    the gradebook never holds them.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SECRET_COLUMNS)
    for entry in entries:
        writer.writerow(
            [entry.id, entry.first_name, entry.last_name, entry.email, keys.secret_for(entry.id)]
        )
    write_atomic(path, buffer.getvalue())
    path.chmod(0o600)
    return path
