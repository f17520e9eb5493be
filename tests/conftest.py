"""Shared fixtures: a private database and Redis namespace per test session,
the real app through ``test_app()``, and workspaces with API keys.

PostgreSQL and Redis are the real servers (GATEWAY_TEST_DATABASE_URL, by
default the local one; GATEWAY_TEST_REDIS_URL likewise). Each session creates
its own database and drops it at the end; each test starts from empty tables.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from gateway import db
from gateway.app import create_app
from gateway.settings import Settings, generate_key_spec

ADMIN_URL = os.environ.get("GATEWAY_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
KEY_SPEC = generate_key_spec("test1")
TABLES = ("event", "publish_attempt", "post", "integration", "oauth_state", "api_key", "workspace")


def _url_for(database: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database for this test session, migrated, dropped at the end."""
    name = f"gateway_test_{os.getpid()}_{secrets.token_hex(3)}"

    async def create() -> None:
        conn = await asyncpg.connect(ADMIN_URL)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        await db.migrate(_url_for(name))

    async def drop() -> None:
        conn = await asyncpg.connect(ADMIN_URL)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(create())
    yield _url_for(name)
    asyncio.run(drop())


@pytest.fixture(scope="session")
def namespace() -> Iterator[str]:
    """A Redis key prefix (and queue name) for this session, deleted at the end."""
    ns = f"gwtest-{secrets.token_hex(4)}"
    yield ns

    async def clean() -> None:
        client = Redis.from_url(REDIS_URL)
        try:
            for pattern in (f"{ns}:*", f"saq:{ns}:*", f"saq:job:{ns}:*"):
                async for key in client.scan_iter(match=pattern, count=1000):
                    await client.delete(key)
        finally:
            await client.aclose()

    asyncio.run(clean())


@pytest.fixture
def base_env(database_url: str, namespace: str) -> dict[str, str]:
    """The environment a gateway process of this session gets."""
    return {
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_REDIS_URL": REDIS_URL,
        "GATEWAY_ENCRYPTION_KEYS": KEY_SPEC,
        "GATEWAY_NAMESPACE": namespace,
        "GATEWAY_PLUGINS": "twitter,linkedin",
        "GATEWAY_PUBLIC_URL": "http://gateway.test",
    }


@pytest.fixture
def settings(base_env: dict[str, str]) -> Settings:
    return Settings.from_env(base_env)


async def _truncate(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture
async def clean_db(database_url: str) -> None:
    await _truncate(database_url)


@pytest.fixture
async def app(settings: Settings, clean_db: None) -> AsyncIterator[Any]:
    """The real app, started (``before_serving`` ran): use ``app.test_client()``."""
    quart_app = create_app(settings)
    async with quart_app.test_app() as test_app:
        yield test_app


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runtime(app: Any) -> Any:
    """The started app's runtime (database, Redis, queue, plugins, vault)."""
    return app.app.extensions["gateway.runtime"]


@dataclass
class Tenant:
    workspace: Any
    key: str

    @property
    def id(self) -> uuid.UUID:
        workspace_id: uuid.UUID = self.workspace.id
        return workspace_id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def make_tenant(name: str) -> Tenant:
    from gateway.apikeys import create_key
    from gateway.models import Workspace

    workspace = await Workspace.create(name=name)
    _, key = await create_key(workspace, "test")
    return Tenant(workspace, key)


@pytest.fixture
async def tenant(app: Any) -> Tenant:
    return await make_tenant("acme")


@pytest.fixture
async def other_tenant(app: Any) -> Tenant:
    return await make_tenant("globex")
