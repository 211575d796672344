"""Revocation that cannot be forged: only the issuer's current keys sign lists that count.

A third party can hand the verifier any list (``--revocations``). A list counts only when
it is the list the credential names, issued by the credential's issuer, signed by a key of
the issuer's DID document that was not retired when it signed; the newest of those wins;
an expired list leaves the status unknown. Every forged list below was accepted before.
"""

from __future__ import annotations

import copy
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from certificates import KeyStore, Reason, RevocationList, revoke
from certificates.check import verify_against_site
from certificates.issue import rotate_keys
from certificates.issuer import pin_keyring
from certificates.keys import Keyring
from certificates.revocation import build_status_list, list_url
from certificates.site import publish_site
from context_course.cli import main
from tests.certificates.builders import ISSUER_DID, ISSUER_URL, NOW
from tests.certificates.conftest import Issued, fresh_site
from tests.certificates.test_verify import LATER, check, signed_by

LIST_URL = list_url(ISSUER_URL)


def _index(issued: Issued, learner: str) -> int:
    status = issued.credential(learner)["credentialStatus"]
    assert isinstance(status, dict)
    return int(status["statusListIndex"])


def _document(
    keyring: Keyring,
    *,
    indices: list[int],
    when: datetime = NOW,
    days: int = 30,
    url: str = LIST_URL,
    issuer: str = ISSUER_DID,
) -> dict[str, Any]:
    return build_status_list(
        issuer_did=issuer,
        url=url,
        indices=indices,
        private_key=keyring.signing_ed25519,
        verification_method=keyring.current("EdDSA").method_id(ISSUER_DID),
        now=when,
        valid_for=timedelta(days=days),
    )


def _list(keyring: Keyring, **kwargs: Any) -> RevocationList:
    return RevocationList.from_document(_document(keyring, **kwargs))


