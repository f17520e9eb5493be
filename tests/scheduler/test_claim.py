"""Claiming due posts: what one claim transaction moves, records and enqueues."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.models import Event, Post, PostStatus
from scheduler.claim import describe_lateness, missed_message
from scheduler.loop import Scheduler
from tests.scheduler.conftest import InsertPosts, publishing_events, queued_keys


async def test_due_posts_go_to_publishing_with_an_event_and_a_job_keyed_by_post_id(runtime, insert_posts: InsertPosts):
    due = await insert_posts(3, due_in=-10, step=1)
    future = await insert_posts(2, due_in=3600)
    scheduler = Scheduler(runtime)

    claim = await scheduler.claim(100)
    await scheduler.enqueue(claim.publishing)

    assert [post.id for post in claim.publishing] == due  # oldest first
    assert await Post.filter(id__in=due, status=PostStatus.PUBLISHING).count() == 3
    assert await Post.filter(id__in=future, status=PostStatus.SCHEDULED).count() == 2
    assert await publishing_events(due) == {pid: 1 for pid in due}
    assert sorted(await queued_keys(runtime)) == sorted(str(pid) for pid in due)
    job = await runtime.queue.job(str(due[0]))
    assert job is not None and job.function == "PUBLISH_POST" and job.kwargs == {"post_id": str(due[0])}
    event = await Event.filter(post_id=due[0]).get()
    assert event.payload["status"] == "PUBLISHING"
    assert event.payload["scheduledFor"] is not None


async def test_nothing_due_claims_nothing(runtime, insert_posts: InsertPosts):
    await insert_posts(2, due_in=60)
    await insert_posts(2, due_in=-60, status="CANCELLED")
    await insert_posts(2, due_in=-60, status="PUBLISHED")
    scheduler = Scheduler(runtime)

    claim = await scheduler.claim(100)

    assert len(claim) == 0
    assert await Event.all().count() == 0
    assert await scheduler.next_due_in() == pytest.approx(60, abs=2)


async def test_a_claim_takes_at_most_a_batch_oldest_first(runtime, insert_posts: InsertPosts):
    ids = await insert_posts(25, due_in=-100, step=1)
    scheduler = Scheduler(runtime)

    first = await scheduler.claim(10)
    second = await scheduler.claim(10)
    third = await scheduler.claim(10)

    assert [p.id for p in first.publishing] == ids[:10]
    assert [p.id for p in second.publishing] == ids[10:20]
    assert [p.id for p in third.publishing] == ids[20:]


async def test_posts_later_than_the_max_lateness_fail_with_the_reason(runtime, insert_posts: InsertPosts):
    late = await insert_posts(1, due_in=-192.4)
    on_time = await insert_posts(1, due_in=-30)
    scheduler = Scheduler(runtime, max_lateness=60)

    claim = await scheduler.claim(100)
    await scheduler.enqueue(claim.publishing)

    failed = await Post.get(id=late[0])
    assert failed.status is PostStatus.FAILED
    assert failed.error_code == "missed_schedule"
    assert failed.error_message == "missed its time by 3 min 12 s (posts later than 1 min are not sent)"
    assert (await Post.get(id=on_time[0])).status is PostStatus.PUBLISHING
    assert await queued_keys(runtime) == [str(on_time[0])]
    event = await Event.filter(post_id=late[0]).get()
    assert event.type == "post.failed"
    assert event.payload["error"] == {"code": "missed_schedule", "message": failed.error_message}
    assert scheduler.stats.missed == 1 and scheduler.stats.claimed == 1


async def test_the_max_lateness_comes_from_the_settings(runtime, insert_posts: InsertPosts):
    runtime_settings = runtime.settings
    runtime.settings = runtime_settings.with_(max_lateness=5)
    try:
        scheduler = Scheduler(runtime)
    finally:
        runtime.settings = runtime_settings
    assert scheduler.max_lateness == 5
    assert Scheduler(runtime).max_lateness is None


async def test_events_are_streamed_after_commit(runtime, insert_posts: InsertPosts, tenant):
    ids = await insert_posts(2)
    stream = f"{runtime.settings.namespace}:events:{tenant.id}"
    before = await runtime.redis.xlen(stream)

    await Scheduler(runtime).claim(10)

    entries = await runtime.redis.xrange(stream)
    assert len(entries) - before == 2
    rows = await Event.filter(post_id__in=ids).order_by("id")
    assert [entry[1][b"id"].decode() for entry in entries[-2:]] == [str(row.id) for row in rows]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.4, "less than a second"), (45, "45 s"), (60, "1 min"), (192, "3 min 12 s"), (3600, "1 h"),
     (3725, "1 h 2 min"), (90061, "1 d 1 h"), (timedelta(days=3, seconds=5).total_seconds(), "3 d")],
)
def test_describe_lateness(seconds: float, text: str) -> None:
    assert describe_lateness(seconds) == text


def test_missed_message() -> None:
    assert missed_message(192, 120).startswith("missed its time by 3 min 12 s")
