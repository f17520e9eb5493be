"""Changing a post after it was created: edit or reschedule, cancel, retry, delete.

Each change locks the post's row (``SELECT ... FOR UPDATE``), checks its
state, and moves it with a compare-and-set plus its Event row in one
transaction. The scheduler claims due posts with ``FOR UPDATE SKIP LOCKED``,
so a post being edited is simply claimed on its next tick, with the edit;
and a post it claimed first is PUBLISHING here, which an edit refuses (409).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from gateway.errors import Conflict, InvalidRequest, NotFound
from gateway.models import AttemptOutcome, Integration, IntegrationStatus, Post, PostStatus, PublishAttempt
from gateway.posting.checks import check_content, inactive_message
from gateway.posting.errors import FieldProblem, ValidationFailed
from gateway.posting.requests import Content, read_edit
from gateway.posting.transitions import emit, enqueue, move
from gateway.runtime import Runtime
from gateway.scoping import Scope

#: attempt outcomes after which nothing of that attempt can still be in flight
RESOLVED = frozenset({AttemptOutcome.PUBLISHED, AttemptOutcome.RETRY, AttemptOutcome.FAILED,
                      AttemptOutcome.UNKNOWN, AttemptOutcome.RECONCILED})


async def locked(scope: Scope, post_id: Any, conn: Any) -> Post:
    """The caller's post, its row locked until the transaction ends; 404 for anyone else's."""
    try:
        key = uuid.UUID(str(post_id))
    except ValueError:
        raise NotFound(f"no post {post_id!r}") from None
    post = await scope.query(Post).filter(id=key).using_db(conn).select_for_update().first()
    if post is None:
        raise NotFound(f"no post {post_id}")
    return post


async def edit_post(rt: Runtime, scope: Scope, post_id: Any, body: Mapping[str, Any]) -> Post:
    """Change a SCHEDULED post's content or time. ``"scheduledFor": null`` publishes it now."""
    change, problems = read_edit(body)
    async with rt.events.transaction() as tx:
        post = await locked(scope, post_id, tx.conn)
        if post.status != PostStatus.SCHEDULED:
            raise Conflict(f"The post is {post.status.value}; only a SCHEDULED post can be edited or rescheduled.",
                           code="not_editable")
        content = Content(
            text=change.text if change.text is not None else post.text,
            thread=change.thread if change.thread is not None else tuple(post.thread or ()),
            options=change.options if change.options is not None else dict(post.options or {}),
        )
        integration = await Integration.get(id=post.integration_id, using_db=tx.conn)
        publish_now = change.when is not None and change.when.at is None
        if not any(p.code in ("invalid_type", "required") for p in problems):
            problems += check_content(rt.plugins, integration, content, "integrationId")
        if publish_now and integration.status != IntegrationStatus.ACTIVE:
            problems.append(FieldProblem("integrationId", "integration_inactive", inactive_message(integration),
                                         str(integration.id)))
        if problems:
            raise ValidationFailed(problems)
        updates: dict[str, Any] = {"text": content.text, "thread": list(content.thread),
                                   "options": dict(content.options)}
        if change.when is not None:
            updates.update(scheduled_for=change.when.at, time_zone=change.when.time_zone)
        await move(
            tx, post, expect=PostStatus.SCHEDULED,
            to=PostStatus.PUBLISHING if publish_now else PostStatus.SCHEDULED,
            event="post.publishing" if publish_now else "post.scheduled",
            payload={"change": "rescheduled" if change.when is not None else "edited"},
            **updates,
        )
    if publish_now:
        await enqueue(rt, post.id)
    await rt.wake_scheduler()
    return post


async def _retry_pending(post: Post, conn: Any) -> bool:
    """Whether a PUBLISHING post is only waiting for its next try, with nothing in flight.

    Safe to cancel: the worker locks the row and checks the status before it
    starts an attempt, and nothing of the last attempt can still appear.
    """
    if post.retry_at is None:
        return False
    last = await PublishAttempt.filter(post_id=post.id).using_db(conn).order_by("-number").first()
    return last is None or last.outcome in RESOLVED


