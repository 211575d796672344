"""Intake: turn submissions into validated notebooks ready to grade, or one-line rejections.

Two shapes of submission are accepted:

* a **zip** made by ``context-course submit``: ``manifest.json`` (see below) plus one
  file per notebook. A zip is one signed-off unit: any problem in it (bad archive,
  unsafe path, symbolic link, manifest error, hash mismatch, bad notebook) rejects the
  whole zip, so a tampered or truncated upload is never half-graded;
* a **folder** in nbgrader's layout, ``submitted/<learner>/<NN-slug>/<NN-slug>.ipynb``
  (the folder given may be ``submitted/`` itself or one learner's folder). Here each
  notebook stands alone: a malformed notebook is rejected and the learner's other
  notebooks are graded.

Every size cap is checked before anything is read or extracted. Validated bytes are
copied to a private staging folder, so what is graded is exactly what was checked.

The manifest format is defined in :mod:`grader.pipeline.manifest`.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from grader.core.boundedjson import SMALL_MAX_DEPTH, load_bounded
from grader.core.deadline import TimeLimitExceeded, time_limit
from grader.pipeline.archives import check_central_directory, open_regular
from grader.pipeline.catalog import Catalog
from grader.pipeline.errors import IntakeError
from grader.pipeline.identity import SIGNATURE_NAME
from grader.pipeline.manifest import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    MANIFEST_VERSION,
    MIN_MANIFEST_VERSION,
    IntakeLimits,
    LearnerInfo,
    build_submission_zip,
    check_notebook_bytes,
    read_capped,
    read_manifest,
    safe_member_path,
    show_value,
    too_big,
    validate_learner_id,
)

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "MANIFEST_VERSION",
    "MIN_MANIFEST_VERSION",
    "IntakeLimits",
    "IntakeReport",
    "LearnerInfo",
    "Rejection",
    "StagedNotebook",
    "build_submission_zip",
    "check_notebook_bytes",
    "collect_submissions",
    "read_manifest",
    "reject_duplicates",
    "validate_learner_id",
]


@dataclass(frozen=True)
class StagedNotebook:
    """A validated notebook, copied to the staging folder, ready to grade."""

    learner: LearnerInfo
    notebook: str  # slug
    path: Path  # the staged copy
    sha256: str  # of the submitted bytes
    origin: str  # where it came from, for messages
    #: When the grader first saw the file (zip or notebook) holding it: recorded on first
    #: sight by the ``first_seen`` ledger given to intake, never a time the learner wrote
    #: (file times are set by whoever made the file). This is what the gradebook records.
    submitted_at: datetime | None = None
    #: The time the zip's manifest claims it was made (``created``). Written on the
    #: learner's machine, so it is information only and never recorded as submission time.
    claimed_at: datetime | None = None
    #: For a zip: the exact bytes of its ``manifest.json`` and of its ``manifest.sig``
    #: (``None`` when unsigned), for the batch to check who made it. ``None`` for a
    #: notebook in nbgrader's folder layout (the instructor's own collection named it).
    manifest: bytes | None = None
    signature: bytes | None = None


@dataclass(frozen=True)
class Rejection:
    """Why a submission (or one notebook of it) was not graded, as one line."""

    origin: str
    reason: str
    learner_id: str | None = None
    notebook: str | None = None
    #: ``False`` when ``learner_id`` is only what a rejected zip claims: such a rejection
    #: is reported to the instructor but never shown on that learner's pages.
    proven: bool = True

    def __str__(self) -> str:
        who = self.learner_id if self.learner_id is not None else "unknown learner"
        if not self.proven and self.learner_id is not None:
            who = f"unverified zip claiming {show_value(self.learner_id)}"
        what = f" {self.notebook}" if self.notebook else ""
        return f"{who}{what} ({self.origin}): {self.reason}"


@dataclass
class IntakeReport:
    """What intake accepted and what it rejected, in input order."""

    accepted: list[StagedNotebook] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


# --------------------------------------------------------------------------- helpers

_MAX_SIGNATURE_BYTES = 1024


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


FirstSeen = Callable[[str], datetime]


def _now_seen(digest: str) -> datetime:
    """The ``first_seen`` of a batch without a ledger: now."""
    return datetime.now(UTC)


def _file_digest(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    handle.seek(0)
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        digest.update(chunk)
    handle.seek(0)
    return digest.hexdigest()


class _Stager:
    """Writes validated notebooks into a private staging folder under unique names."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.count = 0

    def stage(self, slug: str, data: bytes) -> Path:
        self.count += 1
        folder = self.root / f"{self.count:06d}"
        folder.mkdir(parents=True, exist_ok=False)
        path = folder / f"{slug}.ipynb"
        path.write_bytes(data)
        return path


