"""Build the Open Badges 3.0 ``OpenBadgeCredential`` for one learner and level.

Every property used here is a term defined by the two contexts (VC 2.0 and OB 3.0.3):
JSON-LD silently drops undefined terms from what a Data Integrity proof signs, so
:func:`undefined_terms` lists any, and issuing refuses a credential that has one.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from pyld import jsonld

from certificates.curriculum import EXERCISES
from certificates.errors import CredentialError
from certificates.integrity import OB_CONTEXT, VC_CONTEXT, DocumentLoader, document_loader
from certificates.policy import Level, LevelPolicy
from scoring.exact import Points, percent, percent_text

__all__ = [
    "ACHIEVEMENT_FOLDER",
    "CONTEXTS",
    "CREDENTIAL_SCHEMA",
    "ISSUER_IMAGE",
    "NAME_LIMIT",
    "ExerciseScore",
    "IssuerProfile",
    "Learner",
    "achievement_id",
    "build_credential",
    "format_datetime",
    "hash_email",
    "learner_name",
    "normalise_name",
    "subject_id",
    "undefined_terms",
]

CONTEXTS = [VC_CONTEXT, OB_CONTEXT]
ISSUER_IMAGE = "issuer.svg"
ACHIEVEMENT_FOLDER = "achievements"
# The OB 3.0 JSON schema every credential is checked against before signing. OB 3.0 names
# it with type 1EdTechJsonSchemaValidator2019, a term neither context defines (JSON-LD
# would drop it from what the proof signs); VC 2.0's JsonSchema names the same check.
CREDENTIAL_SCHEMA = {
    "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
    "ob_v3p0_achievementcredential_schema.json",
    "type": "JsonSchema",
}
# pyld resolves relative IRIs (undefined types, relative ids) against this base.
_RELATIVE_BASE: str = getattr(jsonld, "DEFAULT_BASE_IRI", "http://example.org/base/")


@dataclass(frozen=True)
class IssuerProfile:
    """The issuer as credentials name it: its DID, name, web address, image and contact."""

    id: str
    name: str
    url: str = ""
    email: str = ""

    @property
    def image(self) -> str:
        """The issuer's image on its published site."""
        return f"{self.url}/{ISSUER_IMAGE}" if self.url else ""

    def to_json(self) -> dict[str, Any]:
        """The OB 3.0 ``Profile`` object."""
        profile: dict[str, Any] = {"id": self.id, "type": ["Profile"], "name": self.name}
        if self.url:
            profile["url"] = self.url
            profile["image"] = {"id": self.image, "type": "Image", "caption": self.name}
        if self.email:
            profile["email"] = self.email
        return profile


NAME_LIMIT = 80


def normalise_name(text: str) -> str:
    """A learner name fit for a signed certificate, or :class:`CredentialError` saying why not.

    NFC-normalised, runs of white space made one space, at most :data:`NAME_LIMIT`
    characters; only letters (any script), combining marks, spaces and ``. - '``. A name
    is never markup and never carries a claim (``<b>PhD</b> - Gold``): digits, brackets and
    other symbols are refused rather than silently dropped.
    """
    name = " ".join(unicodedata.normalize("NFC", text).split())
    if not name:
        raise CredentialError("the learner has no name")
    if len(name) > NAME_LIMIT:
        raise CredentialError(f"the learner name is longer than {NAME_LIMIT} characters")
    for char in name:
        category = unicodedata.category(char)
        if not (category.startswith(("L", "M")) or char in " .-'"):
            raise CredentialError(
                f"the learner name contains {char!r}; names may hold letters, marks, "
                "spaces and . - ' only"
            )
    return name


def _is_cjk(text: str) -> bool:
    return all(
        "\u3040" <= char <= "\u30ff" or "\u3400" <= char <= "\u9fff" or "\uac00" <= char <= "\ud7af"
        for char in text
    )


@dataclass(frozen=True)
class Learner:
    """A learner from the gradebook roster."""

    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""

    @property
    def display_name(self) -> str:
        """``First Last`` (CJK names: family name first), or the id when there is no name."""
        first, last = self.first_name.strip(), self.last_name.strip()
        if first and last and _is_cjk(first + last):
            return last + first  # family name first, no space: 李小龍
        name = " ".join(part for part in (first, last) if part)
        return name or self.id


