"""The ``gateway`` command line."""

from __future__ import annotations

import sys

import click

from gateway.cli import admin, processes
from gateway.cli.base import EXIT_CONFIG, cli
from gateway.errors import GatewayError
from gateway.settings import Settings

__all__ = ["admin", "cli", "main", "processes"]


def main() -> None:
    """Entry point: add the plugins' commands, then run the group."""
    from gateway.plugins import create_plugin_manager

    try:
        settings = Settings.from_env()
        create_plugin_manager(settings.plugins).hook.gateway_register_commands(cli=cli)
    except GatewayError as exc:
        click.secho(f"error: {exc.message}", fg="red", err=True)
        sys.exit(EXIT_CONFIG)
    cli(prog_name="gateway")
