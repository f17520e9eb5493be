"""Listing, showing, editing, rescheduling, cancelling, retrying and deleting posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.models import Event, Post, PostStatus
from tests.conftest import connect_twitter
from tests.posts.helpers import create_one, event_types, in_hours


async def _scheduled(client, tenant, account, text="scheduled", hours=2.0, **body):
    return await create_one(client, tenant, account, text, scheduledFor=in_hours(hours), **body)


async def _set(post_id, **fields):
    await Post.filter(id=post_id).update(**fields)


async def test_list_filters_and_pages_with_a_cursor(client, tenant, twitter_account, linkedin_account):
    made = []
    for n in range(5):
        made.append(await _scheduled(client, tenant, twitter_account, f"x {n}", hours=n + 1))
    made.append(await _scheduled(client, tenant, linkedin_account, "li", hours=10))
    await _set(made[0]["id"], status=PostStatus.FAILED)

    seen, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/posts", query_string=query, headers=tenant.headers)
        page = await response.get_json()
        assert response.status_code == 200, page
        assert len(page["posts"]) <= 2
        seen += [p["id"] for p in page["posts"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == [p["id"] for p in reversed(made)]  # newest first, nothing skipped or repeated

    async def ids(**query):
        response = await client.get("/api/posts", query_string=query, headers=tenant.headers)
        body = await response.get_json()
        assert response.status_code == 200, body
        return {p["id"] for p in body["posts"]}

    assert await ids(status="FAILED") == {made[0]["id"]}
    assert await ids(status="scheduled,failed") == {p["id"] for p in made}
    assert await ids(integrationId=str(linkedin_account.id)) == {made[5]["id"]}
    window = {"scheduledAfter": in_hours(1.5), "scheduledBefore": in_hours(3.5)}
    assert await ids(**window) == {made[1]["id"], made[2]["id"]}
    assert await ids(createdAfter=(datetime.now(UTC) + timedelta(minutes=1)).isoformat()) == set()
    for bad in ({"limit": "101"}, {"limit": "zero"}, {"status": "DONE"}, {"cursor": "garbage"},
                {"createdAfter": "2026-01-01T00:00:00"}, {"integrationId": "nope"}, {"colour": "red"}):
        response = await client.get("/api/posts", query_string=bad, headers=tenant.headers)
        assert response.status_code == 400, bad


async def test_a_post_is_only_visible_to_its_workspace(client, tenant, other_tenant, twitter_account):
    post = await _scheduled(client, tenant, twitter_account)
    for method, path in (("GET", ""), ("PATCH", ""), ("POST", "/cancel"), ("POST", "/retry"), ("DELETE", "")):
        response = await client.open(f"/api/posts/{post['id']}{path}", method=method,
                                     json={"text": "mine now"} if method == "PATCH" else None,
                                     headers=other_tenant.headers)
        assert response.status_code == 404, (method, path)
    listing = await client.get("/api/posts", headers=other_tenant.headers)
    assert (await listing.get_json())["posts"] == []
    assert (await client.get("/api/posts/not-a-uuid", headers=tenant.headers)).status_code == 404
    assert (await Post.get(id=post["id"])).text == "scheduled"


async def test_get_shows_attempts_and_the_last_error(client, tenant, twitter_account):
    post = await _scheduled(client, tenant, twitter_account)
    response = await client.get(f"/api/posts/{post['id']}", headers=tenant.headers)
    body = await response.get_json()
    assert response.status_code == 200
    assert body["attempts"] == [] and body["lastError"] is None
    assert body["text"] == "scheduled" and body["partIds"] == []


async def test_edit_and_reschedule_a_scheduled_post(client, tenant, runtime, twitter_account):
    post = await _scheduled(client, tenant, twitter_account)
    year = datetime.now(UTC).year + 1
    response = await client.patch(f"/api/posts/{post['id']}", headers=tenant.headers, json={
        "text": "edited", "thread": ["and more"], "scheduledFor": f"{year}-07-01T08:00:00",
        "timeZone": "America/New_York"})
    body = await response.get_json()
    assert response.status_code == 200, body
    assert body["text"] == "edited" and body["thread"] == ["and more"]
    assert body["status"] == "SCHEDULED"
    assert body["scheduledFor"] == f"{year}-07-01T08:00:00-04:00"
    stored = await Post.get(id=post["id"])
    assert stored.scheduled_for == datetime(year, 7, 1, 12, 0, tzinfo=UTC)
    assert (await event_types(post["id"]))[-1] == "post.scheduled"
    assert await runtime.queue.job(post["id"]) is None

    bad = await client.patch(f"/api/posts/{post['id']}", headers=tenant.headers,
                             json={"text": "x" * 281, "scheduledFor": f"{year}-07-01T08:00:00"})
    problems = (await bad.get_json())["error"]["details"]
    assert bad.status_code == 422
    assert {p["code"] for p in problems} == {"too_long", "missing_offset"}
    nothing = await client.patch(f"/api/posts/{post['id']}", headers=tenant.headers, json={})
    assert nothing.status_code == 422
    moved = await client.patch(f"/api/posts/{post['id']}", headers=tenant.headers,
                               json={"integrationIds": [str(twitter_account.id)]})
    assert moved.status_code == 422
    assert (await Post.get(id=post["id"])).text == "edited"  # nothing lost by the refused edits


async def test_publish_now_through_patch(client, tenant, runtime, twitter_account):
    post = await _scheduled(client, tenant, twitter_account)
    response = await client.patch(f"/api/posts/{post['id']}", headers=tenant.headers, json={"scheduledFor": None})
    body = await response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "PUBLISHING" and body["scheduledFor"] is None
    assert await runtime.queue.job(post["id"]) is not None
    assert (await event_types(post["id"]))[-1] == "post.publishing"


async def test_edits_refused_once_the_post_left_scheduled(client, tenant, twitter_account):
    post = await _scheduled(client, tenant, twitter_account)
    for status in (PostStatus.PUBLISHING, PostStatus.PUBLISHED, PostStatus.CANCELLED):
        await _set(post["id"], status=status)  # as the scheduler's claim (or the worker) would
        response = await client.patch(f"/api/posts/{post['id']}", headers=tenant.headers, json={"text": "late"})
        assert response.status_code == 409, status
        assert (await response.get_json())["error"]["code"] == "not_editable"
    assert (await Post.get(id=post["id"])).text == "scheduled"


async def test_cancel(client, tenant, twitter_account):
    post = await _scheduled(client, tenant, twitter_account)
    response = await client.post(f"/api/posts/{post['id']}/cancel", headers=tenant.headers)
    assert response.status_code == 200
    assert (await response.get_json())["status"] == "CANCELLED"
    assert (await event_types(post["id"]))[-1] == "post.cancelled"
    again = await client.post(f"/api/posts/{post['id']}/cancel", headers=tenant.headers)
    assert again.status_code == 409
    publishing = await create_one(client, tenant, twitter_account, "now")
    refused = await client.post(f"/api/posts/{publishing['id']}/cancel", headers=tenant.headers)
    assert refused.status_code == 409  # in flight, no retry pending: it may be going out right now
    await _set(publishing["id"], retry_at=datetime.now(UTC) + timedelta(minutes=10))
    waiting = await client.post(f"/api/posts/{publishing['id']}/cancel", headers=tenant.headers)
    assert waiting.status_code == 200  # only waiting for a retry: nothing in flight


async def test_retry_only_failed_or_unknown(client, tenant, runtime, twitter_account):
    post = await _scheduled(client, tenant, twitter_account)
    refused = await client.post(f"/api/posts/{post['id']}/retry", headers=tenant.headers)
    assert refused.status_code == 409
    await _set(post["id"], status=PostStatus.FAILED, error_code="permanent_error", error_message="nope", failures=3)
    response = await client.post(f"/api/posts/{post['id']}/retry", headers=tenant.headers)
    body = await response.get_json()
    assert response.status_code == 202, body
    assert body["status"] == "PUBLISHING" and body["error"] is None
    assert (await Post.get(id=post["id"])).failures == 0
    assert await runtime.queue.job(post["id"]) is not None
    event = await Event.filter(post_id=post["id"]).order_by("-id").first()
    assert event.type == "post.publishing" and event.payload["retry"] is True


async def test_delete(client, tenant, twitter_account):
    post = await _scheduled(client, tenant, twitter_account)
    response = await client.delete(f"/api/posts/{post['id']}", headers=tenant.headers)
    assert response.status_code == 204
    assert await Post.get_or_none(id=post["id"]) is None
    assert (await event_types(post["id"]))[-1] == "post.deleted"  # the history outlives the post
    assert (await client.get(f"/api/posts/{post['id']}", headers=tenant.headers)).status_code == 404
    publishing = await create_one(client, tenant, twitter_account, "going out")
    refused = await client.delete(f"/api/posts/{publishing['id']}", headers=tenant.headers)
    assert refused.status_code == 409
    assert await Post.get_or_none(id=publishing["id"]) is not None
    bad_flag = await client.delete(f"/api/posts/{publishing['id']}?fromPlatform=maybe", headers=tenant.headers)
    assert bad_flag.status_code == 400


async def test_another_workspace_cannot_post_with_my_integration(client, tenant, other_tenant, fake_x):
    mine = await connect_twitter(client, tenant, fake_x)
    response = await client.post("/api/posts", headers=other_tenant.headers,
                                 json={"text": "hijack", "integrationIds": [str(mine.id)]})
    assert response.status_code == 422
    assert await Post.all().count() == 0
