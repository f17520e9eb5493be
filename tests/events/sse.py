"""Reading an SSE response in tests: through Quart's test connection or httpx."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from gateway.models import Event

WAIT = 5.0  # a bound, not a measure: a correct stream answers in milliseconds


@dataclass
class Message:
    id: int | None = None
    event: str | None = None
    data: Any = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def is_event(self) -> bool:
        return self.event is not None


def parse_block(block: bytes) -> Message:
    message = Message()
    data_lines: list[str] = []
    for raw in block.decode().split("\n"):
        if raw.startswith(":"):
            message.comments.append(raw[1:].strip())
            continue
        name, _, value = raw.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "id":
            message.id = int(value)
        elif name == "event":
            message.event = value
        elif name == "data":
            data_lines.append(value)
        elif name == "retry":
            message.retry = int(value)
    if data_lines:
        message.data = json.loads("\n".join(data_lines))
    return message


class SSEReader:
    """Splits a byte stream into SSE messages. ``receive`` returns the next chunk, b"" at the end."""

    def __init__(self, receive: Callable[[], Awaitable[bytes]]) -> None:
        self._receive = receive
        self._buffer = b""
        self._messages: deque[Message] = deque()
        self.closed = False

    async def next(self, timeout: float = WAIT) -> Message:
        async with asyncio.timeout(timeout):
            while not self._messages:
                if self.closed:
                    raise EOFError("the stream ended")
                chunk = await self._receive()
                if not chunk:
                    self.closed = True
                    continue
                self._buffer += chunk
                while b"\n\n" in self._buffer:
                    block, self._buffer = self._buffer.split(b"\n\n", 1)
                    self._messages.append(parse_block(block))
            return self._messages.popleft()

    async def events(self, count: int, timeout: float = WAIT) -> list[Message]:
        """The next ``count`` events, skipping comments and the retry preamble."""
        found: list[Message] = []
        async with asyncio.timeout(timeout):
            while len(found) < count:
                message = await self.next(timeout)
                if message.is_event:
                    found.append(message)
        return found

    async def until_end(self, timeout: float = WAIT) -> list[Message]:
        """Everything up to the end of the stream."""
        found: list[Message] = []
        async with asyncio.timeout(timeout):
            while True:
                try:
                    found.append(await self.next(timeout))
                except EOFError:
                    return found

    async def connected(self) -> None:
        """Wait for the preamble: from then on the stream receives every new event."""
        message = await self.next()
        assert message.retry is not None, message


@asynccontextmanager
async def open_stream(client: Any, path: str = "/api/events", *, headers: dict[str, str] | None = None,
                      connect: bool = True) -> AsyncIterator[SSEReader]:
    """An SSE stream through Quart's test client; disconnects at the end of the block."""
    async with client.request(path, headers=headers or {}) as connection:

        async def receive() -> bytes:
            # the last body message of a finished response is b""
            return bytes(await connection.receive())

        reader = SSEReader(receive)
        reader.connection = connection  # type: ignore[attr-defined]
        if connect:
            await reader.connected()
            assert connection.status_code == 200
            assert connection.headers["Content-Type"].startswith("text/event-stream")
        try:
            yield reader
        finally:
            await connection.disconnect()


async def emit(runtime: Any, workspace_id: uuid.UUID, type: str, **kwargs: Any) -> Event:
    """Write one event the way every writer does: EventBus.transaction()."""
    async with runtime.events.transaction() as tx:
        event = await tx.emit(workspace_id, type, **kwargs)
    return event
