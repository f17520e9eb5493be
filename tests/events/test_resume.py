"""Reconnecting with Last-Event-ID gives exactly what was missed: no gap, no repeat."""

from __future__ import annotations

import asyncio
import random
import uuid

from redis.asyncio import Redis
from tortoise.transactions import in_transaction

from gateway.events import Tx, global_stream_key, stream_key
from gateway.models import Event
from gateway.streaming import Hub
from tests.conftest import Tenant
from tests.events.sse import emit, open_stream


async def _emit_many(runtime, tenant: Tenant, count: int, type: str = "post.scheduled") -> list[Event]:
    return [await emit(runtime, tenant.id, type, post_id=uuid.uuid4(), payload={"n": n}) for n in range(count)]


async def _commit_unannounced(tenant: Tenant, count: int) -> list[Event]:
    """Commit events without announcing them: what a writer does just before its XADD."""
    async with in_transaction() as conn:
        tx = Tx(conn)
        for n in range(count):
            await tx.emit(tenant.id, "post.scheduled", post_id=uuid.uuid4(), payload={"n": n})
        await tx.flush()
    return tx.events


async def test_reconnect_with_last_event_id_gets_exactly_the_missed_events(client, runtime, tenant: Tenant):
    async with open_stream(client, headers=tenant.headers) as stream:
        await _emit_many(runtime, tenant, 3)
        seen = await stream.events(3)
    last = seen[-1].id
    missed = await _emit_many(runtime, tenant, 4)
    headers = {**tenant.headers, "Last-Event-ID": str(last)}
    async with open_stream(client, headers=headers) as stream:
        replayed = await stream.events(4)
        after = await emit(runtime, tenant.id, "post.published", post_id=uuid.uuid4())
        (live,) = await stream.events(1)
        # nothing else comes: no repeat of the replayed events
        extra = await stream.next()
    assert [m.id for m in replayed] == [e.id for e in missed]
    assert [m.data["n"] for m in replayed] == [0, 1, 2, 3]
    assert live.id == after.id and live.event == "post.published"
    assert extra.comments == ["keepalive"]


async def test_a_quick_reconnect_is_served_from_memory_with_the_same_result(client, runtime, tenant: Tenant,
                                                                           hub: Hub):
    async with open_stream(client, headers=tenant.headers) as anchor:  # keeps the workspace's feed alive
        async with open_stream(client, headers=tenant.headers) as stream:
            await _emit_many(runtime, tenant, 2)
            seen = await stream.events(2)
        missed = await _emit_many(runtime, tenant, 3)
        async with open_stream(client, headers={**tenant.headers, "Last-Event-ID": str(seen[-1].id)}) as stream:
            replayed = await stream.events(3)
            after = await emit(runtime, tenant.id, "post.failed")
            (live,) = await stream.events(1)
            extra = await stream.next()
        assert len(await anchor.events(6)) == 6
    assert hub.stats.memory_resumes == 1
    assert [m.id for m in replayed] == [e.id for e in missed]
    assert live.id == after.id
    assert extra.comments == ["keepalive"]


async def test_resume_after_the_redis_streams_were_trimmed(client, runtime, tenant: Tenant, namespace: str):
    async with open_stream(client, headers=tenant.headers) as stream:
        await _emit_many(runtime, tenant, 2)
        seen = await stream.events(2)
    missed = await _emit_many(runtime, tenant, 5)
    redis: Redis = runtime.redis
    await redis.xtrim(stream_key(namespace, tenant.id), maxlen=0, approximate=False)
    await redis.xtrim(global_stream_key(namespace), maxlen=0, approximate=False)
    assert await redis.xlen(stream_key(namespace, tenant.id)) == 0
    async with open_stream(client, f"/api/events?lastEventId={seen[-1].id}", headers=tenant.headers) as stream:
        replayed = await stream.events(5)
        nothing_more = await stream.next()
    assert [m.id for m in replayed] == [e.id for e in missed]
    assert nothing_more.comments == ["keepalive"]


async def test_last_event_id_zero_replays_the_whole_history(client, runtime, tenant: Tenant):
    written = await _emit_many(runtime, tenant, 3)
    async with open_stream(client, headers={**tenant.headers, "Last-Event-ID": "0"}) as stream:
        replayed = await stream.events(3)
    assert [m.id for m in replayed] == [e.id for e in written]


