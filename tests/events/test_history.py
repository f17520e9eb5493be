"""GET /api/posts/<id>/events: the audit trail of one post, also after it was deleted."""

from __future__ import annotations

import uuid

from gateway.models import AttemptOutcome, Integration, Post, PostStatus, PublishAttempt
from tests.conftest import Tenant
from tests.events.sse import emit


async def _post(tenant: Tenant) -> Post:
    account = await Integration.create(workspace_id=tenant.id, platform="twitter", external_id="1", handle="acme")
    return await Post.create(workspace_id=tenant.id, integration_id=account.id, text="hi",
                             status=PostStatus.PUBLISHED, source="mcp")


async def test_history_lists_events_and_attempts(client, runtime, tenant: Tenant):
    post = await _post(tenant)
    await emit(runtime, tenant.id, "post.created", post_id=post.id, payload={"source": "mcp"})
    await emit(runtime, tenant.id, "post.publishing", post_id=post.id)
    await PublishAttempt.create(post_id=post.id, number=1, outcome=AttemptOutcome.RETRY,
                                error_code="transient_error", error_message="X answered 503")
    await PublishAttempt.create(post_id=post.id, number=2, outcome=AttemptOutcome.PUBLISHED)
    await emit(runtime, tenant.id, "post.published", post_id=post.id, payload={"externalUrl": "https://x.test/1"})
    await emit(runtime, tenant.id, "post.created", post_id=uuid.uuid4())  # another post's

    response = await client.get(f"/api/posts/{post.id}/events", headers=tenant.headers)
    body = await response.get_json()
    assert response.status_code == 200, body
    assert body["source"] == "mcp" and body["deleted"] is False
    assert body["post"]["id"] == str(post.id)
    assert [e["type"] for e in body["events"]] == ["post.created", "post.publishing", "post.published"]
    assert body["events"][-1]["externalUrl"] == "https://x.test/1"
    assert [(a["number"], a["outcome"]) for a in body["attempts"]] == [(1, "retry"), (2, "published")]
    assert body["attempts"][0]["error"] == {"code": "transient_error", "message": "X answered 503"}


async def test_history_outlives_the_post(client, runtime, tenant: Tenant):
    post = await _post(tenant)
    await emit(runtime, tenant.id, "post.created", post_id=post.id, payload={"source": "mcp"})
    await emit(runtime, tenant.id, "post.deleted", post_id=post.id)
    await post.delete()
    body = await (await client.get(f"/api/posts/{post.id}/events", headers=tenant.headers)).get_json()
    assert body["deleted"] is True and body["post"] is None and body["source"] == "mcp"
    assert [e["type"] for e in body["events"]] == ["post.created", "post.deleted"]


async def test_history_of_another_workspace_or_nothing_is_404(client, runtime, tenant: Tenant, other_tenant: Tenant):
    post = await _post(tenant)
    await emit(runtime, tenant.id, "post.created", post_id=post.id)
    for ref in (str(post.id), str(uuid.uuid4()), "not-a-uuid"):
        response = await client.get(f"/api/posts/{ref}/events", headers=other_tenant.headers)
        assert response.status_code == 404, ref
        assert (await response.get_json())["error"]["code"] == "not_found"
    assert (await client.get(f"/api/posts/{post.id}/events")).status_code == 401
