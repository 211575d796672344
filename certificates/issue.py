"""Issue certificates: decide levels from the learners' scores, sign, render, record.

:func:`certify` is idempotent: a learner who already holds a certificate at their level
(or higher) gets nothing new; one whose level rose gets a new certificate that
supersedes the old one (which stays valid: it still tells the truth). Each learner's
certificate is built, signed twice, checked against the OB 3.0 schema and rendered
*before* anything is written, so a failure leaves no half-written certificate; one
learner's failure never stops the batch.

Output layout (``output/certificates/``)::

    revocations.json   the latest signed revocation list (Bitstring Status List)
    registry.json      the issuance record
    learners/<learner>/  certificate.pdf, certificate.html, certificate.png (baked),
                       badge.svg (baked), credential.json (Data Integrity proof),
                       credential.jwt (VC-JWT)

Learners' folders live under ``learners/``, which holds nothing else, so no learner id
(``registry.json``, ``revocations.json``…) can ever name one of the issuer's own files.
What verifiers need — the DID document, the issuer profile, the achievements and the
revocation list — is published by :func:`certificates.site.publish_site`.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from certificates._files import write_atomic
from certificates.baking import bake_png, bake_svg
from certificates.credential import (
    IssuerProfile,
    build_credential,
    format_datetime,
    undefined_terms,
)
from certificates.errors import CertificateError, CredentialError, PolicyError, RenderError
from certificates.images import achievement_svg
from certificates.inputs import LearnerRecord
from certificates.integrity import create_proof
from certificates.keys import Keyring
from certificates.registry import Record, Registry
from certificates.render import html_page, pdf_document, png_preview, renderer_problem
from certificates.revocation import LIST_FILE, build_status_list, list_url, status_entry
from certificates.schema import schema_errors
from certificates.settings import CertificateSettings
from certificates.vcjwt import sign_jwt

__all__ = [
    "Outcome",
    "certify",
    "issue_certificate",
    "issuer_profile",
    "learner_folder",
    "publish_revocations",
    "require_real_issuer",
    "revoke",
    "rotate_keys",
    "sign_certificate",
]

LEARNERS_DIR = "learners"
Action = Literal["issued", "upgraded", "unchanged", "not-eligible", "blocked", "failed"]


@dataclass(frozen=True)
class Outcome:
    """What ``certify`` did for one learner."""

    learner_id: str
    action: Action
    level: str | None = None
    credential_id: str | None = None
    folder: Path | None = None
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict (``certify --json``)."""
        return {
            "learner": self.learner_id,
            "action": self.action,
            "level": self.level,
            "credential_id": self.credential_id,
            "folder": str(self.folder) if self.folder else None,
            "message": self.message,
        }


def learner_folder(out_dir: Path, learner_id: str) -> Path:
    """``out_dir/learners/<learner>``, with the id made safe as one path segment.

    An id that is not already a plain lower-case name (``ana``, ``li-2``) gets a short
    hash of itself appended, so ids that differ only in the characters replaced here
    (``a+b`` and ``a_b``) or in letter case (``Ana`` and ``ana``, one folder on macOS
    and Windows) never share a folder and overwrite each other's certificates.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", learner_id).strip(".") or "learner"
    if safe != learner_id or not re.fullmatch(r"[a-z0-9._-]+", learner_id):
        digest = hashlib.sha256(learner_id.encode("utf-8")).hexdigest()[:10]
        safe = f"{safe[:80]}-{digest}"
    return out_dir / LEARNERS_DIR / safe


def issuer_profile(settings: CertificateSettings) -> IssuerProfile:
    """The issuer as its credentials name it: DID, name, site URL, image, email."""
    return IssuerProfile(
        id=settings.issuer_did,
        name=settings.issuer_name,
        url=settings.issuer_url,
        email=settings.issuer_email,
    )


def require_real_issuer(settings: CertificateSettings) -> None:
    """Refuse the shipped placeholder issuer URL outside the demo: nothing there resolves."""
    if settings.is_placeholder and not settings.demo:
        raise PolicyError(
            f"the issuer URL is still the placeholder {settings.issuer_url}; set "
            "[certificates] issuer_url in course.toml to the https:// address where you will "
            "serve `context-course publish`"
        )


def publish_revocations(
    settings: CertificateSettings, keyring: Keyring, registry: Registry, now: datetime
) -> Path:
    """Sign and write the revocation list for the registry's revoked certificates."""
    key = keyring.current("EdDSA")
    document = build_status_list(
        issuer_did=settings.issuer_did,
        url=list_url(settings.issuer_url),
        indices=registry.revoked_indices(),
        private_key=keyring.signing_ed25519,
        verification_method=key.method_id(settings.issuer_did),
        now=now,
        valid_for=timedelta(days=settings.status_list_days),
        size=registry.next_index(),
    )
    path = settings.output_dir / LIST_FILE
    write_atomic(path, json.dumps(document, indent=2) + "\n")
    return path


