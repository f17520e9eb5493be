"""Creating posts: one per integration, in one transaction, idempotent on request.

``POST /api/posts`` (and the MCP tool) land here. The posts, their
``post.created`` events and their ``post.scheduled`` / ``post.publishing``
events commit together; the jobs are enqueued after the commit.

Idempotency: with a key, the request takes a transaction-scoped advisory lock
on (workspace, key) before it looks for posts made with that key. A
concurrent duplicate therefore waits for the first to commit and then finds
its posts: it never creates a second set. The same key with another body
(its SHA-256 over canonical JSON differs) is a conflict. The unique
constraint (workspace, idempotency_key, integration) stays as a last guard.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError

from gateway.errors import Conflict, InvalidRequest
from gateway.models import Integration, Post, PostStatus, Source
from gateway.posting.checks import check_content, load_targets
from gateway.posting.errors import ValidationFailed
from gateway.posting.requests import CreateRequest, read_create, request_hash
from gateway.posting.transitions import emit, enqueue
from gateway.runtime import Runtime
from gateway.scoping import Scope

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Created:
    posts: list[Post]
    replayed: bool  #: True when the key had been used with this body: nothing new was created


@dataclass(frozen=True)
class Checked:
    """A request that passed every check, and the integrations it targets."""

    request: CreateRequest
    integrations: list[Integration]

    @property
    def status(self) -> PostStatus:
        return PostStatus.PUBLISHING if self.request.when.at is None else PostStatus.SCHEDULED


def effective_source(asked: Source | None, via: Source) -> Source:
    """Who created the post: how the caller came in, except that a program holding an
    API key may say it is an MCP client (the gateway's own MCP server does)."""
    if asked is Source.MCP and via is Source.API:
        return Source.MCP
    return via


async def check_request(rt: Runtime, scope: Scope, body: Mapping[str, Any], *, using_db: Any = None) -> Checked:
    """Every check of a create request, storing nothing; raises :class:`ValidationFailed`."""
    parsed = read_create(body)
    request = parsed.request
    integrations, problems = await load_targets(scope, request.integration_ids, request.target_fields,
                                                using_db=using_db)
    if parsed.content_readable:
        for row in integrations:
            problems += check_content(rt.plugins, row, request.content, request.field_of(row.id))
    problems = parsed.problems + problems
    if problems:
        raise ValidationFailed(problems)
    return Checked(request, integrations)


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.",
                             code="invalid_idempotency_key")
    return key


def _lock_id(workspace_id: uuid.UUID, key: str) -> int:
    digest = hashlib.sha256(f"{workspace_id}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def create_posts(
    rt: Runtime, scope: Scope, body: Mapping[str, Any], *, via: Source, idempotency_key: str | None = None
) -> Created:
    key = check_key(idempotency_key)
    digest = request_hash(body)
    try:
        async with rt.events.transaction() as tx:
            if key is not None:
                await tx.conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_lock_id(scope.workspace_id, key)])
                earlier = await replay(scope, key, digest, using_db=tx.conn)
                if earlier is not None:
                    return Created(earlier, replayed=True)
            checked = await check_request(rt, scope, body, using_db=tx.conn)
            group_id = uuid.uuid4()
            source = effective_source(checked.request.source, via)
            posts = []
            for integration in checked.integrations:
                post = await _insert(tx.conn, scope, checked, integration, group_id, source, key, digest)
                await emit(tx, post, "post.created", {"source": source.value})
                await emit(tx, post, "post.publishing" if post.status == PostStatus.PUBLISHING else "post.scheduled")
                posts.append(post)
    except IntegrityError:
        if key is None:
            raise
        # only reachable if a writer bypassed the advisory lock and won: answer as a replay would
        earlier = await replay(scope, key, digest)
        if earlier is None:
            raise Conflict("A concurrent request is creating these posts; retry.", code="concurrent_request") from None
        return Created(earlier, replayed=True)
    await after_create(rt, posts)
    return Created(posts, replayed=False)


async def _insert(
    conn: Any, scope: Scope, checked: Checked, integration: Integration, group_id: uuid.UUID,
    source: Source, key: str | None, digest: str,
) -> Post:
    request = checked.request
    return await Post.create(
        using_db=conn,
        id=uuid.uuid4(),
        workspace_id=scope.workspace_id,
        integration_id=integration.id,
        group_id=group_id,
        text=request.content.text,
        thread=list(request.content.thread),
        options=dict(request.content.options),
        scheduled_for=request.when.at,
        time_zone=request.when.time_zone,
        status=checked.status,
        idempotency_key=key,
        request_hash=digest if key else None,
        source=source,
    )


async def replay(scope: Scope, key: str, digest: str, *, using_db: Any = None) -> list[Post] | None:
    """The posts an earlier request with ``key`` created, or None; a different body is a 409."""
    earlier = await scope.query(Post).filter(idempotency_key=key).using_db(using_db).order_by("created_at", "id")
    if not earlier:
        return None
    if any(post.request_hash != digest for post in earlier):
        raise Conflict(
            "This Idempotency-Key was already used with a different request body; use a new key for a new request.",
            code="idempotency_key_reused",
        )
    return list(earlier)


async def after_create(rt: Runtime, posts: list[Post]) -> None:
    """After the commit: queue what goes out now, and tell the schedulers about the rest."""
    for post in posts:
        if post.status == PostStatus.PUBLISHING:
            await enqueue(rt, post.id)
    if any(post.status == PostStatus.SCHEDULED for post in posts):
        await rt.wake_scheduler()