# --------------------------------------------------------------------------- zip files


def _read_zip(
    path: Path,
    catalog: Catalog,
    course_id: str,
    limits: IntakeLimits,
    stager: _Stager,
    first_seen: FirstSeen,
) -> list[StagedNotebook]:
    with open_regular(path) as handle:
        info = os.fstat(handle.fileno())
        size = info.st_size
        if size > limits.max_archive_bytes:
            raise too_big(size, limits.max_archive_bytes, "archive")
        try:
            check_central_directory(handle, limits)
            received = first_seen(_file_digest(handle))
            with zipfile.ZipFile(handle) as archive:
                staged = _read_zip_members(archive, path, catalog, course_id, limits, stager)
                return [replace(item, submitted_at=received) for item in staged]
        except IntakeError:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
            raise IntakeError(f"not a valid zip archive ({str(exc)[:100]})") from None
        except NotImplementedError as exc:
            raise IntakeError(f"archive uses an unsupported feature ({str(exc)[:100]})") from None


def _read_zip_members(
    archive: zipfile.ZipFile,
    path: Path,
    catalog: Catalog,
    course_id: str,
    limits: IntakeLimits,
    stager: _Stager,
) -> list[StagedNotebook]:
    infos = archive.infolist()
    if len(infos) > limits.max_archive_members:
        raise IntakeError(
            f"archive has {len(infos)} entries, over the limit of {limits.max_archive_members}"
        )
    members: dict[str, zipfile.ZipInfo] = {}
    signature: bytes | None = None
    for info in infos:
        safe_member_path(info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise IntakeError(f"archive holds a symbolic link {show_value(info.filename)}")
        if info.flag_bits & 0x1:
            raise IntakeError(f"archive member {show_value(info.filename)} is encrypted")
        if info.is_dir():
            continue
        if info.filename in members:
            raise IntakeError(f"archive holds {show_value(info.filename)} twice")
        members[info.filename] = info
    if MANIFEST_NAME not in members:
        raise IntakeError(f"archive has no {MANIFEST_NAME}; make it with `context-course submit`")
    manifest_info = members[MANIFEST_NAME]
    if manifest_info.file_size > limits.max_manifest_bytes:
        raise too_big(manifest_info.file_size, limits.max_manifest_bytes, MANIFEST_NAME)
    with archive.open(manifest_info) as stream:
        raw = read_capped(stream, limits.max_manifest_bytes, MANIFEST_NAME)
    manifest = read_manifest(raw, catalog=catalog, course_id=course_id)
    if SIGNATURE_NAME in members:
        if members[SIGNATURE_NAME].file_size > _MAX_SIGNATURE_BYTES:
            raise too_big(members[SIGNATURE_NAME].file_size, _MAX_SIGNATURE_BYTES, SIGNATURE_NAME)
        with archive.open(members[SIGNATURE_NAME]) as stream:
            signature = read_capped(stream, _MAX_SIGNATURE_BYTES, SIGNATURE_NAME)
    listed = {entry["path"] for entry in manifest["notebooks"]}
    for name in members:
        if name not in (MANIFEST_NAME, SIGNATURE_NAME) and name not in listed:
            raise IntakeError(f"archive holds {show_value(name)}, which the manifest does not list")
    learner = LearnerInfo(
        id=manifest["learner"]["id"],
        name=manifest["learner"].get("name", ""),
        email=manifest["learner"].get("email", ""),
    )
    created = _parse_time(manifest.get("created"))
    checked: list[tuple[str, bytes, str]] = []
    for entry in manifest["notebooks"]:
        slug, member = entry["name"], entry["path"]
        found = members.get(member)
        if found is None:
            raise IntakeError(f"manifest lists {show_value(member)} but the archive lacks it")
        what = f"notebook {slug}"
        if found.file_size > limits.max_notebook_bytes:
            raise too_big(found.file_size, limits.max_notebook_bytes, what)
        with archive.open(found) as stream:
            data = read_capped(stream, limits.max_notebook_bytes, what)
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry["sha256"]:
            raise IntakeError(
                f"notebook {slug} does not match the manifest's hash (altered after submit?)"
            )
        try:
            check_notebook_bytes(data, max_cells=limits.max_cells)
        except IntakeError as exc:
            raise IntakeError(f"notebook {slug} {exc.reason}", notebook=slug) from None
        checked.append((slug, data, digest))
    # Stage only once the whole archive is known to be good.
    return [
        StagedNotebook(
            learner=learner,
            notebook=slug,
            path=stager.stage(slug, data),
            sha256=digest,
            origin=str(path),
            claimed_at=created,
            manifest=raw,
            signature=signature,
        )
        for slug, data, digest in checked
    ]


# --------------------------------------------------------------------------- folders


def _read_learner_folder(
    folder: Path,
    catalog: Catalog,
    limits: IntakeLimits,
    stager: _Stager,
    report: IntakeReport,
    first_seen: FirstSeen,
) -> None:
    origin = str(folder)
    try:
        learner_id = validate_learner_id(folder.name)
    except IntakeError as exc:
        report.rejected.append(Rejection(origin=origin, reason=exc.reason))
        return
    learner = LearnerInfo(id=learner_id)
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        reason = f"cannot list: {exc.strerror}"
        report.rejected.append(Rejection(origin=origin, reason=reason, learner_id=learner_id))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            report.rejected.append(
                Rejection(origin=str(entry), reason="is a symbolic link", learner_id=learner_id)
            )
            continue
        if entry.suffix == ".ipynb":
            report.rejected.append(
                Rejection(
                    origin=str(entry),
                    reason=f"is not in nbgrader's layout; expected {learner_id}/"
                    f"{entry.stem}/{entry.stem}.ipynb",
                    learner_id=learner_id,
                    notebook=entry.stem,
                )
            )
            continue
        if not entry.is_dir():
            continue  # stray files next to the assignment folders (e.g. notes) are ignored
        slug = entry.name
        rejection = Rejection(origin=str(entry), reason="", learner_id=learner_id, notebook=slug)
        if slug not in catalog:
            report.rejected.append(
                _with(
                    rejection,
                    f"unknown notebook {show_value(slug)}; this course has {catalog.describe()}",
                    notebook=None,
                )
            )
            continue
        try:
            with time_limit(limits.max_seconds, f"reading {slug}"):
                staged = _read_folder_notebook(
                    entry / f"{slug}.ipynb", learner, limits, stager, first_seen
                )
        except TimeLimitExceeded as exc:
            report.rejected.append(_with(rejection, f"{exc}; is it really a notebook?"))
            continue
        except IntakeError as exc:
            report.rejected.append(_with(rejection, exc.reason))
            continue
        report.accepted.append(staged)


def _with(rejection: Rejection, reason: str, **changes: Any) -> Rejection:
    return Rejection(
        origin=rejection.origin,
        reason=reason,
        learner_id=rejection.learner_id,
        notebook=changes.get("notebook", rejection.notebook),
    )


def _read_folder_notebook(
    path: Path, learner: LearnerInfo, limits: IntakeLimits, stager: _Stager, first_seen: FirstSeen
) -> StagedNotebook:
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise IntakeError(f"folder has no {path.name}") from None
    if stat.S_ISLNK(info.st_mode):
        raise IntakeError(f"{path.name} is a symbolic link")
    if not stat.S_ISREG(info.st_mode):
        raise IntakeError(f"{path.name} is not a regular file")
    if info.st_size > limits.max_notebook_bytes:
        raise too_big(info.st_size, limits.max_notebook_bytes, path.name)
    with open_regular(path) as stream:
        data = read_capped(stream, limits.max_notebook_bytes, path.name)
    check_notebook_bytes(data, max_cells=limits.max_cells)
    slug = path.stem
    digest = hashlib.sha256(data).hexdigest()
    return StagedNotebook(
        learner=learner,
        notebook=slug,
        path=stager.stage(slug, data),
        sha256=digest,
        origin=str(path),
        submitted_at=first_seen(digest),
    )


def _is_learner_folder(folder: Path, catalog: Catalog) -> bool:
    return any((folder / slug).is_dir() for slug in catalog)


# --------------------------------------------------------------------------- batch intake


def collect_submissions(
    paths: Iterable[Path],
    *,
    catalog: Catalog,
    course_id: str,
    staging_dir: Path,
    limits: IntakeLimits | None = None,
    first_seen: FirstSeen | None = None,
    reject_duplicates: bool = True,
) -> IntakeReport:
    """Read every submission under ``paths``; never raises for a malformed submission.

    Each path is a zip file, a learner's folder (``<learner>/<NN-slug>/…``) or a folder
    holding zips and/or learner folders (nbgrader's ``submitted/``). Accepted notebooks
    are copied into ``staging_dir``. The same learner's notebook submitted twice in one
    batch is graded once (the first one given) and the other copy rejected.

    ``first_seen(sha256 of a file)`` says when the grader first saw that file (the batch
    keeps a ledger); without it, files count as received now. Reading one submission
    takes at most ``limits.max_seconds`` of wall-clock time, else it is rejected.
    With ``reject_duplicates=False`` the caller calls :func:`reject_duplicates` itself,
    once it knows which submissions really are their learner's (a zip claiming someone
    else must not make that learner's own zip a "duplicate").
    """
    limits = limits or IntakeLimits()
    stager = _Stager(staging_dir)
    report = IntakeReport()
    seen = first_seen or _now_seen
    for given in paths:
        _collect_one(Path(given), catalog, course_id, limits, stager, report, seen)
    if reject_duplicates:
        _reject_duplicates(report)
    return report


def _collect_one(
    given: Path,
    catalog: Catalog,
    course_id: str,
    limits: IntakeLimits,
    stager: _Stager,
    report: IntakeReport,
    first_seen: FirstSeen,
    depth: int = 0,
) -> None:
    if not given.exists():
        report.rejected.append(Rejection(origin=str(given), reason="does not exist"))
        return
    if not given.is_dir():
        _collect_zip(given, catalog, course_id, limits, stager, report, first_seen)
        return
    if _is_learner_folder(given, catalog):
        _read_learner_folder(given, catalog, limits, stager, report, first_seen)
        return
    try:
        entries = sorted(given.iterdir())
    except OSError as exc:
        report.rejected.append(Rejection(origin=str(given), reason=f"cannot list: {exc.strerror}"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            report.rejected.append(Rejection(origin=str(entry), reason="is a symbolic link"))
        elif entry.is_dir():
            if depth < 2 and _holds_submissions(entry, catalog):
                _collect_one(
                    entry, catalog, course_id, limits, stager, report, first_seen, depth + 1
                )
            else:
                _read_learner_folder(entry, catalog, limits, stager, report, first_seen)
        elif entry.suffix.lower() == ".zip":
            _collect_zip(entry, catalog, course_id, limits, stager, report, first_seen)


def _holds_submissions(folder: Path, catalog: Catalog) -> bool:
    """A folder of submissions (nbgrader's ``submitted/``, a folder of zips), not a learner."""
    if _is_learner_folder(folder, catalog):
        return False
    for entry in folder.iterdir():
        if entry.is_symlink() or entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix.lower() == ".zip":
            return True
        if entry.is_dir() and _is_learner_folder(entry, catalog):
            return True
    return False


def _collect_zip(
    path: Path,
    catalog: Catalog,
    course_id: str,
    limits: IntakeLimits,
    stager: _Stager,
    report: IntakeReport,
    first_seen: FirstSeen,
) -> None:
    try:
        with time_limit(limits.max_seconds, "reading this zip"):
            report.accepted.extend(_read_zip(path, catalog, course_id, limits, stager, first_seen))
    except (IntakeError, TimeLimitExceeded) as exc:
        reason = exc.reason if isinstance(exc, IntakeError) else str(exc)
        report.rejected.append(
            Rejection(origin=str(path), reason=reason, learner_id=_peek_learner(path), proven=False)
        )


def _peek_learner(path: Path) -> str | None:
    """The learner id a rejected zip claims, if it can be read safely (for the message)."""
    try:
        with open_regular(path) as handle, zipfile.ZipFile(handle) as archive:
            check_central_directory(handle, IntakeLimits())
            info = archive.getinfo(MANIFEST_NAME)
            if info.file_size > IntakeLimits.max_manifest_bytes:
                return None
            with archive.open(info) as stream:
                raw = read_capped(stream, IntakeLimits.max_manifest_bytes, MANIFEST_NAME)
            manifest = load_bounded(
                raw, max_bytes=IntakeLimits.max_manifest_bytes, max_depth=SMALL_MAX_DEPTH
            )
            learner = manifest.get("learner", {}) if isinstance(manifest, dict) else {}
            return validate_learner_id(learner.get("id") if isinstance(learner, dict) else None)
    except Exception:  # best effort only: the rejection reason already says what is wrong
        return None


def _reject_duplicates(report: IntakeReport) -> None:
    """Keep the first of each learner's notebook submitted twice; reject the others."""
    first: dict[tuple[str, str], StagedNotebook] = {}
    kept: list[StagedNotebook] = []
    for staged in report.accepted:
        key = (staged.learner.id, staged.notebook)
        if key in first:
            report.rejected.append(
                Rejection(
                    origin=staged.origin,
                    reason=f"submitted twice in this batch; graded {first[key].origin} instead",
                    learner_id=staged.learner.id,
                    notebook=staged.notebook,
                )
            )
            continue
        first[key] = staged
        kept.append(staged)
    report.accepted = kept


reject_duplicates = _reject_duplicates
