"""The sweep: posts left in PUBLISHING with no job are enqueued again, once."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta

import pytest
from saq.job import Status

from gateway.models import Post, PostStatus
from scheduler.claim import Claim
from scheduler.loop import Scheduler
from scheduler.sweep import Sweeper
from tests.scheduler.conftest import InsertPosts, eventually, publishing_events, queued_keys


class Crash(Exception):
    """The scheduler dies right after its claim committed, before any enqueue."""


async def crash(claim: Claim) -> None:
    raise Crash


async def test_a_scheduler_killed_between_claim_and_enqueue_leaves_the_posts_to_the_sweep(
    runtime, insert_posts: InsertPosts
):
    ids = await insert_posts(30, due_in=-1)
    doomed = Scheduler(runtime, batch=50, after_commit=crash)
    with pytest.raises(Crash):
        await doomed.run()
    assert await Post.filter(id__in=ids, status=PostStatus.PUBLISHING).count() == 30
    assert await queued_keys(runtime) == []  # claimed, never enqueued

    sweeper = Sweeper(runtime, stuck_after=0)
    assert await sweeper.sweep() == 30
    assert await sweeper.sweep() == 0  # the jobs are queued now: nothing to do

    keys = await queued_keys(runtime)
    assert sorted(keys) == sorted(str(pid) for pid in ids)
    assert set((await publishing_events(ids)).values()) == {1}  # still one claim per post


async def test_the_next_scheduler_sweeps_on_start(runtime, insert_posts: InsertPosts):
    ids = await insert_posts(5, due_in=-1)
    with pytest.raises(Crash):
        await Scheduler(runtime, after_commit=crash).run()

    survivor = Scheduler(runtime, sweeper=Sweeper(runtime, stuck_after=0))
    task = asyncio.create_task(survivor.run())
    try:
        await eventually(lambda: _has_jobs(runtime, 5))
    finally:
        survivor.stop()
        await task
    assert survivor.stats.swept == 5 and survivor.stats.claimed == 0
    assert sorted(await queued_keys(runtime)) == sorted(str(pid) for pid in ids)


async def test_recent_posts_and_posts_with_a_live_job_are_left_alone(runtime, insert_posts: InsertPosts):
    await insert_posts(2, status="PUBLISHING")  # moved just now: its enqueue may be on its way
    queued = await insert_posts(2, status="PUBLISHING")
    await _age(queued, minutes=5)
    for pid in queued:
        assert await runtime.enqueue_publish(pid)

    assert await Sweeper(runtime, stuck_after=60).sweep() == 0
    assert sorted(await queued_keys(runtime)) == sorted(str(pid) for pid in queued)


@pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")  # saq 0.26 on redis-py 8
async def test_a_post_with_a_finished_job_but_still_publishing_is_enqueued_again(runtime, insert_posts: InsertPosts):
    [pid] = await insert_posts(1, status="PUBLISHING")
    await _age([pid], minutes=5)
    assert await runtime.enqueue_publish(pid)
    job = await runtime.queue.job(str(pid))
    await runtime.queue.finish(job, Status.FAILED, error="worker gave up")  # e.g. out of SAQ retries

    assert await Sweeper(runtime, stuck_after=60).sweep() == 1
    job = await runtime.queue.job(str(pid))
    assert job is not None and job.status == "queued"


async def test_a_delayed_retry_with_no_job_is_enqueued_for_its_time(runtime, insert_posts: InsertPosts):
    [pid] = await insert_posts(1, status="PUBLISHING")
    retry_at = datetime.now(UTC) + timedelta(minutes=10)
    await Post.filter(id=pid).update(retry_at=retry_at)
    await _age([pid], minutes=5)

    assert await Sweeper(runtime, stuck_after=60).sweep() == 1

    job = await runtime.queue.job(str(pid))
    assert job is not None and job.scheduled == math.ceil(retry_at.timestamp())
    assert await queued_keys(runtime) == []  # waiting in the schedule set, not handed to a worker yet
    assert await Sweeper(runtime, stuck_after=60).sweep() == 0  # the scheduled job counts as live


async def test_the_sweep_pages_through_many_stuck_posts(runtime, insert_posts: InsertPosts):
    ids = await insert_posts(120, status="PUBLISHING")
    await _age(ids, minutes=5)
    assert await Sweeper(runtime, stuck_after=60, page=50).sweep() == 120
    assert len(set(await queued_keys(runtime))) == 120


async def test_one_scheduler_sweeps_per_interval(runtime):
    first, second = Sweeper(runtime), Sweeper(runtime)
    assert await first.acquire_turn(30) is True
    assert await second.acquire_turn(30) is False


async def _age(ids: list, *, minutes: int) -> None:
    await Post.filter(id__in=ids).update(updated_at=datetime.now(UTC) - timedelta(minutes=minutes))


async def _has_jobs(runtime, count: int) -> bool:
    return len(await queued_keys(runtime)) >= count
