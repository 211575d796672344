"""``context-course certify | publish | keys | verify | revoke``: certificates on the command line.

Each command parses its options, calls one function of :mod:`certificates` and turns a
:class:`certificates.CertificateError` into a one-line :class:`UserError`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from certificates import (
    LIST_FILE,
    CertificateError,
    CertificateSettings,
    did_document,
    publish_site,
    revoke,
    rotate_keys,
)
from certificates._files import write_atomic
from certificates.check import verify_against_site
from context_course.cli.app import UserError, app
from context_course.cli.grading import CourseOption, os_error_line
from context_course.gradebook_scores import certify_gradebook
from grader.pipeline.config import CourseConfigError, load_course

__all__ = [
    "certify",
    "keys_export",
    "keys_init",
    "keys_rotate",
    "publish",
    "revoke_command",
    "verify",
]

keys_app = typer.Typer(
    help="Manage the issuer's signing keys (Ed25519 for Data Integrity, P-256 for JWTs).",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")

OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out", help="Certificates folder; default: <output>/certificates from course.toml."
    ),
]


def _settings(course: Path | None, out: Path | None = None) -> CertificateSettings:
    try:
        return CertificateSettings.from_course(load_course(course), out_dir=out)
    except OSError as exc:
        raise UserError(os_error_line(exc)) from None


@app.command()
def certify(
    learner: Annotated[
        list[str] | None,
        typer.Option("--learner", help="Certify this learner id (repeatable)."),
    ] = None,
    all_learners: Annotated[
        bool, typer.Option("--all", help="Certify every learner in the gradebook.")
    ] = False,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Gradebook URL; default: \\[grader] db_url in course.toml."),
    ] = None,
    out: OutOption = None,
    course: CourseOption = None,
    reissue_revoked: Annotated[
        bool,
        typer.Option(
            "--reissue-revoked",
            help="Also re-issue to learners whose certificate was revoked (after a key leak).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Issue Bronze/Silver/Gold certificates to learners who earned them.

    Reads the gradebook, applies the level policy of course.toml, and writes signed
    Open Badges 3.0 certificates (PDF, HTML, PNG, credential JSON and JWT) to
    <out>/<learner>/. Re-running issues nothing new unless a learner's level rose.
    Issuer keys are created on first use.

    Example: `context-course certify --all`
    """
    if bool(learner) == all_learners:
        raise UserError("say who to certify: --learner ID (repeatable) or --all")
    settings = _settings(course, out)
    try:
        loaded = load_course(course)
        outcomes = certify_gradebook(
            settings,
            db_url=loaded.db_url(db),
            learner_ids=list(learner) if learner else None,
            reissue_revoked=reissue_revoked,
        )
    except OSError as exc:
        raise UserError(os_error_line(exc)) from None
    if as_json:
        typer.echo(json.dumps([o.to_json() for o in outcomes], indent=2, ensure_ascii=False))
    else:
        for outcome in outcomes:
            level = outcome.level.capitalize() if outcome.level else "—"
            detail = f" ({outcome.message})" if outcome.message else ""
            where = f" → {outcome.folder}" if outcome.action in ("issued", "upgraded") else ""
            typer.echo(f"{outcome.learner_id}: {outcome.action} {level}{detail}{where}")
        issued = sum(o.action in ("issued", "upgraded") for o in outcomes)
        typer.echo(
            f"{issued} certificate(s) issued; run `context-course publish` and serve the site "
            f"at {settings.issuer_url}"
        )
    if any(o.action == "failed" for o in outcomes):
        raise typer.Exit(1)


@keys_app.command("init")
def keys_init(course: CourseOption = None) -> None:
    """Create the issuer's key pairs (refuses to overwrite existing keys).

    Keys go to \\[certificates] key_dir of course.toml, by default
    $XDG_CONFIG_HOME/context-course/issuer/ (mode 0600). Back this folder up.

    Example: `context-course keys init`
    """
    settings = _settings(course)
    try:
        keyring = settings.keystore.init()
    except OSError as exc:
        raise UserError(os_error_line(exc)) from None
    typer.echo(f"created issuer keys in {settings.key_dir}")
    for key in keyring.keys:
        typer.echo(f"  {key.algorithm:6} {key.method_id(settings.issuer_did)}")


@keys_app.command("export")
def keys_export(
    out: Annotated[
        Path,
        typer.Option("--out", help="Where to write the issuer's DID document."),
    ] = Path("did.json"),
    course: CourseOption = None,
) -> None:
    """Write the issuer's DID document: every key, current and retired, no private key.

    `context-course publish` writes it too, inside the whole issuer site.

    Example: `context-course keys export --out did.json`
    """
    settings = _settings(course)
    try:
        document = did_document(settings.issuer_did, settings.keystore.load().keys)
        write_atomic(out, json.dumps(document, indent=2) + "\n")
    except OSError as exc:
        raise UserError(f"cannot write {out}: {os_error_line(exc)}") from None
    typer.echo(f"wrote {out} ({len(document['verificationMethod'])} keys of {document['id']})")


