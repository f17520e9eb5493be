"""Moving a post between states: a compare-and-set with its Event row, in one transaction.

Every change of a post's status is ``UPDATE post SET ... WHERE id = $1 AND
status = $2``: when two processes race (the scheduler claiming a post while a
user edits it, two workers, a cancel during a retry), exactly one of them
moves it and the other learns that it lost. The Event row is written in the
same transaction, so the log never shows a change that did not happen, nor
misses one that did; it reaches the Redis stream after the commit
(:class:`gateway.events.EventBus`).

Enqueueing a job for a post that moved to PUBLISHING happens after the commit
too (:func:`enqueue`): a job must never find the post still in its old state.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError

from gateway.events import Tx
from gateway.models import Post, PostStatus
from gateway.runtime import Runtime
from gateway.serializers import post_event_payload

log = logging.getLogger(__name__)


async def move(
    tx: Tx,
    post: Post,
    *,
    expect: PostStatus | Iterable[PostStatus],
    to: PostStatus,
    event: str,
    payload: dict[str, Any] | None = None,
    **changes: Any,
) -> bool:
    """Compare-and-set ``post`` from ``expect`` to ``to`` with ``changes``, and emit ``event``.

    Returns False, changing nothing, when the post is not in ``expect`` any
    more. On success the ``post`` object is updated in place. ``expect`` may
    equal ``to``: the post stays where it is but only if nobody moved it
    (recording a retry while PUBLISHING).
    """
    expected = [expect] if isinstance(expect, PostStatus) else list(expect)
    now = datetime.now(UTC)
    moved = await Post.filter(id=post.id, status__in=expected).using_db(tx.conn).update(
        status=to, updated_at=now, **changes
    )
    if not moved:
        return False
    post.status = to
    post.updated_at = now
    for name, value in changes.items():
        setattr(post, name, value)
    await emit(tx, post, event, payload)
    return True


async def emit(tx: Tx, post: Post, event: str, payload: dict[str, Any] | None = None) -> None:
    """An event about ``post`` in its current state (plus ``payload``), in ``tx``."""
    await tx.emit(post.workspace_id, event, post_id=post.id, integration_id=post.integration_id,
                  payload={**post_event_payload(post), **(payload or {})})


async def enqueue(rt: Runtime, post_id: uuid.UUID | str, *, scheduled: float = 0) -> bool:
    """Queue PUBLISH_POST after a commit. Redis trouble is logged, not raised: the post is
    stored as PUBLISHING and the sweep enqueues it again (DESIGN: publishing exactly once, 6)."""
    try:
        return await rt.enqueue_publish(post_id, scheduled=scheduled)
    except (RedisError, OSError) as exc:
        log.warning("post %s is PUBLISHING but could not be queued (%s); the sweep will queue it", post_id, exc)
        return False