async def test_malformed_last_event_id_is_400(client, tenant: Tenant):
    for value in ("abc", "-1", "1.5", "99999999999999999999999"):
        response = await client.get("/api/events", headers={**tenant.headers, "Last-Event-ID": value})
        assert response.status_code == 400, value
        assert (await response.get_json())["error"]["code"] == "invalid_last_event_id"
    response = await client.get("/api/events?lastEventId=x", headers=tenant.headers)
    assert response.status_code == 400


async def test_announcements_out_of_order_are_delivered_in_id_order(client, runtime, tenant: Tenant):
    async with open_stream(client, headers=tenant.headers) as stream:
        events = await _commit_unannounced(tenant, 3)
        await runtime.events.announce([events[2]])
        await runtime.events.announce([events[0]])
        await runtime.events.announce([events[1]])
        later = await emit(runtime, tenant.id, "post.published")
        received = await stream.events(4)
        extra = await stream.next()
    assert [m.id for m in received] == [*(e.id for e in events), later.id]
    assert extra.comments == ["keepalive"]


async def test_an_event_never_announced_is_found_when_a_later_one_arrives(client, runtime, tenant: Tenant):
    async with open_stream(client, headers=tenant.headers) as stream:
        (lost,) = await _commit_unannounced(tenant, 1)  # its XADD never happened (Redis was down)
        later = await emit(runtime, tenant.id, "post.published")
        received = await stream.events(2)
    assert [m.id for m in received] == [lost.id, later.id]


async def test_the_poll_delivers_an_event_whose_announcement_was_lost(client, tenant: Tenant, hub: Hub):
    async with open_stream(client, headers=tenant.headers) as stream:
        (lost,) = await _commit_unannounced(tenant, 1)
        await hub.poll_once()  # notes the table's newest id
        await hub.poll_once()  # one interval later it was still not announced: read the table
        (message,) = await stream.events(1)
    assert message.id == lost.id


async def test_a_workspace_event_cannot_commit_after_a_higher_id(runtime, tenant: Tenant):
    """The writer's guarantee that makes resume exact: id order is commit order per workspace."""
    flushed, release = asyncio.Event(), asyncio.Event()

    async def slow_writer() -> Event:
        async with in_transaction() as conn:
            tx = Tx(conn)
            await tx.emit(tenant.id, "post.scheduled")
            await tx.flush()  # its id is taken, the commit has not happened
            flushed.set()
            await release.wait()
        return tx.events[0]

    slow = asyncio.create_task(slow_writer())
    await flushed.wait()
    fast = asyncio.create_task(emit(runtime, tenant.id, "post.cancelled"))
    await asyncio.sleep(0.3)
    assert not fast.done()  # it cannot take an id, let alone commit, before the slow one commits
    release.set()
    first = await slow
    second = await fast
    assert second.id > first.id


async def test_concurrent_writers_are_streamed_without_gap_or_repeat(client, runtime, tenant: Tenant):
    rng = random.Random(6)

    async def writer(name: int) -> None:
        for n in range(15):
            async with runtime.events.transaction() as tx:
                await tx.emit(tenant.id, "post.scheduled", payload={"writer": name, "n": n})
                await asyncio.sleep(rng.random() / 100)

    async with open_stream(client, headers=tenant.headers) as stream:
        await asyncio.gather(*(writer(name) for name in range(6)))
        received = await stream.events(90)
    ids = [m.id for m in received]
    assert ids == sorted(ids) and len(set(ids)) == 90
    assert ids == [row.id for row in await Event.filter(workspace_id=tenant.id).order_by("id")]


async def test_resume_never_crosses_workspaces(client, runtime, tenant: Tenant, other_tenant: Tenant):
    theirs = await _emit_many(runtime, other_tenant, 3)
    mine = await emit(runtime, tenant.id, "post.created")
    async with open_stream(client, headers={**tenant.headers, "Last-Event-ID": "0"}) as stream:
        (message,) = await stream.events(1)
        nothing_more = await stream.next()
    assert message.id == mine.id
    assert nothing_more.comments == ["keepalive"]
    assert all(e.id != message.id for e in theirs)