def sign_certificate(
    record: LearnerRecord,
    *,
    level_key: str,
    settings: CertificateSettings,
    keyring: Keyring,
    status_index: int,
    now: datetime,
    valid_until: datetime | None = None,
) -> tuple[dict[str, Any], str]:
    """Build and sign one credential: ``(credential with its Data Integrity proof, VC-JWT)``.

    The credential is checked before it leaves: every term defined by the two contexts
    (so the proof covers every field) and valid against the OB 3.0 JSON schema.
    """
    level = settings.policy.level(level_key)
    credential = build_credential(
        credential_id=f"urn:uuid:{uuid.uuid4()}",
        issuer=issuer_profile(settings),
        course_id=settings.course_id,
        course_name=settings.course_name,
        course_version=settings.course_version,
        policy=settings.policy,
        level=level,
        learner=record.learner,
        scores=record.scores,
        valid_from=now,
        valid_until=valid_until,
        status=status_entry(list_url(settings.issuer_url), status_index),
    )
    undefined = undefined_terms(credential)
    if undefined:
        raise CredentialError(f"the credential uses terms no context defines: {undefined}")
    proof = create_proof(
        credential,
        keyring.signing_ed25519,
        verification_method=keyring.current("EdDSA").method_id(settings.issuer_did),
        created=format_datetime(now),
    )
    signed = {**credential, "proof": [proof]}
    problems = schema_errors(signed)
    if problems:
        raise CredentialError(f"the credential breaks the OB 3.0 schema: {problems[0]}")
    jwt_kid = keyring.current("ES256").method_id(settings.issuer_did)
    return signed, sign_jwt(signed, keyring.signing_p256, jwt_kid)


def issue_certificate(
    record: LearnerRecord,
    *,
    level_key: str,
    settings: CertificateSettings,
    keyring: Keyring,
    status_index: int,
    now: datetime,
    valid_until: datetime | None = None,
    pdf: bool = True,
) -> dict[str, bytes]:
    """Sign and render one certificate; returns file name → bytes (nothing is written).

    With ``pdf=False`` only the credential, the JWT and the HTML page (which carries both
    proofs and verifies on its own) are made: for machines without the PDF engine.
    """
    signed, jwt = sign_certificate(
        record,
        level_key=level_key,
        settings=settings,
        keyring=keyring,
        status_index=status_index,
        now=now,
        valid_until=valid_until,
    )
    html = html_page(signed, jwt, settings.policy)
    files = {
        "credential.json": (json.dumps(signed, indent=2, ensure_ascii=False) + "\n").encode(),
        "credential.jwt": (jwt + "\n").encode("ascii"),
        "certificate.html": html.encode("utf-8"),
        "badge.svg": bake_svg(achievement_svg(settings.policy.level(level_key)), jwt).encode(),
    }
    if pdf:
        document = pdf_document(html, signed, jwt)
        files["certificate.pdf"] = document
        files["certificate.png"] = bake_png(png_preview(document), jwt)
    return files


