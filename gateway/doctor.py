"""``gateway doctor``: each line says ok, or what to fix."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from gateway import db
from gateway.errors import GatewayError
from gateway.plugins import PluginHost
from gateway.settings import PREFIX, Settings


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


async def diagnose(settings: Settings) -> list[Check]:
    checks: list[Check] = []
    checks.extend(_keys(settings))
    checks.extend(_plugins(settings))
    database = await _database(settings)
    checks.extend(database)
    if database and database[0].ok:
        checks.extend(await _after_database(settings))
    checks.append(await _redis(settings))
    return checks


def _keys(settings: Settings) -> list[Check]:
    if not settings.encryption_keys:
        return [Check("encryption keys", False, f"set {PREFIX}ENCRYPTION_KEYS (`gateway crypto genkey` makes one)")]
    ids = ", ".join(key.key_id for key in settings.encryption_keys)
    return [Check("encryption keys", True, f"{len(settings.encryption_keys)} key(s): {ids}; "
                  f"{settings.encryption_keys[0].key_id} encrypts")]


def _plugins(settings: Settings) -> list[Check]:
    try:
        host = PluginHost.from_settings(settings)
    except GatewayError as exc:
        return [Check("plugins", False, exc.message)]
    if not host.platforms:
        return [Check("plugins", False, "no platform plugin installed (pip install ./plugins/twitter ...)")]
    checks = []
    for name in sorted(host.platforms):
        status = host.status(name)
        detail = "configured" if status.configured else f"set {', '.join(status.missing)}"
        checks.append(Check(f"plugin {name}", status.configured, detail))
    return checks


async def _database(settings: Settings) -> list[Check]:
    from gateway.runtime import check_database

    if not settings.database_url:
        return [Check("database", False, f"set {PREFIX}DATABASE_URL (or use `gateway up`, which embeds one)")]
    try:
        await check_database(settings.database_url)
    except GatewayError as exc:
        return [Check("database", False, exc.message)]
    return [Check("database", True, "reachable")]


async def _after_database(settings: Settings) -> list[Check]:
    url = settings.require_database()
    checks = []
    try:
        pending = await db.pending_migrations(url)
    except Exception as exc:  # reported as a failed check, with the reason
        return [Check("migrations", False, f"cannot read migration state: {exc}")]
    checks.append(
        Check("migrations", not pending, "current" if not pending else
              f"{len(pending)} pending: run `gateway migrate`")
    )
    if not pending and settings.encryption_keys:
        checks.append(await _stored_key_ids(settings))
    return checks


async def _stored_key_ids(settings: Settings) -> Check:
    """Every key id used by a stored secret must be configured, or those secrets are lost."""
    from gateway.vault import SECRET_FIELDS

    await db.init_db(settings.require_database(), pool_max=1)
    try:
        used: set[str] = set()
        for model, field in SECRET_FIELDS:
            table = model._meta.db_table
            _, rows = await db.connection().execute_query(
                f'SELECT DISTINCT split_part("{field}", \'.\', 2) AS kid FROM "{table}" WHERE "{field}" IS NOT NULL'
            )
            used.update(row["kid"] for row in rows)
    finally:
        await db.close_db()
    configured = {key.key_id for key in settings.encryption_keys}
    missing = used - configured
    if missing:
        return Check("stored secrets", False, f"encrypted with unconfigured key(s) {', '.join(sorted(missing))}: "
                     f"add them back to {PREFIX}ENCRYPTION_KEYS")
    old = used - {settings.encryption_keys[0].key_id}
    detail = "all readable" + (f"; run `gateway crypto rotate` to retire {', '.join(sorted(old))}" if old else "")
    return Check("stored secrets", True, detail)


async def _redis(settings: Settings) -> Check:
    from gateway.runtime import redis_client

    if not settings.redis_url:
        return Check("redis", False, f"set {PREFIX}REDIS_URL (or use `gateway up`, which embeds one)")
    client = redis_client(settings.redis_url, max_connections=2)
    try:
        await asyncio.wait_for(client.ping(), 11)
    except Exception as exc:  # reported as a failed check, with the reason
        return Check("redis", False, f"cannot reach Redis: {exc or type(exc).__name__}")
    finally:
        await client.aclose()
    return Check("redis", True, "reachable")
