"""The exception tree of :mod:`certificates`, described in one place.

::

    CertificateError                 root: catch this to handle any certificate problem
    ├── PolicyError                  [certificates.levels] in course.toml is invalid
    ├── KeyStoreError                issuer keys missing, unreadable, or would be overwritten
    │   └── KeyFormatError           a key or did:key string cannot be parsed
    ├── CredentialError              a credential cannot be built, signed or canonicalised
    ├── GradebookError               the gradebook cannot be read
    ├── RegistryError                the issuance record is unreadable or names no such certificate
    └── RenderError                  HTML/PDF/PNG rendering failed

Verification never raises for bad input: :func:`certificates.verify` returns a
:class:`~certificates.verify.Verdict` with a :class:`~certificates.verify.Reason`.
"""

from __future__ import annotations

__all__ = [
    "CertificateError",
    "CredentialError",
    "GradebookError",
    "KeyFormatError",
    "KeyStoreError",
    "PolicyError",
    "RegistryError",
    "RenderError",
]


class CertificateError(Exception):
    """Root of every error raised by :mod:`certificates`."""


class PolicyError(CertificateError):
    """The level policy (``[certificates.levels]``) is invalid; the message says what to fix."""


class KeyStoreError(CertificateError):
    """Issuer keys are missing, unreadable, or an operation would overwrite them."""


class KeyFormatError(KeyStoreError):
    """A key, multibase string or ``did:key`` cannot be parsed."""


class CredentialError(CertificateError):
    """A credential cannot be built, canonicalised or signed."""


class GradebookError(CertificateError):
    """The gradebook database cannot be opened or read."""


class RegistryError(CertificateError):
    """The issuance record is unreadable, or names no such certificate."""


class RenderError(CertificateError):
    """Rendering a certificate to HTML, PDF or PNG failed."""
