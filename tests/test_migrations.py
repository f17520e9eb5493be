"""The committed migrations produce exactly the schema the models describe."""

from __future__ import annotations

import secrets

import asyncpg
from tortoise import Tortoise

from gateway import db
from tests.conftest import ADMIN_URL, _url_for

SCHEMA_QUERIES = {
    "columns": """
        SELECT table_name, column_name, data_type, is_nullable, character_maximum_length
        FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'aerich'
    """,
    "indexes": "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'aerich'",
    "constraints": """
        SELECT conrelid::regclass::text AS tbl, contype, pg_get_constraintdef(oid) AS def
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> 'aerich'
    """,
}


async def describe(url: str) -> dict[str, set[tuple[object, ...]]]:
    conn = await asyncpg.connect(url)
    try:
        return {name: {tuple(row) for row in await conn.fetch(sql)} for name, sql in SCHEMA_QUERIES.items()}
    finally:
        await conn.close()


async def test_migrations_match_the_models(database_url):
    name = f"gateway_models_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await Tortoise.init(config=db.tortoise_config(_url_for(name)))
        await Tortoise.generate_schemas()
        await Tortoise.close_connections()
        from_models = await describe(_url_for(name))
        from_migrations = await describe(database_url)
        for part in SCHEMA_QUERIES:
            assert from_migrations[part] == from_models[part], (
                f"{part} differ: only in migrations {from_migrations[part] - from_models[part]}, "
                f"only in models {from_models[part] - from_migrations[part]}; generate a migration"
            )
        assert from_models["indexes"], "the comparison saw no indexes at all"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_migrate_is_idempotent(database_url):
    assert await db.migrate(database_url) == []
    assert await db.pending_migrations(database_url) == []