@dataclass(frozen=True)
class ExerciseScore:
    """One exercise's grade, and the evidence of what was graded (when recorded)."""

    number: int
    score: float
    max_score: float
    submission_hash: str = ""
    course_version: str = ""
    grader_version: str = ""

    @property
    def percent(self) -> Fraction:
        """Score as an exact percentage of the exercise's points, within 0–100 (0 when it
        has none): :func:`scoring.percent`, the course's one formula.

        A manual score entered above the maximum (or below zero) in formgrader never lifts
        a learner past 100%, so it cannot buy a level through the Gold average.
        """
        return percent(self.score, self.max_score)


def format_datetime(moment: datetime) -> str:
    """An RFC 3339 UTC timestamp in whole seconds, e.g. ``2026-11-26T09:30:00Z``."""
    if moment.tzinfo is None:
        raise CredentialError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def subject_id(issuer_id: str, course_id: str, learner_id: str) -> str:
    """The learner's stable ``urn:uuid:`` subject id (name-based UUID, version 5)."""
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, issuer_id)
    return f"urn:uuid:{uuid.uuid5(namespace, f'{course_id}/{learner_id}')}"


def hash_email(email: str, salt: str) -> str:
    """OB 3.0 ``identityHash`` of an email: ``sha256$`` + hex(sha256(email + salt))."""
    normalised = email.strip().lower()
    return "sha256$" + hashlib.sha256((normalised + salt).encode("utf-8")).hexdigest()


def _percent_text(value: Points) -> str:
    """Truncated to one decimal, never rounded up across a level's threshold."""
    return percent_text(value)


def achievement_id(issuer_url: str, course_id: str, level_key: str) -> str:
    """Where the level's ``Achievement`` is published: ``<issuer url>/achievements/…json``."""
    return f"{issuer_url.rstrip('/')}/{ACHIEVEMENT_FOLDER}/{course_id}/{level_key}.json"


def learner_name(credential: Mapping[str, Any]) -> str:
    """The learner's name as signed: the subject's ``identifier`` of identityType ``name``."""
    subject = credential.get("credentialSubject")
    identifiers = subject.get("identifier", []) if isinstance(subject, Mapping) else []
    for item in identifiers if isinstance(identifiers, list) else []:
        if (
            isinstance(item, Mapping)
            and item.get("identityType") == "name"
            and item.get("hashed") is False
        ):
            return str(item.get("identityHash", ""))
    return ""


