"""Admission: which staged submissions count, and for whom, before anything is graded.

Two checks run between intake and grading, both on the parent side:

* :func:`check_signatures` — once a course has issued submission secrets, a zip counts
  only when signed by the learner it names; others are filed under ``unverified/`` and
  graded for nobody;
* :func:`check_identities` — ids that fold to an existing learner's (case, Unicode
  form, look-alike letters) and zips that contradict the roster's email are refused.

Belongs with the pipeline (``grader/pipeline`` after the restructure).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from grader.pipeline.atomic import write_atomic
from grader.pipeline.gradebook import GradebookStore
from grader.pipeline.identity import SubmissionKeys
from grader.pipeline.intake import IntakeLimits, IntakeReport, Rejection
from grader.pipeline.manifest import learner_key, same_email, show_value

__all__ = ["check_identities", "check_signatures"]


def check_signatures(
    intake: IntakeReport, keys: SubmissionKeys | None, folder: Path
) -> list[Rejection]:
    """Set aside zips not signed by the learner they name (a course that issued secrets).

    Once ``roster import`` has issued submission secrets, a zip counts only with a valid
    ``manifest.sig`` for the learner its manifest names. Any other zip is *unverified*:
    copied to ``folder`` under its own SHA-256 (never a name the learner chose), with a
    note saying why, and graded for nobody; no learner's grade or page changes. Notebooks
    in nbgrader's folder layout were named by the instructor's own collection and pass.
    Without a course key (no secrets issued), ids are claims, as the README says.
    """
    if keys is None:
        return []
    unverified: dict[str, Rejection] = {}
    for staged in intake.accepted:
        if staged.manifest is None or staged.origin in unverified:
            continue
        if keys.verify(staged.learner.id, staged.manifest, staged.signature):
            continue
        reason = (
            "not signed (made without the learner's submission secret: "
            "`context-course submit --secret …`)"
            if staged.signature is None
            else "the signature does not match this learner (wrong secret, or the zip "
            "was altered after submit)"
        )
        filed = _file_unverified(Path(staged.origin), folder, reason, staged.learner.id)
        unverified[staged.origin] = Rejection(
            origin=staged.origin,
            reason=f"{reason}; filed as {filed.name}, graded for nobody",
            learner_id=staged.learner.id,
            proven=False,
        )
    intake.accepted = [s for s in intake.accepted if s.origin not in unverified]
    return list(unverified.values())


def _file_unverified(origin: Path, folder: Path, reason: str, claimed: str) -> Path:
    cap = IntakeLimits.max_archive_bytes
    with origin.open("rb") as handle:  # intake read it already; it may have changed since
        data = handle.read(cap + 1)
    digest = hashlib.sha256(data).hexdigest()[:24]
    if len(data) > cap:
        data = b""  # swapped for something larger after intake: keep only the note
    target = folder / f"{digest}.zip"
    if not target.exists():
        write_atomic(target, data)
    note = f"claims learner {show_value(claimed)}\nfrom {show_value(str(origin), 200)}\n{reason}\n"
    write_atomic(folder / f"{digest}.txt", note)
    return target


def check_identities(intake: IntakeReport, store: GradebookStore) -> set[str]:
    """Reject submissions whose learner cannot be told apart from, or contradicts, another.

    * an id that differs from a known learner's (or an earlier one in this batch) only in
      letter case or Unicode form: the two would share a feedback folder on macOS and
      Windows and a row under case-insensitive collations;
    * a zip whose manifest names a learner on record but gives a different email: it was
      not made from that learner's workspace (someone else submitting as them), and
      grading it would replace their grade.

    Returns the look-alike ids: they get no feedback folder (it would be the other's).
    """
    students = {student.id: student for student in store.students()}
    owners = {learner_key(learner_id): learner_id for learner_id in students}
    impostors: set[str] = set()
    refused: dict[str, Rejection] = {}  # one line per submission (zip or notebook folder)
    for staged in intake.accepted:
        learner = staged.learner
        owner = owners.setdefault(learner_key(learner.id), learner.id)
        reason = ""
        if owner != learner.id:
            impostors.add(learner.id)
            reason = (
                f"learner id {learner.id!r} differs only in letter case or Unicode form from "
                f"learner {owner!r}; ids must be unique ignoring case"
            )
        elif (
            learner.id in students
            and learner.email
            and students[learner.id].email
            and not same_email(learner.email, students[learner.id].email)
        ):
            reason = (
                f"the manifest gives email {show_value(learner.email)}, but {learner.id!r} is "
                "on record with another email, so this zip was not made in their workspace "
                "(if their email changed, update it with `context-course roster import`)"
            )
        if reason:
            refused.setdefault(
                staged.origin,
                # shown to the instructor only: the id is the one this submission claims
                Rejection(origin=staged.origin, reason=reason, learner_id=learner.id, proven=False),
            )
    if refused:
        intake.accepted = [s for s in intake.accepted if s.origin not in refused]
        intake.rejected.extend(refused.values())
    return impostors