@app.command()
def publish(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Site folder; default: <output>/site from course.toml."),
    ] = None,
    course: CourseOption = None,
) -> None:
    """Write the static issuer site to serve at the issuer URL.

    The DID document (did:web path rules), the issuer profile, one achievement per
    level, the freshly signed revocation list, and a verification page that checks a
    certificate in the browser. Re-run after every revoke, key rotation, and before the
    revocation list expires (\\[certificates] status_list_days).

    Example: `context-course publish --out output/site`
    """
    settings = _settings(course)
    try:
        folder = publish_site(settings, out=out)
    except OSError as exc:
        raise UserError(os_error_line(exc)) from None
    typer.echo(f"published the issuer site to {folder}; serve it at {settings.issuer_url}/")
    typer.echo(f"  issuer {settings.issuer_did}; verification page {settings.issuer_url}/verify/")


@keys_app.command("rotate")
def keys_rotate(course: CourseOption = None) -> None:
    """Retire the current signing keys and create new ones.

    Retired keys stay in the DID document (marked with when they stopped signing), so
    certificates they signed keep verifying. The revocation list is re-signed with the
    new key; run `context-course publish` so verifiers see both.

    Example: `context-course keys rotate && context-course publish`
    """
    settings = _settings(course)
    try:
        keyring = rotate_keys(settings)
    except OSError as exc:
        raise UserError(os_error_line(exc)) from None
    typer.echo("rotated issuer keys; current keys:")
    for key in keyring.keys:
        if key.status == "current":
            typer.echo(f"  {key.algorithm:6} {key.method_id(settings.issuer_did)}")
    if (settings.output_dir / LIST_FILE).exists():
        typer.echo(f"revocation list re-signed: {settings.output_dir / LIST_FILE}")
    typer.echo("run `context-course publish` so verifiers see the new keys")


def _course_settings() -> CertificateSettings | None:
    """This course's settings, when run inside a course folder (for `verify` defaults)."""
    try:
        return CertificateSettings.from_course(load_course(None))
    except (CourseConfigError, CertificateError, OSError):
        return None


@app.command()
def verify(
    file: Annotated[
        Path, typer.Argument(help="The certificate: .pdf, .html, .png, .svg, .json or .jwt")
    ],
    issuer: Annotated[
        Path | None,
        typer.Option(
            "--issuer",
            help="The issuer's published site folder (or its did.json); default: this "
            "course's own site.",
        ),
    ] = None,
    revocations: Annotated[
        list[Path] | None,
        typer.Option(
            "--revocations",
            help="A further revocation list (repeatable); only lists signed by the issuer's "
            "keys count, and the newest of those wins.",
        ),
    ] = None,
    allow_stale: Annotated[
        bool,
        typer.Option("--allow-stale", help="Exit 0 even when the revocation status is unknown."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Check a certificate offline: VALID with learner, level, date and issuer, or INVALID and why.

    Works on the PDF, the HTML page, the baked PNG or SVG badge, the credential JSON or
    the JWT. Exits 1 when INVALID, and when the revocation status is unknown (no current
    revocation list signed by the issuer) unless --allow-stale.
    A file given that cannot be read (the certificate, the site or a revocation list)
    is an error (exit 2), never a verdict.

    Example: `context-course verify certificate.pdf --issuer site/`
    """
    try:  # one rule for every file given: unreadable is an error, not a verdict
        with file.open("rb"):
            pass
    except OSError as exc:
        raise UserError(f"cannot read certificate file {file}: {exc.strerror or exc}") from None
    verdict = verify_against_site(
        file,
        issuer=issuer,
        revocations=list(revocations or []),
        settings=_course_settings() if issuer is None else None,
    )
    if as_json:
        typer.echo(json.dumps(verdict.to_json(), indent=2, ensure_ascii=False))
    else:
        typer.echo(verdict.summary())
    if not verdict.valid:
        raise typer.Exit(1)
    if verdict.revocation == "unknown" and not allow_stale:
        typer.echo("revocation status unknown: not accepted without --allow-stale", err=True)
        raise typer.Exit(1)


@app.command("revoke")
def revoke_command(
    certificate_id: Annotated[
        str, typer.Argument(metavar="CERT_ID", help="Certificate id (urn:uuid:… or the UUID).")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the issuance record).")],
    out: OutOption = None,
    course: CourseOption = None,
) -> None:
    """Revoke a certificate and re-sign the revocation list.

    Then run `context-course publish`: verifiers reading the published list will report
    the certificate as revoked.

    Example: `context-course revoke urn:uuid:1b4e… --reason "issued in error"`
    """
    settings = _settings(course, out)
    try:
        record, path = revoke(settings, certificate_id, reason=reason)
    except OSError as exc:
        raise UserError(os_error_line(exc)) from None
    typer.echo(f"revoked {record.id} ({record.learner_id}, {record.level}): {record.reason}")
    typer.echo(f"revocation list updated: {path}; run `context-course publish`")
