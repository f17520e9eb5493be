"""Administration commands: migrate, workspaces, keys, plugins, crypto, doctor."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from gateway import db
from gateway.cli.base import _with_db, cli, run, settings_from
from gateway.errors import GatewayError, NotFound
from gateway.settings import Settings, generate_key_spec


@cli.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Apply pending database migrations (safe to run again)."""
    settings = settings_from(ctx)

    async def main() -> list[str]:
        from gateway.runtime import check_database

        url = settings.require_database()
        await check_database(url)
        return await db.migrate(url)

    applied = run(main())
    click.echo(f"applied {len(applied)} migration(s): {', '.join(applied)}" if applied else "schema is current")


@cli.group()
def workspaces() -> None:
    """Manage workspaces (tenants)."""


@workspaces.command("create")
@click.argument("name")
@click.pass_context
def workspaces_create(ctx: click.Context, name: str) -> None:
    """Create a workspace named NAME."""
    from gateway.models import Workspace

    async def work() -> Workspace:
        if await Workspace.filter(name=name).exists():
            raise GatewayError(f"a workspace named {name!r} exists already")
        return await Workspace.create(name=name)

    row = _with_db(settings_from(ctx), work)
    click.echo(f"{row.id}  {row.name}")


@workspaces.command("list")
@click.pass_context
def workspaces_list(ctx: click.Context) -> None:
    """List workspaces."""
    from gateway.models import Workspace

    async def work() -> list[Workspace]:
        return await Workspace.all().order_by("created_at")

    for row in _with_db(settings_from(ctx), work):
        click.echo(f"{row.id}  {row.name}")


async def _workspace(ref: str) -> Any:
    import uuid

    from gateway.models import Workspace

    try:
        row = await Workspace.filter(id=uuid.UUID(ref)).first()
    except ValueError:
        row = await Workspace.filter(name=ref).first()
    if row is None:
        raise NotFound(f"no workspace {ref!r}")
    return row


@cli.group()
def keys() -> None:
    """Manage API keys. A key's secret is printed once, at creation."""


@keys.command("create")
@click.argument("workspace")
@click.option("--name", default="default", help="A label to recognise the key by.")
@click.pass_context
def keys_create(ctx: click.Context, workspace: str, name: str) -> None:
    """Create an API key for WORKSPACE (its id or name)."""
    from gateway.apikeys import create_key

    async def work() -> tuple[Any, str]:
        return await create_key(await _workspace(workspace), name)

    row, plaintext = _with_db(settings_from(ctx), work)
    click.echo(plaintext)
    click.echo(f"key {row.prefix} ({row.name}) created; the secret above is not shown again", err=True)


@keys.command("list")
@click.argument("workspace")
@click.pass_context
def keys_list(ctx: click.Context, workspace: str) -> None:
    """List the API keys of WORKSPACE."""
    from gateway.models import ApiKey

    async def work() -> list[ApiKey]:
        ws = await _workspace(workspace)
        return await ApiKey.filter(workspace_id=ws.id).order_by("created_at")

    for row in _with_db(settings_from(ctx), work):
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
        used = f"last used {row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never used"
        click.echo(f"{row.prefix}  {row.name}  {state}  {used}")


@keys.command("revoke")
@click.argument("prefix")
@click.pass_context
def keys_revoke(ctx: click.Context, prefix: str) -> None:
    """Revoke the API key whose public prefix is PREFIX."""
    from datetime import UTC, datetime

    from gateway.models import ApiKey

    async def work() -> int:
        return await ApiKey.filter(prefix=prefix, revoked_at__isnull=True).update(revoked_at=datetime.now(UTC))

    if not _with_db(settings_from(ctx), work):
        raise NotFound(f"no active key with prefix {prefix!r}")
    click.echo(f"key {prefix} revoked")


@cli.command("plugins")
@click.pass_context
def plugins_command(ctx: click.Context) -> None:
    """List installed plugins, their platforms, and whether each is configured."""
    from gateway.plugins import PluginHost

    host = PluginHost.from_settings(settings_from(ctx))
    if not host.platforms:
        click.echo("no platform plugins installed")
    for name in sorted(host.platforms):
        status = host.status(name)
        state = "configured" if status.configured else f"not configured: set {', '.join(status.missing)}"
        click.echo(f"{status.plugin:<12} {name:<12} {status.info.title:<16} {state}")


@cli.group()
def crypto() -> None:
    """Encryption keys for the secrets stored in the database."""


@crypto.command("genkey")
@click.option("--id", "key_id", default=None, help="Key id (default: k + today's date).")
def crypto_genkey(key_id: str | None) -> None:
    """Print a new key for GATEWAY_ENCRYPTION_KEYS (put it first to make it current)."""
    from datetime import UTC, datetime

    click.echo(generate_key_spec(key_id or datetime.now(UTC).strftime("k%Y%m%d")))


@crypto.command("rotate")
@click.pass_context
def crypto_rotate(ctx: click.Context) -> None:
    """Re-encrypt every stored secret with the first (newest) configured key."""
    from gateway.crypto import KeyRing
    from gateway.vault import Vault

    settings = settings_from(ctx)
    vault = Vault(KeyRing(settings.require_keys()))
    count = _with_db(settings, vault.rotate)
    click.echo(f"re-encrypted {count} secret(s) with key {vault.keyring.current.key_id!r}")


@cli.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check the database, Redis, migrations, plugin settings and encryption keys."""
    from gateway.doctor import diagnose

    settings: Settings = settings_from(ctx)
    failed = 0
    for check in asyncio.run(diagnose(settings)):
        mark = click.style(" ok ", fg="green") if check.ok else click.style("FAIL", fg="red")
        click.echo(f"{mark}  {check.name:<22} {check.detail}")
        failed += not check.ok
    if failed:
        ctx.exit(1)
