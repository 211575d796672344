"""Forgery attempts a hostile holder or verifier-side attacker would try, each refused.

Every test here passed a forged or ambiguous certificate (or hid a revocation) before
the fix it guards: duplicate JSON keys, a credential split over two ``<script>``
elements, a second credential attached to the PDF, stale revocation lists, a gzip bomb
as the revocation list, terminal escapes in a key id, absurdly nested JSON.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from certificates import CertificateError, Keyring, Reason, RevocationList, revoke
from certificates.issue import publish_revocations, rotate_keys
from certificates.registry import Registry
from certificates.revocation import MAX_LIST_BYTES, build_status_list
from certificates.vcjwt import JwtError, parse_jwt
from grader.cli import main
from tests.certificates.builders import NOW
from tests.certificates.conftest import Issued
from tests.certificates.test_verify import LATER, b64, check, html_with


def _status_index(issued: Issued, learner: str) -> int:
    status = issued.credential(learner)["credentialStatus"]
    assert isinstance(status, dict)
    return int(status["statusListIndex"])


# ------------------------------------------------------------------ ambiguous documents


def test_a_duplicate_json_key_is_refused_not_read_as_its_last_value(issued: Issued) -> None:
    raw = json.dumps(issued.credential("ana"), ensure_ascii=False)
    # Python keeps the last "name" (the signed one); other parsers and people see the first.
    forged = raw.replace('"credentialSubject": {', '"credentialSubject": {"name": "Mallory", ', 1)
    page = html_with(json.loads(raw), issued.jwt("ana"))
    assert forged != raw and raw in page
    for data in (forged, page.replace(raw, forged)):
        verdict = check(data, issued)
        assert not verdict.valid
        assert verdict.reason == Reason.MALFORMED and "appears twice" in verdict.message


def test_a_duplicate_key_in_a_jwt_header_is_malformed() -> None:
    header = b64(b'{"alg":"ES256","typ":"JWT","alg":"ES256"}')
    with pytest.raises(JwtError, match="appears twice") as caught:
        parse_jwt(f"{header}.{b64(b'{}')}.{b64(bytes(64))}")
    assert caught.value.kind == "malformed"


def test_a_credential_split_over_two_script_elements_is_refused(issued: Issued) -> None:
    body = json.dumps(issued.credential("ana"), ensure_ascii=False).replace("<", "\\u003c")
    half = len(body) // 2
    page = (
        "<!DOCTYPE html><html><body>"
        f'<script type="application/vc+ld+json" id="open-badge-credential">{body[:half]}</script>'
        "<p>Certificate of Mallory</p>"
        f'<script type="application/vc+ld+json" id="open-badge-credential">{body[half:]}</script>'
        "</body></html>"
    )
    verdict = check(page, issued)
    assert verdict.reason == Reason.MALFORMED and "ambiguous" in verdict.message


def test_an_html_page_with_two_jwts_is_refused(issued: Issued) -> None:
    page = html_with(issued.credential("ana"), issued.jwt("ana")).replace(
        "</body>",
        f'<script type="application/jwt" id="open-badge-credential-jwt">{issued.jwt("li")}'
        "</script></body>",
    )
    verdict = check(page, issued)
    assert verdict.reason == Reason.MALFORMED and "2 JWTs" in verdict.message


def test_a_pdf_with_a_second_credential_attached_is_refused(issued: Issued) -> None:
    writer = PdfWriter(
        clone_from=io.BytesIO((issued.folder("ana") / "certificate.pdf").read_bytes())
    )
    writer.add_attachment("credential.json", (issued.folder("li") / "credential.json").read_bytes())
    buffer = io.BytesIO()
    writer.write(buffer)
    assert len(PdfReader(io.BytesIO(buffer.getvalue())).attachments["credential.json"]) == 2
    verdict = check(buffer.getvalue(), issued)
    assert verdict.reason == Reason.MALFORMED and "2 credentials" in verdict.message


def test_absurdly_nested_json_is_malformed_input_not_a_crash(issued: Issued) -> None:
    nested = '{"a":' + "[" * 200_000 + "]" * 200_000 + "}"
    page = (
        "<!DOCTYPE html><html><body>"
        f'<script type="application/vc+ld+json" id="open-badge-credential">{nested}</script>'
        "</body></html>"
    )
    for data in (nested, '{"a":' * 200_000 + "1" + "}" * 200_000, page):
        verdict = check(data, issued)
        assert verdict.reason == Reason.MALFORMED and "nested too deeply" in verdict.message


def test_terminal_escapes_chosen_by_the_file_never_reach_the_terminal(issued: Issued) -> None:
    _, payload, signature = issued.jwt("ana").split(".")
    kid = "\rVALID: Ana Ñúñez-Gómez — Gold\x1b[K\u202e"
    header = b64(json.dumps({"alg": "ES256", "typ": "JWT", "kid": kid}).encode())
    verdict = check(f"{header}.{payload}.{signature}", issued)
    assert verdict.reason == Reason.UNKNOWN_KEY
    text = verdict.summary()
    assert text.startswith("INVALID: unknown key: ")
    assert not any(char in text for char in "\r\n\x1b\u202e")
    assert "\\r" in text and "\\x1b" in text


# ------------------------------------------------------------------ revocation freshness


def _list(
    issued: Issued, keyring: Keyring, *, indices: list[int], when: datetime = NOW
) -> RevocationList:
    return RevocationList.from_document(
        build_status_list(
            issuer_id=issued.settings.issuer_id,
            indices=indices,
            private_key=keyring.signing_ed25519,
            verification_method=keyring.current("EdDSA").kid,
            now=when,
        )
    )


def test_a_list_signed_by_a_retired_key_does_not_count_as_checked(issued: Issued) -> None:
    rotated = issued.keyring.rotated()
    pinned = rotated.pinned(issued.settings.issuer_id, issued.settings.issuer_name)
    jwt = issued.jwt("ana")
    stale = _list(issued, issued.keyring, indices=[])  # a leaked old key could sign this
    verdict = check(jwt, issued, issuer=pinned, revocations=stale)
    assert verdict.valid and not verdict.revocation_checked
    assert "retired key" in verdict.notes[0] and "revocation not checked" in verdict.notes[0]
    fresh = _list(issued, rotated, indices=[])
    verdict = check(jwt, issued, issuer=pinned, revocations=fresh)
    assert verdict.valid and verdict.revocation_checked
    # A revocation is final: an authentic old list that shows it still settles it.
    revoked = _list(issued, issued.keyring, indices=[_status_index(issued, "ana")])
    assert check(jwt, issued, issuer=pinned, revocations=revoked).reason == Reason.REVOKED


def test_a_list_older_than_the_certificate_does_not_count_as_checked(issued: Issued) -> None:
    older = _list(issued, issued.keyring, indices=[], when=NOW.replace(hour=8))
    verdict = check(issued.jwt("ana"), issued, revocations=older)
    assert verdict.valid and not verdict.revocation_checked
    assert "older than this certificate" in verdict.notes[0]


def test_a_gzip_bomb_as_revocation_list_is_refused(issued: Issued) -> None:
    document = copy.deepcopy(issued.revocations.document)
    bomb = gzip.compress(bytes(MAX_LIST_BYTES + 1), compresslevel=1)
    document["credentialSubject"]["encodedList"] = "u" + b64(bomb)
    with pytest.raises(CertificateError, match="inflates to more than"):
        RevocationList.from_document(document)


def test_rotating_keys_re_signs_the_published_revocation_list(
    issued: Issued, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    shutil.copytree(issued.settings.key_dir, keys)
    settings = replace(issued.settings, key_dir=keys, output_dir=tmp_path / "out")
    publish_revocations(settings, issued.keyring, Registry.load(settings.output_dir), NOW)
    keyring = rotate_keys(settings, now=LATER)
    published = RevocationList.from_file(settings.output_dir / "revocations.json")
    assert published.verification_method == keyring.current("EdDSA").kid
    assert published.verification_method != issued.keyring.current("EdDSA").kid
    issuer = json.loads((settings.output_dir / "issuer.json").read_text())
    assert len(issuer["verificationMethod"]) == 4


def test_verify_uses_the_newer_of_a_given_list_and_the_published_one(
    issued: Issued, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    shutil.copytree(issued.out, out)
    stale = tmp_path / "stale-revocations.json"
    shutil.copy(out / "revocations.json", stale)  # handed over with the certificate
    credential_id = str(issued.credential("ana")["id"])
    revoke(replace(issued.settings, output_dir=out), credential_id, reason="exam fraud", now=LATER)
    pdf, issuer = str(out / "learners" / "ana" / "certificate.pdf"), str(out / "issuer.json")
    code = main(["verify", pdf, "--issuer", issuer, "--revocations", str(stale)])
    assert code == 1
    assert capsys.readouterr().out.startswith("INVALID: revoked")