def build_credential(
    *,
    credential_id: str,
    issuer: IssuerProfile,
    course_id: str,
    course_name: str,
    course_version: str,
    policy: LevelPolicy,
    level: Level,
    learner: Learner,
    scores: Mapping[int, ExerciseScore],
    valid_from: datetime,
    valid_until: datetime | None = None,
    status: Mapping[str, Any] | None = None,
    salt: str | None = None,
) -> dict[str, Any]:
    """The unsigned credential (no ``proof``) for ``learner`` at ``level``."""
    achievement = achievement_id(issuer.url, course_id, level.key)
    name = normalise_name(learner.display_name)
    title = f"{course_name} — {level.name}"
    areas = policy.mastery_areas(level)
    required = set(level.covered)
    owner = {n: item for item in policy.levels for n in item.own_exercises}
    descriptions = []
    results = []
    for exercise in EXERCISES:
        description_id = f"{achievement.removesuffix('.json')}/results/{exercise.slug}"
        description: dict[str, Any] = {
            "id": description_id,
            "type": ["ResultDescription"],
            "name": f"Exercise {exercise.number}: {exercise.title}",
            "resultType": "Percent",
            "valueMin": "0",
            "valueMax": "100",
        }
        if exercise.number in required:
            description["requiredValue"] = _percent_text(owner[exercise.number].min_percent)
        descriptions.append(description)
        got = scores.get(exercise.number)
        if exercise.number not in required and (got is None or got.percent <= 0):
            continue  # an exercise beyond this level that was not done says nothing
        results.append(
            {
                "type": ["Result"],
                "resultDescription": description_id,
                "value": _percent_text(got.percent if got else 0.0),
            }
        )
    subject: dict[str, Any] = {
        "id": subject_id(issuer.id, course_id, learner.id),
        "type": ["AchievementSubject"],
        "identifier": [
            {
                "type": "IdentityObject",
                "identityType": "name",
                "hashed": False,
                "identityHash": name,
            }
        ],
    }
    if learner.email:
        salt = salt or secrets.token_hex(16)
        subject["identifier"] += [
            {
                "type": "IdentityObject",
                "identityType": "emailAddress",
                "hashed": True,
                "identityHash": hash_email(learner.email, salt),
                "salt": salt,
            }
        ]
    subject["achievement"] = {
        "id": achievement,
        "type": ["Achievement"],
        "achievementType": "Certificate",
        "name": title,
        "description": (
            f"{level.name} level ({level.title}) of {course_name}. Demonstrated: "
            + " ".join(f"{area.title}: {area.summary}" for area in areas)
        ),
        "criteria": {
            "id": achievement.removesuffix(".json") + ".html",
            "narrative": policy.criteria(level),
        },
        "image": {
            "id": achievement.removesuffix(".json") + ".svg",
            "type": "Image",
            "caption": title,
        },
        "creator": issuer.to_json(),
        "tag": [area.title for area in areas],
        "version": policy.version,
        "resultDescription": descriptions,
    }
    subject["result"] = results
    credential: dict[str, Any] = {
        "@context": list(CONTEXTS),
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": title,
        "description": f"{issuer.name} certifies that {name} reached the "
        f"{level.name} level of {course_name} (course version {course_version}).",
        "issuer": issuer.to_json(),
        "validFrom": format_datetime(valid_from),
        "credentialSubject": subject,
        "credentialSchema": [dict(CREDENTIAL_SCHEMA)],
    }
    if valid_until is not None:
        credential["validUntil"] = format_datetime(valid_until)
    evidence = _evidence(scores, policy, course_version)
    if evidence:
        credential["evidence"] = evidence
    if status is not None:
        credential["credentialStatus"] = dict(status)
    return credential


def _evidence(
    scores: Mapping[int, ExerciseScore], policy: LevelPolicy, course_version: str
) -> list[dict[str, Any]]:
    items = []
    for exercise in EXERCISES:
        got = scores.get(exercise.number)
        if got is None or not got.submission_hash:
            continue
        digest = got.submission_hash.removeprefix("sha256:").lower()
        items.append(
            {
                "id": f"urn:sha256:{digest}",
                "type": ["Evidence"],
                "name": f"Graded submission of {exercise.slug}",
                "narrative": (
                    f"Scored {got.score:g} of {got.max_score:g} points "
                    f"({_percent_text(got.percent)}%), graded by context-course grader "
                    f"{got.grader_version or 'unknown'} against course version "
                    f"{got.course_version or course_version}; level policy {policy.version}."
                ),
                "genre": "Graded Jupyter notebook",
            }
        )
    return items


def undefined_terms(
    document: Mapping[str, Any], loader: DocumentLoader | None = None
) -> Sequence[str]:
    """Properties, types and relative ids that the contexts cannot map to IRIs (want none).

    JSON-LD silently drops undefined properties, so a Data Integrity proof would not
    cover them; a document with any is rejected by the verifier.
    """
    dropped: set[str] = set()

    def on_dropped(term: str | None) -> None:
        dropped.add(str(term))

    try:
        expanded = jsonld.expand(
            dict(document),
            {"documentLoader": loader or document_loader(), "base": ""},
            on_property_dropped=on_dropped,
        )
    except CredentialError:
        raise
    except Exception as exc:  # pyld raises JsonLdError and assorted built-ins
        raise CredentialError(f"JSON-LD expansion failed: {str(exc)[:200]}") from None

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in ("@type", "@id"):
                    for item in value if isinstance(value, list) else [value]:
                        if isinstance(item, str) and (
                            item.startswith(_RELATIVE_BASE) or ":" not in item
                        ):
                            dropped.add(item.removeprefix(_RELATIVE_BASE))
                walk(value)

    walk(expanded)
    return sorted(dropped)
