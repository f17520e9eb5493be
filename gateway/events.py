"""Recording what happened: an Event row in the same transaction as the change,
then an entry in the workspace's Redis stream once the transaction committed.

Use :meth:`EventBus.transaction`::

    async with bus.transaction() as tx:
        moved = await Post.filter(id=pid, status=old).using_db(tx.conn).update(status=new)
        if moved:
            await tx.emit(workspace_id, "post.publishing", post_id=pid, payload={...})

The stream entry carries the Event row's id, which is the SSE ``id:``. If Redis
is unreachable the row is still there: readers replay from the table.

Why the rows are inserted at the end of the block, under a lock: a client that
resumes with ``Last-Event-ID: N`` is served ``id > N``. That is exact only if
an event of a workspace can never commit after a higher id of the same
workspace (the sequence hands out ids at INSERT, not at COMMIT). So
:meth:`Tx.emit` only collects the event; when the block ends the transaction
takes a per-workspace advisory lock (``pg_advisory_xact_lock``, released by
the commit), inserts the rows (one statement) and commits. Within a workspace, id order is
commit order. The lock is taken last, after every row lock the block took, and
its holder only inserts and commits, so it cannot deadlock with them; it is
held for one INSERT and the COMMIT. Write events only through this class.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from tortoise.transactions import in_transaction

from gateway.models import Event

log = logging.getLogger(__name__)

STREAM_MAXLEN = 10_000
# first key of the two-int advisory lock that orders a workspace's events ("EVNT")
EVENT_LOCK_CLASS = 0x45564E54


def stream_key(namespace: str, workspace_id: uuid.UUID | str) -> str:
    """The workspace's own stream: for consumers of one workspace."""
    return f"{namespace}:events:{workspace_id}"


def global_stream_key(namespace: str) -> str:
    """Every workspace's events in one stream: what each gateway's single reader follows."""
    return f"{namespace}:events-all"


class Tx:
    """An open transaction that collects the events to record and announce."""

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
        """Record an event with this transaction.

        The row is inserted when the ``transaction()`` block ends, just before
        the commit (see the module docstring): the returned Event gets its
        ``id`` and ``created_at`` then. An ``integrationId`` in the payload
        fills ``integration_id`` when it is not given, so a post's events match
        an integration filter.
        """
        payload = dict(payload or {})
        if integration_id is None and payload.get("integrationId"):
            try:
                integration_id = uuid.UUID(str(payload["integrationId"]))
            except ValueError:
                integration_id = None
        event = Event(
            workspace_id=workspace_id,
            type=type,
            post_id=post_id,
            integration_id=integration_id,
            payload=payload,
        )
        self.events.append(event)
        return event

    async def flush(self) -> None:
        """Insert the collected rows, each workspace's under its advisory lock, in one statement."""
        if not self.events:
            return
        # a fixed order of the lock keys, so two multi-workspace transactions cannot deadlock
        keys = sorted({_lock_key(event.workspace_id) for event in self.events})
        await self.conn.execute_query(_LOCK, [EVENT_LOCK_CLASS, keys])
        now = datetime.now(UTC)
        rows = await self.conn.execute_query_dict(
            _INSERT,
            [
                [event.workspace_id for event in self.events],
                [event.type for event in self.events],
                [event.post_id for event in self.events],
                [event.integration_id for event in self.events],
                [json.dumps(event.payload) for event in self.events],
                now,
            ],
        )
        # the sequence numbered the rows in the order given
        for event, event_id in zip(self.events, sorted(row["id"] for row in rows), strict=True):
            event.id = event_id
            event.created_at = now
            event._saved_in_db = True


_LOCK = "SELECT pg_advisory_xact_lock($1, k) FROM unnest($2::int4[]) WITH ORDINALITY AS u(k, n) ORDER BY n"
_INSERT = """
INSERT INTO event (workspace_id, type, post_id, integration_id, payload, created_at)
SELECT w, t, p, i, d::jsonb, $6
FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::text[]) WITH ORDINALITY AS u(w, t, p, i, d, n)
ORDER BY n
RETURNING id
"""


def _lock_key(workspace_id: uuid.UUID | str) -> int:
    return int.from_bytes(uuid.UUID(str(workspace_id)).bytes[:4], "big", signed=True)


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
            await tx.flush()
        await self.announce(tx.events)

    async def announce(self, events: list[Event]) -> None:
        """Append committed events to their streams (best effort).

        Each event goes to its workspace's stream and to the global stream
        that the gateways' readers follow. A lost announcement delays live
        delivery (the readers find the row in the table), it never loses the event.
        """
        if not events:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for event in events:
                    data = json.dumps(event_data(event))
                    pipe.xadd(
                        stream_key(self.namespace, event.workspace_id),
                        {"id": str(event.id), "type": event.type, "data": data},
                        maxlen=self.maxlen,
                        approximate=True,
                    )
                    pipe.xadd(
                        global_stream_key(self.namespace),
                        {
                            "id": str(event.id),
                            "ws": str(event.workspace_id),
                            "type": event.type,
                            "post": str(event.post_id or ""),
                            "integration": str(event.integration_id or ""),
                            "data": data,
                        },
                        maxlen=self.maxlen,
                        approximate=True,
                    )
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
