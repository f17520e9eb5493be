"""Live events over SSE (``GET /api/events``) and a post's history (``GET /api/posts/<id>/events``).

The process's :class:`~gateway.streaming.Hub` starts with the app (after the
runtime) and stops before it; the server's shutdown trigger
(``app.extensions["gateway.shutdown"]``) ends the open streams first, because
Hypercorn waits for open responses at shutdown without a bound.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from quart import Blueprint, Response, current_app, request

from gateway.api.auth import require_workspace
from gateway.api.common import scope
from gateway.errors import InvalidRequest, NotFound
from gateway.events import event_data
from gateway.models import Event, Post, PublishAttempt
from gateway.runtime import redis_client
from gateway.serializers import attempt_json, post_json
from gateway.settings import Settings
from gateway.sse import PREAMBLE, Filters
from gateway.streaming import Hub, StreamsClosed, history

HUB = "gateway.events.hub"
MAX_FILTER_VALUES = 100

blueprint = Blueprint("events", __name__, url_prefix="/api")
blueprint.before_request(require_workspace)


@blueprint.while_app_serving
async def run_hub() -> AsyncGenerator[None]:
    """One hub per serving app: started after the runtime opened, stopped before it closes."""
    app = current_app
    settings: Settings = app.extensions["gateway.settings"]
    redis = redis_client(settings.require_redis(), max_connections=2)
    hub = Hub(
        redis,
        settings.namespace,
        keepalive=settings.sse_keepalive,
        client_buffer=settings.sse_client_buffer,
    )
    try:
        await hub.start(app.extensions.get("gateway.shutdown"))
        app.extensions[HUB] = hub
        yield
    finally:
        app.extensions.pop(HUB, None)
        await hub.stop()
        await redis.aclose()


def current_hub() -> Hub:
    hub: Hub | None = current_app.extensions.get(HUB)
    if hub is None or hub.closing:
        raise StreamsClosed("the gateway is shutting down; reconnect shortly")
    return hub


@blueprint.get("/events")
async def stream_events() -> Response:
    """Every event of the caller's workspace, as it happens; resumable with ``Last-Event-ID``."""
    filters = _filters()
    after = _last_event_id()
    hub = current_hub()
    workspace = scope().workspace_id
    response = Response(
        _stream(hub, workspace, filters, after),
        status=200,
        content_type="text/event-stream; charset=utf-8",
        headers={
            "Cache-Control": "no-cache, no-transform",
            "X-Accel-Buffering": "no",  # proxies must not hold the stream back
        },
    )
    response.timeout = None  # Quart's default 60 s would cut the stream
    return response


async def _stream(hub: Hub, workspace: uuid.UUID, filters: Filters, after: int | None) -> AsyncIterator[bytes]:
    try:
        sub = await hub.subscribe(workspace, filters, cursor=after or 0, resume=after is not None)
    except StreamsClosed:
        yield PREAMBLE
        return
    try:
        yield PREAMBLE
        if after is not None and not sub.replayed:
            async for page in history(workspace, filters, after=after):
                fresh = [live for live in page if live.id > sub.cursor]
                if fresh:
                    yield sub.sent(fresh)
                if sub.ended is not None:
                    break
        while (chunk := await sub.next_chunk()) is not None:
            yield chunk
    finally:
        hub.unsubscribe(sub)


@blueprint.get("/posts/<post_id>/events")
async def post_events(post_id: str) -> dict[str, Any]:
    """A post's audit trail: its events (kept after the post is deleted) and its publish attempts."""
    try:
        key = uuid.UUID(post_id)
    except ValueError:
        raise NotFound(f"no post {post_id!r}") from None
    post = await scope().query(Post).filter(id=key).first()
    events = await scope().query(Event).filter(post_id=key).order_by("id").limit(10_000)
    if post is None and not events:
        raise NotFound(f"no post {post_id}")
    attempts = await PublishAttempt.filter(post_id=key).order_by("number") if post is not None else []
    created = next((event for event in events if event.type == "post.created"), None)
    source = post.source.value if post is not None else (created.payload.get("source") if created else None)
    return {
        "postId": str(key),
        "deleted": post is None,
        "source": source,
        "post": post_json(post) if post is not None else None,
        "events": [event_data(event) for event in events],
        "attempts": [attempt_json(attempt) for attempt in attempts],
    }


def _last_event_id() -> int | None:
    raw = request.headers.get("Last-Event-ID")
    if raw is None or raw.strip() == "":
        raw = request.args.get("lastEventId")
    if raw is None or raw.strip() == "":
        return None
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 19:
        raise InvalidRequest(
            "Last-Event-ID must be the id of an event this stream sent (a whole number)", code="invalid_last_event_id"
        )
    return int(raw)


def _filters() -> Filters:
    return Filters(
        posts=_uuids("postId"),
        integrations=_uuids("integrationId"),
        types=frozenset(_values("type")),
    )


def _values(name: str) -> list[str]:
    values = [part.strip() for raw in request.args.getlist(name) for part in raw.split(",") if part.strip()]
    if len(values) > MAX_FILTER_VALUES:
        raise InvalidRequest(f"at most {MAX_FILTER_VALUES} values of {name}", code="invalid_filter")
    return values


def _uuids(name: str) -> frozenset[str]:
    found: set[str] = set()
    for value in _values(name):
        try:
            found.add(str(uuid.UUID(value)))
        except ValueError:
            raise InvalidRequest(f"{name} must be a UUID, got {value!r}", code="invalid_filter") from None
    return frozenset(found)
