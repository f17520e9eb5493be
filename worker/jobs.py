"""The ``PUBLISH_POST`` SAQ job, its heartbeat, and the re-enqueue of a retry.

A retry cannot be enqueued from inside the job: SAQ refuses a job whose key
(the post id) is still queued or active, and ``enqueue`` returns None, so the
retry would be silently swallowed. The job instead records ``retry_at`` on the
post (committed) and leaves the time in its context; :func:`requeue` runs as
SAQ's ``after_process`` hook, after the job is marked complete and its key
freed, and enqueues the retry for that time. If the worker dies in between,
the post is PUBLISHING with ``retry_at`` and no live job: the scheduler's
sweep enqueues it.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from saq.job import Job

from gateway.posting import enqueue
from gateway.runtime import PUBLISH_POST, Runtime
from worker.pipeline import run_publish

log = logging.getLogger(__name__)

__all__ = ["PUBLISH_POST", "publish_post", "requeue"]

#: SAQ promotes delayed jobs once a second; a shorter wait is slept in place instead
SCHEDULE_GRANULARITY = 1.0


@asynccontextmanager
async def heartbeat(job: Job | None) -> AsyncIterator[None]:
    """Touch the job while it runs, so SAQ's sweep does not take a slow publish for a dead one.

    SAQ only counts a job as alive while it is touched within ``heartbeat``
    seconds, and it does not touch it by itself.
    """
    if job is None or not job.heartbeat:
        yield
        return
    interval = max(job.heartbeat / 3, 0.5)

    async def beat() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await job.update()
            except (RedisError, OSError) as exc:
                log.warning("could not touch job %s (%s); SAQ may sweep it as stuck", job.key, exc)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def publish_post(ctx: dict[str, Any], *, post_id: str) -> str:
    """PUBLISH_POST: idempotent; does nothing unless the post is PUBLISHING."""
    rt: Runtime = ctx["runtime"]
    async with heartbeat(ctx.get("job")):
        again = await run_publish(rt, post_id, ctx["worker_id"])
    if again is None:
        return "done"
    ctx["requeue_at"] = again
    return f"again at {again.isoformat()}"


async def requeue(ctx: dict[str, Any]) -> None:
    """``after_process``: enqueue the retry the job asked for, now that its key is free."""
    at: datetime | None = ctx.pop("requeue_at", None)
    job: Job | None = ctx.get("job")
    if at is None or job is None:
        return
    rt: Runtime = ctx["runtime"]
    post_id = (job.kwargs or {})["post_id"]
    delay = (at - datetime.now(UTC)).total_seconds()
    scheduled = 0.0
    if delay >= SCHEDULE_GRANULARITY:
        scheduled = math.ceil(at.timestamp())  # never before the retry time (SAQ keeps whole seconds)
    elif delay > 0:
        await asyncio.sleep(delay)
    if not await enqueue(rt, post_id, scheduled=scheduled):
        log.warning("post %s: its retry could not be queued now; the sweep will queue it", post_id)
