"""Live events: one Redis reader per gateway process, fanned out in memory.

A gateway process runs one :class:`Hub`. Its reader follows the global event
stream (``{namespace}:events-all``, written by :class:`gateway.events.EventBus`
beside each workspace's stream) with a single blocking ``XREAD``, and hands
each event to the :class:`Feed` of its workspace, if a client of that
workspace is connected here. A feed hands it to its :class:`Subscriber`\\ s:
a bounded in-memory queue per SSE client, filled without ever waiting, so a
slow client delays nobody; one that falls ``limit`` events behind is ended and
resumes with ``Last-Event-ID``.

Exactness. A feed delivers its workspace's events in id order, each once. The
writer guarantees that within a workspace an event never commits after a
higher id (:mod:`gateway.events`), so when event ``e`` has been announced,
every lower id of its workspace is already committed. Announcements can still
arrive out of order (two processes race to Redis) or not at all (Redis was
down). So the reader remembers which ids it has seen (:class:`SeenIds`; ids
come from one sequence, so a gap is visible): when the ids between a feed's
last delivered event and ``e`` are all seen, ``e`` goes out at once; when one
may be missing, the feed reads ``(last, e]`` from the table, which is complete
by then. Late announcements of ids already delivered are dropped. A poll every
few seconds catches what no later event reveals (a lost announcement of the
newest event, or Redis down: the gateway then keeps streaming from the table).

A client's resume: register its subscriber first, then replay ``id > N`` from
the table, then take live events, dropping those not above the last id sent.
Nothing is lost in between: an event committed after the replay's query is
above everything the replay saw, and the feed delivers it after registration.
When the feed still holds every event above ``N`` (it keeps the last
``RECENT``), the replay comes from its memory instead, taken in the same step
as the registration: a reconnect after a blip or an overflow costs no query.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from tortoise.exceptions import BaseORMException
from tortoise.functions import Max

from gateway.errors import GatewayError
from gateway.events import global_stream_key
from gateway.models import Event
from gateway.sse import END_OVERFLOW, END_SHUTDOWN, Filters, Live, Subscriber

log = logging.getLogger(__name__)

REPLAY_PAGE = 500
RECENT = 500  # events a feed keeps to serve a resume from memory
CATCH_UP_PAGE = 2000

# DB errors worth retrying later rather than crashing the reader
_DB_ERRORS: tuple[type[BaseException], ...] = (BaseORMException, OSError)
try:
    import asyncpg

    _DB_ERRORS += (asyncpg.PostgresError, asyncpg.InterfaceError)
except ImportError:  # pragma: no cover - asyncpg is a dependency
    pass


class StreamsClosed(GatewayError):
    """The gateway is shutting down: no new event streams."""

    code = "shutting_down"
    status = 503


class SeenIds:
    """The event ids the reader has seen, to tell when a gap may hide an event.

    Ids at or below ``floor`` are unknown (before the reader started, or
    forgotten); ``missing`` holds the ids above it, up to ``top``, not seen yet.
    """

    MAX_GAP = 10_000  # a larger jump (the stream was trimmed past us) is forgotten, not listed

    def __init__(self, floor: int) -> None:
        self.floor = floor
        self.top = floor
        self.missing: list[int] = []

    def add(self, event_id: int) -> None:
        if event_id > self.top:
            if event_id - self.top > self.MAX_GAP:
                self.forget(event_id - 1)
            else:
                self.missing.extend(range(self.top + 1, event_id))
            self.top = event_id
        elif event_id > self.floor:
            index = bisect_left(self.missing, event_id)
            if index < len(self.missing) and self.missing[index] == event_id:
                del self.missing[index]

    def may_hide(self, after: int, before: int) -> bool:
        """Whether an id strictly between ``after`` and ``before`` may be an event not seen."""
        if before - after <= 1:
            return False
        if after < self.floor:
            return True
        index = bisect_right(self.missing, after)
        return index < len(self.missing) and self.missing[index] < before

    def forget(self, upto: int) -> None:
        """Treat every id up to ``upto`` as unknown (the table decides about them)."""
        if upto <= self.floor:
            return
        self.floor = upto
        self.top = max(self.top, upto)
        self.missing = self.missing[bisect_right(self.missing, upto):]


@dataclass(eq=False)
class Feed:
    """One workspace's subscribers on this process, and how far they were served.

    ``high``: every event of the workspace up to this id was handed out (or
    predates every subscriber). ``lock`` keeps one advance at a time.
    ``recent``: the last events handed out; every event of the workspace in
    ``(recent_floor, high]`` is in it, so a client that resumes from there is
    served from memory (a reconnect after a network blip or an overflow).
    """

    workspace: str
    high: int | None = None
    stale: bool = False  # a table read failed: the next advance reads the table, whatever was seen
    subscribers: set[Subscriber] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    recent: deque[Live] = field(default_factory=lambda: deque(maxlen=RECENT))
    recent_floor: int = 0

    def start(self, high: int) -> None:
        self.high = self.recent_floor = high

    def publish(self, lives: Iterable[Live]) -> None:
        for live in lives:
            if len(self.recent) == self.recent.maxlen:
                self.recent_floor = self.recent[0].id
            self.recent.append(live)
            for sub in list(self.subscribers):
                sub.offer(live)
                if sub.ended is END_OVERFLOW:
                    self.subscribers.discard(sub)


@dataclass
class HubStats:
    delivered: int = 0  # events handed to feeds
    table_reads: int = 0  # gaps and catch-ups served from the table
    overflows: int = 0
    reader_errors: int = 0
    memory_resumes: int = 0  # resumes served from a feed's recent events


class Hub:
    """The process's event fan-out. :meth:`start` it once, :meth:`stop` it at shutdown."""

    def __init__(
        self,
        redis: Redis,
        namespace: str,
        *,
        keepalive: float = 15.0,
        client_buffer: int = 1000,
        poll_interval: float = 2.0,
        block_ms: int = 1000,
        batch: int = 500,
    ) -> None:
        self.redis = redis
        self.stream = global_stream_key(namespace)
        self.keepalive = keepalive
        self.client_buffer = client_buffer
        self.poll_interval = poll_interval
        self.block_ms = block_ms
        self.batch = batch
        self.feeds: dict[str, Feed] = {}
        self.seen = SeenIds(0)
        self.stats = HubStats()
        self.closing = False
        self._tasks: list[asyncio.Task[None]] = []
        self._dirty = False  # a table read failed: the next poll catches up
        self._last_latest: int | None = None
        self._last_missing: frozenset[int] = frozenset()

    # -- lifecycle --------------------------------------------------------

    async def start(self, shutdown: asyncio.Event | None = None) -> None:
        """Start reading. ``shutdown`` (the server's trigger) ends every stream when set."""
        # the stream position first, then the table: an event committed after
        # the table was asked is announced after the position
        position = await self._stream_end()
        self.seen = SeenIds(await _max_event_id(None))
        self._tasks.append(asyncio.create_task(self._read(position), name="events-reader"))
        self._tasks.append(asyncio.create_task(self._poll(), name="events-poller"))
        self._tasks.append(asyncio.create_task(self._keepalive(), name="events-keepalive"))
        if shutdown is not None:
            self._tasks.append(asyncio.create_task(self._end_on(shutdown), name="events-shutdown"))

    async def stop(self) -> None:
        self.close_streams()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def close_streams(self) -> None:
        """End every open stream (they flush what is queued) and refuse new ones."""
        self.closing = True
        for feed in self.feeds.values():
            for sub in feed.subscribers:
                sub.end(END_SHUTDOWN)

    async def _keepalive(self) -> None:
        """Wake the clients that were sent nothing for ``keepalive`` seconds (checked 4 times as often)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.keepalive / 4)
            quiet = loop.time() - self.keepalive
            for feed in list(self.feeds.values()):
                for sub in feed.subscribers:
                    if sub.quiet_since <= quiet:
                        sub.keepalive_due = True
                        sub.wakeup.set()

    async def _end_on(self, shutdown: asyncio.Event) -> None:
        await shutdown.wait()
        log.info("shutting down: ending %d event streams", self.client_count)
        self.close_streams()

    @property
    def client_count(self) -> int:
        return sum(len(feed.subscribers) for feed in self.feeds.values())

    # -- clients ----------------------------------------------------------

    async def subscribe(
        self, workspace: uuid.UUID | str, filters: Filters, *, cursor: int = 0, resume: bool = False,
        limit: int | None = None,
    ) -> Subscriber:
        """Register a client of ``workspace``; live events above ``cursor`` reach it from now on.

        With ``resume``, the events above ``cursor`` that the feed still holds
        are queued for it too, when it holds all of them (``sub.replayed``);
        otherwise the caller replays them from the table (:func:`history`).
        """
        if self.closing:
            raise StreamsClosed("the gateway is shutting down; reconnect shortly")
        key = str(workspace)
        feed = self.feeds.get(key)
        if feed is None:
            feed = self.feeds[key] = Feed(key)
        sub = Subscriber(key, filters, cursor=cursor, limit=limit or self.client_buffer)
        async with feed.lock:
            if feed.high is None:
                try:
                    feed.start(await _max_event_id(key))
                except BaseException:
                    if not feed.subscribers and self.feeds.get(key) is feed:
                        del self.feeds[key]
                    raise
            # no await from here to the registration: the memory replay and the live events join exactly
            if resume and cursor >= feed.recent_floor:
                missed = [live for live in feed.recent if live.id > cursor and filters.matches(live)]
                if len(missed) < sub.limit:
                    sub.pending.extend(missed)
                    sub.replayed = True
                    self.stats.memory_resumes += 1
            feed.subscribers.add(sub)
        if self.closing:
            sub.end(END_SHUTDOWN)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        if sub.ended is END_OVERFLOW:
            self.stats.overflows += 1
        feed = self.feeds.get(sub.workspace)
        if feed is None:
            return
        feed.subscribers.discard(sub)
        if not feed.subscribers and not feed.lock.locked():
            del self.feeds[sub.workspace]

    # -- the reader -------------------------------------------------------

    async def _stream_end(self) -> bytes:
        entries: Any = await self.redis.xrevrange(self.stream, count=1)
        return bytes(entries[0][0]) if entries else b"0-0"

    async def _read(self, position: bytes) -> None:
        delay = 0.2
        while True:
            try:
                reply = await self.redis.xread({self.stream: position}, count=self.batch, block=self.block_ms)
            except (RedisError, OSError) as exc:
                self.stats.reader_errors += 1
                log.warning("event reader: Redis failed (%s); retrying in %.1fs, polling the table meanwhile",
                            exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.2
            lives: list[Live] = []
            for entry_id, fields in _entries(reply):
                position = entry_id
                live = Live.from_entry(fields)
                if live is None:
                    log.warning("event reader: skipped a malformed stream entry %r", entry_id)
                else:
                    lives.append(live)
            try:
                await self._dispatch(lives)
            except Exception:
                # the reader must outlive a bug in one batch: log it, let the poll catch up from the table
                log.exception("event reader: a batch failed; the next poll serves it from the table")
                self._dirty = True

    async def _dispatch(self, lives: list[Live]) -> None:
        # a batch is all committed: taken in id order, reordered announcements need no table read
        for live in sorted(lives, key=lambda item: item.id):
            self.seen.add(live.id)
            feed = self.feeds.get(live.workspace)
            if feed is not None:
                await self._advance(feed, live)

    async def _advance(self, feed: Feed, live: Live) -> None:
        async with feed.lock:
            if feed.high is None or live.id <= feed.high:
                return
            if not feed.stale and not self.seen.may_hide(feed.high, live.id):
                feed.publish((live,))
                feed.high = live.id
                self.stats.delivered += 1
                return
            try:
                rows = await Event.filter(
                    workspace_id=feed.workspace, id__gt=feed.high, id__lte=live.id
                ).order_by("id")
            except _DB_ERRORS as exc:
                log.warning("event reader: cannot read the gap before event %d (%s); the poll will", live.id, exc)
                feed.stale = self._dirty = True
                return
            self.stats.table_reads += 1
            feed.publish(Live.from_event(row) for row in rows)
            self.stats.delivered += len(rows)
            feed.high = live.id
            feed.stale = False

    # -- the backstop -----------------------------------------------------

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                await self.poll_once()
            except _DB_ERRORS as exc:
                log.warning("event poll: the database failed (%s); trying again in %.1fs", exc, self.poll_interval)
            except Exception:
                log.exception("event poll failed; trying again in %.1fs", self.poll_interval)

    async def poll_once(self) -> None:
        """Catch up from the table when an event was never announced, or a gap stayed open.

        Called every ``poll_interval``. What it checks is at least one
        interval old, so announcements in flight are not mistaken for losses.
        """
        for key, feed in list(self.feeds.items()):
            if not feed.subscribers and not feed.lock.locked():
                del self.feeds[key]
        if not self.feeds:
            # nobody to serve: what the reader did not see no longer matters
            self.seen.forget(self.seen.top)
            self._last_latest, self._last_missing, self._dirty = None, frozenset(), False
            return
        latest = await _max_event_id(None)
        stale = self._last_missing.intersection(self.seen.missing)
        unannounced = self._last_latest if self._last_latest is not None and self._last_latest > self.seen.top else 0
        if stale or unannounced or self._dirty:
            await self.catch_up()
            self._dirty = False
            self.seen.forget(max(max(stale, default=0), unannounced))
        self._last_latest = latest
        self._last_missing = frozenset(self.seen.missing)

    async def catch_up(self) -> None:
        """Serve every feed what the table holds above its ``high``."""
        for feed in list(self.feeds.values()):
            async with feed.lock:
                while feed.high is not None:
                    rows = await Event.filter(workspace_id=feed.workspace, id__gt=feed.high).order_by(
                        "id").limit(CATCH_UP_PAGE)
                    self.stats.table_reads += 1
                    if rows:
                        self.stats.delivered += len(rows)
                        feed.publish(Live.from_event(row) for row in rows)
                        feed.high = rows[-1].id
                    if len(rows) < CATCH_UP_PAGE:
                        feed.stale = False
                        break


async def history(workspace: uuid.UUID | str, filters: Filters, *, after: int) -> AsyncIterator[list[Live]]:
    """The workspace's events above ``after`` from the table, page by page, in id order."""
    while True:
        query = filters.apply(Event.filter(workspace_id=workspace, id__gt=after))
        rows = await query.order_by("id").limit(REPLAY_PAGE)
        if not rows:
            return
        yield [Live.from_event(row) for row in rows]
        after = rows[-1].id
        if len(rows) < REPLAY_PAGE:
            return


async def _max_event_id(workspace: str | None) -> int:
    query = Event.all() if workspace is None else Event.filter(workspace_id=workspace)
    rows: list[Any] = await query.annotate(top=Max("id")).values_list("top", flat=True)
    return int(rows[0] or 0) if rows else 0


def _entries(reply: Any) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """XREAD's entries for our single key, whether the reply is RESP2 (list) or RESP3 (dict)."""
    if not reply:
        return []
    streams = reply.values() if isinstance(reply, dict) else [item[1] for item in reply]
    found: list[tuple[bytes, dict[bytes, bytes]]] = []
    for entries in streams:
        for entry in entries:
            found.append((entry[0], entry[1]))
    return found
