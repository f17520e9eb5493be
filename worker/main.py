"""``gateway worker``: a SAQ worker that runs PUBLISH_POST jobs.

Timing, tied to ``GATEWAY_JOB_TIMEOUT`` (``runtime.enqueue_publish`` gives
each job that timeout and a heartbeat of a quarter of it, at least 5 s):

- the job touches itself every third of its heartbeat (:func:`worker.jobs.heartbeat`);
- SAQ's sweep runs every heartbeat, so the job of a worker that died (SIGKILL,
  lost host) is found stuck within about two heartbeats and queued again;
- on SIGTERM or SIGINT the worker stops taking jobs and gives the running
  ones up to the job timeout to finish (the shutdown grace period). One
  that is cut off anyway is safe: its attempt has no outcome and the next
  run reconciles it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from typing import Any, cast

from saq import Worker
from saq.types import PartialTimersDict

from gateway.runtime import Runtime
from gateway.settings import Settings
from worker.jobs import PUBLISH_POST, publish_post, requeue

log = logging.getLogger(__name__)

#: how long an idle slot waits on Redis for a job: bounds how long a stop takes when idle
DEQUEUE_TIMEOUT = 1.0


class PublishWorker(Worker[Any]):
    """SAQ's worker, stopping promptly when idle.

    SAQ's ``stop`` waits the whole grace period for its upkeep loops, which
    sleep up to their interval; they hold no work, so they are cancelled at
    once and the grace period is left to the jobs in flight.
    """

    async def stop(self) -> None:
        self.event.set()
        for task in list(self.tasks):
            if task.get_name() != "process":
                task.cancel()
        await super().stop()


def heartbeat_of(settings: Settings) -> int:
    """The heartbeat :meth:`Runtime.enqueue_publish` gives a job."""
    return max(5, settings.job_timeout // 4)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def build_worker(rt: Runtime, *, concurrency: int | None = None,
                 dequeue_timeout: float = DEQUEUE_TIMEOUT) -> Worker[Any]:
    """A worker for ``rt``'s queue. It does not own ``rt``: whoever opened it closes it."""
    settings = rt.settings
    name = worker_name()
    worker = PublishWorker(
        rt.queue,
        functions=[(PUBLISH_POST, publish_post)],
        id=name,
        concurrency=concurrency or settings.worker_concurrency,
        after_process=requeue,
        timers=cast(PartialTimersDict, {"sweep": heartbeat_of(settings)}),
        dequeue_timeout=dequeue_timeout,
        shutdown_grace_period_s=settings.job_timeout,
    )
    context = cast(dict[str, Any], worker.context)
    context["runtime"] = rt
    context["worker_id"] = name
    return worker


async def serve_worker(settings: Settings) -> None:
    """Open the runtime, work until SIGTERM/SIGINT (handled by SAQ), close the runtime."""
    concurrency = settings.worker_concurrency
    rt = await Runtime.open(settings, pool_max=concurrency + 2)
    try:
        worker = build_worker(rt, concurrency=concurrency)
        log.info("worker %s: %s jobs at a time on queue %r", worker.id, concurrency, rt.queue.name)
        await worker.start()
    finally:
        await rt.close()


def run_worker(settings: Settings) -> None:
    """Entry point of ``gateway worker``."""
    # SAQ logs every enqueue and job at INFO (with the queue's whole repr); the worker logs
    # one line per outcome instead, and SAQ's warnings and errors still show
    logging.getLogger("saq").setLevel(max(logging.WARNING, logging.getLogger().getEffectiveLevel()))
    asyncio.run(serve_worker(settings))
