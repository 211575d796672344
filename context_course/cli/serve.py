"""``context-course serve``: run the Context service, and the operator's commands for it.

``context-course serve`` alone runs the HTTP API; its subcommands manage tenants and
keys directly in the store (run them on a machine that has the store and the master
key): ``create-tenant`` prints the first admin key, ``issue-key``, ``revoke-key``,
``tenants``, ``limits``, ``erase-tenant``, ``verify-audit``, ``purge`` and ``master-key``.
Each one calls one ``ContextService`` method and turns errors into one line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from context_course.cli.app import UserError, app
from context_lib.service import ContextService, new_master_key, open_service, serve
from context_lib.service.server import DEFAULT_STORE, listen

__all__ = ["serve_app"]

serve_app = typer.Typer(
    name="serve",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(serve_app, name="serve")

StoreOption = Annotated[
    str,
    typer.Option(
        "--store",
        envvar="CONTEXT_SERVICE_STORE",
        help="Where the service keeps its data: sqlite:///file.db (default) or "
        "redis://host:port/0 (several nodes).",
    ),
]
KeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--master-key-file",
        help="File holding the master key (default: $CONTEXT_SERVICE_MASTER_KEY, else "
        "~/.config/context-course/service/master.key, created on first use). Keep it "
        "away from the store.",
        dir_okay=False,
    ),
]


@contextmanager
def _service(store: str, key_file: Path | None) -> Iterator[ContextService]:
    service = open_service(store, key_file)
    try:
        yield service
    finally:
        service.close()


@serve_app.callback()
def run_server(
    ctx: typer.Context,
    store: StoreOption = DEFAULT_STORE,
    host: Annotated[
        str, typer.Option(help="Interface to listen on; keep 127.0.0.1 behind a proxy.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8750,
    max_body: Annotated[
        int, typer.Option("--max-body", min=1, help="Largest request body, in bytes.")
    ] = 1024 * 1024,
    master_key_file: KeyFileOption = None,
) -> None:
    """Run the multi-tenant Context service over HTTP, or manage its tenants and keys.

    Without a subcommand, serves the API (OpenAPI document at /openapi.json). Create a
    tenant and its first admin key with the create-tenant subcommand.

    Example:

        context-course serve --store sqlite:///context-service.db --port 8750
    """
    if ctx.invoked_subcommand is not None:
        _refuse_server_options(ctx, ctx.invoked_subcommand)
        return
    with _service(store, master_key_file) as service:
        sock = listen(host, port)  # a port in use is one error line, before anything starts
        typer.echo(f"Context service on http://{host}:{port} (store {store}); Ctrl-C stops it")
        serve(service, host, port, max_body=max_body, sock=sock)


def _refuse_server_options(ctx: typer.Context, subcommand: str) -> None:
    """Options given before a subcommand belong to the server: say so instead of ignoring them."""
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name) if param.name else None
        if source is not None and source.name == "COMMANDLINE":
            option = param.opts[0]
            if param.name in ("store", "master_key_file"):
                raise UserError(
                    f"{option} goes after the subcommand: "
                    f"context-course serve {subcommand} {option} …"
                )
            raise UserError(f"{option} applies only when serving, not to {subcommand!r}")


@serve_app.command("create-tenant")
def create_tenant(
    name: Annotated[str, typer.Argument(help="The tenant's display name.")],
    store: StoreOption = DEFAULT_STORE,
    max_keys: Annotated[int, typer.Option(min=1, help="Most keys the tenant may store.")] = 10_000,
    rate: Annotated[float, typer.Option(min=0.001, help="Requests per second.")] = 1000.0,
    burst: Annotated[int, typer.Option(min=1, help="Requests allowed at once.")] = 2000,
    retention_days: Annotated[
        float | None, typer.Option(help="Purge history older than this; default: keep it.")
    ] = None,
    master_key_file: KeyFileOption = None,
) -> None:
    """Create a tenant and print its id and first admin API key (shown only once).

    Example:

        context-course serve create-tenant "Acme Research" --max-keys 50000
    """
    with _service(store, master_key_file) as service:
        tenant = service.create_tenant(
            name, max_keys=max_keys, rate=rate, burst=burst, retention_days=retention_days
        )
        _, secret = service.issue_key(tenant.id, "admin", "first admin key")
    typer.echo(f"tenant:    {tenant.id}")
    typer.echo(f"admin key: {secret}")
    typer.echo("Store the key now: it is not kept anywhere and cannot be shown again.")


@serve_app.command("issue-key")
def issue_key(
    tenant_id: Annotated[str, typer.Argument(help="The tenant's id (t_…).")],
    role: Annotated[str, typer.Option(help="read, write or admin.")] = "read",
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
    store: StoreOption = DEFAULT_STORE,
    master_key_file: KeyFileOption = None,
) -> None:
    """Issue another API key for a tenant and print it (shown only once).

    Example:

        context-course serve issue-key t_0123456789abcdef --role write --name ci
    """
    with _service(store, master_key_file) as service:
        record, secret = service.issue_key(tenant_id, role, name)
    typer.echo(f"key id:  {record.key_id} ({record.role})")
    typer.echo(f"api key: {secret}")


@serve_app.command("revoke-key")
def revoke_key(
    tenant_id: Annotated[str, typer.Argument(help="The tenant's id.")],
    key_id: Annotated[str, typer.Argument(help="The key's id (the part after cck_).")],
    store: StoreOption = DEFAULT_STORE,
    master_key_file: KeyFileOption = None,
) -> None:
    """Revoke an API key of a tenant.

    Example:

        context-course serve revoke-key t_0123456789abcdef 1a2b3c4d5e6f
    """
    with _service(store, master_key_file) as service:
        service.tenant(tenant_id)
        service.revoke_key(tenant_id, key_id)
    typer.echo(f"revoked {key_id}")


@serve_app.command("tenants")
def tenants(
    store: StoreOption = DEFAULT_STORE,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    master_key_file: KeyFileOption = None,
) -> None:
    """List the tenants with their limits and usage.

    Example:

        context-course serve tenants --json
    """
    with _service(store, master_key_file) as service:
        rows = [
            {
                "id": t.id,
                "name": t.name,
                "keys": t.key_count,
                "max_keys": t.max_keys,
                "rate": t.rate,
                "burst": t.burst,
                "retention_days": t.retention_days,
                "erased": t.erased is not None,
            }
            for t in service.tenants()
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = "erased" if row["erased"] else f"{row['keys']}/{row['max_keys']} keys"
        typer.echo(f"{row['id']}  {state:>18}  {row['name']}")


@serve_app.command("limits")
def limits(
    tenant_id: Annotated[str, typer.Argument(help="The tenant's id.")],
    max_keys: Annotated[int | None, typer.Option(min=1)] = None,
    rate: Annotated[float | None, typer.Option(min=0.001)] = None,
    burst: Annotated[int | None, typer.Option(min=1)] = None,
    retention_days: Annotated[float | None, typer.Option(min=0.001)] = None,
    store: StoreOption = DEFAULT_STORE,
    master_key_file: KeyFileOption = None,
) -> None:
    """Change a tenant's quota, rate limit or history retention.

    Example:

        context-course serve limits t_0123456789abcdef --max-keys 100000 --rate 50
    """
    changes: dict[str, Any] = {
        k: v
        for k, v in {
            "max_keys": max_keys,
            "rate": rate,
            "burst": burst,
            "retention_days": retention_days,
        }.items()
        if v is not None
    }
    if not changes:
        raise UserError("nothing to change: give --max-keys, --rate, --burst or --retention-days")
    with _service(store, master_key_file) as service:
        tenant = service.set_limits(tenant_id, **changes)
    typer.echo(
        f"{tenant.id}: max_keys={tenant.max_keys} rate={tenant.rate:g}/s burst={tenant.burst} "
        f"retention_days={tenant.retention_days}"
    )


@serve_app.command("erase-tenant")
def erase_tenant(
    tenant_id: Annotated[str, typer.Argument(help="The tenant's id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")] = False,
    store: StoreOption = DEFAULT_STORE,
    master_key_file: KeyFileOption = None,
) -> None:
    """Erase a tenant: data, history, keys and data key; the audit log records it.

    Example:

        context-course serve erase-tenant t_0123456789abcdef --yes
    """
    if not yes:
        raise UserError("erasing a tenant cannot be undone; repeat with --yes to confirm")
    with _service(store, master_key_file) as service:
        service.erase(tenant_id)
    typer.echo(f"erased {tenant_id}")


@serve_app.command("verify-audit")
def verify_audit(
    store: StoreOption = DEFAULT_STORE,
    master_key_file: KeyFileOption = None,
) -> None:
    """Verify every audit chain; exit 1 and list the problems if one is broken.

    Entries are checked with keys derived from the master key, and every chain against
    the audit witness ($CONTEXT_SERVICE_AUDIT_WITNESS, default
    ~/.config/context-course/service/audit-witness/<store id>.log), which catches
    entries removed from the end or whole chains deleted.

    Example:

        context-course serve verify-audit
    """
    with _service(store, master_key_file) as service:
        report = service.verify_audit()
    for problem in report.problems:
        typer.echo(f"problem: {problem}", err=True)
    status = "VALID" if report.ok else "BROKEN"
    typer.echo(
        f"audit log {status}: {report.chains} chain(s), {report.entries} entries, "
        f"{report.erased_payloads} erased payload(s)"
    )
    if not report.ok:
        raise typer.Exit(1)


@serve_app.command("purge")
def purge(
    store: StoreOption = DEFAULT_STORE,
    master_key_file: KeyFileOption = None,
) -> None:
    """Apply every tenant's retention period now (the server also does it hourly).

    Example:

        context-course serve purge
    """
    with _service(store, master_key_file) as service:
        purged = service.purge_expired()
    typer.echo(f"purged {sum(purged.values())} history row(s) in {len(purged)} tenant(s)")


@serve_app.command("master-key")
def master_key() -> None:
    """Print a new random master key (for CONTEXT_SERVICE_MASTER_KEY or a key file).

    Example:

        context-course serve master-key > /etc/context-service/master.key
    """
    typer.echo(new_master_key())
