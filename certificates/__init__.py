"""certificates: Bronze/Silver/Gold levels as signed Open Badges 3.0 credentials.

The public API, library first (the ``context-course certify/publish/keys/verify/revoke``
commands are thin layers over these)::

    settings = CertificateSettings.from_course(load_course())
    certify(records, settings=settings, keyring=...)  # decide levels, sign, render, record
    publish_site(settings)                            # DID document, profile, lists, page
    verify_file(Path("certificate.pdf"), issuer=PinnedIssuer.from_file(Path("site")),
                revocations=[RevocationList.from_file(Path("site/revocations.json"))])
    revoke(settings, "urn:uuid:…", reason="…")

The issuer is the ``did:web`` of the configured issuer URL. Every error is a
:class:`CertificateError`; verification returns a :class:`Verdict` (never raises for
bad input).
"""

from certificates.credential import ExerciseScore, IssuerProfile, Learner, build_credential
from certificates.errors import (
    CertificateError,
    CredentialError,
    GradebookError,
    KeyFormatError,
    KeyStoreError,
    PolicyError,
    RegistryError,
    RenderError,
)
from certificates.inputs import CourseConfig, LearnerRecord
from certificates.issue import (
    Outcome,
    certify,
    issue_certificate,
    revoke,
    rotate_keys,
)
from certificates.issuer import PinnedIssuer, did_document, did_from_url
from certificates.keys import Keyring, KeyStore, default_key_dir
from certificates.policy import Level, LevelPolicy
from certificates.revocation import LIST_FILE, RevocationList
from certificates.settings import CertificateSettings
from certificates.site import publish_site
from certificates.verify import Reason, Verdict, verify_bytes, verify_file

__all__ = [
    "LIST_FILE",
    "CertificateError",
    "CertificateSettings",
    "CourseConfig",
    "CredentialError",
    "ExerciseScore",
    "GradebookError",
    "IssuerProfile",
    "KeyFormatError",
    "KeyStore",
    "KeyStoreError",
    "Keyring",
    "Learner",
    "LearnerRecord",
    "Level",
    "LevelPolicy",
    "Outcome",
    "PinnedIssuer",
    "PolicyError",
    "Reason",
    "RegistryError",
    "RenderError",
    "RevocationList",
    "Verdict",
    "build_credential",
    "certify",
    "default_key_dir",
    "did_document",
    "did_from_url",
    "issue_certificate",
    "publish_site",
    "revoke",
    "rotate_keys",
    "verify_bytes",
    "verify_file",
]
