"""POST /api/posts and POST /api/posts/validate: what is stored, what is refused, idempotency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

from gateway.models import Event, Post
from tests.conftest import connect_twitter
from tests.posts.helpers import create, event_types, in_hours


async def _problems(response) -> list[dict]:
    body = await response.get_json()
    assert response.status_code == 422, body
    assert body["error"]["code"] == "validation_failed"
    return body["error"]["details"]


async def test_now_makes_one_publishing_post_per_integration_and_queues_them(
    client, tenant, runtime, twitter_account, linkedin_account
):
    response = await create(client, tenant, text="Hello from the gateway",
                            integrationIds=[str(twitter_account.id), str(linkedin_account.id)])
    body = await response.get_json()
    assert response.status_code == 201, body
    posts = body["posts"]
    assert [p["integrationId"] for p in posts] == [str(twitter_account.id), str(linkedin_account.id)]
    assert {p["status"] for p in posts} == {"PUBLISHING"}
    assert {p["groupId"] for p in posts} == {body["groupId"]}
    assert {p["source"] for p in posts} == {"api"}
    for post in posts:
        assert await event_types(post["id"]) == ["post.created", "post.publishing"]
        job = await runtime.queue.job(post["id"])  # keyed by the post id
        assert job is not None and job.kwargs == {"post_id": post["id"]}


async def test_a_future_time_with_an_offset_is_scheduled_not_queued(client, tenant, runtime, twitter_account):
    when = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    offset = timezone(timedelta(hours=-5))
    response = await create(client, tenant, text="Later", integrationIds=[str(twitter_account.id)],
                            scheduledFor=when.astimezone(offset).isoformat())
    body = await response.get_json()
    assert response.status_code == 201, body
    post = body["posts"][0]
    assert post["status"] == "SCHEDULED"
    assert datetime.fromisoformat(post["scheduledFor"]) == when
    assert await event_types(post["id"]) == ["post.created", "post.scheduled"]
    assert await runtime.queue.job(post["id"]) is None


async def test_a_local_time_with_an_iana_zone_is_read_in_that_zone(client, tenant, twitter_account):
    year = datetime.now(UTC).year + 1
    response = await create(client, tenant, text="Bonjour", integrationIds=[str(twitter_account.id)],
                            scheduledFor=f"{year}-01-15T09:30:00", timeZone="Europe/Paris")
    body = await response.get_json()
    assert response.status_code == 201, body
    post = body["posts"][0]
    assert post["timeZone"] == "Europe/Paris"
    assert post["scheduledFor"] == f"{year}-01-15T09:30:00+01:00"  # shown in the zone it was given in
    stored = await Post.get(id=post["id"])
    assert stored.scheduled_for == datetime(year, 1, 15, 8, 30, tzinfo=UTC)


async def test_times_that_cannot_be_read_exactly_are_refused(client, tenant, twitter_account):
    year = datetime.now(UTC).year + 1
    target = [str(twitter_account.id)]
    cases = [
        ({"scheduledFor": f"{year}-01-15T09:30:00"}, "missing_offset"),
        ({"scheduledFor": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}, "in_past"),
        ({"scheduledFor": f"{year}-03-29T02:30:00", "timeZone": "Europe/Paris"}, "nonexistent_time"),
        ({"scheduledFor": f"{year}-10-25T02:30:00", "timeZone": "Europe/Paris"}, "ambiguous_time"),
        ({"scheduledFor": f"{year}-01-15T09:30:00", "timeZone": "Mars/Olympus"}, "unknown_time_zone"),
        ({"scheduledFor": f"{year}-01-15"}, "invalid_time"),
        ({"scheduledFor": "tomorrow at nine"}, "invalid_time"),
        ({"scheduledFor": 1767225600}, "invalid_type"),
    ]
    # the last Sunday of March/October is when Europe/Paris changes; pick the right day for that year
    for extra, code in cases:
        if code in ("nonexistent_time", "ambiguous_time"):
            month = 3 if code == "nonexistent_time" else 10
            day = max(d for d in range(25, 32) if datetime(year, month, d).weekday() == 6)
            extra = {**extra, "scheduledFor": f"{year}-{month:02d}-{day:02d}T02:30:00"}
        problems = await _problems(await create(client, tenant, text="When?", integrationIds=target, **extra))
        assert [(p["field"], p["code"]) for p in problems] == [
            ("timeZone" if code == "unknown_time_zone" else "scheduledFor", code)
        ], (extra, problems)
        assert problems[0]["message"]
    assert await Post.all().count() == 0


async def test_x_counts_weighted_length(client, tenant, twitter_account):
    target = [str(twitter_account.id)]
    url = "https://example.com/" + "a" * 200  # any URL weighs 23
    fits = ["a" * 280, "字" * 140, "😀" * 140, f"{'a' * 256} {url}"]
    for text in fits:
        response = await client.post("/api/posts/validate", json={"text": text, "integrationIds": target},
                                     headers=tenant.headers)
        assert response.status_code == 200, (text[:20], await response.get_json())
    too_long = ["a" * 281, "字" * 141, "😀" * 141, f"{'a' * 257} {url}"]
    for text in too_long:
        problems = await _problems(await create(client, tenant, text=text, integrationIds=target))
        assert [(p["integrationId"], p["field"], p["code"]) for p in problems] == [
            (str(twitter_account.id), "text", "too_long")
        ]
        assert "280" in problems[0]["message"]
    assert await Post.all().count() == 0


async def test_problems_are_reported_per_integration(client, tenant, twitter_account, linkedin_account):
    both = [str(twitter_account.id), str(linkedin_account.id)]
    problems = await _problems(await create(client, tenant, text="b" * 500, integrationIds=both))
    assert [(p["integrationId"], p["code"]) for p in problems] == [(str(twitter_account.id), "too_long")]
    assert (await client.post("/api/posts/validate", json={"text": "c" * 3000, "integrationIds": [both[1]]},
                              headers=tenant.headers)).status_code == 200
    problems = await _problems(await create(client, tenant, text="c" * 3001, integrationIds=both))
    assert {(p["integrationId"], p["code"]) for p in problems} == {
        (str(twitter_account.id), "too_long"), (str(linkedin_account.id), "too_long")}
    assert await Post.all().count() == 0


async def test_empty_text_and_too_many_thread_parts(client, tenant, twitter_account, linkedin_account):
    both = [str(twitter_account.id), str(linkedin_account.id)]
    problems = await _problems(await create(client, tenant, text="   ", integrationIds=both))
    assert [(p["integrationId"], p["field"], p["code"]) for p in problems] == [(None, "text", "empty")]
    thread = [f"part {n}" for n in range(2, 28)]  # 27 parts: X takes 25, LinkedIn 10
    problems = await _problems(await create(client, tenant, text="head", thread=thread, integrationIds=both))
    assert {(p["integrationId"], p["field"], p["code"]) for p in problems} == {
        (str(twitter_account.id), "thread", "too_many_parts"), (str(linkedin_account.id), "thread", "too_many_parts")}
    problems = await _problems(await create(client, tenant, text="head", thread=["ok", ""], integrationIds=both))
    assert [(p["field"], p["code"]) for p in problems] == [("thread[1]", "empty")]


async def test_integrations_must_be_the_callers_and_active(
    client, tenant, other_tenant, fake_x, twitter_account
):
    theirs = await connect_twitter(client, other_tenant, fake_x)
    assert theirs.workspace_id == other_tenant.id
    problems = await _problems(await create(
        client, tenant, text="hi", integrationIds=[str(theirs.id), "4f0c2a7e-0000-4000-8000-000000000000"]))
    assert [(p["integrationId"], p["field"], p["code"]) for p in problems] == [
        (str(theirs.id), "integrationIds[0]", "unknown_integration"),
        ("4f0c2a7e-0000-4000-8000-000000000000", "integrationIds[1]", "unknown_integration")]
    problems = await _problems(await create(client, tenant, text="hi", integrationIds=["not-an-id"]))
    assert [(p["field"], p["code"]) for p in problems] == [("integrationIds[0]", "unknown_integration")]
    twitter_account.status = "refresh_needed"
    twitter_account.status_reason = "token revoked"
    await twitter_account.save()
    problems = await _problems(await create(client, tenant, text="hi", integrationIds=[str(twitter_account.id)]))
    assert [p["code"] for p in problems] == ["integration_inactive"]
    assert "reconnected" in problems[0]["message"]
    assert await Post.all().count() == 0


async def test_bad_input_gets_a_clear_4xx_and_stores_nothing(client, tenant, twitter_account):
    target = [str(twitter_account.id)]
    raw = await client.post("/api/posts", data="{not json", headers={**tenant.headers,
                                                                      "Content-Type": "application/json"})
    assert raw.status_code == 400 and (await raw.get_json())["error"]["code"] == "invalid_json"
    listed = await client.post("/api/posts", json=["text"], headers=tenant.headers)
    assert listed.status_code == 400
    problems = await _problems(await create(client, tenant, text=42, integrationIds=target, thread="x",
                                            options=[1], source="fax"))
    assert {(p["field"], p["code"]) for p in problems} == {
        ("text", "invalid_type"), ("thread", "invalid_type"), ("options", "invalid_type"), ("source", "invalid_value")}
    problems = await _problems(await create(client, tenant, text="typo", integrationIds=target,
                                            scheduled_for=in_hours(1)))
    assert [(p["field"], p["code"]) for p in problems] == [("scheduled_for", "unknown_field")]
    problems = await _problems(await create(client, tenant, text="who?"))
    assert [(p["field"], p["code"]) for p in problems] == [("integrationIds", "required")]
    problems = await _problems(await create(client, tenant, text="who?", integrationIds=[]))
    assert [p["code"] for p in problems] == ["invalid_type"]
    unauthenticated = await client.post("/api/posts", json={"text": "x", "integrationIds": target})
    assert unauthenticated.status_code == 401
    assert await Post.all().count() == 0
    assert await Event.filter(type__startswith="post.").count() == 0


async def test_validate_checks_everything_and_stores_nothing(client, tenant, runtime, twitter_account):
    body = {"text": "dry run", "integrationIds": [str(twitter_account.id)], "scheduledFor": in_hours(3)}
    response = await client.post("/api/posts/validate", json=body, headers=tenant.headers)
    payload = await response.get_json()
    assert response.status_code == 200, payload
    assert payload["valid"] is True
    assert payload["posts"][0]["status"] == "SCHEDULED"
    bad = await client.post("/api/posts/validate", json={**body, "scheduledFor": "2020-01-01T00:00:00Z"},
                            headers=tenant.headers)
    assert [p["code"] for p in await _problems(bad)] == ["in_past"]
    assert await Post.all().count() == 0


async def test_source_is_the_door_unless_an_api_key_says_mcp(client, tenant, twitter_account):
    response = await create(client, tenant, text="from an assistant", integrationIds=[str(twitter_account.id)],
                            source="mcp")
    assert (await response.get_json())["posts"][0]["source"] == "mcp"


async def test_idempotency_key_replays_the_same_posts_and_refuses_another_body(
    client, tenant, runtime, twitter_account
):
    body = {"text": "exactly once", "integrationIds": [str(twitter_account.id)]}
    key = {"Idempotency-Key": "order-1234"}
    first = await create(client, tenant, headers=key, **body)
    assert first.status_code == 201
    original = (await first.get_json())["posts"]
    events_before = await Event.all().count()
    again = await client.post("/api/posts", json=dict(reversed(list(body.items()))),  # same body, other key order
                              headers={**tenant.headers, **key})
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [p["id"] for p in (await again.get_json())["posts"]] == [p["id"] for p in original]
    assert await Post.all().count() == 1
    assert await Event.all().count() == events_before  # nothing new happened, nothing new queued
    other = await create(client, tenant, headers=key, text="another text", integrationIds=body["integrationIds"])
    assert other.status_code == 409
    assert (await other.get_json())["error"]["code"] == "idempotency_key_reused"
    assert await Post.all().count() == 1


async def test_concurrent_duplicates_create_once(client, tenant, twitter_account, linkedin_account):
    body = {"text": "raced", "integrationIds": [str(twitter_account.id), str(linkedin_account.id)]}
    responses = await asyncio.gather(*(
        create(client, tenant, headers={"Idempotency-Key": "race"}, **body) for _ in range(6)))
    assert [r.status_code for r in responses] == [201] * 6
    ids = {tuple(p["id"] for p in (await r.get_json())["posts"]) for r in responses}
    assert len(ids) == 1
    assert await Post.all().count() == 2
    assert await Event.filter(type="post.created").count() == 2


async def test_one_answer_lists_problems_of_shape_time_and_platform(client, tenant, twitter_account):
    year = datetime.now(UTC).year + 1
    problems = await _problems(await create(client, tenant, text="x" * 300, integrationIds=[str(twitter_account.id)],
                                            scheduledFor=f"{year}-01-01T10:00:00", colour="blue"))
    assert {(p["field"], p["code"]) for p in problems} == {
        ("colour", "unknown_field"), ("scheduledFor", "missing_offset"), ("text", "too_long")}