@pytest.fixture(scope="module")
def attacker(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    return KeyStore(tmp_path_factory.mktemp("attacker")).init()


def test_the_published_list_says_not_revoked(issued: Issued) -> None:
    verdict = check(issued.jwt("ana"), issued)
    assert verdict.valid and verdict.revocation == "not revoked"
    assert "current until" in verdict.notes[0]


def test_a_genuine_list_revokes(issued: Issued) -> None:
    revoked = _list(issued.keyring, indices=[_index(issued, "ana")], when=NOW + timedelta(hours=1))
    verdict = check(issued.jwt("ana"), issued, revocations=[*issued.revocations, revoked])
    assert verdict.reason == Reason.REVOKED


def test_an_attacker_list_with_another_id_and_a_later_date_is_ignored(
    issued: Issued, attacker: Keyring
) -> None:
    for url in (f"{ISSUER_URL}/other-list.json", "https://evil.example/revocations.json"):
        forged = _list(
            attacker, indices=[_index(issued, "ana")], when=NOW + timedelta(hours=2), url=url
        )
        verdict = check(issued.jwt("ana"), issued, revocations=[*issued.revocations, forged])
        assert verdict.valid and verdict.revocation == "not revoked"
        assert any("ignored a revocation list" in note for note in verdict.notes)


def test_an_attacker_list_with_the_same_id_cannot_unrevoke_or_revoke(
    issued: Issued, attacker: Keyring
) -> None:
    index = _index(issued, "ana")
    genuine = _list(issued.keyring, indices=[index], when=NOW + timedelta(hours=1))
    clearing = _list(attacker, indices=[], when=NOW + timedelta(hours=3))
    verdict = check(issued.jwt("ana"), issued, revocations=[genuine, clearing])
    assert verdict.reason == Reason.REVOKED
    assert any("not signed by a key of the issuer" in note for note in verdict.notes)
    revoking = _list(attacker, indices=[index], when=NOW + timedelta(hours=3))
    verdict = check(issued.jwt("ana"), issued, revocations=[*issued.revocations, revoking])
    assert verdict.valid and verdict.revocation == "not revoked"


def test_an_attacker_list_naming_the_issuers_own_key_has_a_bad_signature(
    issued: Issued, attacker: Keyring
) -> None:
    document = _document(attacker, indices=[_index(issued, "ana")], when=NOW + timedelta(hours=2))
    document["proof"][0]["verificationMethod"] = issued.keyring.current("EdDSA").method_id(
        ISSUER_DID
    )
    forged = RevocationList.from_document(document)
    verdict = check(issued.jwt("ana"), issued, revocations=[*issued.revocations, forged])
    assert verdict.valid and verdict.revocation == "not revoked"
    assert any("signature does not verify" in note for note in verdict.notes)


def test_a_genuine_list_with_a_flipped_bit_is_ignored(issued: Issued) -> None:
    index = _index(issued, "ana")
    cleared = _document(issued.keyring, indices=[], when=NOW + timedelta(hours=2))
    document = _document(issued.keyring, indices=[index], when=NOW + timedelta(hours=2))
    document["credentialSubject"]["encodedList"] = cleared["credentialSubject"]["encodedList"]
    genuine = _list(issued.keyring, indices=[index], when=NOW + timedelta(hours=1))
    verdict = check(
        issued.jwt("ana"), issued, revocations=[genuine, RevocationList.from_document(document)]
    )
    assert verdict.reason == Reason.REVOKED


def test_a_list_naming_another_issuer_is_ignored(issued: Issued) -> None:
    other = _list(
        issued.keyring, indices=[_index(issued, "ana")], issuer="did:web:evil.example", when=LATER
    )
    verdict = check(issued.jwt("ana"), issued, revocations=[*issued.revocations, other])
    assert verdict.valid and verdict.revocation == "not revoked"


def test_the_newest_authentic_list_wins(issued: Issued) -> None:
    index = _index(issued, "ana")
    older = _list(issued.keyring, indices=[], when=NOW)
    newer = _list(issued.keyring, indices=[index], when=NOW + timedelta(hours=5))
    for order in ([older, newer], [newer, older]):
        assert check(issued.jwt("ana"), issued, revocations=order).reason == Reason.REVOKED


def test_an_expired_list_leaves_the_status_unknown(issued: Issued) -> None:
    stale = _list(issued.keyring, indices=[], when=NOW, days=1)
    verdict = check(issued.jwt("ana"), issued, revocations=[stale], now=NOW + timedelta(days=2))
    assert verdict.valid and verdict.revocation == "unknown"
    assert "expired" in verdict.notes[0]
    # ... but a revocation it shows still counts: a revocation is final
    stale_revoked = _list(issued.keyring, indices=[_index(issued, "ana")], when=NOW, days=1)
    later = NOW + timedelta(days=2)
    verdict = check(issued.jwt("ana"), issued, revocations=[stale_revoked], now=later)
    assert verdict.reason == Reason.REVOKED


def test_no_list_at_all_leaves_the_status_unknown(issued: Issued) -> None:
    verdict = check(issued.jwt("ana"), issued, revocations=[])
    assert verdict.valid and verdict.revocation == "unknown"


def test_after_a_rotation_lists_by_the_retired_key_no_longer_count(issued: Issued) -> None:
    rotated = issued.keyring.rotated()
    retired_at = next(k.retired for k in rotated.keys if k.status == "retired")
    assert retired_at is not None
    pinned = pin_keyring(rotated, ISSUER_DID)
    jwt = issued.jwt("ana")
    # the old certificate still verifies against the rotated DID document
    assert check(jwt, issued, issuer=pinned, revocations=[]).valid
    after = datetime.fromisoformat(retired_at.replace("Z", "+00:00")) + timedelta(hours=1)
    leaked = _list(issued.keyring, indices=[_index(issued, "ana")], when=after)
    verdict = check(jwt, issued, issuer=pinned, revocations=[leaked], now=after)
    assert verdict.valid and verdict.revocation == "unknown"
    assert any("retired" in note for note in verdict.notes)
    fresh = _list(rotated, indices=[], when=after)
    verdict = check(jwt, issued, issuer=pinned, revocations=[leaked, fresh], now=after)
    assert verdict.valid and verdict.revocation == "not revoked"


def test_a_credential_signed_by_a_retired_key_after_retirement_is_refused(
    issued: Issued,
) -> None:
    rotated = issued.keyring.rotated()
    retired_at = next(k.retired for k in rotated.keys if k.status == "retired")
    assert retired_at is not None
    pinned = pin_keyring(rotated, ISSUER_DID)
    after = datetime.fromisoformat(retired_at.replace("Z", "+00:00")) + timedelta(hours=1)
    for data in signed_by(issued, issued.keyring, now=after):
        verdict = check(data, issued, issuer=pinned, now=after + timedelta(hours=1))
        assert verdict.reason == Reason.UNKNOWN_KEY and "retired" in verdict.message


def test_cli_ignores_forged_and_unreadable_lists_with_a_note(
    issued: Issued, tmp_path: Path, attacker: Keyring, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, site = fresh_site(issued, tmp_path)
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(_document(attacker, indices=[_index(issued, "ana")], when=LATER)))
    unsigned = tmp_path / "unsigned.json"
    document = _document(issued.keyring, indices=[_index(issued, "ana")], when=LATER)
    unsigned.write_text(json.dumps({k: v for k, v in document.items() if k != "proof"}))
    pdf = str(settings.output_dir / "learners" / "ana" / "certificate.pdf")
    argv = ["verify", pdf, "--issuer", str(site), "--json"]
    code = main([*argv, "--revocations", str(forged), "--revocations", str(unsigned)])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["valid"] and result["revocation"] == "not revoked"
    notes = " ".join(result["notes"])
    assert "not signed by a key of the issuer" in notes and "unsigned.json" in notes


def test_cli_revocation_needs_the_published_list_and_stale_needs_allow_stale(
    issued: Issued, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, site = fresh_site(issued, tmp_path)
    credential_id = str(issued.credential("ana")["id"])
    pdf = str(settings.output_dir / "learners" / "ana" / "certificate.pdf")
    stale = tmp_path / "old-list.json"
    shutil.copy(site / "revocations.json", stale)  # handed over with the certificate
    revoke(settings, credential_id, reason="exam fraud")
    publish_site(settings)
    assert main(["verify", pdf, "--issuer", str(site), "--revocations", str(stale)]) == 1
    assert capsys.readouterr().out.startswith("INVALID: revoked")
    # a site whose list has expired: VALID signature, status unknown, exit 1 unless allowed
    (site / "revocations.json").unlink()
    zoe = str(settings.output_dir / "learners" / "zoe" / "credential.jwt")
    stale_only = ["verify", zoe, "--issuer", str(site), "--revocations", str(stale)]
    now = datetime.now(NOW.tzinfo)
    expired = _document(issued.keyring, indices=[], when=now - timedelta(days=2), days=1)
    stale.write_text(json.dumps(expired))
    assert main(stale_only) == 1
    captured = capsys.readouterr()
    assert "revocation: unknown" in captured.out and "--allow-stale" in captured.err
    assert main([*stale_only, "--allow-stale"]) == 0


def test_rotating_keys_re_signs_the_list_and_publish_lists_every_key(
    issued: Issued, tmp_path: Path
) -> None:
    settings, site = fresh_site(issued, tmp_path)
    keyring = rotate_keys(settings, now=LATER)
    published = RevocationList.from_file(settings.output_dir / "revocations.json")
    assert published.verification_method == keyring.current("EdDSA").method_id(ISSUER_DID)
    site = publish_site(settings, now=LATER)
    document = json.loads((site / "did.json").read_text())
    assert len(document["verificationMethod"]) == 4
    assert sum("expires" in method for method in document["verificationMethod"]) == 2
    verdict = check(issued.jwt("ana"), issued, issuer=None, revocations=[])
    assert verdict.reason == Reason.UNKNOWN_KEY  # nothing verifies without an issuer
    for name in ("certificate.pdf", "credential.json"):
        verdict = verify_against_site(
            settings.output_dir / "learners" / "ana" / name, issuer=site, now=LATER
        )
        assert verdict.valid and verdict.revocation == "not revoked", verdict.message


def test_the_list_carries_its_validity_window(issued: Issued) -> None:
    document = copy.deepcopy(issued.revocations[0].document)
    assert document["validFrom"] == "2026-11-26T09:30:00Z"
    assert document["validUntil"] == "2026-12-26T09:30:00Z"
    assert document["issuer"] == ISSUER_DID
