"""Verification: both proofs, every tampering, wrong keys, refused algorithms, rotation.

Revocation has its own file (``test_revocation.py``), and so does the visible text of
pages (``test_visible.py``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from joserfc.jwk import ECKey

from certificates import KeyStore, Reason, verify_bytes
from certificates.issue import sign_certificate
from certificates.issuer import pin_keyring
from certificates.keys import Keyring
from certificates.vcjwt import sign_jwt
from context_course.gradebook_scores import read_gradebook
from tests.certificates.builders import ISSUER_DID, NOW, dotted, leaves, with_leaf
from tests.certificates.conftest import Issued

LATER = NOW + timedelta(days=1)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def check(data: bytes | str, issued: Issued, **kwargs: Any) -> Any:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    kwargs.setdefault("issuer", issued.pinned)
    kwargs.setdefault("revocations", issued.revocations)
    kwargs.setdefault("now", LATER)
    return verify_bytes(raw, **kwargs)


def html_with(credential: Any, token: str) -> str:
    body = json.dumps(credential, ensure_ascii=False).replace("<", "\\u003c")
    return (
        "<!DOCTYPE html><html><body><p>certificate</p>"
        f'<script type="application/vc+ld+json" id="open-badge-credential">{body}</script>'
        f'<script type="application/jwt" id="open-badge-credential-jwt">{token}</script>'
        "</body></html>"
    )


FORMS = [
    "certificate.pdf",
    "certificate.html",
    "certificate.png",
    "badge.svg",
    "credential.json",
    "credential.jwt",
]


@pytest.mark.parametrize("name", FORMS)
def test_every_form_of_a_certificate_verifies(issued: Issued, name: str) -> None:
    verdict = check((issued.folder("ana") / name).read_bytes(), issued)
    assert verdict.valid, verdict.message
    assert verdict.learner == "Ana Ñúñez-Gómez"
    assert verdict.level == "Gold"
    assert verdict.issued == "2026-11-26T09:30:00Z"
    assert verdict.issuer_name == "Test Academy"
    assert verdict.issuer_id == ISSUER_DID
    assert verdict.revocation == "not revoked"
    expected = {"certificate.pdf": 2, "certificate.html": 2}.get(name, 1)
    assert len(verdict.proofs) == expected


def test_pdf_and_html_verify_by_both_proofs(issued: Issued) -> None:
    for name in ("certificate.pdf", "certificate.html"):
        verdict = check((issued.folder("li") / name).read_bytes(), issued)
        assert verdict.valid
        assert verdict.proofs == ("Data Integrity eddsa-rdfc-2022", "VC-JWT ES256")
        assert verdict.level == "Silver" and verdict.learner == "李小龍"


def _expected_reason(path: tuple[Any, ...]) -> Reason:
    if path[0] == "@context" or path == ("type", 1):
        return Reason.MALFORMED
    if path[0] == "proof":
        field = path[-1]
        if field == "verificationMethod":
            return Reason.UNKNOWN_KEY
        if field in ("type", "cryptosuite", "proofPurpose", "created"):
            return Reason.MALFORMED
    return Reason.BAD_SIGNATURE


@pytest.mark.slow
def test_changing_any_leaf_of_the_credential_json_fails_with_the_right_reason(
    issued: Issued,
) -> None:
    credential = issued.credential("ana")
    paths = leaves(credential)
    assert len(paths) > 100
    wrong = {}
    for path in paths:
        verdict = check(json.dumps(with_leaf(credential, path)), issued)
        if verdict.valid or verdict.reason != _expected_reason(path):
            wrong[dotted(path)] = (verdict.reason, verdict.message)
    assert wrong == {}


@pytest.mark.slow
def test_changing_any_leaf_of_the_embedded_credential_is_caught_by_the_other_proof(
    issued: Issued,
) -> None:
    credential = issued.credential("ana")
    token = issued.jwt("ana")
    wrong = {}
    for path in leaves(credential):
        verdict = check(html_with(with_leaf(credential, path), token), issued)
        if path[0] == "proof":
            ok = not verdict.valid and verdict.reason == _expected_reason(path)
        else:
            ok = verdict.reason == Reason.TAMPERED and dotted(path) in verdict.message
        if not ok:
            wrong[dotted(path)] = (verdict.reason, verdict.message)
    assert wrong == {}


def test_the_real_html_page_with_a_changed_name_is_reported_as_tampered(issued: Issued) -> None:
    page = (issued.folder("zoe") / "certificate.html").read_text(encoding="utf-8")
    signed = '"identityHash": "Zoë Okafor-N\'Diaye"'
    assert page.count(signed) == 1
    forged = page.replace(signed, '"identityHash": "Zoë Okafor PhD"')
    verdict = check(forged, issued)
    assert verdict.reason == Reason.TAMPERED
    assert "credentialSubject.identifier[0].identityHash" in verdict.message


def test_swapping_in_another_learners_valid_jwt_is_tampering(issued: Issued) -> None:
    verdict = check(html_with(issued.credential("zoe"), issued.jwt("ana")), issued)
    assert verdict.reason == Reason.TAMPERED


def test_an_added_field_that_no_signature_covers_is_tampering(issued: Issued) -> None:
    credential = issued.credential("ana")
    credential["credentialSubject"]["honours"] = "summa cum laude"  # type: ignore[index]
    verdict = check(json.dumps(credential), issued)
    assert verdict.reason == Reason.TAMPERED
    assert "honours" in verdict.message


def _jwt_reason_allowed(segment: int) -> set[Reason]:
    return {
        0: {Reason.MALFORMED, Reason.BAD_SIGNATURE, Reason.UNKNOWN_KEY},
        1: {Reason.MALFORMED, Reason.BAD_SIGNATURE},
        2: {Reason.MALFORMED, Reason.BAD_SIGNATURE},
    }[segment]


@pytest.mark.slow
def test_any_changed_byte_of_the_jwt_fails_and_pyjwt_agrees(issued: Issued) -> None:
    token = issued.jwt("li")
    public_pem = issued.keyring.current("ES256").public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert pyjwt.decode(token, public_pem, algorithms=["ES256"], options={"verify_aud": False})
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    wrong = []
    segment = 0
    for index, char in enumerate(token):
        if char == ".":
            segment += 1
            continue
        replacement = alphabet[(alphabet.index(char) + 1) % len(alphabet)]
        forged = token[:index] + replacement + token[index + 1 :]
        verdict = check(forged, issued)
        if verdict.valid or verdict.reason not in _jwt_reason_allowed(segment):
            wrong.append((index, verdict.reason))
        # The second library must reject it too, whenever the decoded bytes differ.
        parts = forged.split(".")
        try:
            decoded_same = all(
                base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))
                == base64.urlsafe_b64decode(q + "=" * (-len(q) % 4))
                for p, q in zip(parts, token.split("."), strict=True)
            )
        except ValueError:
            decoded_same = False
        if not decoded_same:
            with pytest.raises(pyjwt.PyJWTError):
                pyjwt.decode(forged, public_pem, algorithms=["ES256"])
    assert wrong == []


def test_pyjwt_reads_the_same_claims_our_verifier_reports(issued: Issued) -> None:
    token = issued.jwt("ana")
    public_pem = issued.keyring.current("ES256").public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = pyjwt.decode(token, public_pem, algorithms=["ES256"])
    header = pyjwt.get_unverified_header(token)
    verdict = check(token, issued)
    assert verdict.valid
    kid = issued.keyring.current("ES256").method_id(ISSUER_DID)
    assert header == {"alg": "ES256", "typ": "JWT", "kid": kid}
    assert claims["jti"] == verdict.credential_id
    assert claims["iss"] == verdict.issuer_id == claims["issuer"]["id"]
    assert claims["sub"] == claims["credentialSubject"]["id"]
    assert claims["nbf"] == int(NOW.timestamp())
    assert claims["credentialSubject"]["identifier"][0]["identityHash"] == verdict.learner
    # OB 3.0 §8.2: with both proof formats, the embedded proof goes into the JWT payload
    assert claims["proof"] == issued.credential("ana")["proof"]


def test_a_token_signed_with_another_key_is_an_unknown_key(issued: Issued, tmp_path: Path) -> None:
    other = KeyStore(tmp_path / "other").init()
    credential = issued.credential("ana")
    own_kid = issued.keyring.current("ES256").method_id(ISSUER_DID)
    forged_same_kid = sign_jwt(credential, other.signing_p256, own_kid)
    assert check(forged_same_kid, issued).reason == Reason.BAD_SIGNATURE
    forged_own_kid = sign_jwt(
        credential, other.signing_p256, other.current("ES256").method_id(ISSUER_DID)
    )
    verdict = check(forged_own_kid, issued)
    assert verdict.reason == Reason.UNKNOWN_KEY
    assert "does not list" in verdict.message


def signed_by(
    issued: Issued, keyring: Keyring, learner: str = "ana", **kwargs: Any
) -> tuple[bytes, bytes]:
    record = read_gradebook(issued.db_url, issued.settings.course_id, [learner])[0]
    level = issued.settings.policy.decide(record.percents())
    assert level is not None
    credential, token = sign_certificate(
        record,
        level_key=level.key,
        settings=issued.settings,
        keyring=keyring,
        status_index=kwargs.pop("status_index", 7),
        now=kwargs.pop("now", NOW),
        **kwargs,
    )
    return json.dumps(credential).encode(), token.encode()


def test_a_credential_signed_by_another_issuer_is_an_unknown_key(
    issued: Issued, tmp_path: Path
) -> None:
    other = KeyStore(tmp_path / "other").init()
    for data in signed_by(issued, other):
        verdict = check(data, issued)
        assert verdict.reason == Reason.UNKNOWN_KEY
        assert "does not list" in verdict.message
        own = pin_keyring(other, ISSUER_DID)
        assert check(data, issued, issuer=own, revocations=[]).valid


def test_alg_none_is_refused(issued: Issued) -> None:
    token = issued.jwt("ana")
    _, payload, _ = token.split(".")
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    for forged in (f"{header}.{payload}.", f"{header}.{payload}.{b64(b'x' * 64)}"):
        verdict = check(forged, issued)
        assert not verdict.valid
        assert verdict.reason in (Reason.BAD_SIGNATURE, Reason.MALFORMED)
    verdict = check(f"{header}.{payload}.{b64(b'x' * 64)}", issued)
    assert verdict.reason == Reason.BAD_SIGNATURE and "'none' is refused" in verdict.message


def test_hs256_signed_with_the_public_key_as_secret_is_refused(issued: Issued) -> None:
    token = issued.jwt("ana")
    key = issued.keyring.current("ES256")
    _, payload, _ = token.split(".")
    kid = key.method_id(ISSUER_DID)
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    for secret in (
        key.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        json.dumps(ECKey.import_key(key.public_key).as_dict(private=False)).encode(),
    ):
        mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        verdict = check(f"{header}.{payload}.{b64(mac)}", issued)
        assert verdict.reason == Reason.BAD_SIGNATURE
        assert "'HS256' is refused" in verdict.message


def test_other_algorithms_are_refused(issued: Issued) -> None:
    token = issued.jwt("ana")
    _, payload, signature = token.split(".")
    for alg in ("RS256", "ES384", "EdDSA", "es256"):
        header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
        verdict = check(f"{header}.{payload}.{signature}", issued)
        assert verdict.reason == Reason.BAD_SIGNATURE, alg


@pytest.mark.parametrize("name", FORMS)
def test_a_truncated_file_is_malformed_input(issued: Issued, name: str) -> None:
    data = (issued.folder("ana") / name).read_bytes()
    for keep in (len(data) // 2, len(data) - 20, 3):
        verdict = check(data[:keep], issued)
        assert not verdict.valid
        assert verdict.reason == Reason.MALFORMED, (keep, verdict.message)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   ",
        b"\xff\xfe\x00garbage",
        b"[1, 2]",
        b"not a certificate at all",
        b"a.b.c",
        b"<html><body>no credential</body></html>",
        b"%PDF-1.7\n%%EOF",
    ],
)
def test_garbage_is_malformed_input_never_an_exception(issued: Issued, data: bytes) -> None:
    verdict = check(data, issued)
    assert not verdict.valid and verdict.reason == Reason.MALFORMED


def test_without_a_pinned_issuer_nothing_is_valid(issued: Issued) -> None:
    data = (issued.folder("ana") / "certificate.pdf").read_bytes()
    verdict = check(data, issued, issuer=None, revocations=[])
    assert verdict.reason == Reason.UNKNOWN_KEY
    assert "--issuer" in verdict.message


def test_without_a_revocation_list_the_revocation_status_is_unknown(issued: Issued) -> None:
    verdict = check(issued.jwt("ana"), issued, revocations=[])
    assert verdict.valid and verdict.revocation == "unknown"
    assert "revocation status unknown" in verdict.notes[0]


def test_expired_and_not_yet_valid_credentials_are_refused(issued: Issued) -> None:
    pinned = issued.pinned
    for data in signed_by(issued, issued.keyring, valid_until=NOW + timedelta(days=30)):
        assert verify_bytes(data, issuer=pinned, now=LATER).valid
        expired = verify_bytes(data, issuer=pinned, now=NOW + timedelta(days=31))
        assert expired.reason == Reason.EXPIRED
        early = verify_bytes(data, issuer=pinned, now=NOW - timedelta(days=1))
        assert early.reason == Reason.NOT_YET_VALID


def test_certificates_signed_before_a_rotation_still_verify(issued: Issued, tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    old = store.init()
    signed = signed_by(issued, old)
    rotated = store.rotate()
    pinned = pin_keyring(rotated, ISSUER_DID)
    for data in signed:
        assert verify_bytes(data, issuer=pinned, now=LATER).valid
    new_token = sign_jwt(
        json.loads(signed[0]), rotated.signing_p256, rotated.current("ES256").method_id(ISSUER_DID)
    )
    assert verify_bytes(new_token.encode(), issuer=pinned, now=LATER).valid
    unrotated = pin_keyring(old, ISSUER_DID)
    assert not verify_bytes(new_token.encode(), issuer=unrotated, now=LATER).valid
