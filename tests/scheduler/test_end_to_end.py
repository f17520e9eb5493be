"""The seed's third workflow end to end: the API stores a post SCHEDULED, the
scheduler hands it over at its time, a worker publishes it on the fake X.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.models import Event, Post, PostStatus
from scheduler.claim import Claim
from scheduler.loop import Scheduler
from scheduler.sweep import Sweeper
from tests.conftest import Tenant
from tests.scheduler.conftest import eventually, running

BERLIN = ZoneInfo("Europe/Berlin")

# saq 0.26 finishes a job with redis-py's deprecated setex; as an error it would fail every job here
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")


async def _schedule(client, tenant: Tenant, account, **when: str) -> dict:
    body = {"text": f"scheduled {datetime.now(UTC).timestamp()}", "integrationIds": [str(account.id)], **when}
    response = await client.post("/api/posts", json=body, headers=tenant.headers)
    assert response.status_code == 201, await response.get_data(as_text=True)
    [post] = (await response.get_json())["posts"]
    return post


async def _published(post_id: str) -> Post | None:
    post = await Post.get(id=post_id)
    return post if post.status not in (PostStatus.SCHEDULED, PostStatus.PUBLISHING) else None


async def test_a_scheduled_post_goes_out_at_its_local_time_once(
    runtime, client, tenant: Tenant, twitter_account, fake_x, start_worker
):
    await start_worker()
    local = (datetime.now(BERLIN) + timedelta(seconds=1.5)).replace(tzinfo=None)  # wall-clock time, no offset
    async with running(Scheduler(runtime)):
        created = await _schedule(client, tenant, twitter_account,
                                  scheduledFor=local.isoformat(), timeZone="Europe/Berlin")
        assert created["status"] == "SCHEDULED"
        post = await eventually(lambda: _published(created["id"]), within=30)

    assert post.status is PostStatus.PUBLISHED, post.error_message
    assert post.scheduled_for == local.replace(tzinfo=BERLIN).astimezone(UTC)
    [tweet] = fake_x.tweets
    assert tweet.text == created["text"] and post.external_id == tweet.id
    events = [e.type for e in await Event.filter(post_id=post.id).order_by("id")]
    assert events[-2:] == ["post.publishing", "post.published"]
    claimed = await Event.get(post_id=post.id, type="post.publishing")
    assert claimed.created_at >= post.scheduled_for  # never early


@pytest.mark.parametrize(
    ("day", "offset", "utc_hour"),
    [("2027-03-28", "+02:00", 7),   # clocks go forward at 02:00 that morning: 09:00 is CEST
     ("2027-10-31", "+01:00", 8),   # clocks go back at 03:00 that morning: 09:00 is CET
     ("2027-03-27", "+01:00", 8)],  # the day before, for contrast
)
async def test_nine_in_berlin_on_the_days_the_clocks_change(
    runtime, client, tenant: Tenant, twitter_account, day: str, offset: str, utc_hour: int
):
    created = await _schedule(client, tenant, twitter_account,
                              scheduledFor=f"{day}T09:00:00", timeZone="Europe/Berlin")

    assert created["scheduledFor"] == f"{day}T09:00:00{offset}"  # the API answers with the offset
    instant = datetime.fromisoformat(f"{day}T{utc_hour:02d}:00:00+00:00")
    assert (await Post.get(id=created["id"])).scheduled_for == instant
    # the scheduler's sleep ends at that UTC instant: it is the earliest due time it sees
    before = datetime.now(UTC)
    wait = await Scheduler(runtime).next_due_in()
    after = datetime.now(UTC)
    assert (instant - after).total_seconds() - 1 <= wait <= (instant - before).total_seconds() + 1


async def test_a_scheduler_killed_between_claim_and_enqueue_still_publishes_once(
    runtime, client, tenant: Tenant, twitter_account, fake_x, start_worker
):
    await start_worker()
    created = await _schedule(client, tenant, twitter_account,
                              scheduledFor=(datetime.now(UTC) + timedelta(seconds=0.5)).isoformat())

    class Killed(Exception):
        pass

    async def die(claim: Claim) -> None:
        raise Killed

    with pytest.raises(Killed):
        await asyncio.wait_for(Scheduler(runtime, after_commit=die).run(), 10)
    assert (await Post.get(id=created["id"])).status is PostStatus.PUBLISHING  # claimed, never enqueued

    async with running(Scheduler(runtime, sweeper=Sweeper(runtime, stuck_after=0))) as survivor:
        post = await eventually(lambda: _published(created["id"]), within=30)
        assert await survivor.sweeper.sweep() == 0  # published: nothing left to sweep

    assert post.status is PostStatus.PUBLISHED, post.error_message
    assert [t.text for t in fake_x.tweets] == [created["text"]]  # exactly one publication
    assert await Event.filter(post_id=post.id, type="post.publishing").count() == 1


async def test_posts_that_fell_due_while_no_scheduler_ran_fail_past_the_max_lateness(
    runtime, client, tenant: Tenant, twitter_account, fake_x, start_worker
):
    await start_worker()
    late = await _schedule(client, tenant, twitter_account,
                           scheduledFor=(datetime.now(UTC) + timedelta(seconds=0.3)).isoformat())
    await Post.filter(id=late["id"]).update(scheduled_for=datetime.now(UTC) - timedelta(minutes=10))
    recent = await _schedule(client, tenant, twitter_account,
                             scheduledFor=(datetime.now(UTC) + timedelta(seconds=0.3)).isoformat())

    async with running(Scheduler(runtime, max_lateness=300)):
        failed = await eventually(lambda: _published(late["id"]), within=30)
        sent = await eventually(lambda: _published(recent["id"]), within=30)

    assert failed.status is PostStatus.FAILED and failed.error_code == "missed_schedule"
    assert failed.error_message.startswith("missed its time by 10 min")
    assert sent.status is PostStatus.PUBLISHED
    assert [t.text for t in fake_x.tweets] == [recent["text"]]
    response = await client.get(f"/api/posts/{late['id']}", headers=tenant.headers)
    assert (await response.get_json())["error"]["code"] == "missed_schedule"
