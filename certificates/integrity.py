"""Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite (W3C VC-DI-EDDSA).

Signing and verifying follow the specification's steps: canonicalise the proof options
(with the document's ``@context``) and the unsecured document with RDF Dataset
Canonicalization (pyld, URDNA2015 — the algorithm RDFC-1.0 standardised), hash both with
SHA-256, and sign ``hash(proof options) || hash(document)`` with Ed25519. The
``proofValue`` is the signature in multibase base58btc.

JSON-LD contexts come only from :func:`document_loader`, which serves the two contexts
shipped inside this package (VC 2.0 and Open Badges 3.0.3) and refuses every other URL:
nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from pyld import jsonld

from certificates.errors import CredentialError, KeyFormatError
from certificates.multikey import b58decode, b58encode

__all__ = [
    "CRYPTOSUITE",
    "OB_CONTEXT",
    "VC_CONTEXT",
    "DocumentLoader",
    "ProofError",
    "canonical_forms",
    "canonicalize",
    "create_proof",
    "document_loader",
    "hash_data",
    "verify_proof",
]

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CRYPTOSUITE = "eddsa-rdfc-2022"

DocumentLoader = Callable[[str, Any], dict[str, Any]]

_SHIPPED = {
    VC_CONTEXT: "w3c-credentials-v2.jsonld",
    OB_CONTEXT: "ob-v3p0-context-3.0.3.json",
}


class ProofError(CredentialError):
    """A Data Integrity proof is malformed or does not verify; ``kind`` says which."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "malformed" | "bad-signature"


@cache
def _shipped_context(url: str) -> dict[str, Any]:
    text = resources.files("certificates").joinpath("data", _SHIPPED[url]).read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def document_loader(extra: Mapping[str, Mapping[str, Any]] | None = None) -> DocumentLoader:
    """A pyld document loader serving the shipped contexts (plus ``extra``), never the network.

    ``extra`` maps further context URLs to their documents (tests use it for the W3C
    examples context). Any other URL raises, so a credential naming an unknown context
    fails instead of being fetched.
    """
    extras = {url: dict(doc) for url, doc in (extra or {}).items()}

    def load(url: str, options: Any = None) -> dict[str, Any]:
        if url in _SHIPPED:
            document = _shipped_context(url)
        elif url in extras:
            document = extras[url]
        else:
            raise CredentialError(f"JSON-LD context {url!r} is not available offline")
        return {"contextUrl": None, "documentUrl": url, "document": document}

    return load


def canonicalize(document: Mapping[str, Any], loader: DocumentLoader | None = None) -> str:
    """RDF Dataset Canonicalization (URDNA2015) of ``document`` as N-Quads text."""
    try:
        result = jsonld.normalize(
            dict(document),
            {
                "algorithm": "URDNA2015",
                "format": "application/n-quads",
                "documentLoader": loader or document_loader(),
            },
        )
    except CredentialError:
        raise
    except Exception as exc:  # pyld raises JsonLdError and assorted built-ins
        raise CredentialError(f"JSON-LD canonicalisation failed: {_short(exc)}") from None
    if not isinstance(result, str):
        raise CredentialError("JSON-LD canonicalisation did not produce N-Quads")
    return result


def _short(exc: BaseException) -> str:
    """The most useful line of a pyld error chain (our own loader's message if it is there)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, CredentialError):
            return str(current)
        nested = getattr(current, "cause", None)
        current = (
            nested
            if isinstance(nested, BaseException)
            else current.__cause__ or current.__context__
        )
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def canonical_forms(
    document: Mapping[str, Any],
    proof_options: Mapping[str, Any],
    loader: DocumentLoader | None = None,
) -> tuple[str, str]:
    """The N-Quads that get hashed: ``(proof options with @context, document without proof)``."""
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    config = {key: value for key, value in proof_options.items() if key != "proofValue"}
    config["@context"] = document.get("@context")
    return canonicalize(config, loader), canonicalize(unsecured, loader)


def hash_data(
    document: Mapping[str, Any],
    proof_options: Mapping[str, Any],
    loader: DocumentLoader | None = None,
) -> bytes:
    """``sha256(canon(proof options + @context)) || sha256(canon(document without proof))``."""
    proof_canon, doc_canon = canonical_forms(document, proof_options, loader)
    config_hash = hashlib.sha256(proof_canon.encode("utf-8")).digest()
    doc_hash = hashlib.sha256(doc_canon.encode("utf-8")).digest()
    return config_hash + doc_hash


def create_proof(
    document: Mapping[str, Any],
    private_key: ed25519.Ed25519PrivateKey,
    *,
    verification_method: str,
    created: str,
    loader: DocumentLoader | None = None,
) -> dict[str, Any]:
    """A ``DataIntegrityProof`` (``eddsa-rdfc-2022``, ``assertionMethod``) over ``document``."""
    options: dict[str, Any] = {
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
    }
    signature = private_key.sign(hash_data(document, options, loader))
    return {**options, "proofValue": "z" + b58encode(signature)}


def verify_proof(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    public_key: ed25519.Ed25519PublicKey,
    loader: DocumentLoader | None = None,
) -> None:
    """Check one ``eddsa-rdfc-2022`` proof of ``document``; raise :class:`ProofError` if not."""
    if proof.get("type") != "DataIntegrityProof" or proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(
            "malformed",
            f"unsupported proof {proof.get('type')!r}/{proof.get('cryptosuite')!r}; "
            f"expected DataIntegrityProof/{CRYPTOSUITE}",
        )
    if proof.get("proofPurpose") != "assertionMethod":
        raise ProofError("malformed", "the proof's purpose is not assertionMethod")
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise ProofError("malformed", "proofValue is not a base58btc multibase string")
    try:
        signature = b58decode(value[1:])
    except KeyFormatError:
        raise ProofError("malformed", "proofValue is not valid base58btc") from None
    if len(signature) != 64:
        raise ProofError("bad-signature", "proofValue is not a 64-byte Ed25519 signature")
    try:
        data = hash_data(document, proof, loader)
    except CredentialError as exc:
        raise ProofError("malformed", str(exc)) from None
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        raise ProofError(
            "bad-signature", "the Data Integrity signature does not match the content"
        ) from None
