"""The ecosystem's own verifiers accept what we issue, offline, from the published site.

``tests/js/verify_site.mjs`` runs Digital Bazaar's ``@digitalbazaar/vc`` (Data Integrity,
``eddsa-rdfc-2022``, with a BitstringStatusList check) on the credential JSON and the
revocation list, and ``jose`` on the VC-JWT, with a document loader that resolves
``did:web`` and https URLs from the site folder. Needs node and ``npm ci --prefix tests/js``
(CI runs it); without them the tests skip loudly, or fail when
``CONTEXT_COURSE_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from certificates import KeyStore, revoke
from certificates.issue import rotate_keys, sign_certificate
from certificates.site import publish_site
from context_course.gradebook_scores import read_gradebook
from tests.certificates.builders import ISSUER_URL, NOW
from tests.certificates.conftest import Issued, fresh_site
from tests.services import require_binary, require_service

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "tests" / "js"
CONTEXTS = ROOT / "certificates" / "data"


def _node() -> str:
    require_service("js-verifiers")  # skips with the npm command, or fails in CI
    return require_binary("node", "node")


def run_js(site: Path, *files: Path, issuer_url: str = ISSUER_URL) -> dict[str, dict[str, Any]]:
    """Verdicts of the JS verifiers, by file name."""
    result = subprocess.run(
        [_node(), str(JS / "verify_site.mjs"), str(site), issuer_url, str(CONTEXTS)]
        + [str(f) for f in files],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=JS,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return {row["file"]: row for row in rows}


def test_every_credential_and_the_list_pass_vc_js_and_jose(issued: Issued, tmp_path: Path) -> None:
    settings, site = fresh_site(issued, tmp_path)
    files = [site / "revocations.json"]
    for learner in ("ana", "li", "zoe"):
        folder = settings.output_dir / "learners" / learner
        files += [folder / "credential.json", folder / "credential.jwt"]
    verdicts = run_js(site, *files)
    assert {row["verifier"] for row in verdicts.values()} == {"@digitalbazaar/vc", "jose"}
    failed = {name: row["error"] for name, row in verdicts.items() if not row["verified"]}
    assert failed == {}
    assert len(verdicts) == 7


def test_vc_js_and_jose_refuse_tampered_and_foreign_credentials(
    issued: Issued, tmp_path: Path
) -> None:
    credential = issued.credential("ana")
    subject = credential["credentialSubject"]
    assert isinstance(subject, dict)
    subject["identifier"][0]["identityHash"] = "Mallory"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(credential))
    # signed with the issuer's DID but a key its DID document does not list
    other = KeyStore(tmp_path / "other").init()
    record = read_gradebook(issued.db_url, issued.settings.course_id, ["li"])[0]
    signed, token = sign_certificate(
        record, level_key="silver", settings=issued.settings, keyring=other, status_index=1, now=NOW
    )
    foreign_json, foreign_jwt = tmp_path / "foreign.json", tmp_path / "foreign.jwt"
    foreign_json.write_text(json.dumps(signed))
    foreign_jwt.write_text(token)
    header, payload, signature = issued.jwt("li").split(".")
    altered = tmp_path / "altered.jwt"
    altered.write_text(f"{header}.{payload[:-4]}AAAA.{signature}")
    _, site = fresh_site(issued, tmp_path / "course")
    verdicts = run_js(site, tampered, foreign_json, foreign_jwt, altered)
    assert [row["verified"] for row in verdicts.values()] == [False] * 4


def test_vc_js_sees_a_revocation_and_keeps_verifying_after_a_rotation(
    issued: Issued, tmp_path: Path
) -> None:
    settings, _ = fresh_site(issued, tmp_path)
    out = settings.output_dir
    revoke(settings, str(issued.credential("zoe")["id"]), reason="issued in error")
    rotate_keys(settings)
    site = publish_site(settings)
    did = json.loads((site / "did.json").read_text())
    assert len(did["verificationMethod"]) == 4
    verdicts = run_js(
        site,
        out / "learners" / "ana" / "credential.json",
        out / "learners" / "ana" / "credential.jwt",
        out / "learners" / "zoe" / "credential.json",
        site / "revocations.json",
    )
    ana, ana_jwt, zoe, listed = verdicts.values()
    assert ana["verified"] and ana_jwt["verified"] and listed["verified"], verdicts
    assert not zoe["verified"] and "revoked" in zoe["error"]
