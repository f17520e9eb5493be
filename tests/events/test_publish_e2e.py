"""End to end: POST /api/posts, the real worker, the fake X, and what a connected client sees."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from saq import Worker

from tests.conftest import REDIS_URL, Tenant
from tests.events.sse import open_stream
from worker.main import build_worker

# SAQ 0.26 calls redis-py's deprecated setex when it finishes a job: not ours
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")


@pytest.fixture
def base_env(base_env: dict[str, str]) -> dict[str, str]:
    return {**base_env, "GATEWAY_JOB_TIMEOUT": "5", "GATEWAY_RETRY_DELAY_MS": "20"}


@pytest.fixture
async def worker(runtime: Any, namespace: str) -> AsyncIterator[Worker[Any]]:
    """A real worker on the app's runtime, on a queue emptied of other tests' jobs."""
    redis = Redis.from_url(REDIS_URL)
    try:
        for pattern in (f"saq:{namespace}:*", f"saq:job:{namespace}:*"):
            keys = [key async for key in redis.scan_iter(match=pattern, count=1000)]
            if keys:
                await redis.delete(*keys)
    finally:
        await redis.aclose()
    worker = build_worker(runtime, concurrency=2, dequeue_timeout=0.2)
    worker.SIGNALS = []  # pytest owns this process's signals
    task = asyncio.create_task(worker.start())
    yield worker
    await worker.stop()
    await task


async def _create(client: Any, tenant: Tenant, account: Any, text: str) -> dict[str, Any]:
    response = await client.post("/api/posts", json={"text": text, "integrationIds": [str(account.id)]},
                                 headers=tenant.headers)
    body = await response.get_json()
    assert response.status_code == 201, body
    post: dict[str, Any] = body["posts"][0]
    return post


async def test_a_published_post_streams_created_publishing_published(client, tenant, fake_x, twitter_account, worker):
    async with open_stream(client, f"/api/events?integrationId={twitter_account.id}",
                           headers=tenant.headers) as stream:
        post = await _create(client, tenant, twitter_account, "Hello from the stream")
        created, publishing, published = await stream.events(3, timeout=20)
    assert [created.event, publishing.event, published.event] == ["post.created", "post.publishing", "post.published"]
    assert created.id < publishing.id < published.id
    assert {m.data["postId"] for m in (created, publishing, published)} == {post["id"]}
    [tweet] = fake_x.tweets
    assert published.data["status"] == "PUBLISHED"
    assert published.data["externalId"] == tweet.id
    assert published.data["externalUrl"].endswith(f"/status/{tweet.id}")

    history = await (await client.get(f"/api/posts/{post['id']}/events", headers=tenant.headers)).get_json()
    assert history["source"] == "api"
    assert [e["id"] for e in history["events"]] == [created.id, publishing.id, published.id]
    assert [(a["number"], a["outcome"]) for a in history["attempts"]] == [(1, "published")]


async def test_a_refused_post_streams_the_platforms_error(client, tenant, fake_x, twitter_account, worker):
    fake_x.faults.inject("POST /2/tweets", "status", times=1, status=400, detail="Something was off.")
    async with open_stream(client, headers=tenant.headers) as stream:
        post = await _create(client, tenant, twitter_account, "Will be refused")
        messages = await stream.events(3, timeout=20)
    failed = messages[-1]
    assert failed.event == "post.failed" and failed.data["postId"] == post["id"]
    assert failed.data["status"] == "FAILED"
    assert failed.data["error"]["message"] == "Something was off."
    assert failed.data["error"]["code"]
