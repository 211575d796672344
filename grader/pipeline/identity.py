"""Who a submission is from: id folding, per-learner submission secrets, signed manifests.

Three small parts, each the only copy of its rule:

* :func:`skeleton` — the form under which two learner ids count as the same learner:
  Unicode NFKC, upper case, each character mapped to the prototype of its confusable
  class, case folding, and the mapping again (the Unicode confusables data, as shipped
  by the maintained ``confusable_homoglyphs`` package), so ``ada``, ``Ada``,
  ``аda`` (Cyrillic а) and ``ａｄａ`` all fold to one key and only the first can exist.
* :func:`learner_dir` — the one function that turns a learner id into storage: a
  validated id is one path segment under a folder that holds nothing but learners'
  folders (``feedback/``, nbgrader's ``autograded/``, ``certificates/learners/``), so an
  id can never name one of the course's own files (``registry.json``, ``index.html``…).
* :class:`SubmissionKeys` — submission secrets. ``roster import`` issues each rostered
  learner a secret derived from a course key (``HMAC-SHA256(course key, course id ‖
  learner id)``) kept in one file beside the gradebook (``.cache/grader/``), never in
  a learner package or the gradebook's tables: nothing secret is stored per learner, and the
  grader recomputes a learner's secret to check a signature. ``submit`` signs the exact
  bytes of ``manifest.json`` (learner id, course, notebook SHA-256s, time) with
  HMAC-SHA256 under the secret and puts the MAC in ``manifest.sig``.

Belongs with the pipeline (``grader/pipeline`` after the restructure).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from grader.pipeline.atomic import write_atomic
from grader.pipeline.errors import IntakeError

__all__ = [
    "SIGNATURE_NAME",
    "SubmissionKeys",
    "default_key_path",
    "learner_dir",
    "normalise_secret",
    "sign_manifest",
    "signature_document",
    "skeleton",
]

SIGNATURE_NAME = "manifest.sig"
SIGNATURE_FORMAT = "context-course-submission-signature/1"
_DOMAIN = b"context-course submission v1\x00"
_SECRET_DOMAIN = b"context-course submission secret v1\x00"
_KEY_BYTES = 32
_SECRET_CHARS = 24  # base32: 120 bits


# --------------------------------------------------------------------------- folding


@lru_cache(maxsize=1)
def _prototypes() -> dict[str, str]:
    """Each confusable character mapped to the prototype of its class.

    ``confusable_homoglyphs`` ships the Unicode confusables table made symmetric: each
    character lists what it can be confused with. The prototype of a class is its hub,
    the member listing the most look-alikes (ties: the lowest code point), as in
    Unicode's own table where ``а``, ``ɑ`` and ``ａ`` all point at ``a``.
    """
    from confusable_homoglyphs import confusables

    data: dict[str, list[dict[str, str]]] = confusables.confusables_data
    mapping: dict[str, str] = {}
    for char, glyphs in data.items():
        if len(char) != 1:
            continue
        candidates = [char, *(g["c"] for g in glyphs if len(g["c"]) == 1)]
        best = max(candidates, key=lambda c: (len(data.get(c, ())), -ord(c)))
        if best != char:
            mapping[char] = best
    return mapping


def skeleton(learner_id: str) -> str:
    """The folded form of a learner id: equal skeletons are the same learner."""
    table = _prototypes()

    def fold(text: str) -> str:
        return "".join(table.get(ch, ch) for ch in unicodedata.normalize("NFKC", text))

    # Upper case first, then look-alikes (capital I is a look-alike of l, so i, I, l and 1
    # all fold together), then case, then look-alikes of the lower-case forms.
    return fold(fold(unicodedata.normalize("NFKC", learner_id).upper()).casefold())


# --------------------------------------------------------------------------- storage


def learner_dir(root: Path, learner_id: str) -> Path:
    """``root/<learner id>``: where a learner's files live under a learners-only ``root``.

    The id must pass :func:`grader.pipeline.manifest.validate_learner_id` (one safe path segment,
    no leading dot); it is checked again here so no caller can hand in a path.
    """
    from grader.pipeline.manifest import validate_learner_id

    segment = validate_learner_id(learner_id)
    path = root / segment
    if path.parent != root or path.name != segment:  # pragma: no cover - validated above
        raise IntakeError(f"learner id {learner_id!r} is not a single path segment")
    return path


# --------------------------------------------------------------------------- secrets


def default_key_path(course_root: Path) -> Path:
    """``<course>/.cache/grader/submission.key`` (0600), beside the gradebook.

    The course's private side: never in a learner package (``release`` leaves ``.cache``
    out), ignored by git, invisible to the sandbox. Back it up with the gradebook.
    """
    return course_root / ".cache" / "grader" / "submission.key"


def normalise_secret(secret: str) -> str:
    """A secret as typed (any case, dashes or spaces) in its canonical form."""
    return "".join(ch for ch in secret.upper() if ch.isalnum())


def _mac(secret: str, manifest: bytes) -> str:
    key = normalise_secret(secret).encode("ascii", "replace")
    return hmac.new(key, _DOMAIN + manifest, hashlib.sha256).hexdigest()


def sign_manifest(manifest: bytes, secret: str) -> bytes:
    """The ``manifest.sig`` member for ``manifest`` (its exact bytes) under ``secret``."""
    return signature_document(_mac(secret, manifest))


def signature_document(mac: str) -> bytes:
    """The bytes of ``manifest.sig`` holding ``mac``."""
    return (
        json.dumps({"format": SIGNATURE_FORMAT, "alg": "HMAC-SHA256", "mac": mac}) + "\n"
    ).encode()


def _read_mac(signature: bytes) -> str | None:
    from grader.core.boundedjson import load_bounded

    try:
        document: Any = load_bounded(signature, max_bytes=1024, max_depth=2)
    except IntakeError:
        return None
    if not isinstance(document, dict) or document.get("format") != SIGNATURE_FORMAT:
        return None
    mac = document.get("mac")
    return mac if isinstance(mac, str) and len(mac) == 64 else None


@dataclass(frozen=True)
class SubmissionKeys:
    """A course's key for deriving and checking learners' submission secrets."""

    course_id: str
    key: bytes

    @classmethod
    def load(cls, course_id: str, path: Path) -> SubmissionKeys | None:
        """The course's key, or ``None`` when no secret was ever issued (open course)."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        key = base64.b64decode(raw.strip(), validate=True)
        if len(key) != _KEY_BYTES:
            raise IntakeError(f"{path} is not a submission key file; restore it from a backup")
        return cls(course_id, key)

    @classmethod
    def load_or_create(cls, course_id: str, path: Path) -> SubmissionKeys:
        """The course's key, created (mode 0600) on first use."""
        found = cls.load(course_id, path)
        if found is not None:
            return found
        key = secrets.token_bytes(_KEY_BYTES)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(path, base64.b64encode(key) + b"\n")
        path.chmod(0o600)
        return cls(course_id, key)

    def secret_for(self, learner_id: str) -> str:
        """The learner's submission secret, grouped for reading aloud: ``ABCD-EFGH-…``."""
        message = _SECRET_DOMAIN + self.course_id.encode() + b"\x00" + learner_id.encode()
        digest = hmac.new(self.key, message, hashlib.sha256).digest()
        text = base64.b32encode(digest).decode("ascii")[:_SECRET_CHARS]
        return "-".join(text[i : i + 4] for i in range(0, _SECRET_CHARS, 4))

    def verify(self, learner_id: str, manifest: bytes, signature: bytes | None) -> bool:
        """Whether ``signature`` (the ``manifest.sig`` bytes) signs ``manifest`` for the learner."""
        if signature is None:
            return False
        mac = _read_mac(signature)
        if mac is None:
            return False
        return hmac.compare_digest(mac, _mac(self.secret_for(learner_id), manifest))
