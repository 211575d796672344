"""``context-course cluster up``: a Dask scheduler and grading workers on this machine.

For trying cluster grading and for tests; on real machines run Dask's own ``dask
scheduler`` and ``dask worker`` (see the README, "Grading on a cluster").
"""

from __future__ import annotations

from typing import Annotated

import typer

from context_course.cli.app import UserError, app
from grader.pipeline.cluster import start_local_cluster

__all__ = ["cluster_app", "up"]

cluster_app = typer.Typer(
    name="cluster",
    help="Run a Dask grading cluster on this machine (for `grade --scheduler`).",
    no_args_is_help=True,
)
app.add_typer(cluster_app, name="cluster")


@cluster_app.command("up")
def up(
    workers: Annotated[
        int, typer.Option("--workers", help="Worker processes to start (one grading thread each).")
    ] = 2,
    port: Annotated[
        int, typer.Option("--port", help="The scheduler's port (0 = any free port).")
    ] = 8786,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to listen on; 127.0.0.1 keeps the cluster to this machine. Dask's "
            "TCP has no authentication: expose it only on a private network.",
        ),
    ] = "127.0.0.1",
    threads: Annotated[
        int, typer.Option("--threads", help="Grading threads per worker process.")
    ] = 1,
) -> None:
    """Start a Dask scheduler and N grading workers here; run until Ctrl-C.

    Prints the scheduler's address; grade on the cluster from another terminal with
    `grade --scheduler ADDRESS` (or `scheduler = "ADDRESS"` under \\[grader] in course.toml).
    Workers on other machines join with `dask worker ADDRESS`.

    Example: `context-course cluster up --workers 4` then
    `context-course grade submissions/ --scheduler tcp://127.0.0.1:8786`
    """
    if workers < 1:
        raise UserError("--workers must be at least 1")
    if threads < 1:
        raise UserError("--threads must be at least 1")
    if not 0 <= port <= 65535:
        raise UserError("--port must be between 0 and 65535")
    typer.echo(f"starting a Dask scheduler and {workers} worker(s) on {host}…", err=True)
    cluster = start_local_cluster(workers, host=host, port=port, threads_per_worker=threads)
    with cluster:
        typer.echo(f"scheduler: {cluster.address} ({workers} worker(s), {threads} thread(s) each)")
        typer.echo(f"grade on it: context-course grade SUBMISSIONS --scheduler {cluster.address}")
        typer.echo(f"more workers: dask worker {cluster.address} --nthreads 1")
        typer.echo("Ctrl-C stops the cluster.", err=True)
        try:
            status = cluster.wait()
        except KeyboardInterrupt:
            typer.echo("stopping the cluster…", err=True)
            return
        tail = cluster.log_tail()
    raise UserError(f"the Dask scheduler stopped unexpectedly (exit status {status}): {tail}")
