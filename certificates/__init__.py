"""certificates: Bronze/Silver/Gold levels as signed Open Badges 3.0 credentials.

The public API, library first (the ``context-course certify/keys/verify/revoke``
commands are thin layers over these)::

    settings = CertificateSettings.from_course(load_course())
    certify(records, settings=settings, keyring=...)  # decide levels, sign, render, record
    verify_file(Path("certificate.pdf"), issuer=PinnedIssuer.from_file(Path("issuer.json")))
    revoke(settings, "urn:uuid:…", reason="…")

Every error is a :class:`CertificateError`; verification returns a :class:`Verdict`
(never raises for bad input).
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
    ISSUER_FILE,
    Outcome,
    certify,
    export_issuer,
    issue_certificate,
    revoke,
    rotate_keys,
)
from certificates.keys import Keyring, KeyStore, PinnedIssuer, default_key_dir
from certificates.policy import Level, LevelPolicy
from certificates.revocation import LIST_FILE, RevocationList
from certificates.settings import CertificateSettings
from certificates.verify import Reason, Verdict, verify_bytes, verify_file

__all__ = [
    "ISSUER_FILE",
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
    "export_issuer",
    "issue_certificate",
    "revoke",
    "rotate_keys",
    "verify_bytes",
    "verify_file",
]
