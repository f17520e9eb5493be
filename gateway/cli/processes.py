"""Long-running commands: serve, worker, scheduler, up, sandbox."""

from __future__ import annotations

import sys

import click

from gateway.cli.base import cli, run, settings_from


@cli.command()
@click.option("--host", default=None, help="Interface to bind (default GATEWAY_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default GATEWAY_PORT or 8080).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run the HTTP API, OAuth callbacks, event stream and dashboard."""
    from gateway.server import serve_gateway

    settings = settings_from(ctx)
    settings.require_database()
    settings.require_redis()
    settings.require_keys()
    run(serve_gateway(settings, host or settings.host, port if port is not None else settings.port))


@cli.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run a worker that publishes queued posts (PUBLISH_POST jobs)."""
    from worker.main import run_worker

    run_worker(settings_from(ctx))


@cli.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Run the scheduler that hands due posts to the workers."""
    from scheduler.main import run_scheduler

    run_scheduler(settings_from(ctx))


@cli.command()
@click.option("--host", default=None, help="Interface for the HTTP server.")
@click.option("--port", type=int, default=None, help="Port for the HTTP server.")
@click.pass_context
def up(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run everything on this machine: gateway, worker and scheduler.

    Without GATEWAY_DATABASE_URL or GATEWAY_REDIS_URL it starts a private
    PostgreSQL and Redis under the data directory and stops them on exit.
    """
    from gateway.launcher import launch

    sys.exit(launch(settings_from(ctx), host=host, port=port))


@cli.command()
@click.option("--port", type=int, default=8700, show_default=True, help="First port; one per fake platform.")
@click.option("--env", "env_only", is_flag=True, help="Only print the settings that point at the fakes.")
@click.pass_context
def sandbox(ctx: click.Context, port: int, env_only: bool) -> None:
    """Serve fake platforms on loopback, to connect and post without real accounts.

    In another terminal: eval "$(gateway sandbox --env)" && gateway up
    """
    from gateway.sandbox import run_sandbox, sandbox_env

    settings = settings_from(ctx)
    if env_only:
        for name, value in sandbox_env(settings, port).items():
            click.echo(f"export {name}={value}")
        return
    run(run_sandbox(settings, port, echo=click.echo))


