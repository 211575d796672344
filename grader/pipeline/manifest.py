"""The submission format: ``manifest.json``, learner ids, notebook checks, building zips.

A submission zip made by ``context-course submit`` holds ``manifest.json`` and one
file per notebook. The format is versioned: this code writes version
:data:`MANIFEST_VERSION` and reads :data:`MIN_MANIFEST_VERSION` to
:data:`MANIFEST_VERSION`, with a clear "too old" / "too new" error outside that range.

The manifest (``manifest.json``, format version 1)::

    {
      "format": "context-course-submission",
      "format_version": 1,
      "created": "2026-11-03T10:00:00Z",
      "sequence": 1793786400000000000,
      "generator": "context-course 0.1.0",
      "learner": {"id": "ada", "name": "Ada Lovelace", "email": "ada@example.org"},
      "course": {"id": "context-course", "version": "2026.11"},
      "notebooks": [
        {"name": "01-basic-operations", "path": "notebooks/01-basic-operations.ipynb",
         "sha256": "<64 hex digits>", "bytes": 12345}
      ]
    }

A zip made with the learner's submission secret also holds ``manifest.sig``, an
HMAC-SHA256 of the exact bytes of ``manifest.json`` (see :mod:`grader.pipeline.identity`): the
learner id, course, ``sequence`` and every notebook's hash are what is signed.
``sequence`` (nanoseconds since the epoch when ``submit`` made the zip) orders one
learner's signed zips, so an older one handed in again is refused as a replay (see
:mod:`grader.pipeline.replay`); it is optional, and older zips are ordered by ``created``.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
import unicodedata
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

import nbformat

from grader.core.boundedjson import NOTEBOOK_MAX_DEPTH, SMALL_MAX_DEPTH, load_bounded
from grader.pipeline.atomic import write_atomic
from grader.pipeline.catalog import Catalog
from grader.pipeline.errors import IntakeError
from grader.pipeline.identity import SIGNATURE_NAME, sign_manifest, skeleton

__all__ = [
    "EMAIL_PATTERN",
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "MANIFEST_VERSION",
    "MIN_MANIFEST_VERSION",
    "IntakeLimits",
    "LearnerInfo",
    "build_submission_zip",
    "check_notebook_bytes",
    "learner_key",
    "read_manifest",
    "same_email",
    "validate_learner_id",
]

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "context-course-submission"
MANIFEST_VERSION = 1  # the version this code writes and the newest it reads
MIN_MANIFEST_VERSION = 1  # the oldest version this code still reads

_MiB = 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")  # a plausible address, no more
_ID_PUNCTUATION = frozenset("._-@+")
MAX_ID_LENGTH = 64  # 64 characters of at most 4 UTF-8 bytes stay under NAME_MAX (255)


@dataclass(frozen=True)
class IntakeLimits:
    """Size caps, checked before reading or extracting anything."""

    max_notebook_bytes: int = 20 * _MiB
    max_archive_bytes: int = 200 * _MiB
    max_archive_members: int = 64
    max_manifest_bytes: int = 1 * _MiB
    max_cells: int = 2000  # the course's notebooks have under 40; validation cost grows with it
    max_seconds: float = 30.0  # wall clock to read and check one submission (a backstop)


@dataclass(frozen=True)
class LearnerInfo:
    """A learner as a submission describes them (name and email are proposals)."""

    id: str
    name: str = ""
    email: str = ""


# --------------------------------------------------------------------------- checks


def show_value(value: object, limit: int = 60) -> str:
    """A learner-controlled value, quoted and cut short, safe to print on one line."""
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "…")


def has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)


def validate_learner_id(value: object) -> str:
    """Return ``value`` if it is a safe learner id, else raise :class:`IntakeError`.

    A learner id names folders and database rows (through
    :func:`grader.pipeline.identity.learner_dir` only): 1–64 letters, digits or ``. _ - @ +``,
    starting with a letter or digit and not ending with a dot, with no ``/``, ``\\``,
    ``..`` or control characters, already in Unicode NFKC form.
    """
    if not isinstance(value, str) or not value:
        raise IntakeError("learner id is missing or empty")
    if has_control(value):
        raise IntakeError(f"learner id {show_value(value)} contains control characters")
    if "/" in value or "\\" in value:
        raise IntakeError(f"learner id {show_value(value)} contains a path separator")
    if ".." in value:
        raise IntakeError(f"learner id {show_value(value)} contains '..'")
    if len(value) > MAX_ID_LENGTH:
        raise IntakeError(
            f"learner id {show_value(value)} is longer than {MAX_ID_LENGTH} characters"
        )
    if (
        not value[0].isalnum()
        or value.endswith(".")
        or not all(ch.isalnum() or ch in _ID_PUNCTUATION for ch in value)
    ):
        raise IntakeError(
            f"learner id {show_value(value)} may only contain letters, digits and . _ - @ + "
            "(starting with a letter or digit, not ending with a dot)"
        )
    if unicodedata.normalize("NFKC", value) != value:
        raise IntakeError(
            f"learner id {show_value(value)} uses look-alike characters (full-width letters, "
            f"ligatures, …); write it as {show_value(unicodedata.normalize('NFKC', value))}"
        )
    return value


def learner_key(learner_id: str) -> str:
    """The form under which two learner ids count as the same learner.

    Ids are compared ignoring letter case, Unicode compatibility forms and look-alike
    characters (:func:`grader.pipeline.identity.skeleton`): ``Ada`` and ``ada`` would share one
    folder on macOS and Windows, and ``аda`` (Cyrillic а) reads as ``ada`` to a person,
    so the course admits only one of them.
    """
    return skeleton(learner_id)


def same_email(a: str, b: str) -> bool:
    """Whether two email addresses name the same mailbox (case-insensitive, trimmed)."""
    return bool(a.strip()) and a.strip().casefold() == b.strip().casefold()


def check_notebook_bytes(data: bytes, *, max_cells: int = IntakeLimits.max_cells) -> dict[str, Any]:
    """Parse and validate a notebook; return it as a dict or raise :class:`IntakeError`.

    Checks: UTF-8 JSON nested at most :data:`~grader.core.boundedjson.NOTEBOOK_MAX_DEPTH`
    deep, nbformat 4, at most ``max_cells`` cells, every cell has a unique id, and
    nbformat's own schema validation.
    """
    nb = load_bounded(data, max_bytes=len(data), max_depth=NOTEBOOK_MAX_DEPTH)
    if not isinstance(nb, dict):
        raise IntakeError("is not a notebook (the JSON is not an object)")
    major = nb.get("nbformat")
    if major != 4:
        raise IntakeError(
            f"is nbformat {show_value(major, 10)}; only nbformat 4 notebooks are accepted"
        )
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise IntakeError("is not a valid nbformat 4 notebook (no list of cells)")
    if len(cells) > max_cells:
        raise IntakeError(f"has {len(cells)} cells, over the limit of {max_cells}")
    seen: dict[str, int] = {}
    for index, cell in enumerate(cells, 1):
        cell_id = cell.get("id") if isinstance(cell, dict) else None
        if not isinstance(cell_id, str) or not cell_id:
            raise IntakeError(
                f"cell {index} has no id (saved by an old Jupyter? open and save it in "
                "JupyterLab 4, or run `context-course submit` again)"
            )
        if cell_id in seen:
            raise IntakeError(
                f"cells {seen[cell_id]} and {index} share the id {show_value(cell_id, 40)}"
            )
        seen[cell_id] = index
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.validate(nbformat.from_dict(nb))  # type: ignore[no-untyped-call]
    except nbformat.ValidationError as exc:
        first = str(exc.message if hasattr(exc, "message") else exc).splitlines()[0]
        raise IntakeError(f"is not a valid nbformat 4 notebook ({first[:120]})") from None
    return nb


def read_capped(stream: IO[bytes], cap: int, what: str) -> bytes:
    data = stream.read(cap + 1)
    if len(data) > cap:
        raise IntakeError(f"{what} is larger than the {cap // _MiB or cap} {_unit(cap)} limit")
    return data


def _unit(cap: int) -> str:
    return "MiB" if cap >= _MiB else "bytes"


def too_big(size: int, cap: int, what: str) -> IntakeError:
    shown = f"{size / _MiB:.0f} MiB" if size >= _MiB else f"{size} bytes"
    return IntakeError(f"{what} is {shown}, over the {cap // _MiB or cap} {_unit(cap)} limit")


def safe_member_path(name: str) -> PurePosixPath:
    """A zip member name as a relative path, or IntakeError for anything that could escape."""
    if not name or has_control(name) or "\\" in name or name.startswith("/") or ":" in name:
        raise IntakeError(f"archive holds an unsafe path {show_value(name)} (zip-slip)")
    path = PurePosixPath(name)
    if any(part in ("", ".", "..") for part in name.rstrip("/").split("/")):
        raise IntakeError(f"archive holds an unsafe path {show_value(name)} (zip-slip)")
    return path


# --------------------------------------------------------------------------- manifest


def read_manifest(
    data: bytes, *, catalog: Catalog | None = None, course_id: str | None = None
) -> dict[str, Any]:
    """Parse and check a ``manifest.json``; return it or raise :class:`IntakeError`.

    With ``catalog`` the notebook names must be the course's; with ``course_id`` the
    manifest must be for this course.
    """
    try:
        manifest = load_bounded(
            data, max_bytes=IntakeLimits.max_manifest_bytes, max_depth=SMALL_MAX_DEPTH
        )
    except IntakeError as exc:
        raise IntakeError(f"{MANIFEST_NAME} {exc.reason}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise IntakeError(f"{MANIFEST_NAME} is not a context-course submission manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise IntakeError(f"{MANIFEST_NAME} has no integer format_version")
    if version < MIN_MANIFEST_VERSION:
        raise IntakeError(
            f"submission format version {version} is too old (this grader reads "
            f"{MIN_MANIFEST_VERSION}–{MANIFEST_VERSION}); the learner should run "
            "`context-course submit` again with the current course package"
        )
    if version > MANIFEST_VERSION:
        raise IntakeError(
            f"submission format version {version} is too new (this grader reads "
            f"{MIN_MANIFEST_VERSION}–{MANIFEST_VERSION}); upgrade the grader: "
            "pip install -U context-course"
        )
    learner = manifest.get("learner")
    if not isinstance(learner, dict):
        raise IntakeError(f"{MANIFEST_NAME} has no learner")
    validate_learner_id(learner.get("id"))
    for key, limit in (("name", 200), ("email", 254)):
        value = learner.get(key, "")
        if not isinstance(value, str) or len(value) > limit or has_control(value):
            raise IntakeError(f"learner {key} in {MANIFEST_NAME} is not a short line of text")
    sequence = manifest.get("sequence", 0)
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
        raise IntakeError(f"{MANIFEST_NAME} has a sequence that is not a whole number")
    email = learner.get("email", "")
    if email and not EMAIL_PATTERN.match(email):
        raise IntakeError(f"learner email {show_value(email)} is not an email address")
    course = manifest.get("course")
    if not isinstance(course, dict) or not isinstance(course.get("id"), str):
        raise IntakeError(f"{MANIFEST_NAME} does not say which course it is for")
    if course_id is not None and course["id"] != course_id:
        raise IntakeError(f"submission is for course {show_value(course['id'])}, not {course_id!r}")
    notebooks = manifest.get("notebooks")
    if not isinstance(notebooks, list) or not notebooks:
        raise IntakeError(f"{MANIFEST_NAME} lists no notebooks")
    names: set[str] = set()
    paths: set[str] = set()
    for entry in notebooks:
        if not isinstance(entry, dict):
            raise IntakeError(f"{MANIFEST_NAME} has a malformed notebook entry")
        name, path, digest = entry.get("name"), entry.get("path"), entry.get("sha256")
        if not isinstance(name, str) or not isinstance(path, str) or not isinstance(digest, str):
            raise IntakeError(f"{MANIFEST_NAME} has a notebook entry without name/path/sha256")
        if catalog is not None and name not in catalog:
            raise IntakeError(
                f"unknown notebook {show_value(name)}; this course has {catalog.describe()}"
            )
        if name in names or path in paths:
            raise IntakeError(f"{MANIFEST_NAME} lists notebook {show_value(name)} twice")
        if not _SHA256.match(digest):
            raise IntakeError(f"{MANIFEST_NAME} has a malformed sha256 for {show_value(name)}")
        safe_member_path(path)
        if path == MANIFEST_NAME:
            raise IntakeError(f"{MANIFEST_NAME} lists itself as a notebook")
        names.add(name)
        paths.add(path)
    return manifest


# --------------------------------------------------------------------------- building zips


def build_submission_zip(
    notebooks: Mapping[str, Path] | Sequence[Path],
    *,
    learner: LearnerInfo,
    course_id: str,
    course_version: str,
    output: Path,
    generator: str = "context-course",
    limits: IntakeLimits | None = None,
    secret: str | None = None,
) -> Path:
    """Write a submission zip (manifest + notebooks) atomically to ``output``.

    ``notebooks`` maps slugs to files (or lists files, named by their stem). Every
    notebook is validated as the grader will; a problem raises :class:`IntakeError`
    and nothing is written. With the learner's submission ``secret`` the manifest is
    signed (``manifest.sig``; see :mod:`grader.pipeline.identity`). Returns ``output``.
    """
    limits = limits or IntakeLimits()
    validate_learner_id(learner.id)
    items = (
        dict(notebooks)
        if isinstance(notebooks, Mapping)
        else {Path(p).stem: Path(p) for p in notebooks}
    )
    if not items:
        raise IntakeError("no notebooks to submit")
    entries: list[dict[str, Any]] = []
    payload: list[tuple[str, bytes]] = []
    for slug, source in sorted(items.items()):
        if not slug or has_control(slug) or "/" in slug or ".." in slug:
            raise IntakeError(
                f"notebook name {show_value(slug)} is not a plain name", notebook=slug
            )
        source = Path(source)
        size = source.stat().st_size
        if size > limits.max_notebook_bytes:
            raise too_big(size, limits.max_notebook_bytes, f"notebook {slug}")
        data = source.read_bytes()
        try:
            check_notebook_bytes(data)
        except IntakeError as exc:
            raise IntakeError(f"notebook {slug} {exc.reason}", notebook=slug) from None
        member = f"notebooks/{slug}.ipynb"
        entries.append(
            {
                "name": slug,
                "path": member,
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
            }
        )
        payload.append((member, data))
    manifest = {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_VERSION,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sequence": time.time_ns(),
        "generator": generator,
        "learner": {"id": learner.id, "name": learner.name, "email": learner.email},
        "course": {"id": course_id, "version": course_version},
        "notebooks": entries,
    }
    manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")
    read_manifest(manifest_bytes, course_id=course_id)  # same rules as intake
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST_NAME, manifest_bytes)
        if secret:
            archive.writestr(SIGNATURE_NAME, sign_manifest(manifest_bytes, secret))
        for member, data in payload:
            archive.writestr(member, data)
    write_atomic(Path(output), buffer.getvalue())
    return output
