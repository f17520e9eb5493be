"""Database connection and migrations (Tortoise ORM + aerich).

``register_tortoise`` from ``tortoise.contrib.quart`` is broken on
tortoise-orm 1.1 ("No TortoiseContext is currently active"), so the gateway
initialises Tortoise itself with the global fallback on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from tortoise import Tortoise, connections

MIGRATIONS = Path(__file__).parent / "migrations"
APP = "models"
T = TypeVar("T")


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


async def _with_aerich(database_url: str, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(command)`` with an aerich Command on its own fresh connection.

    aerich only initialises Tortoise when it believes nobody has, and a closed
    earlier context still counts; so the connection is opened here, explicitly.
    """
    from aerich import Command

    config = tortoise_config(database_url, pool_max=2)
    await Tortoise.init(config=config)
    try:
        command = Command(config, app=APP, location=str(MIGRATIONS))
        await command.init()
        return await work(command)
    finally:
        await Tortoise.close_connections()


async def pending_migrations(database_url: str) -> list[str]:
    """Migration files not applied yet (empty when the schema is current)."""
    heads: list[str] = await _with_aerich(database_url, lambda command: command.heads())
    return heads


async def migrate(database_url: str) -> list[str]:
    """Apply every pending migration; returns the ones applied. Idempotent."""
    applied: list[str] = await _with_aerich(database_url, lambda command: command.upgrade(run_in_transaction=True))
    return applied


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
