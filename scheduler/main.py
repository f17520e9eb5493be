"""``gateway scheduler``: open the runtime, run the loop, stop cleanly on SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from gateway.runtime import Runtime
from gateway.settings import Settings
from scheduler.loop import Scheduler

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def run_scheduler(settings: Settings) -> None:
    """Run the scheduler until SIGTERM or SIGINT; the batch in hand is finished first."""
    # SAQ logs every enqueue at INFO; the scheduler logs a line per batch problem instead
    logging.getLogger("saq").setLevel(max(logging.WARNING, logging.getLogger().getEffectiveLevel()))
    asyncio.run(serve_scheduler(settings))


async def serve_scheduler(settings: Settings) -> None:
    rt = await Runtime.open(settings, pool_max=4)
    try:
        scheduler = Scheduler(rt, batch=settings.scheduler_batch)
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, _stopper(scheduler, signum))
        try:
            await scheduler.run()
        finally:
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)
    finally:
        await rt.close()


def _stopper(scheduler: Scheduler, signum: signal.Signals) -> Callable[[], None]:
    def stop() -> None:
        if scheduler.stopping:
            log.info("%s again: already stopping after the current batch", signum.name)
        else:
            log.info("%s: stopping after the current batch", signum.name)
        scheduler.stop()

    return stop
