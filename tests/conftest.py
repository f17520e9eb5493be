"""Shared fixtures: a private database and Redis namespace per test session,
the real app through ``test_app()``, and workspaces with API keys.

PostgreSQL and Redis are the real servers (GATEWAY_TEST_DATABASE_URL, by
default the local one; GATEWAY_TEST_REDIS_URL likewise). Each session creates
its own database and drops it at the end; each test starts from empty tables.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
from gateway_linkedin.fake import FakeLinkedIn, create_fake_linkedin
from gateway_twitter.fake import FakeX, create_fake_x
from redis.asyncio import Redis

from gateway import db
from gateway.app import create_app
from gateway.plugins import PluginHost
from gateway.settings import Settings, generate_key_spec
from gateway.testing import AppSlot, serve_asgi

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


@pytest.fixture(scope="session")
async def fake_servers() -> AsyncIterator[dict[str, tuple[AppSlot, str]]]:
    """One loopback server per platform for the session; each test puts a fresh fake in."""
    slots = {"twitter": AppSlot(), "linkedin": AppSlot()}
    async with serve_asgi(slots["twitter"]) as x_url, serve_asgi(slots["linkedin"]) as li_url:
        yield {"twitter": (slots["twitter"], x_url), "linkedin": (slots["linkedin"], li_url)}


@pytest.fixture
def base_env(database_url: str, namespace: str, fake_servers: dict[str, tuple[AppSlot, str]]) -> dict[str, str]:
    """The environment a gateway process of this session gets: the plugins point at the fakes."""
    env = {
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_REDIS_URL": REDIS_URL,
        "GATEWAY_ENCRYPTION_KEYS": KEY_SPEC,
        "GATEWAY_NAMESPACE": namespace,
        "GATEWAY_PLUGINS": "twitter,linkedin",
        "GATEWAY_PUBLIC_URL": "http://gateway.test",
    }
    host = PluginHost.from_settings(Settings.from_env(env))
    for box in host.sandboxes():
        env.update(box.settings_for(fake_servers[box.platform][1]))
    return env


def _in_slot(fake_servers: dict[str, tuple[AppSlot, str]], platform: str, fake: Any) -> Iterator[Any]:
    slot, url = fake_servers[platform]
    fake.url = url
    slot.app = fake.app
    yield fake
    fake.faults.clear()
    slot.app = None


@pytest.fixture
def fake_x(fake_servers: dict[str, tuple[AppSlot, str]]) -> Iterator[FakeX]:
    """A fresh fake X behind the session's X server; ``.url`` is its base URL."""
    yield from _in_slot(fake_servers, "twitter", create_fake_x())


@pytest.fixture
def fake_linkedin(fake_servers: dict[str, tuple[AppSlot, str]]) -> Iterator[FakeLinkedIn]:
    """A fresh fake LinkedIn behind the session's LinkedIn server; ``.url`` is its base URL."""
    yield from _in_slot(fake_servers, "linkedin", create_fake_linkedin())


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


async def connect_twitter(client: Any, tenant: Tenant, fake: FakeX, *, user: str | None = None) -> Any:
    """Connect an X account through the real flow: gateway -> fake X's page -> callback."""
    response = await client.get("/api/auth/twitter", headers=tenant.headers)
    assert response.status_code == 200, await response.get_data(as_text=True)
    authorize_url = (await response.get_json())["authorizeUrl"]
    token = parse_qs(urlsplit(authorize_url).query)["oauth_token"][0]
    async with httpx.AsyncClient() as http:
        page = await http.get(authorize_url)
        assert page.status_code == 200, page.text
        form = {"oauth_token": token, "action": "authorize"}
        if user:
            form["user"] = user
        decision = await http.post(f"{fake.url}/oauth/authorize", data=form)  # type: ignore[attr-defined]
    return await follow_callback(client, decision)


async def connect_linkedin(client: Any, tenant: Tenant, fake: FakeLinkedIn, *, member: str | None = None) -> Any:
    """Connect a LinkedIn member through the real flow: gateway -> consent page -> callback."""
    response = await client.get("/api/auth/linkedin", headers=tenant.headers)
    assert response.status_code == 200, await response.get_data(as_text=True)
    authorize_url = (await response.get_json())["authorizeUrl"]
    async with httpx.AsyncClient() as http:
        page = await http.get(authorize_url)
        assert page.status_code == 200, page.text
        request_id = re.search(r"name='request_id' value='([^']+)'", page.text)
        assert request_id, page.text
        form = {"request_id": request_id.group(1), "action": "allow"}
        if member:
            form["member"] = member
        decision = await http.post(f"{fake.url}/oauth/v2/authorization/decision", data=form)  # type: ignore[attr-defined]
    return await follow_callback(client, decision)


async def follow_callback(client: Any, decision: httpx.Response) -> Any:
    """Take the platform's redirect back to the gateway, as the browser would."""
    from gateway.models import Integration

    assert decision.status_code in (302, 303), decision.text
    location = urlsplit(decision.headers["location"])
    callback = await client.get(f"{location.path}?{location.query}")
    assert callback.status_code == 302, await callback.get_data(as_text=True)
    assert callback.headers["location"] == "/dashboard"
    return await Integration.all().order_by("-updated_at").first()


@pytest.fixture
async def twitter_account(client: Any, tenant: Tenant, fake_x: FakeX) -> Any:
    """An X account of ``tenant``, connected through the real OAuth 1.0a flow."""
    return await connect_twitter(client, tenant, fake_x)


@pytest.fixture
async def linkedin_account(client: Any, tenant: Tenant, fake_linkedin: FakeLinkedIn) -> Any:
    """A LinkedIn member of ``tenant``, connected through the real OAuth 2.0 flow."""
    return await connect_linkedin(client, tenant, fake_linkedin)
