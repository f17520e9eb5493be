"""Several schedulers at once, and requests racing with a claim: every post has one outcome."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg

from gateway.errors import Conflict
from gateway.models import Post, PostStatus
from gateway.posting import cancel_post, edit_post
from gateway.scoping import Scope
from scheduler.claim import claim_due
from scheduler.loop import Scheduler
from tests.scheduler.conftest import InsertPosts, eventually, publishing_events, queued_keys, statuses

CANCEL = "UPDATE post SET status = 'CANCELLED', updated_at = now() WHERE id = $1 AND status = 'SCHEDULED'"
RESCHEDULE = "UPDATE post SET scheduled_for = $2, updated_at = now() WHERE id = $1 AND status = 'SCHEDULED'"


async def _run_all(schedulers: list[Scheduler], until: Callable[[], Awaitable[bool]]) -> None:
    tasks = [asyncio.create_task(s.run()) for s in schedulers]
    try:
        await eventually(until, within=60)
    finally:
        for scheduler in schedulers:
            scheduler.stop()
        await asyncio.gather(*tasks)


async def test_three_schedulers_enqueue_each_of_3000_due_posts_exactly_once(runtime, insert_posts: InsertPosts):
    ids = await insert_posts(3000, due_in=0.3)  # all due at the same instant
    schedulers = [Scheduler(runtime, batch=100) for _ in range(3)]

    async def all_enqueued() -> bool:
        return sum(s.stats.enqueued for s in schedulers) >= 3000

    await _run_all(schedulers, all_enqueued)

    assert sum(s.stats.claimed for s in schedulers) == 3000
    assert sum(s.stats.already_queued for s in schedulers) == 0
    assert await statuses() == {"PUBLISHING": 3000}
    assert set((await publishing_events(ids)).values()) == {1}
    keys = await queued_keys(runtime)
    assert len(keys) == 3000 and set(keys) == {str(pid) for pid in ids}


async def test_a_cancel_waiting_on_a_claim_loses_cleanly(runtime, insert_posts: InsertPosts, database_url: str):
    [pid] = await insert_posts(1)
    request = await asyncpg.connect(database_url)  # the post service, in another process
    try:
        async with runtime.events.transaction() as tx:
            claim = await claim_due(tx, 10, None)  # holds the row lock until the block ends
            cancel = asyncio.create_task(request.execute(CANCEL, pid))
            await asyncio.sleep(0.2)
            assert not cancel.done()  # waiting for the claim's lock
        assert await cancel == "UPDATE 0"  # the compare-and-set saw PUBLISHING: the API answers 409
    finally:
        await request.close()
    await Scheduler(runtime).enqueue(claim.publishing)
    assert (await Post.get(id=pid)).status is PostStatus.PUBLISHING
    assert await queued_keys(runtime) == [str(pid)]


async def test_a_claim_skips_a_post_being_cancelled(runtime, insert_posts: InsertPosts, database_url: str):
    [pid] = await insert_posts(1)
    scheduler = Scheduler(runtime)
    request = await asyncpg.connect(database_url)
    try:
        async with request.transaction():
            assert await request.execute(CANCEL, pid) == "UPDATE 1"
            claim = await scheduler.claim(10)  # skips the locked row, does not wait
            assert len(claim) == 0
    finally:
        await request.close()
    assert await scheduler.next_due_in() is None
    assert (await Post.get(id=pid)).status is PostStatus.CANCELLED
    assert await queued_keys(runtime) == []
    assert await publishing_events([pid]) == {pid: 0}


async def test_a_claim_does_not_take_a_post_rescheduled_meanwhile(
    runtime, insert_posts: InsertPosts, database_url: str
):
    [pid] = await insert_posts(1)
    later = datetime.now(UTC) + timedelta(hours=1)
    request = await asyncpg.connect(database_url)
    try:
        async with request.transaction():
            assert await request.execute(RESCHEDULE, pid, later) == "UPDATE 1"
            assert len(await Scheduler(runtime).claim(10)) == 0
    finally:
        await request.close()
    assert len(await Scheduler(runtime).claim(10)) == 0  # the committed time is in the future
    post = await Post.get(id=pid)
    assert post.status is PostStatus.SCHEDULED and post.scheduled_for == later


async def test_cancels_and_reschedules_racing_with_two_schedulers_end_in_one_outcome(
    runtime, insert_posts: InsertPosts, tenant
):
    """The post service's cancel and reschedule, at the due instant, against two schedulers' claims."""
    ids = await insert_posts(400, due_in=0.3)
    scope = Scope(tenant.id)
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()

    async def request(i: int, pid: uuid.UUID) -> str | None:
        """The state the request moved the post to, or None when it lost (409)."""
        try:
            if i % 2:
                await cancel_post(runtime, scope, pid)
                return "CANCELLED"
            await edit_post(runtime, scope, pid, {"scheduledFor": later})
            return "SCHEDULED"
        except Conflict as exc:
            assert exc.code in ("not_cancellable", "not_editable"), exc
            return None

    schedulers = [Scheduler(runtime, batch=20) for _ in range(2)]
    tasks = [asyncio.create_task(s.run()) for s in schedulers]
    order = list(ids)
    random.Random(5).shuffle(order)
    won: dict[uuid.UUID, str] = {}
    try:
        await asyncio.sleep(0.25)  # requests arrive around the due time, while the claims run
        for start in range(0, len(order), 20):
            chunk = order[start:start + 20]
            results = await asyncio.gather(*(request(i, pid) for i, pid in enumerate(chunk)))
            won.update((pid, state) for pid, state in zip(chunk, results, strict=True) if state)
        await eventually(lambda: _settled(ids), within=30)
    finally:
        for scheduler in schedulers:
            scheduler.stop()
        await asyncio.gather(*tasks)

    posts = {post.id: post for post in await Post.filter(id__in=ids)}
    events = await publishing_events(ids)
    keys = await queued_keys(runtime)
    assert len(keys) == len(set(keys))
    for pid in ids:
        post = posts[pid]
        if pid in won:  # the request won: never claimed
            assert post.status.value == won[pid], pid
            assert events[pid] == 0 and str(pid) not in keys, pid
        else:  # the claim won: the request was answered 409
            assert post.status is PostStatus.PUBLISHING, pid
            assert events[pid] == 1 and str(pid) in keys, pid
    assert sum(s.stats.claimed for s in schedulers) == len(ids) - len(won)


async def _settled(ids: list[uuid.UUID]) -> bool:
    cutoff = datetime.now(UTC) + timedelta(minutes=1)
    return not await Post.filter(id__in=ids, status=PostStatus.SCHEDULED, scheduled_for__lt=cutoff).exists()
