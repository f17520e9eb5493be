"""The loop: it sleeps until the next due time, wakes on the channel, catches up, stops between batches."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime, timedelta

import asyncpg

from gateway import db
from gateway.models import Post, PostStatus
from scheduler.claim import Claim
from scheduler.loop import LOCKED_RETRY, Scheduler
from tests.scheduler.conftest import InsertPosts, eventually, queued_keys, running, statuses


async def test_a_post_created_while_it_sleeps_wakes_it(runtime, insert_posts: InsertPosts):
    async with running(Scheduler(runtime, max_sleep=600, sweep_every=600)) as scheduler:
        await eventually(lambda: _sleeping(scheduler))  # nothing scheduled: asleep for ten minutes
        [pid] = await insert_posts(1, due_in=0.2)
        await runtime.wake_scheduler()  # what the post service does after scheduling
        await eventually(lambda: _has_jobs(runtime, 1))
    assert await queued_keys(runtime) == [str(pid)]


async def test_a_post_rescheduled_earlier_wakes_it(runtime, insert_posts: InsertPosts):
    [pid] = await insert_posts(1, due_in=3600)
    async with running(Scheduler(runtime, max_sleep=600, sweep_every=600)) as scheduler:
        await eventually(lambda: _sleeping(scheduler))
        soon = datetime.now(UTC) + timedelta(seconds=0.2)
        await Post.filter(id=pid, status=PostStatus.SCHEDULED).update(scheduled_for=soon)
        await runtime.wake_scheduler()
        await eventually(lambda: _has_jobs(runtime, 1))
    assert (await Post.get(id=pid)).status is PostStatus.PUBLISHING


async def test_it_is_not_claimed_before_its_time(runtime, insert_posts: InsertPosts):
    [pid] = await insert_posts(1, due_in=0.8)
    async with running(Scheduler(runtime)):
        await eventually(lambda: _has_jobs(runtime, 1))
    post = await Post.get(id=pid)
    rows = await db.connection().execute_query_dict(
        "SELECT created_at FROM event WHERE post_id = $1 AND type = 'post.publishing'", [pid]
    )
    assert rows[0]["created_at"] >= post.scheduled_for


async def test_after_downtime_the_backlog_goes_out_oldest_first(runtime, insert_posts: InsertPosts):
    ages = list(range(60))
    random.Random(7).shuffle(ages)  # inserted in no particular order
    for age in ages:  # fell due over the last half hour
        await insert_posts(1, due_in=-3600 + 30 * age)
    ids = [post.id for post in await Post.all().order_by("scheduled_for")]
    await insert_posts(3, due_in=3600)
    async with running(Scheduler(runtime, batch=7)):
        await eventually(lambda: _has_jobs(runtime, 60))
    keys = await queued_keys(runtime)
    for start in range(0, 60, 7):  # batch after batch, oldest first (a batch is enqueued concurrently)
        assert set(keys[start:start + 7]) == {str(pid) for pid in ids[start:start + 7]}
    rows = await db.connection().execute_query_dict(
        "SELECT post_id FROM event WHERE type = 'post.publishing' ORDER BY id"
    )
    assert [row["post_id"] for row in rows] == ids
    assert await statuses() == {"PUBLISHING": 60, "SCHEDULED": 3}


async def test_stop_ends_the_loop_after_the_batch_in_hand(runtime, insert_posts: InsertPosts):
    ids = await insert_posts(50, due_in=-10, step=0.1)
    scheduler: Scheduler

    async def stop_now(claim: Claim) -> None:
        scheduler.stop()  # SIGTERM arrives right after the first claim committed

    scheduler = Scheduler(runtime, batch=10, after_commit=stop_now)
    await asyncio.wait_for(scheduler.run(), 10)

    assert sorted(await queued_keys(runtime)) == sorted(str(pid) for pid in ids[:10])  # the claimed batch went out
    assert await statuses() == {"PUBLISHING": 10, "SCHEDULED": 40}


async def test_due_rows_held_by_another_transaction_are_retried_shortly(
    runtime, insert_posts: InsertPosts, database_url: str
):
    await insert_posts(1, due_in=-1)
    scheduler = Scheduler(runtime)
    other = await asyncpg.connect(database_url)  # another scheduler, in the middle of its claim
    try:
        async with other.transaction():
            await other.execute("SELECT id FROM post FOR UPDATE")
            waits = []
            for _ in range(3):
                started = time.monotonic()
                claim = await scheduler.claim(10)
                waits.append(None if len(claim) else await scheduler.next_due_in(started))
    finally:
        await other.close()
    assert waits == [LOCKED_RETRY] * 3  # neither a spin nor a long sleep
    assert len(await scheduler.claim(10)) == 1  # once released


async def _sleeping(scheduler: Scheduler) -> bool:
    return scheduler.sleeping


async def _has_jobs(runtime, count: int) -> bool:
    return len(await queued_keys(runtime)) >= count
