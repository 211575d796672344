"""When the grader first saw each submitted file: the time a grade records as "submitted".

A zip's or notebook's modification time is set by whoever made the file (``touch -d``,
the zip tool), and a manifest's ``created`` is written on the learner's machine: neither
is evidence. The ledger maps each file's SHA-256 to the moment a batch first read it; the
same bytes handed in again keep their first time, new bytes get the time they arrived.
Put the ledger where learners cannot write (it lives in the course's ``.cache/``).

Belongs with the pipeline (``grader/pipeline`` after the restructure).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from grader.pipeline.atomic import write_atomic

__all__ = ["ReceivedLedger"]

_DIGEST = re.compile(r"[0-9a-f]{64}")


class ReceivedLedger:
    """``first_seen(sha256) -> datetime``, kept in one JSON file and saved atomically."""

    def __init__(self, path: Path, *, now: datetime | None = None) -> None:
        self.path = path
        self._now = now
        self._seen: dict[str, str] = {}
        self._changed = False
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if isinstance(data, dict):
            self._seen = {
                k: v
                for k, v in data.items()
                if isinstance(k, str) and _DIGEST.fullmatch(k) and isinstance(v, str)
            }

    def first_seen(self, digest: str) -> datetime:
        """When the file with this SHA-256 was first seen (recorded now if never before)."""
        known = self._seen.get(digest)
        if known is not None:
            try:
                return datetime.fromisoformat(known)
            except ValueError:
                pass
        moment = self._now or datetime.now(UTC)
        self._seen[digest] = moment.isoformat()
        self._changed = True
        return moment

    def save(self) -> None:
        """Write the ledger if anything was added."""
        if self._changed:
            write_atomic(self.path, json.dumps(self._seen, indent=0, sort_keys=True) + "\n")
            self._changed = False
