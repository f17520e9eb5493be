"""Building blocks for fake platforms: fault injection shared by every fake.

A fake platform is an ASGI app that imitates a real one on loopback. Tests
(and ``gateway sandbox``) steer it through :class:`Faults`::

    fake.faults.inject("POST /2/tweets", "status", status=503)
    fake.faults.inject("POST /2/tweets", "rate_limit", reset_in=2)
    fake.faults.inject("POST /2/tweets", "drop_after_store")
    fake.faults.inject("POST /2/tweets", "hang_after_store")  # until release()

Kinds:

- ``status``: answer ``status`` (default 503) without doing anything.
- ``latency``: wait ``seconds`` then handle the request normally.
- ``rate_limit``: answer 429 with the platform's reset header, ``reset_in``
  seconds from now.
- ``drop_before``: close the connection without doing anything.
- ``drop_after_store``: do the work (store the post), then drop the connection
  before the answer is complete.
- ``hang_after_store``: do the work, then wait until :meth:`Faults.release`
  (or ``seconds``) before answering: a worker killed meanwhile never hears back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

KINDS = ("status", "latency", "rate_limit", "drop_before", "drop_after_store", "hang_after_store")


@dataclass
class Fault:
    kind: str
    times: int = 1
    params: dict[str, Any] = field(default_factory=dict)


class ConnectionDropped(Exception):
    """Raised inside a response body so that the server aborts the connection."""


class Faults:
    def __init__(self) -> None:
        self._queue: dict[str, list[Fault]] = {}
        self._released = asyncio.Event()
        self.holding = 0  #: requests currently held by ``hang_after_store``
        self.held = asyncio.Event()  #: set whenever a request starts being held

    def inject(self, route: str, kind: str, *, times: int = 1, **params: Any) -> None:
        """Make the next ``times`` requests to ``route`` ("METHOD /path") misbehave."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(KINDS)}")
        self._queue.setdefault(route, []).append(Fault(kind, times, params))

    def clear(self) -> None:
        self._queue.clear()
        self.release()

    def take(self, route: str) -> Fault | None:
        """The fault for this request, if any (consumes one of its ``times``)."""
        pending = self._queue.get(route)
        if not pending:
            return None
        fault = pending[0]
        fault.times -= 1
        if fault.times <= 0:
            pending.pop(0)
        return fault

    def release(self) -> None:
        """Let every held request answer."""
        self._released.set()
        self._released = asyncio.Event()

    async def hold(self, fault: Fault) -> None:
        self.holding += 1
        self.held.set()
        try:
            released = self._released
            await asyncio.wait_for(released.wait(), fault.params.get("seconds", 3600))
        except TimeoutError:
            pass
        finally:
            self.holding -= 1


async def dropped_body() -> AsyncIterator[bytes]:
    """A response body that breaks off: the client sees the connection drop."""
    yield b"{"
    raise ConnectionDropped("fault injected: connection dropped")
