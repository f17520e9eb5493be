"""Database connection and migrations (Tortoise ORM + aerich).

``register_tortoise`` from ``tortoise.contrib.quart`` is broken on
tortoise-orm 1.1 ("No TortoiseContext is currently active"), so the gateway
initialises Tortoise itself with the global fallback on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tortoise import Tortoise, connections

MIGRATIONS = Path(__file__).parent / "migrations"
APP = "models"


def tortoise_config(database_url: str, *, pool_max: int = 10) -> dict[str, Any]:
    url = database_url.replace("postgresql://", "postgres://", 1)
    if url.startswith("postgres://"):
        url = "asyncpg://" + url[len("postgres://"):]
    return {
        "connections": {"default": {"engine": "tortoise.backends.asyncpg", "credentials": _credentials(url, pool_max)}},
        "apps": {APP: {"models": ["gateway.models", "aerich.models"], "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def _credentials(url: str, pool_max: int) -> dict[str, Any]:
    from tortoise.backends.base.config_generator import expand_db_url

    creds: dict[str, Any] = expand_db_url(url)["credentials"]
    creds.setdefault("minsize", 1)
    creds["maxsize"] = pool_max
    return creds


async def init_db(database_url: str, *, pool_max: int = 10) -> None:
    await Tortoise.init(config=tortoise_config(database_url, pool_max=pool_max), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


def connection() -> Any:
    return connections.get("default")


async def pending_migrations(database_url: str) -> list[str]:
    """Migration files not applied yet (empty when the schema is current)."""
    from aerich import Command

    async with Command(tortoise_config(database_url), app=APP, location=str(MIGRATIONS)) as command:
        await command.init()
        return await command.heads()


async def migrate(database_url: str) -> list[str]:
    """Apply every pending migration; returns the ones applied. Idempotent."""
    from aerich import Command

    async with Command(tortoise_config(database_url), app=APP, location=str(MIGRATIONS)) as command:
        await command.init()
        return await command.upgrade(run_in_transaction=True)


def migration_files() -> list[str]:
    """The migration files shipped with the gateway, oldest first."""
    files = [p.name for p in (MIGRATIONS / APP).glob("*.py") if p.stem.split("_")[0].isdigit()]
    return sorted(files, key=lambda name: int(name.split("_")[0]))


async def pending_in_connection() -> list[str]:
    """Like :func:`pending_migrations`, on the already open connection."""
    try:
        _, rows = await connection().execute_query("SELECT version FROM aerich WHERE app = $1", [APP])
    except Exception as exc:  # no aerich table yet: nothing applied
        if "aerich" not in str(exc):
            raise
        rows = []
    applied = {row["version"] for row in rows}
    return [name for name in migration_files() if name not in applied]
