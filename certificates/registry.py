"""The issuance record: every certificate issued, its level, state and revocation index.

Kept as ``registry.json`` beside the certificates it describes (``output/certificates/``)
and written atomically. It holds no email and no key — only learner ids, certificate ids,
levels, dates, revocation indices and reasons.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

from certificates._files import write_atomic
from certificates.errors import RegistryError

__all__ = ["REGISTRY_FILE", "Record", "Registry"]

REGISTRY_FILE = "registry.json"
_FORMAT = "context-course-certificates/1"

State = Literal["active", "superseded", "revoked"]


@dataclass(frozen=True)
class Record:
    """One issued certificate."""

    id: str
    learner_id: str
    level: str
    rank: int
    issued: str
    status_index: int
    policy_version: str
    folder: str
    state: State = "active"
    superseded_by: str | None = None
    revoked_at: str | None = None
    reason: str | None = None


@dataclass
class Registry:
    """All records, loaded from and saved to one JSON file."""

    path: Path
    records: list[Record]

    @classmethod
    def load(cls, folder: Path) -> Registry:
        """The registry in ``folder`` (empty when none exists yet)."""
        path = folder / REGISTRY_FILE
        if not path.exists():
            return cls(path=path, records=[])
        try:
            data = json.loads(path.read_text("utf-8"))
            if data.get("format") != _FORMAT:
                raise RegistryError(f"{path} is not a {_FORMAT} issuance record")
            records = [Record(**item) for item in data["certificates"]]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RegistryError(f"cannot read the issuance record {path}: {exc}") from None
        return cls(path=path, records=records)

    def save(self) -> None:
        """Write the registry atomically."""
        body: dict[str, Any] = {
            "format": _FORMAT,
            "certificates": [asdict(record) for record in self.records],
        }
        write_atomic(self.path, json.dumps(body, indent=2, ensure_ascii=False) + "\n")

    def active(self, learner_id: str) -> Record | None:
        """The learner's current certificate (highest level, not revoked), if any."""
        mine = [r for r in self.records if r.learner_id == learner_id and r.state == "active"]
        return max(mine, key=lambda r: r.rank, default=None)

    def next_index(self) -> int:
        """The next unused revocation-list index."""
        return max((r.status_index for r in self.records), default=-1) + 1

    def find(self, certificate_id: str) -> Record:
        """The record of ``certificate_id`` (``urn:uuid:…`` or the bare UUID)."""
        wanted = certificate_id.strip()
        for record in self.records:
            if wanted in (record.id, record.id.removeprefix("urn:uuid:")):
                return record
        raise RegistryError(f"no certificate {certificate_id!r} in {self.path}")

    def add(self, record: Record) -> None:
        """Record a new certificate; a lower active one of the same learner is superseded."""
        self.records = [
            replace(r, state="superseded", superseded_by=record.id)
            if r.learner_id == record.learner_id and r.state == "active" and r.rank < record.rank
            else r
            for r in self.records
        ]
        self.records.append(record)

    def mark_revoked(self, certificate_id: str, *, reason: str, when: str) -> Record:
        """Mark a certificate revoked; returns the updated record."""
        record = self.find(certificate_id)
        updated = replace(record, state="revoked", revoked_at=when, reason=reason)
        self.records = [updated if r.id == record.id else r for r in self.records]
        return updated

    def revoked_indices(self) -> list[int]:
        """Revocation-list indices of every revoked certificate."""
        return [r.status_index for r in self.records if r.state == "revoked"]
