"""Replays: an older signed zip never replaces a newer one.

A signature proves who made a zip, not when it was sent: anyone holding a copy of a
learner's earlier signed zip (a forwarded e-mail, a shared folder) could hand it in again
and roll their grade back. So ``submit`` writes a ``sequence`` into the manifest (the
nanoseconds since the epoch when it was made; it is signed with the rest), and the grader
keeps, per learner, the highest sequence it has accepted from a signed zip, in a ledger
under the course's ``.cache/`` where learners cannot write. A signed zip whose sequence is
lower than that (or than another zip of the same learner in the same batch), or equal to
it with other contents, is a replay: refused, graded for nobody, nobody's page touched.
Handing in the very zip already accepted is not a replay (it is simply unchanged).

Unsigned zips are not checked: without a signature, every field is a claim anyway, and
they count only in a course that issued no secrets (see :mod:`grader.pipeline.admission`).

Belongs with the pipeline (``grader/pipeline`` after the restructure).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from grader.core.boundedjson import SMALL_MAX_DEPTH, load_bounded
from grader.pipeline.atomic import write_atomic
from grader.pipeline.errors import IntakeError
from grader.pipeline.intake import IntakeReport, Rejection, StagedNotebook

__all__ = ["SequenceLedger", "check_replays", "manifest_sequence"]


def manifest_sequence(manifest: bytes) -> int | None:
    """The manifest's ``sequence`` (or, for an older zip, its ``created`` in ns), if any."""
    try:
        data: Any = load_bounded(manifest, max_bytes=1 << 20, max_depth=SMALL_MAX_DEPTH)
    except IntakeError:
        return None
    if not isinstance(data, dict):
        return None
    sequence = data.get("sequence")
    if isinstance(sequence, int) and not isinstance(sequence, bool) and sequence >= 0:
        return sequence
    created = data.get("created")
    if isinstance(created, str):
        try:
            return int(datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()) * 10**9
        except ValueError:
            return None
    return None


class SequenceLedger:
    """Per learner, the highest accepted sequence and the manifest that carried it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._changed = False
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        self._seen: dict[str, tuple[int, str]] = {}
        for learner, entry in data.items() if isinstance(data, dict) else []:
            if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], int):
                self._seen[str(learner)] = (entry[0], str(entry[1]))

    def get(self, learner_id: str) -> tuple[int, str] | None:
        """``(sequence, manifest sha256)`` last accepted for ``learner_id``."""
        return self._seen.get(learner_id)

    def accept(self, learner_id: str, sequence: int, digest: str) -> None:
        """Record an accepted signed zip (kept only if newer than the one on record)."""
        known = self._seen.get(learner_id)
        if known is None or sequence > known[0]:
            self._seen[learner_id] = (sequence, digest)
            self._changed = True

    def save(self) -> None:
        """Write the ledger if anything was accepted."""
        if self._changed:
            data = {learner: list(entry) for learner, entry in self._seen.items()}
            write_atomic(self.path, json.dumps(data, indent=0, sort_keys=True) + "\n")
            self._changed = False


def check_replays(intake: IntakeReport, ledger: SequenceLedger) -> list[Rejection]:
    """Refuse signed zips older than what is on record for their learner (or in the batch).

    Call after the signatures were checked (only zips signed by the learner they name are
    left with a signature); the accepted ones are recorded in ``ledger``.
    """
    signed: dict[str, list[tuple[int, str, StagedNotebook]]] = {}
    unordered: set[str] = set()
    for staged in intake.accepted:
        if staged.manifest is None or staged.signature is None:
            continue
        sequence = manifest_sequence(staged.manifest)
        if sequence is None:
            unordered.add(staged.origin)
            continue
        digest = hashlib.sha256(staged.manifest).hexdigest()
        signed.setdefault(staged.learner.id, []).append((sequence, digest, staged))
    refused: dict[str, str] = {origin: "its manifest has no sequence" for origin in unordered}
    for learner_id, items in signed.items():
        newest = max(items, key=lambda item: item[0])
        known = ledger.get(learner_id)
        if known is not None and (
            newest[0] < known[0] or (newest[0] == known[0] and newest[1] != known[1])
        ):
            newest = (-1, "", newest[2])  # nothing in this batch is newer than the record
        for sequence, digest, staged in items:
            if (sequence, digest) == newest[:2]:
                continue
            if digest == newest[1]:
                continue  # other notebooks of the same zip
            refused.setdefault(
                staged.origin,
                "a replay: an older signed submission than the one already accepted for "
                "this learner",
            )
        if newest[0] >= 0:
            ledger.accept(learner_id, newest[0], newest[1])
    rejections = []
    for origin, reason in refused.items():
        staged = next(s for s in intake.accepted if s.origin == origin)
        rejections.append(
            Rejection(
                origin=origin,
                reason=f"{reason}; graded for nobody",
                learner_id=staged.learner.id,
                proven=False,
            )
        )
    intake.accepted = [s for s in intake.accepted if s.origin not in refused]
    intake.rejected.extend(rejections)
    return rejections
