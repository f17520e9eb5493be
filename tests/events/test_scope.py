"""Only the caller's workspace, and only what the filters ask for."""

from __future__ import annotations

import uuid

from tests.conftest import Tenant
from tests.events.sse import emit, open_stream


async def test_two_workspaces_never_see_each_others_events(client, runtime, tenant: Tenant, other_tenant: Tenant):
    async with (
        open_stream(client, headers=tenant.headers) as mine,
        open_stream(client, headers=other_tenant.headers) as theirs,
    ):
        a1 = await emit(runtime, tenant.id, "post.created")
        b1 = await emit(runtime, other_tenant.id, "post.created")
        a2 = await emit(runtime, tenant.id, "post.published")
        b2 = await emit(runtime, other_tenant.id, "post.failed")
        got_mine = await mine.events(2)
        got_theirs = await theirs.events(2)
        assert (await mine.next()).comments == ["keepalive"]
        assert (await theirs.next()).comments == ["keepalive"]
    assert [m.id for m in got_mine] == [a1.id, a2.id]
    assert [m.id for m in got_theirs] == [b1.id, b2.id]


async def test_filter_by_post_integration_and_type(client, runtime, tenant: Tenant):
    post_a, post_b, account = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    base = "/api/events?lastEventId=0"
    async with (
        open_stream(client, f"/api/events?postId={post_a}", headers=tenant.headers) as by_post,
        open_stream(client, f"/api/events?integrationId={account}", headers=tenant.headers) as by_account,
        open_stream(client, "/api/events?type=post.published,post.failed", headers=tenant.headers) as by_type,
    ):
        await emit(runtime, tenant.id, "post.created", post_id=post_b)
        await emit(runtime, tenant.id, "integration.connected", integration_id=account)
        a_done = await emit(runtime, tenant.id, "post.published", post_id=post_a,
                            payload={"integrationId": str(account)})
        (post_event,) = await by_post.events(1)
        account_events = await by_account.events(2)
        (type_event,) = await by_type.events(1)
    assert post_event.id == a_done.id
    assert [m.event for m in account_events] == ["integration.connected", "post.published"]
    assert type_event.id == a_done.id
    # the same filters apply to a replay from the table
    async with open_stream(client, f"{base}&postId={post_a}&postId={post_b}", headers=tenant.headers) as replay:
        replayed = await replay.events(2)
        assert (await replay.next()).comments == ["keepalive"]
    assert [m.event for m in replayed] == ["post.created", "post.published"]


async def test_malformed_filters_are_400_not_500(client, tenant: Tenant):
    for query in ("postId=nope", "integrationId=123", f"postId={uuid.uuid4()},bad"):
        response = await client.get(f"/api/events?{query}", headers=tenant.headers)
        assert response.status_code == 400, query
        assert (await response.get_json())["error"]["code"] == "invalid_filter"
