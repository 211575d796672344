"""The credential: official OB 3.0 schema, defined terms only, and no email in clear."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import subprocess
from pathlib import Path

import jsonschema
import pytest
from pypdf import PdfReader

from certificates.credential import hash_email, subject_id, undefined_terms
from tests.certificates.builders import BRONZE, GOLD, ISSUER_DID, SILVER
from tests.certificates.conftest import Issued, require_pdftotext

SCHEMA = Path("/work/shared/standards/openbadges-3.0/schema/achievementcredential.json")


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text())
    checker = jsonschema.Draft201909Validator.FORMAT_CHECKER
    assert "date-time" in checker.checkers  # rfc3339-validator is installed
    return jsonschema.Draft201909Validator(schema, format_checker=checker)


@pytest.mark.parametrize("learner", ["ana", "li", "zoe"])
def test_credentials_validate_against_the_official_schema(
    issued: Issued, validator: jsonschema.protocols.Validator, learner: str
) -> None:
    credential = issued.credential(learner)
    errors = [e.message for e in validator.iter_errors(credential)]
    assert errors == []
    broken = copy.deepcopy(credential)
    broken["validFrom"] = "26/11/2026"
    assert any("date-time" in e.message for e in validator.iter_errors(broken))


def test_the_jwt_payload_validates_too(
    issued: Issued, validator: jsonschema.protocols.Validator
) -> None:
    payload = issued.jwt("ana").split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert [e.message for e in validator.iter_errors(claims)] == []


@pytest.mark.parametrize("learner", ["ana", "li", "zoe"])
def test_every_field_is_a_term_the_two_contexts_define(issued: Issued, learner: str) -> None:
    credential = issued.credential(learner)
    assert undefined_terms({k: v for k, v in credential.items() if k != "proof"}) == []
    assert undefined_terms(credential) == []


def test_the_credential_says_what_the_issue_requires(issued: Issued) -> None:
    credential = issued.credential("ana")
    subject = credential["credentialSubject"]
    achievement = subject["achievement"]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["@context"][1] == "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
    assert achievement["name"] == "Context.py Mastery — Gold"
    assert credential["validFrom"] == "2026-11-26T09:30:00Z"
    assert subject["id"] == subject_id(ISSUER_DID, "context-course", "ana")
    assert subject["id"].startswith("urn:uuid:")
    assert (
        achievement["version"] == "1" and "policy version 1" in achievement["criteria"]["narrative"]
    )
    assert credential["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    assert credential["proof"][0]["verificationMethod"].startswith(ISSUER_DID + "#z6Mk")
    descriptions = {d["id"]: d for d in achievement["resultDescription"]}
    values = {descriptions[r["resultDescription"]]["name"]: r["value"] for r in subject["result"]}
    assert values["Exercise 2: History tracking"] == "95"
    assert len(values) == 8
    zoe = issued.credential("zoe")["credentialSubject"]
    assert len(zoe["result"]) == 5  # Bronze: exercises 1–4, and 5 which was tried; not 6–8 at 0 %
    assert credential["credentialStatus"]["type"] == "BitstringStatusListEntry"


def test_a_lower_level_claims_no_area_its_exercises_do_not_assess(issued: Issued) -> None:
    silver = issued.credential("li")["credentialSubject"]["achievement"]
    assert "Multi-tenant service architecture" not in silver["tag"]
    assert "Merging and distributed integration" in silver["tag"]
    bronze = issued.credential("zoe")["credentialSubject"]["achievement"]
    assert bronze["tag"] == [
        "State fundamentals",
        "Change history and audit trails",
        "Incremental persistence",
        "Serialization and data integrity",
    ]
    assert "requiredValue" not in bronze["resultDescription"][5]


def test_the_email_appears_only_as_a_salted_hash(issued: Issued) -> None:
    subject = issued.credential("ana")["credentialSubject"]
    name, identity = subject["identifier"]
    assert name["identityType"] == "name" and name["hashed"] is False
    assert identity["identityType"] == "emailAddress" and identity["hashed"] is True
    expected = (
        "sha256$" + hashlib.sha256((GOLD.email.lower() + identity["salt"]).encode()).hexdigest()
    )
    assert identity["identityHash"] == expected == hash_email(GOLD.email, identity["salt"])
    other = issued.credential("li")["credentialSubject"]["identifier"][1]
    assert other["salt"] != identity["salt"]


def _all_text_of(folder: Path) -> list[tuple[str, str]]:
    texts = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        texts.append((path.name, data.decode("utf-8", "replace")))
        if path.suffix == ".pdf":
            reader = PdfReader(path)
            for name, contents in reader.attachments.items():
                texts.extend((f"{path.name}:{name}", c.decode()) for c in contents)
            texts.append((f"{path.name}:text", reader.pages[0].extract_text()))
        if path.suffix == ".jwt":
            for part in data.decode().strip().split(".")[:2]:
                decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
                texts.append((f"{path.name}:decoded", decoded.decode()))
    return texts


def test_no_email_in_clear_anywhere_in_the_outputs(issued: Issued) -> None:
    require_pdftotext()
    texts = _all_text_of(issued.out)
    assert len(texts) > 15
    for student in (GOLD, SILVER, BRONZE):
        leaks = [name for name, text in texts if student.email.lower() in text.lower()]
        assert leaks == [], (student.email, leaks)
    for path in issued.out.rglob("certificate.pdf"):
        text = subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "@" not in text
