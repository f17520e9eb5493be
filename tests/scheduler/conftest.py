"""Fixtures of the scheduler tests: an empty job queue, an account to post to,
and posts inserted in bulk with SQL (thousands in a few milliseconds).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis
from saq import Worker

from gateway import db
from gateway.models import Integration
from gateway.runtime import Runtime
from scheduler.loop import Scheduler
from tests.conftest import REDIS_URL, Tenant

INSERT_POSTS = """
INSERT INTO post (id, group_id, text, thread, options, part_ids, status, source, scheduled_for,
                  created_at, updated_at, workspace_id, integration_id)
SELECT gen_random_uuid(), gen_random_uuid(), 'post ' || n, '[]', '{}', '[]', $1, 'api',
       now() + make_interval(secs => $2::float8 + (n - 1) * $3::float8), now(), now(), $4, $5
FROM generate_series(1, $6) AS n
RETURNING id
"""


@pytest.fixture(autouse=True)
async def empty_queue(namespace: str) -> None:
    """The session shares one queue name: start each test without jobs."""
    client = Redis.from_url(REDIS_URL)
    try:
        for pattern in (f"saq:{namespace}:*", f"saq:job:{namespace}:*", f"{namespace}:scheduler:*"):
            keys = [key async for key in client.scan_iter(match=pattern, count=1000)]
            if keys:
                await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def account(tenant: Tenant) -> Integration:
    return await Integration.create(
        workspace_id=tenant.id, platform="twitter", external_id="42", handle="acme", credentials=None
    )


InsertPosts = Callable[..., Awaitable[list[uuid.UUID]]]


@pytest.fixture
def insert_posts(account: Integration) -> InsertPosts:
    """``await insert_posts(n, due_in=-5, step=0.001, status="SCHEDULED")``: ids, oldest first."""

    async def insert(
        count: int, *, due_in: float = -1.0, step: float = 0.0, status: str = "SCHEDULED"
    ) -> list[uuid.UUID]:
        rows = await db.connection().execute_query_dict(
            INSERT_POSTS, [status, due_in, step, account.workspace_id, account.id, count]
        )
        return [row["id"] for row in rows]

    return insert


async def queued_keys(rt: Runtime) -> list[str]:
    """The job keys in the queue's list of jobs waiting for a worker, in order (duplicates kept)."""
    raw = await rt.queue.redis.lrange(f"saq:{rt.queue.name}:queued", 0, -1)  # type: ignore[attr-defined]
    return [rt.queue.job_key_from_id(item.decode()) for item in raw]  # type: ignore[attr-defined]


async def publishing_events(post_ids: list[uuid.UUID] | None = None) -> dict[uuid.UUID, int]:
    """How many post.publishing events each post has."""
    rows = await db.connection().execute_query_dict(
        "SELECT post_id, count(*) AS n FROM event WHERE type = 'post.publishing' GROUP BY post_id"
    )
    counts = {row["post_id"]: row["n"] for row in rows}
    return counts if post_ids is None else {pid: counts.get(pid, 0) for pid in post_ids}


async def statuses() -> dict[str, int]:
    rows = await db.connection().execute_query_dict("SELECT status, count(*) AS n FROM post GROUP BY status")
    return {row["status"]: row["n"] for row in rows}


async def eventually(check: Callable[[], Awaitable[Any]], *, within: float = 10.0, every: float = 0.02) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"condition not met after {within} s (last: {result!r})")
        await asyncio.sleep(every)


@pytest.fixture
async def start_worker(runtime: Runtime) -> AsyncIterator[Callable[..., Awaitable[Worker[Any]]]]:
    """``await start_worker()``: a real PUBLISH_POST worker on the app's runtime, stopped at teardown."""
    from worker.main import build_worker

    running: list[tuple[Worker[Any], asyncio.Task[None]]] = []

    async def start(concurrency: int = 5) -> Worker[Any]:
        worker = build_worker(runtime, concurrency=concurrency, dequeue_timeout=0.2)
        worker.SIGNALS = []  # pytest owns this process's signals
        running.append((worker, asyncio.create_task(worker.start())))
        return worker

    yield start
    for worker, task in running:
        await worker.stop()
        await task


@asynccontextmanager
async def running(scheduler: Scheduler) -> AsyncIterator[Scheduler]:
    """Run ``scheduler``'s loop (subscribed and ready) for the block; stop it cleanly after."""
    ready = asyncio.Event()
    task = asyncio.create_task(scheduler.run(ready=ready.set))
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiter}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()
    try:
        yield scheduler
    finally:
        scheduler.stop()
        await asyncio.wait_for(task, 30)
