"""The worker with a third-party plugin that cannot reconcile, or that fails in ways nobody planned.

The plugin is an object registered next to the bundled ones (the app's
plugin host takes extras): no HTTP, a script of what its publish does.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest

from gateway import hookimpl
from gateway.app import create_app
from gateway.errors import OutcomeUnknown
from gateway.models import Integration
from gateway.plugins import PluginHost
from gateway.types import Credentials, Draft, PlatformContext, PlatformInfo, Problem, PublishRequest, PublishResult
from tests.posts.helpers import attempts, create_one, wait_status


class Scripted:
    """Platform "scripted": each publish does the next step of ``script`` ("ok", "lost", "crash")."""

    def __init__(self) -> None:
        self.script: list[str] = []
        self.published: list[str] = []

    @hookimpl
    def gateway_platforms(self) -> list[PlatformInfo]:
        return [PlatformInfo(name="scripted", title="Scripted", auth_kind="oauth2", max_length=100,
                             supports_threads=False)]

    @hookimpl
    def gateway_validate(self, draft: Draft) -> list[Problem]:
        return []

    @hookimpl
    def gateway_publish(self, ctx: PlatformContext, credentials: Credentials,
                        request: PublishRequest) -> Awaitable[PublishResult] | None:
        return self.publish(request) if ctx.platform == "scripted" else None

    async def publish(self, request: PublishRequest) -> PublishResult:
        step = self.script.pop(0) if self.script else "ok"
        if step == "lost":
            self.published.append(request.text)
            raise OutcomeUnknown("The connection broke after the request was sent.")
        if step == "crash":
            self.published.append(request.text)
            raise KeyError("id")  # a bug after the platform answered: the post is out
        self.published.append(request.text)
        number = len(self.published)
        return PublishResult(external_id=str(number), url=f"https://scripted.example/{number}")


@pytest.fixture
def scripted() -> Scripted:
    return Scripted()


@pytest.fixture
async def app(settings: Any, clean_db: None, scripted: Scripted) -> AsyncIterator[Any]:
    quart_app = create_app(settings, plugins=PluginHost.from_settings(settings, extra=[scripted]))
    async with quart_app.test_app() as test_app:
        yield test_app


@pytest.fixture
async def account(runtime: Any, tenant: Any) -> Integration:
    integration_id = uuid.uuid4()
    return await Integration.create(
        id=integration_id, workspace_id=tenant.id, platform="scripted", external_id="u1", handle="someone",
        credentials=runtime.vault.seal_credentials(integration_id, Credentials({"token": "t"})),
    )


@pytest.mark.parametrize("step", ["lost", "crash"])
async def test_without_reconcile_an_unknown_outcome_is_left_to_the_user(
    client, tenant, scripted, account, worker, step
):
    scripted.script = [step]
    post = await create_one(client, tenant, account, "Did it go out?")
    unknown = await wait_status(post["id"], "UNKNOWN")
    assert "Scripted offers no way to look" in unknown.error_message
    assert "Check the account @someone" in unknown.error_message
    assert scripted.published == ["Did it go out?"]  # never sent twice on its own
    [attempt] = await attempts(post["id"])
    assert attempt.outcome == "unknown"

    response = await client.post(f"/api/posts/{post['id']}/retry", headers=tenant.headers)
    assert response.status_code == 202  # the user looked: it is not there
    done = await wait_status(post["id"], "PUBLISHED")
    assert done.external_url == "https://scripted.example/2"
    assert [a.outcome for a in await attempts(post["id"])] == ["unknown", "published"]
