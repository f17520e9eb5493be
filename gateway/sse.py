"""What one SSE client is made of: its frames, its filters, its bounded queue.

The fan-out (:mod:`gateway.streaming`) offers each event to every
:class:`Subscriber` of the event's workspace; a subscriber keeps what matches
its :class:`Filters` in a queue it fills without waiting, so a slow client
delays nobody, and ends itself once it falls ``limit`` events behind.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from tortoise.queryset import QuerySet

from gateway.events import event_data
from gateway.models import Event

RETRY_MS = 3000  # how soon an EventSource reconnects after the stream ends
PREAMBLE = f"retry: {RETRY_MS}\n\n".encode()
KEEPALIVE = b": keepalive\n\n"
END_OVERFLOW = b": overflow: this client fell too far behind; reconnect with Last-Event-ID to resume\n\n"
END_SHUTDOWN = b": shutdown: the gateway is stopping; reconnect with Last-Event-ID to resume\n\n"


def sse_frame(event_id: int, event_type: str, data: str | bytes) -> bytes:
    """One SSE message. ``data`` is one line of JSON (json.dumps never breaks lines)."""
    body = data.encode() if isinstance(data, str) else data
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, event_type.encode(), body)


@dataclass(frozen=True, slots=True)
class Live:
    """An event as the fan-out holds it: what filters need, and the frame, encoded once."""

    id: int
    workspace: str
    type: str
    post: str
    integration: str
    frame: bytes

    @classmethod
    def from_event(cls, event: Event) -> Live:
        return cls(
            id=event.id,
            workspace=str(event.workspace_id),
            type=event.type,
            post=str(event.post_id or ""),
            integration=str(event.integration_id or ""),
            frame=sse_frame(event.id, event.type, json.dumps(event_data(event))),
        )

    @classmethod
    def from_entry(cls, fields: Mapping[bytes, bytes]) -> Live | None:
        """From an entry of the global stream; None when it is not one of ours."""
        try:
            event_id = int(fields[b"id"])
            event_type = fields[b"type"].decode()
            return cls(
                id=event_id,
                workspace=fields[b"ws"].decode(),
                type=event_type,
                post=fields.get(b"post", b"").decode(),
                integration=fields.get(b"integration", b"").decode(),
                frame=sse_frame(event_id, event_type, fields[b"data"]),
            )
        except (KeyError, ValueError, UnicodeDecodeError):
            return None


@dataclass(frozen=True)
class Filters:
    """What one client asked for: empty sets mean everything."""

    posts: frozenset[str] = frozenset()
    integrations: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()

    def matches(self, live: Live) -> bool:
        return (
            (not self.posts or live.post in self.posts)
            and (not self.integrations or live.integration in self.integrations)
            and (not self.types or live.type in self.types)
        )

    def apply(self, query: QuerySet[Event]) -> QuerySet[Event]:
        if self.posts:
            query = query.filter(post_id__in=[uuid.UUID(p) for p in self.posts])
        if self.integrations:
            query = query.filter(integration_id__in=[uuid.UUID(i) for i in self.integrations])
        if self.types:
            query = query.filter(type__in=sorted(self.types))
        return query


class Subscriber:
    """One SSE client: a bounded queue the feed fills without waiting.

    Its stream asks :meth:`next_chunk` for what to send: queued events, a
    keepalive when the hub's ticker found it quiet, or its closing comment.
    Keepalives come from one ticker per hub rather than a timer per client:
    delivering an event then costs one wakeup, not a timer set and cancelled.
    """

    __slots__ = ("cursor", "ended", "farewell_sent", "filters", "keepalive_due", "limit", "pending",
                 "quiet_since", "replayed", "wakeup", "workspace")

    def __init__(self, workspace: str, filters: Filters, *, cursor: int, limit: int) -> None:
        self.workspace = workspace
        self.filters = filters
        self.cursor = cursor  # the highest id this client was sent
        self.limit = limit
        self.pending: deque[Live] = deque()
        self.wakeup = asyncio.Event()
        self.ended: bytes | None = None  # the closing comment, once ended
        self.farewell_sent = False
        self.replayed = False  # its resume was served from the feed's memory
        self.keepalive_due = False
        self.quiet_since = asyncio.get_running_loop().time()  # when it was last sent something

    def offer(self, live: Live) -> None:
        if self.ended is not None or not self.filters.matches(live):
            return
        if len(self.pending) >= self.limit:
            self.pending.clear()  # it resumes from its cursor, through the table
            self.end(END_OVERFLOW)
            return
        self.pending.append(live)
        self.wakeup.set()

    def end(self, comment: bytes) -> None:
        if self.ended is None:
            self.ended = comment
        self.wakeup.set()

    def sent(self, lives: list[Live]) -> bytes:
        """Record that ``lives`` (in id order) go out now; their frames."""
        self.cursor = lives[-1].id
        self.quiet_since = asyncio.get_running_loop().time()
        return b"".join(live.frame for live in lives)

    async def next_chunk(self) -> bytes | None:
        """The next bytes for this client, waiting for them; None once the stream is over.

        Queued events first (those not above ``cursor`` were already sent by
        the replay), then, once ended, the closing comment.
        """
        while True:
            if self.pending:
                fresh = [live for live in self.pending if live.id > self.cursor]
                self.pending.clear()
                if fresh:
                    return self.sent(fresh)
                continue
            if self.ended is not None:
                if self.farewell_sent:
                    return None
                self.farewell_sent = True
                return self.ended
            if self.keepalive_due:
                self.keepalive_due = False
                self.quiet_since = asyncio.get_running_loop().time()
                return KEEPALIVE
            self.wakeup.clear()
            await self.wakeup.wait()