def certify(
    records: Sequence[LearnerRecord],
    *,
    settings: CertificateSettings,
    keyring: Keyring,
    now: datetime | None = None,
    reissue_revoked: bool = False,
    pdf: bool = True,
) -> list[Outcome]:
    """Issue what each learner has newly earned; see the module docstring.

    A learner whose certificate at this level (or higher) was revoked gets nothing new
    unless ``reissue_revoked`` (e.g. after revoking what a leaked key signed). Raises
    :class:`RenderError` before anything is written if this machine cannot render
    certificates (no PDF engine, no ``pdftoppm``) and someone has earned one.
    """
    require_real_issuer(settings)
    problem = renderer_problem() if pdf else None
    if problem is not None and any(settings.policy.decide(r.percents()) for r in records):
        raise RenderError(problem)  # before anything is signed or written
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    out_dir = settings.output_dir
    registry = Registry.load(out_dir)
    outcomes: list[Outcome] = []
    for record in records:
        learner_id = record.learner.id
        level = settings.policy.decide(record.percents())
        held = registry.active(learner_id)
        if level is None:
            message = (
                f"holds {held.level.capitalize()} ({held.id}); the current scores reach no "
                "level, so nothing new is issued (revoke it if it was issued in error)"
                if held is not None
                else "no level reached yet"
            )
            outcomes.append(Outcome(learner_id, "not-eligible", message=message))
            continue
        if held is not None and held.rank >= level.rank:
            outcomes.append(
                Outcome(
                    learner_id,
                    "unchanged",
                    held.level,
                    held.id,
                    out_dir / held.folder,
                    f"already holds {held.level.capitalize()}",
                )
            )
            continue
        revoked = [
            r
            for r in registry.records
            if r.learner_id == learner_id and r.state == "revoked" and r.rank >= level.rank
        ]
        if revoked and not reissue_revoked:
            outcomes.append(
                Outcome(
                    learner_id,
                    "blocked",
                    level.key,
                    message=f"certificate {revoked[-1].id} was revoked ({revoked[-1].reason}); "
                    "not re-issued without --reissue-revoked",
                )
            )
            continue
        earlier = next((r for r in registry.records if r.learner_id == learner_id), None)
        folder = (
            out_dir / earlier.folder  # an upgrade replaces the files it supersedes
            if earlier and earlier.folder == f"{LEARNERS_DIR}/{Path(earlier.folder).name}"
            else learner_folder(out_dir, learner_id)
        )
        index = registry.next_index()
        try:
            files = issue_certificate(
                record,
                level_key=level.key,
                settings=settings,
                keyring=keyring,
                status_index=index,
                now=moment,
                pdf=pdf,
            )
        except CertificateError as exc:
            outcomes.append(Outcome(learner_id, "failed", level.key, message=str(exc)))
            continue
        for name, data in files.items():
            write_atomic(folder / name, data)
        credential_id = json.loads(files["credential.json"])["id"]
        registry.add(
            Record(
                id=credential_id,
                learner_id=learner_id,
                level=level.key,
                rank=level.rank,
                issued=format_datetime(moment),
                status_index=index,
                policy_version=settings.policy.version,
                folder=folder.relative_to(out_dir).as_posix(),
            )
        )
        registry.save()
        outcomes.append(
            Outcome(
                learner_id,
                "upgraded" if held is not None else "issued",
                level.key,
                credential_id,
                folder,
                f"supersedes {held.level.capitalize()} {held.id}" if held else "",
            )
        )
    if not (out_dir / LIST_FILE).exists() or any(
        o.action in ("issued", "upgraded") for o in outcomes
    ):
        publish_revocations(settings, keyring, registry, moment)
    return outcomes


def rotate_keys(settings: CertificateSettings, *, now: datetime | None = None) -> Keyring:
    """Retire the current keys, make new ones, and re-sign the revocation list.

    Retired keys stay in the DID document (``context-course publish`` writes it), so old
    certificates keep verifying; a list signed by a retired key after its retirement
    does not count for verifiers.
    """
    keyring = settings.keystore.rotate()
    if (settings.output_dir / LIST_FILE).exists():
        registry = Registry.load(settings.output_dir)
        publish_revocations(settings, keyring, registry, now or datetime.now(UTC))
    return keyring


def revoke(
    settings: CertificateSettings,
    certificate_id: str,
    *,
    reason: str,
    now: datetime | None = None,
) -> tuple[Record, Path]:
    """Revoke a certificate: record why, then re-sign and publish the revocation list."""
    if not reason.strip():
        raise CredentialError("give a reason for the revocation")
    moment = now or datetime.now(UTC)
    keyring = settings.keystore.load()
    registry = Registry.load(settings.output_dir)
    record = registry.mark_revoked(
        certificate_id, reason=reason.strip(), when=format_datetime(moment)
    )
    path = publish_revocations(settings, keyring, registry, moment)
    registry.save()
    return record, path