async def cancel_post(rt: Runtime, scope: Scope, post_id: Any) -> Post:
    async with rt.events.transaction() as tx:
        post = await locked(scope, post_id, tx.conn)
        was = post.status
        if not (was == PostStatus.SCHEDULED or (was == PostStatus.PUBLISHING and await _retry_pending(post, tx.conn))):
            raise Conflict(_cannot_cancel(post), code="not_cancellable")
        await move(tx, post, expect=was, to=PostStatus.CANCELLED, event="post.cancelled",
                   payload={"previousStatus": was.value}, retry_at=None)
    await rt.wake_scheduler()
    return post


def _cannot_cancel(post: Post) -> str:
    if post.status == PostStatus.PUBLISHING:
        return "The post is being published right now and cannot be cancelled; check its status in a moment."
    return f"The post is {post.status.value}; only a SCHEDULED post (or one waiting to retry) can be cancelled."


async def retry_post(rt: Runtime, scope: Scope, post_id: Any) -> Post:
    """FAILED or UNKNOWN back to PUBLISHING. For UNKNOWN the user has checked the account:
    the worker publishes again without looking first (a thread continues after its known parts)."""
    async with rt.events.transaction() as tx:
        post = await locked(scope, post_id, tx.conn)
        was = post.status
        if was not in (PostStatus.FAILED, PostStatus.UNKNOWN):
            raise Conflict(f"The post is {was.value}; only a FAILED or UNKNOWN post can be retried.",
                           code="not_retryable")
        integration = await Integration.get(id=post.integration_id, using_db=tx.conn)
        if integration.status != IntegrationStatus.ACTIVE:
            raise Conflict(inactive_message(integration), code="integration_inactive")
        await move(tx, post, expect=was, to=PostStatus.PUBLISHING, event="post.publishing",
                   payload={"retry": True, "previousStatus": was.value},
                   retry_at=None, failures=0, error_code=None, error_message=None)
    await enqueue(rt, post.id)
    return post


async def delete_post(rt: Runtime, scope: Scope, post_id: Any, *, from_platform: bool = False) -> Post:
    """Delete the post's row (its events stay). ``from_platform`` first removes what was
    published (every part of a thread) through the plugin's delete hook."""
    post = await scope.get(Post, post_id)
    if post.status == PostStatus.PUBLISHING:
        raise Conflict("The post is being published; wait for the outcome (or cancel a pending retry) first.",
                       code="not_deletable")
    if from_platform:
        await _remove_from_platform(rt, post)
    async with rt.events.transaction() as tx:
        deleted = await Post.filter(id=post.id, status=post.status).using_db(tx.conn).delete()
        if not deleted:
            raise Conflict("The post changed while it was being deleted; look at it again.", code="changed")
        await emit(tx, post, "post.deleted", {"removedFromPlatform": from_platform})
    if post.status == PostStatus.SCHEDULED:
        await rt.wake_scheduler()
    return post


async def _remove_from_platform(rt: Runtime, post: Post) -> None:
    ids = [str(i) for i in post.part_ids or ()] or ([post.external_id] if post.external_id else [])
    if not ids:
        raise InvalidRequest("Nothing of this post was published, so there is nothing to remove from the platform.",
                             code="not_published")
    integration = await Integration.get(id=post.integration_id)
    if integration.credentials is None:
        raise Conflict(f"The {integration.platform} account @{integration.handle} is disconnected; reconnect it to"
                       " remove the post from the platform.", code="integration_inactive")
    if not rt.plugins.implements("gateway_delete_post", integration.platform):
        raise InvalidRequest(f"Posts on {integration.platform} cannot be deleted through the gateway.",
                             code="delete_unsupported")
    ctx = rt.plugins.context(integration.platform, rt.http)
    await rt.plugins.call("gateway_delete_post", ctx, credentials=rt.vault.open_credentials(integration),
                          external_ids=ids)
