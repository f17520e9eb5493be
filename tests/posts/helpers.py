"""Small helpers of the posts tests: requests, and waiting for a condition without timing it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from gateway.models import Event, Post, PublishAttempt

T = TypeVar("T")


async def wait_for(probe: Callable[[], Awaitable[T]], *, timeout: float = 20.0, interval: float = 0.05,
                   what: str = "the condition") -> T:
    """Poll ``probe`` until it returns something truthy; fail with its last answer after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last saw {value!r}")
        await asyncio.sleep(interval)


async def wait_status(post_id: Any, *statuses: str, timeout: float = 20.0) -> Post:
    """The post once it is in one of ``statuses``."""

    async def probe() -> Post | None:
        post = await Post.get_or_none(id=post_id)
        return post if post is not None and post.status.value in statuses else None

    async def last() -> str:
        post = await Post.get_or_none(id=post_id)
        return f"{post.status.value}: {post.error_code} {post.error_message}" if post else "no post"

    try:
        return await wait_for(probe, timeout=timeout, what=f"post {post_id} to be {'/'.join(statuses)}")
    except AssertionError as exc:
        raise AssertionError(f"{exc} (it is {await last()})") from None


async def create(client: Any, tenant: Any, *, headers: dict[str, str] | None = None, **body: Any) -> Any:
    return await client.post("/api/posts", json=body, headers={**tenant.headers, **(headers or {})})


async def create_one(client: Any, tenant: Any, integration: Any, text: str, **body: Any) -> dict[str, Any]:
    """Create a post for one integration; assert 201; its JSON."""
    response = await create(client, tenant, text=text, integrationIds=[str(integration.id)], **body)
    payload = await response.get_json()
    assert response.status_code == 201, payload
    post: dict[str, Any] = payload["posts"][0]
    return post


async def event_types(post_id: Any) -> list[str]:
    return list(await Event.filter(post_id=post_id).order_by("id").values_list("type", flat=True))


async def attempts(post_id: Any) -> list[PublishAttempt]:
    return list(await PublishAttempt.filter(post_id=post_id).order_by("number"))


def in_hours(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()
