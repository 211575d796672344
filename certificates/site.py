"""``context-course publish``: the static site the instructor serves at the issuer URL.

Everything a verifier needs, and nothing private::

    did.json                 the issuer's DID document (``.well-known/did.json`` for a bare
                             host), every key current and retired, by the did:web rules
    profile.json             the issuer's OB 3.0 Profile; issuer.svg its image
    achievements/<course>/   <level>.json (Achievement), <level>.svg (image),
                             <level>.html (criteria)
    revocations.json         the revocation list, freshly signed (Data Integrity) …
    revocations.jwt          … and the same list as a VC-JWT, for the verification page
    verify/                  index.html + verify.js: checks a dropped-in certificate in the
                             browser (WebCrypto), nothing uploaded

The site is written to a temporary folder beside ``out`` and swapped in whole, so a
server never serves half of an old site and half of a new one.
"""

from __future__ import annotations

import html
import json
import shutil
import tempfile
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from certificates.credential import (
    ACHIEVEMENT_FOLDER,
    CONTEXTS,
    ISSUER_IMAGE,
    achievement_id,
)
from certificates.images import achievement_svg, issuer_svg
from certificates.issue import issuer_profile, publish_revocations, require_real_issuer
from certificates.issuer import did_document, did_document_path
from certificates.registry import Registry
from certificates.revocation import LIST_FILE, LIST_JWT_FILE
from certificates.settings import CertificateSettings
from certificates.vcjwt import sign_jwt

__all__ = ["PROFILE_FILE", "VERIFY_FOLDER", "publish_site"]

PROFILE_FILE = "profile.json"
VERIFY_FOLDER = "verify"
_ASSETS = ("index.html", "verify.js")


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _achievements(settings: CertificateSettings, folder: Path) -> None:
    profile = issuer_profile(settings).to_json()
    for level in settings.policy.levels:
        url = achievement_id(settings.issuer_url, settings.course_id, level.key)
        base = url.removesuffix(".json")
        title = f"{settings.course_name} — {level.name}"
        criteria = settings.policy.criteria(level)
        achievement = {
            "@context": list(CONTEXTS),
            "id": url,
            "type": ["Achievement"],
            "achievementType": "Certificate",
            "name": title,
            "description": f"{level.name} level ({level.title}) of {settings.course_name}.",
            "criteria": {"id": base + ".html", "narrative": criteria},
            "image": {"id": base + ".svg", "type": "Image", "caption": title},
            "creator": profile,
            "version": settings.policy.version,
        }
        target = folder / ACHIEVEMENT_FOLDER / settings.course_id
        target.mkdir(parents=True, exist_ok=True)
        (target / f"{level.key}.json").write_text(_json(achievement), "utf-8")
        (target / f"{level.key}.svg").write_text(achievement_svg(level), "utf-8")
        page = (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}: criteria</title></head><body>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(criteria)}</p>"
            f'<p><img src="{level.key}.svg" alt="" width="128" height="128"></p>'
            "</body></html>\n"
        )
        (target / f"{level.key}.html").write_text(page, "utf-8")


def _verify_page(folder: Path) -> None:
    target = folder / VERIFY_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    for name in _ASSETS:
        source = resources.files("certificates").joinpath("site_assets", name)
        (target / name).write_bytes(source.read_bytes())


def publish_site(
    settings: CertificateSettings, *, out: Path | None = None, now: datetime | None = None
) -> Path:
    """Write the issuer site to ``out`` (default ``output/site``); returns the folder."""
    require_real_issuer(settings)
    target = Path(out) if out is not None else settings.published_site
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    keyring = settings.keystore.load()
    registry = Registry.load(settings.output_dir)
    list_path = publish_revocations(settings, keyring, registry, moment)
    status_list = json.loads(list_path.read_text("utf-8"))
    list_jwt = sign_jwt(
        status_list,
        keyring.signing_p256,
        keyring.current("ES256").method_id(settings.issuer_did),
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        did = settings.issuer_did
        did_path = staging / did_document_path(did)
        did_path.parent.mkdir(parents=True, exist_ok=True)
        did_path.write_text(_json(did_document(did, keyring.keys)), "utf-8")
        profile = {"@context": list(CONTEXTS), **issuer_profile(settings).to_json()}
        (staging / PROFILE_FILE).write_text(_json(profile), "utf-8")
        (staging / ISSUER_IMAGE).write_text(issuer_svg(settings.issuer_name), "utf-8")
        _achievements(settings, staging)
        (staging / LIST_FILE).write_text(_json(status_list), "utf-8")
        (staging / LIST_JWT_FILE).write_text(list_jwt + "\n", "ascii")
        _verify_page(staging)
        staging.chmod(0o755)
        old = target.with_name(f".{target.name}.old")
        if old.exists():
            shutil.rmtree(old)
        if target.exists():
            target.rename(old)
        staging.rename(target)
        if old.exists():
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
