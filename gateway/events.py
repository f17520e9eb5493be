"""Recording what happened: an Event row in the same transaction as the change,
then an entry in the workspace's Redis stream once the transaction committed.

Use :meth:`EventBus.transaction`::

    async with bus.transaction() as tx:
        moved = await Post.filter(id=pid, status=old).using_db(tx.conn).update(status=new)
        if moved:
            await tx.emit(workspace_id, "post.publishing", post_id=pid, payload={...})

The stream entry carries the Event row's id, which is the SSE ``id:``. If Redis
is unreachable the row is still there: readers replay from the table.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from tortoise.transactions import in_transaction

from gateway.models import Event

log = logging.getLogger(__name__)

STREAM_MAXLEN = 10_000


def stream_key(namespace: str, workspace_id: uuid.UUID | str) -> str:
    return f"{namespace}:events:{workspace_id}"


class Tx:
    """An open transaction that collects the events to announce after commit."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.events: list[Event] = []

    async def emit(
        self,
        workspace_id: uuid.UUID,
        type: str,
        *,
        post_id: uuid.UUID | None = None,
        integration_id: uuid.UUID | None = None,
        payload: dict[str, Any] | None = None,
    ) -> Event:
        event = await Event.create(
            workspace_id=workspace_id,
            type=type,
            post_id=post_id,
            integration_id=integration_id,
            payload=payload or {},
            using_db=self.conn,
        )
        self.events.append(event)
        return event


class EventBus:
    def __init__(self, redis: Redis, namespace: str, *, maxlen: int = STREAM_MAXLEN) -> None:
        self.redis = redis
        self.namespace = namespace
        self.maxlen = maxlen

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with in_transaction() as conn:
            tx = Tx(conn)
            yield tx
        await self.announce(tx.events)

    async def announce(self, events: list[Event]) -> None:
        """Append committed events to their workspaces' streams (best effort)."""
        if not events:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for event in events:
                    pipe.xadd(
                        stream_key(self.namespace, event.workspace_id),
                        {"id": str(event.id), "type": event.type, "data": json.dumps(event_data(event))},
                        maxlen=self.maxlen,
                        approximate=True,
                    )
                    pipe.publish(f"{self.namespace}:events", str(event.id))
                await pipe.execute()
        except RedisError as exc:
            log.warning("event %s stored but not streamed (Redis: %s); readers replay it from the table",
                        events[-1].id, exc)


def event_data(event: Event) -> dict[str, Any]:
    """The JSON a client receives for an event."""
    data: dict[str, Any] = {
        "id": event.id,
        "type": event.type,
        "createdAt": event.created_at.isoformat(),
    }
    if event.post_id is not None:
        data["postId"] = str(event.post_id)
    if event.integration_id is not None:
        data["integrationId"] = str(event.integration_id)
    data.update(event.payload)
    return data
