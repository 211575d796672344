"""Verify a certificate file against an issuer's published site (the ``verify`` command).

:func:`verify_against_site` gathers what a verifier needs: the issuer's DID document
(from the published site folder, a ``did.json`` file, or the instructor's own keys and
site) and every revocation list at hand — the site's own and any given by hand. Which
lists count is decided in :mod:`certificates.status`; a list that cannot even be read is
ignored with a note, like a forged one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from certificates.errors import CertificateError
from certificates.issuer import PinnedIssuer, find_did_document, pin_keyring
from certificates.revocation import LIST_FILE, RevocationList
from certificates.settings import CertificateSettings
from certificates.verify import Verdict, verify_file

__all__ = ["site_root", "verify_against_site"]


def site_root(did_json: Path) -> Path:
    """The site folder a DID document sits in (``.well-known/`` is one level down)."""
    folder = did_json.parent
    return folder.parent if folder.name == ".well-known" else folder


def _own_issuer(settings: CertificateSettings) -> tuple[PinnedIssuer | None, Path | None]:
    """This course's published site, else its own keys and latest list, else nothing."""
    site = settings.published_site
    try:
        return PinnedIssuer.from_file(find_did_document(site)), site
    except CertificateError:
        pass
    try:
        return pin_keyring(settings.keystore.load(), settings.issuer_did), settings.output_dir
    except CertificateError:
        return None, None


def verify_against_site(
    path: Path,
    *,
    issuer: Path | None = None,
    revocations: Sequence[Path] = (),
    settings: CertificateSettings | None = None,
    now: datetime | None = None,
) -> Verdict:
    """Verify ``path`` against the issuer at ``issuer`` (site folder or did.json).

    Without ``issuer`` the course's own published site (or, before publishing, its own
    keys and latest list) is used, when ``settings`` are given; with no issuer at all the
    verdict says so (after reporting what is wrong with the file itself). Raises
    :class:`CertificateError` only when the given ``issuer`` cannot be read.
    """
    pinned: PinnedIssuer | None = None
    site: Path | None = None
    if issuer is not None:
        pinned = PinnedIssuer.from_file(issuer)
        site = site_root(pinned.source) if pinned.source else None
    elif settings is not None:
        pinned, site = _own_issuer(settings)
    candidates = list(revocations)
    if site is not None and (site / LIST_FILE).is_file():
        candidates.append(site / LIST_FILE)
    lists: list[RevocationList] = []
    notes: list[str] = []
    for candidate in dict.fromkeys(candidates):
        try:
            lists.append(RevocationList.from_file(candidate))
        except CertificateError as exc:
            notes.append(f"ignored {candidate}: {exc}")
    verdict = verify_file(path, issuer=pinned, revocations=lists, now=now)
    return replace(verdict, notes=(*verdict.notes, *notes)) if notes else verdict
