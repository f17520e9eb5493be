"""The scheduler loop: hand each scheduled post to the workers at its time, once.

One pass of the loop:

1. **Drain**: claim due posts in batches (:func:`scheduler.claim.claim_due`,
   one transaction each) and enqueue PUBLISH_POST for each, keyed by post id,
   until a batch comes back short. Oldest first, so after downtime the
   backlog goes out in the order it fell due.
2. **Sweep** now and then (:class:`scheduler.sweep.Sweeper`): posts left in
   PUBLISHING with no job, because the enqueue was lost after the commit.
3. **Sleep** until the next due time, read from the partial index
   ``post_due_idx`` with the database's clock, capped at ``max_sleep``; a
   message on the Redis channel :attr:`Runtime.scheduler_channel` (the post
   service publishes one whenever a post is scheduled, rescheduled or
   cancelled) cuts the sleep short and the pass starts again.

Several schedulers may run at once: ``FOR UPDATE SKIP LOCKED`` gives each a
disjoint batch, the status compare-and-set makes a claim happen once, and the
job key makes an enqueue happen once.

:meth:`Scheduler.stop` (SIGTERM, Ctrl-C) ends the loop between batches: a batch
that was claimed is always enqueued before the loop returns.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
from redis.exceptions import RedisError
from tortoise.exceptions import BaseORMException

from gateway import db
from gateway.expiry import check_expiry
from gateway.models import Post
from gateway.runtime import Runtime
from scheduler.claim import NEXT_DUE, Claim, claim_due
from scheduler.sweep import Sweeper

log = logging.getLogger(__name__)

#: errors of the database or Redis that a pass survives: logged, then retried after a pause
TRANSIENT = (BaseORMException, asyncpg.PostgresError, RedisError, OSError)
#: the pause after rows due at claim time were skipped because another transaction held them
LOCKED_RETRY = 0.05
#: woken this much after the due time, so the database's now() has passed it
EPSILON = 0.001

AfterCommit = Callable[[Claim], Awaitable[None]]


@dataclass
class Stats:
    batches: int = 0
    claimed: int = 0  # moved to PUBLISHING
    enqueued: int = 0
    already_queued: int = 0  # the job key was taken: a job for the post was already queued or running
    missed: int = 0  # moved to FAILED for missing their time
    enqueue_errors: int = 0  # left to the sweep
    swept: int = 0  # re-enqueued by the sweep


class Scheduler:
    """Claims due posts and enqueues them. One per process is enough; several are safe.

    ``after_commit`` is called with each claim after its transaction committed
    and before anything is enqueued. Tests use it to crash a scheduler at the
    worst moment; an exception it raises ends :meth:`run`.
    """

    def __init__(
        self,
        rt: Runtime,
        *,
        batch: int = 500,
        max_sleep: float = 30.0,
        max_lateness: int | None = None,
        sweeper: Sweeper | None = None,
        sweep_every: float = 15.0,
        after_commit: AfterCommit | None = None,
    ) -> None:
        self.rt = rt
        self.batch = batch
        self.max_sleep = max_sleep
        self.max_lateness = max_lateness if max_lateness is not None else rt.settings.max_lateness
        self.sweeper = sweeper if sweeper is not None else Sweeper(rt)
        self.sweep_every = sweep_every
        self.after_commit = after_commit
        self.stats = Stats()
        self._wake = asyncio.Event()
        self._subscribed = asyncio.Event()
        self._stopping = False
        self._next_sweep = 0.0  # monotonic; the first pass sweeps
        self.sleeping = False  # waiting for the next due time or a wake-up

    # -- control ----------------------------------------------------------------

    def stop(self) -> None:
        """Ask the loop to end after the batch in hand. Safe to call from a signal handler."""
        self._stopping = True
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def run(self, *, ready: Callable[[], None] | None = None) -> None:
        """Loop until :meth:`stop`. ``ready`` is called once the wake-up channel is subscribed."""
        listener = asyncio.create_task(self._listen(), name="scheduler-wake")
        try:
            await self._wait_subscribed(listener)
            log.info("scheduler running (batch %d, max sleep %.0f s, max lateness %s)",
                     self.batch, self.max_sleep, f"{self.max_lateness} s" if self.max_lateness else "none")
            if ready is not None:
                ready()
            failures = 0
            while not self._stopping:
                if listener.done():
                    listener.result()  # the wake-up listener died of an unexpected error: end with it
                try:
                    delay = await self.run_once()
                    failures = 0
                except TRANSIENT as exc:
                    failures += 1
                    delay = min(2.0 ** failures, self.max_sleep)
                    log.error("scheduler pass failed (%s: %s); trying again in %.0f s",
                              type(exc).__name__, exc, delay)
                await self._sleep(delay)
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
        log.info("scheduler stopped: %s", self.stats)

    async def run_once(self) -> float:
        """One pass: drain what is due, maybe sweep; returns how long to sleep."""
        # cleared before reading the database: a wake-up that arrives from now on is not lost
        self._wake.clear()
        last_claim = await self.drain()
        if self._stopping:
            return 0.0
        if time.monotonic() >= self._next_sweep:
            first = self._next_sweep == 0.0
            self._next_sweep = time.monotonic() + self.sweep_every
            # a scheduler that just started sweeps regardless: it may replace one that died mid-batch
            if await self.sweeper.acquire_turn(self.sweep_every) or first:
                self.stats.swept += await self.sweeper.sweep()
                # connections that cannot be refreshed: warn before, mark at expiry
                await check_expiry(self.rt)
        delay = await self.next_due_in(last_claim)
        until_sweep = max(self._next_sweep - time.monotonic(), 0.0)
        return min(self.max_sleep, until_sweep, self.max_sleep if delay is None else delay)

    # -- the work ---------------------------------------------------------------

    async def drain(self) -> float:
        """Claim and enqueue batches until one comes back short (or :meth:`stop`).

        The enqueues of a batch run while the next batch is claimed (the
        database works while Python talks to Redis); at most one batch is in
        flight, and it is always finished before this returns.
        Returns when (monotonic) the last, short, claim started.
        """
        pending: asyncio.Task[int] | None = None
        try:
            while True:
                started = time.monotonic()
                claim = await self.claim(self.batch)
                if pending is not None:
                    await pending
                    pending = None
                if claim.publishing:
                    pending = asyncio.create_task(self.enqueue(claim.publishing))
                if len(claim) < self.batch or self._stopping:
                    return started
        finally:
            if pending is not None:
                await pending

    async def claim(self, batch: int) -> Claim:
        """One transaction: lock, move and record up to ``batch`` due posts."""
        async with self.rt.events.transaction() as tx:
            claim = await claim_due(tx, batch, self.max_lateness)
        self.stats.batches += 1
        self.stats.claimed += len(claim.publishing)
        self.stats.missed += len(claim.failed)
        for post in claim.failed:
            log.warning("post %s %s", post.id, post.error_message)
        if self.after_commit is not None and len(claim):
            await self.after_commit(claim)
        return claim

    async def enqueue(self, posts: list[Post]) -> int:
        """Enqueue PUBLISH_POST for each post, concurrently; returns how many were new jobs.

        A failed enqueue leaves the post in PUBLISHING with no job: the sweep
        finds it later. SAQ bounds its own concurrent Redis operations.
        """
        results = await asyncio.gather(*(self.rt.enqueue_publish(post.id) for post in posts), return_exceptions=True)
        new = 0
        for post, result in zip(posts, results, strict=True):
            if isinstance(result, RedisError | OSError):
                self.stats.enqueue_errors += 1
                log.warning("post %s claimed but not enqueued (%s); the sweep will enqueue it", post.id, result)
            elif isinstance(result, BaseException):
                raise result
            elif result:
                new += 1
            else:
                self.stats.already_queued += 1
        self.stats.enqueued += new
        return new

    async def next_due_in(self, last_claim: float | None = None) -> float | None:
        """Seconds until the earliest SCHEDULED post is due, by the database's clock; None if none is.

        A post that was already due when the last (short) claim started
        (``last_claim``, monotonic) and is still SCHEDULED was skipped because
        another transaction holds it (a scheduler claiming it, a request
        rescheduling it): look again shortly rather than spin. Only durations
        are compared, so the scheduler's clock may differ from the database's.
        """
        rows = await db.connection().execute_query_dict(NEXT_DUE)
        next_due, db_now = rows[0]["next_due"], rows[0]["db_now"]
        if next_due is None:
            return None
        wait = (next_due - db_now).total_seconds()
        if wait > 0:
            return wait + EPSILON
        if last_claim is not None and -wait > time.monotonic() - last_claim:
            return LOCKED_RETRY
        return 0.0

    # -- sleeping and waking ----------------------------------------------------

    async def _sleep(self, seconds: float) -> None:
        if self._stopping or seconds <= 0:
            return
        self.sleeping = True
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass
        finally:
            self.sleeping = False

    async def _wait_subscribed(self, listener: asyncio.Task[None]) -> None:
        waiter = asyncio.create_task(self._subscribed.wait())
        await asyncio.wait({waiter, listener}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if listener.done():
            listener.result()  # the listener ended early: raise its error

    async def _listen(self) -> None:
        """Set the wake flag on every message of the scheduler channel; resubscribe after errors.

        After each (re)subscription the flag is set too: a message may have
        been published while no subscription was in place.
        """
        failures = 0
        while True:
            pubsub = self.rt.redis.pubsub()
            try:
                await pubsub.subscribe(self.rt.scheduler_channel)
                self._subscribed.set()
                self._wake.set()
                failures = 0
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
                    if message is not None:
                        self._wake.set()
            except (RedisError, OSError) as exc:
                failures += 1
                pause = min(2.0 ** failures, self.max_sleep)
                log.warning("scheduler wake-up channel lost (%s); resubscribing in %.0f s", exc, pause)
                await asyncio.sleep(pause)
            finally:
                await pubsub.aclose()
