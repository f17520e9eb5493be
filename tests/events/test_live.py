"""A connected client receives every event of its workspace, in order, as it happens."""

from __future__ import annotations

import asyncio
import uuid

from tests.conftest import Tenant
from tests.events.sse import emit, open_stream


async def test_client_connected_before_a_publish_sees_publishing_then_published(client, runtime, tenant: Tenant):
    post_id = uuid.uuid4()
    integration_id = uuid.uuid4()
    async with open_stream(client, headers=tenant.headers) as stream:
        await emit(runtime, tenant.id, "post.publishing", post_id=post_id,
                   payload={"status": "PUBLISHING", "integrationId": str(integration_id)})
        await emit(runtime, tenant.id, "post.published", post_id=post_id,
                   payload={"status": "PUBLISHED", "integrationId": str(integration_id),
                            "externalUrl": "https://x.test/acme/status/1"})
        first, second = await stream.events(2)
    assert [first.event, second.event] == ["post.publishing", "post.published"]
    assert first.id < second.id
    assert first.data["id"] == first.id and second.data["id"] == second.id
    assert second.data["postId"] == str(post_id)
    assert second.data["integrationId"] == str(integration_id)
    assert second.data["status"] == "PUBLISHED"
    assert second.data["externalUrl"] == "https://x.test/acme/status/1"
    assert second.data["createdAt"]


async def test_events_of_one_transaction_arrive_in_order(client, runtime, tenant: Tenant):
    async with open_stream(client, headers=tenant.headers) as stream:
        async with runtime.events.transaction() as tx:
            for n in range(5):
                await tx.emit(tenant.id, "post.created", post_id=uuid.uuid4(), payload={"n": n})
        received = await stream.events(5)
    assert [m.data["n"] for m in received] == [0, 1, 2, 3, 4]
    ids = [m.id for m in received]
    assert ids == sorted(ids) and len(set(ids)) == 5


async def test_idle_stream_gets_keepalive_comments(client, tenant: Tenant):
    async with open_stream(client, headers=tenant.headers) as stream:
        message = await stream.next()
    assert not message.is_event
    assert message.comments == ["keepalive"]


async def test_stream_requires_authentication(client):
    response = await client.get("/api/events")
    assert response.status_code == 401
    assert (await response.get_json())["error"]["code"] == "unauthorized"
    response = await client.get("/api/events", headers={"Authorization": "Bearer gw_nope"})
    assert response.status_code == 401


async def test_dashboard_session_can_stream(client, runtime, tenant: Tenant):
    async with client.session_transaction() as session:
        session["workspace_id"] = str(tenant.id)
    async with open_stream(client) as stream:
        await emit(runtime, tenant.id, "integration.connected", integration_id=uuid.uuid4())
        (message,) = await stream.events(1)
    assert message.event == "integration.connected"


async def test_the_stream_outlives_quarts_response_timeout(app, client, runtime, tenant: Tenant):
    app.app.config["RESPONSE_TIMEOUT"] = 0.5  # Quart cuts a response after this unless it opts out
    async with open_stream(client, headers=tenant.headers) as stream:
        await asyncio.sleep(1.2)
        await emit(runtime, tenant.id, "post.published")
        (message,) = await stream.events(1)
    assert message.event == "post.published"
