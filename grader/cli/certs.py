"""``context-course certify | keys | verify | revoke``: certificates from the command line.

Each command parses its options, calls one function of :mod:`certificates` and turns a
:class:`certificates.CertificateError` into a one-line :class:`UserError`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from certificates import (
    ISSUER_FILE,
    LIST_FILE,
    CertificateError,
    CertificateSettings,
    PinnedIssuer,
    RevocationList,
    certify_gradebook,
    export_issuer,
    revoke,
    rotate_keys,
    verify_file,
)
from grader.cli.app import UserError, app
from grader.cli.grading import CourseOption, os_error_line
from grader.config import CourseConfigError, load_course

__all__ = ["certify", "keys_export", "keys_init", "keys_rotate", "revoke_command", "verify"]

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
    except (CourseConfigError, CertificateError) as exc:
        raise UserError(str(exc)) from None
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
    except (CourseConfigError, CertificateError) as exc:
        raise UserError(str(exc)) from None
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
            f"{issued} certificate(s) issued; issuer file {settings.output_dir / ISSUER_FILE}"
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
    except CertificateError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(os_error_line(exc)) from None
    typer.echo(f"created issuer keys in {settings.key_dir}")
    for key in keyring.keys:
        typer.echo(f"  {key.algorithm:6} {key.kid}")


@keys_app.command("export")
def keys_export(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write; default: <output>/certificates/issuer.json."),
    ] = None,
    course: CourseOption = None,
) -> None:
    """Write the public issuer file verifiers pin: profile, JWK set and did:keys.

    It lists every key the issuer has used, current and retired, and no private key.

    Example: `context-course keys export --out issuer.json`
    """
    settings = _settings(course)
    target = out or settings.output_dir / ISSUER_FILE
    try:
        document = export_issuer(settings, settings.keystore.load(), target)
    except CertificateError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot write {target}: {os_error_line(exc)}") from None
    typer.echo(f"wrote {target} ({len(document['verificationMethod'])} keys)")


@keys_app.command("rotate")
def keys_rotate(course: CourseOption = None) -> None:
    """Retire the current signing keys and create new ones.

    Retired keys stay listed in the issuer file, so certificates they signed keep
    verifying. The issuer file and the revocation list (re-signed with the new key) are
    rewritten: publish both.

    Example: `context-course keys rotate && context-course keys export`
    """
    settings = _settings(course)
    try:
        keyring = rotate_keys(settings)
    except CertificateError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(os_error_line(exc)) from None
    typer.echo("rotated issuer keys; current keys:")
    for key in keyring.keys:
        if key.status == "current":
            typer.echo(f"  {key.algorithm:6} {key.kid}")
    typer.echo(f"issuer file updated: {settings.output_dir / ISSUER_FILE}")
    if (settings.output_dir / LIST_FILE).exists():
        typer.echo(f"revocation list re-signed: {settings.output_dir / LIST_FILE}")


def _local_pin() -> tuple[PinnedIssuer | None, Path | None]:
    """The instructor's own issuer (course.toml + local keys) and its published list."""
    try:
        settings = CertificateSettings.from_course(load_course(None))
        if not settings.keystore.exists():
            return None, None
        pinned = settings.keystore.load().pinned(settings.issuer_id, settings.issuer_name)
    except (CourseConfigError, CertificateError, OSError):
        return None, None
    return pinned, settings.output_dir / LIST_FILE


def _newest_list(paths: list[Path]) -> RevocationList | None:
    """The most recent of the revocation lists at ``paths``.

    Revocations are never undone, so an older list can only hide one: a stale list
    handed over with a certificate must not win over the one the issuer publishes.
    """
    lists = [RevocationList.from_file(path) for path in dict.fromkeys(paths)]
    return max(lists, key=lambda item: item.updated, default=None)


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="The certificate: .pdf, .html, .json or .jwt")],
    issuer: Annotated[
        Path | None,
        typer.Option(
            "--issuer",
            help="The issuer file to trust (issuer.json); default: this course's own keys.",
        ),
    ] = None,
    revocations: Annotated[
        Path | None,
        typer.Option(
            "--revocations",
            help="Revocation list; revocations.json beside --issuer is also read, and the "
            "newer of the two is used.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Check a certificate offline: VALID with learner, level, date and issuer, or INVALID and why.

    Works on the PDF, the HTML page, the credential JSON or the JWT. Exits 1 when INVALID;
    exits 2 (an error, nothing verified) when a file given cannot be read, be it the
    certificate, the issuer file or a revocation list.

    Example: `context-course verify certificate.pdf --issuer issuer.json`
    """
    pinned: PinnedIssuer | None = None
    beside: Path | None = None
    try:
        if issuer is not None:
            pinned, beside = PinnedIssuer.from_file(issuer), issuer.parent / LIST_FILE
        else:
            pinned, beside = _local_pin()
        candidates = [revocations] if revocations is not None else []
        if beside is not None and beside.is_file():
            candidates.append(beside)
        revocation_list = _newest_list(candidates)
    except CertificateError as exc:
        raise UserError(str(exc)) from None
    try:  # one rule for every file given: unreadable is an error, not a verdict
        with file.open("rb"):
            pass
    except OSError as exc:
        raise UserError(f"cannot read certificate file {file}: {exc.strerror or exc}") from None
    verdict = verify_file(file, issuer=pinned, revocations=revocation_list)
    if as_json:
        typer.echo(json.dumps(verdict.to_json(), indent=2, ensure_ascii=False))
    else:
        typer.echo(verdict.summary())
    if not verdict.valid:
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
    """Revoke a certificate and re-sign the published revocation list.

    Publish the updated revocations.json beside issuer.json; verifiers holding it will
    then report the certificate as revoked.

    Example: `context-course revoke urn:uuid:1b4e… --reason "issued in error"`
    """
    settings = _settings(course, out)
    try:
        record, path = revoke(settings, certificate_id, reason=reason)
    except CertificateError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(os_error_line(exc)) from None
    typer.echo(f"revoked {record.id} ({record.learner_id}, {record.level}): {record.reason}")
    typer.echo(f"revocation list updated: {path}")
