"""The issuer's identity and its published site: did:web, DID document, profile, pages."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from pyld import jsonld

from certificates import (
    CertificateError,
    CertificateSettings,
    KeyStore,
    PolicyError,
    certify,
)
from certificates.errors import KeyFormatError
from certificates.integrity import document_loader
from certificates.issuer import (
    DID_CONTEXT,
    MULTIKEY_CONTEXT,
    PinnedIssuer,
    did_document_path,
    did_from_url,
)
from certificates.schema import schema_errors
from certificates.settings import PLACEHOLDER_ISSUER_URL
from certificates.site import publish_site
from context_course.gradebook_scores import read_gradebook
from tests.certificates.builders import ISSUER_DID, NOW, make_settings
from tests.certificates.conftest import Issued

DATA = Path(__file__).resolve().parents[2] / "certificates" / "data"


@pytest.mark.parametrize(
    ("url", "did", "path"),
    [
        (
            "https://courses.example.org/context",
            "did:web:courses.example.org:context",
            "did.json",
        ),
        ("https://Courses.Example.org/", "did:web:courses.example.org", ".well-known/did.json"),
        ("https://example.org:8443/a/b", "did:web:example.org%3A8443:a:b", "did.json"),
    ],
)
def test_the_did_follows_the_did_web_rules(url: str, did: str, path: str) -> None:
    assert did_from_url(url) == did
    assert did_document_path(did) == path


@pytest.mark.parametrize(
    "url",
    [
        "http://courses.example.org/context",
        "https://courses.example.org/context?x=1",
        "https://user@courses.example.org/",
        "https://courses.example.org/a/../b",
        "https://courses.example.org/a b",
        "ftp://courses.example.org",
    ],
)
def test_urls_no_did_web_can_name_are_refused(url: str) -> None:
    with pytest.raises(KeyFormatError):
        did_from_url(url)


def test_the_did_document_lists_every_key_as_a_multikey_of_the_issuer(issued: Issued) -> None:
    document = json.loads((issued.site / "did.json").read_text())
    assert document["@context"] == [DID_CONTEXT, MULTIKEY_CONTEXT]
    assert document["id"] == ISSUER_DID
    methods = document["verificationMethod"]
    assert {m["type"] for m in methods} == {"Multikey"}
    assert {m["controller"] for m in methods} == {ISSUER_DID}
    assert sorted(m["publicKeyMultibase"][:4] for m in methods) == ["z6Mk", "zDna"] or sorted(
        m["publicKeyMultibase"][:3] for m in methods
    ) == ["z6M", "zDn"]
    assert document["assertionMethod"] == [m["id"] for m in methods]
    credential = issued.credential("ana")
    proof = credential["proof"][0]  # type: ignore[index]
    assert proof["verificationMethod"] in document["assertionMethod"]


def test_the_did_document_uses_only_terms_its_contexts_define(issued: Issued) -> None:
    extra = {
        DID_CONTEXT: json.loads((DATA / "did-v1.jsonld").read_text()),
        MULTIKEY_CONTEXT: json.loads((DATA / "multikey-v1.jsonld").read_text()),
    }
    document = json.loads((issued.site / "did.json").read_text())
    rotated = issued.keyring.rotated()
    from certificates.issuer import did_document

    dropped: list[str] = []
    for doc in (document, did_document(ISSUER_DID, rotated.keys)):
        jsonld.expand(
            doc,
            {"documentLoader": document_loader(extra)},
            on_property_dropped=lambda term: dropped.append(str(term)),
        )
    assert dropped == []


def test_credentials_embed_the_issuer_profile_and_pass_the_schema(issued: Issued) -> None:
    credential = issued.credential("ana")
    assert credential["issuer"] == {
        "id": ISSUER_DID,
        "type": ["Profile"],
        "name": "Test Academy",
        "url": "https://certs.example.test/issuer",
        "image": {
            "id": "https://certs.example.test/issuer/issuer.svg",
            "type": "Image",
            "caption": "Test Academy",
        },
        "email": "certificates@example.test",
    }
    assert credential["credentialSchema"] == [
        {
            "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
            "ob_v3p0_achievementcredential_schema.json",
            "type": "JsonSchema",
        }
    ]
    assert schema_errors(credential) == []
    subject = credential["credentialSubject"]
    assert isinstance(subject, dict) and "name" not in subject
    assert subject["identifier"][0] == {
        "type": "IdentityObject",
        "identityType": "name",
        "hashed": False,
        "identityHash": "Ana Ñúñez-Gómez",
    }


def test_the_site_holds_everything_a_verifier_needs_and_nothing_private(issued: Issued) -> None:
    site = issued.site
    files = sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file())
    course = issued.settings.course_id
    expected = {
        "did.json",
        "profile.json",
        "issuer.svg",
        "revocations.json",
        "revocations.jwt",
        "verify/index.html",
        "verify/verify.js",
    } | {
        f"achievements/{course}/{level}.{ext}"
        for level in ("bronze", "silver", "gold")
        for ext in ("json", "svg", "html")
    }
    assert set(files) == expected
    text = " ".join((site / name).read_text() for name in files)
    assert "PRIVATE KEY" not in text and "@example.org" not in text  # no learner email
    achievement = json.loads((site / f"achievements/{course}/gold.json").read_text())
    signed = issued.credential("ana")["credentialSubject"]["achievement"]  # type: ignore[index]
    assert achievement["id"] == signed["id"]
    assert achievement["criteria"] == signed["criteria"]
    assert achievement["image"] == signed["image"]
    profile = json.loads((site / "profile.json").read_text())
    assert profile["id"] == ISSUER_DID and profile["name"] == "Test Academy"
    assert PinnedIssuer.from_file(site).id == ISSUER_DID


def test_a_bare_host_issuer_publishes_under_well_known(issued: Issued, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    shutil.copytree(issued.settings.key_dir, keys)
    settings = replace(
        issued.settings,
        issuer_url="https://badges.example.test",
        key_dir=keys,
        output_dir=tmp_path / "out",
        site_dir=tmp_path / "site",
    )
    site = publish_site(settings, now=NOW)
    assert (site / ".well-known" / "did.json").is_file() and not (site / "did.json").exists()
    assert PinnedIssuer.from_file(site).id == "did:web:badges.example.test"


def test_publishing_again_replaces_the_site_whole(issued: Issued, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    shutil.copytree(issued.settings.key_dir, keys)
    settings = replace(
        issued.settings, key_dir=keys, output_dir=tmp_path / "out", site_dir=tmp_path / "site"
    )
    site = publish_site(settings, now=NOW)
    (site / "stray.txt").write_text("left over")
    assert publish_site(settings, now=NOW) == site
    assert not (site / "stray.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys", "out", "site"]


def test_the_placeholder_issuer_is_refused_outside_the_demo(tmp_path: Path) -> None:
    settings = replace(make_settings(tmp_path), issuer_url=PLACEHOLDER_ISSUER_URL)
    keyring = KeyStore(settings.key_dir).init()
    with pytest.raises(PolicyError, match="set \\[certificates\\] issuer_url"):
        certify([], settings=settings, keyring=keyring, now=NOW)
    with pytest.raises(PolicyError, match="issuer_url"):
        publish_site(settings)
    demo = replace(settings, demo=True)
    assert certify([], settings=demo, keyring=keyring, now=NOW) == []


def test_settings_read_issuer_url_and_refuse_bad_values(tmp_path: Path) -> None:
    class Course:
        root = tmp_path
        id = "c"
        name = "C"
        version = "1"
        output_dir = tmp_path / "output"

        def __init__(self, section: dict[str, object]) -> None:
            self.raw = {"certificates": section}

    settings = CertificateSettings.from_course(
        Course({"issuer_url": "https://courses.example.org/context/", "issuer_email": "a@b.c"})
    )
    assert settings.issuer_did == "did:web:courses.example.org:context"
    assert settings.published_site == tmp_path / "output" / "site"
    legacy = CertificateSettings.from_course(Course({"issuer_id": "https://x.example/i"}))
    assert legacy.issuer_url == "https://x.example/i"
    for bad in ({"issuer_url": "http://x.example"}, {"status_list_days": 0}, {"demo": "yes"}):
        with pytest.raises(CertificateError, match=r"issuer URL|status_list_days|demo"):
            CertificateSettings.from_course(Course(bad))


def test_names_are_normalised_limited_and_never_markup(issued: Issued, tmp_path: Path) -> None:
    from certificates.credential import NAME_LIMIT, normalise_name
    from certificates.errors import CredentialError

    assert normalise_name("  Ana\u0301   Lovelace ") == "Aná Lovelace"  # NFC, spaces folded
    assert normalise_name("O'Brien-Smith Jr.") == "O'Brien-Smith Jr."
    assert normalise_name("李小龍") == "李小龍"
    for hostile in (
        "Ada Lovelace <b>PhD</b> - Gold with distinction",
        "Ada Lovelace, Gold",
        "Ada 🚀",
        "Ada\u202eLovelace",
        "Ada (Gold)",
        "x" * (NAME_LIMIT + 1),
        "   ",
    ):
        with pytest.raises(CredentialError):
            normalise_name(hostile)
    del issued, tmp_path


def test_a_learner_with_a_hostile_name_gets_no_certificate_and_a_clear_line(
    tmp_path: Path,
) -> None:
    from tests.certificates.builders import GOLD, Student, build_gradebook

    settings = make_settings(tmp_path)
    hostile = Student("mal", "Ada Lovelace <b>PhD</b>", "- Gold", "m@example.org", GOLD.points)
    url = build_gradebook(tmp_path / "gradebook.db", [hostile])
    keyring = KeyStore(settings.key_dir).init()
    (outcome,) = certify(
        read_gradebook(url, settings.course_id), settings=settings, keyring=keyring, now=NOW
    )
    assert outcome.action == "failed" and "name contains '<'" in outcome.message
    assert not (settings.output_dir / "mal").exists()
