"""eddsa-rdfc-2022: the W3C test vector and the 1EdTech OB 3.0 example, byte for byte."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from certificates.errors import CredentialError
from certificates.integrity import (
    OB_CONTEXT,
    VC_CONTEXT,
    ProofError,
    canonical_forms,
    canonicalize,
    create_proof,
    document_loader,
    verify_proof,
)
from certificates.multikey import b58decode, multibase_decode_key

VECTORS = Path("/work/shared/standards/test-vectors/vc-di-eddsa-rdfc-2022")
EXAMPLES_CONTEXT = "https://www.w3.org/ns/credentials/examples/v2"

# The Open Badges 3.0 specification's Data Integrity example (ob_v3p0, "Linked Data Proof
# Test Vector"): the unsigned credential, proof options, key and the proofValue it shows.
OB_DOCUMENT: dict[str, Any] = {
    "@context": [VC_CONTEXT, OB_CONTEXT],
    "id": "http://example.com/credentials/3527",
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "issuer": {
        "id": "https://example.edu/issuers/565049",
        "type": ["Profile"],
        "url": "https://www.imsglobal.org",
        "name": "Example Corp",
    },
    "validFrom": "2010-01-01T00:00:00Z",
    "name": "Teamwork Badge",
    "credentialSubject": {
        "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
        "type": ["AchievementSubject"],
        "achievement": {
            "id": "https://example.com/achievements/21st-century-skills/teamwork",
            "type": ["Achievement"],
            "criteria": {
                "narrative": "Team members are nominated for this badge by their peers and "
                "recognized upon review by Example Corp management."
            },
            "description": "This badge recognizes the development of the capacity to "
            "collaborate within a group environment.",
            "name": "Teamwork",
        },
    },
}
OB_METHOD = "https://example.edu/issuers/565049#z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
OB_SEED = bytes.fromhex("6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4")
OB_PROOF_VALUE = (
    "z5x9aCBYovW3CQCbKdNyhEm7ffYSw1YpEdPywQJoNbzDD2gkzQDKJ1sYKJaWvqZtkMtSbz35HcbgXVEDYHxCzgkCr"
)
OB_OPTIONS = {
    "type": "DataIntegrityProof",
    "created": "2010-01-01T19:23:24Z",
    "verificationMethod": OB_METHOD,
    "cryptosuite": "eddsa-rdfc-2022",
    "proofPurpose": "assertionMethod",
}


@pytest.fixture
def w3c_loader() -> Any:
    examples = json.loads((VECTORS / "credentials-examples-v2.jsonld").read_text())
    return document_loader({EXAMPLES_CONTEXT: examples})


@pytest.fixture
def w3c_signed() -> dict[str, Any]:
    signed: dict[str, Any] = json.loads((VECTORS / "w3c-signedDataInt.json").read_text())
    return signed


def _w3c_keys() -> tuple[ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey]:
    pair = json.loads((VECTORS / "w3c-keyPair.json").read_text())
    secret = b58decode(pair["privateKeyMultibase"][1:])
    assert secret[:2] == b"\x80\x26"  # multicodec ed25519-priv
    public = multibase_decode_key(pair["publicKeyMultibase"])
    assert isinstance(public, ed25519.Ed25519PublicKey)
    return ed25519.Ed25519PrivateKey.from_private_bytes(secret[2:]), public


def test_w3c_vector_canonical_forms_match_byte_for_byte(
    w3c_signed: dict[str, Any], w3c_loader: Any
) -> None:
    proof_canon, doc_canon = canonical_forms(w3c_signed, w3c_signed["proof"], w3c_loader)
    assert doc_canon.encode() == (VECTORS / "w3c-canonDocDataInt.txt").read_bytes()
    assert proof_canon.encode() == (VECTORS / "w3c-proofCanonDataInt.txt").read_bytes()


def test_w3c_vector_verifies_and_signing_reproduces_its_proof_value(
    w3c_signed: dict[str, Any], w3c_loader: Any
) -> None:
    private, public = _w3c_keys()
    verify_proof(w3c_signed, w3c_signed["proof"], public, w3c_loader)
    unsigned = {k: v for k, v in w3c_signed.items() if k != "proof"}
    proof = create_proof(
        unsigned,
        private,
        verification_method=w3c_signed["proof"]["verificationMethod"],
        created=w3c_signed["proof"]["created"],
        loader=w3c_loader,
    )
    assert proof == w3c_signed["proof"]


def test_w3c_vector_with_a_changed_claim_fails(w3c_signed: dict[str, Any], w3c_loader: Any) -> None:
    _, public = _w3c_keys()
    forged = copy.deepcopy(w3c_signed)
    forged["credentialSubject"]["alumniOf"] = "The School of Forgeries"
    with pytest.raises(ProofError) as caught:
        verify_proof(forged, forged["proof"], public, w3c_loader)
    assert caught.value.kind == "bad-signature"


def test_open_badges_example_canonical_forms_match_byte_for_byte() -> None:
    proof_canon, doc_canon = canonical_forms(OB_DOCUMENT, OB_OPTIONS)
    assert doc_canon.encode() == (VECTORS / "ob-document-canon.txt").read_bytes()
    assert proof_canon.encode() == (VECTORS / "ob-proof-canon.txt").read_bytes()


def test_open_badges_example_signature_is_reproduced() -> None:
    private = ed25519.Ed25519PrivateKey.from_private_bytes(OB_SEED)
    proof = create_proof(
        OB_DOCUMENT, private, verification_method=OB_METHOD, created=OB_OPTIONS["created"]
    )
    assert proof["proofValue"] == OB_PROOF_VALUE
    verify_proof({**OB_DOCUMENT, "proof": [proof]}, proof, private.public_key())


def test_the_loader_serves_only_the_shipped_contexts_and_never_the_network() -> None:
    loader = document_loader()
    assert loader(VC_CONTEXT, None)["document"]["@context"]["@protected"] is True
    assert "OpenBadgeCredential" in loader(OB_CONTEXT, None)["document"]["@context"]
    with pytest.raises(CredentialError, match="not available offline"):
        loader("https://www.w3.org/ns/credentials/examples/v2", None)


def test_a_document_naming_an_unknown_context_cannot_be_canonicalised() -> None:
    document = {**OB_DOCUMENT, "@context": [VC_CONTEXT, "https://evil.example/context.json"]}
    with pytest.raises(CredentialError, match=r"evil\.example"):
        canonicalize(document)


def test_shipped_contexts_are_byte_identical_to_the_shared_standards() -> None:
    shared = Path("/work/shared/standards/openbadges-3.0/context")
    package = Path(__file__).resolve().parents[2] / "certificates" / "data"
    for name in ("ob-v3p0-context-3.0.3.json", "w3c-credentials-v2.jsonld"):
        assert (package / name).read_bytes() == (shared / name).read_bytes()
