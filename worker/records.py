"""What the worker writes: attempts, and the post's moves with their events.

Every function here is one transaction. A post moves by compare-and-set on
PUBLISHING (:func:`gateway.posting.move`), so a post cancelled or deleted
meanwhile is never resurrected; the attempt row is finished in the same
transaction as the move it explains.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from gateway.models import AttemptOutcome, Integration, IntegrationStatus, Post, PostStatus, PublishAttempt
from gateway.posting import move
from gateway.runtime import Runtime
from gateway.serializers import integration_json, iso
from gateway.types import PublishResult

log = logging.getLogger(__name__)

WORKER_LOST = "The worker stopped before it heard back from the platform."
FOUND = " Checked: it was published."
NOT_FOUND = " Checked: it was not published; publishing again."


def _now() -> datetime:
    return datetime.now(UTC)


async def last_attempt(post: Post) -> PublishAttempt | None:
    return await PublishAttempt.filter(post_id=post.id).order_by("-number").first()


async def start_attempt(post: Post, worker: str) -> PublishAttempt | None:
    """Commit a new attempt before the platform is called; None if the post is no longer ours.

    The post's row is locked while the attempt is inserted, so a cancel (which
    takes the same lock) either happens first and is seen here, or sees this
    attempt in flight and refuses. An attempt without an outcome means another
    job is mid-call: the unique (post, number) backs this up.
    """
    async with in_transaction() as conn:
        row = await Post.filter(id=post.id).using_db(conn).select_for_update().first()
        if row is None or row.status != PostStatus.PUBLISHING:
            return None
        last = await PublishAttempt.filter(post_id=post.id).using_db(conn).order_by("-number").first()
        if last is not None and last.outcome is None:
            log.warning("post %s: attempt %s is unresolved; not starting another", post.id, last.number)
            return None
        post.part_ids = row.part_ids
        return await PublishAttempt.create(
            using_db=conn, post_id=post.id, number=(last.number + 1) if last else 1, worker=worker
        )


async def _finish(conn: Any, attempt: PublishAttempt, outcome: AttemptOutcome | None,
                  code: str | None = None, message: str | None = None) -> None:
    attempt.finished_at = _now()
    attempt.outcome = outcome  # type: ignore[assignment]  # the column is nullable: None = not known yet
    attempt.error_code = code
    attempt.error_message = message  # type: ignore[assignment]
    await attempt.save(using_db=conn, update_fields=["finished_at", "outcome", "error_code", "error_message"])


def _progress(progress: Sequence[str] | None) -> dict[str, Any]:
    return {"part_ids": list(progress)} if progress else {}


async def published(rt: Runtime, post: Post, attempt: PublishAttempt, result: PublishResult,
                    *, reconciled: bool = False) -> None:
    async with rt.events.transaction() as tx:
        if reconciled:  # keep why it had to be looked for
            await _finish(tx.conn, attempt, AttemptOutcome.RECONCILED, attempt.error_code,
                          (attempt.error_message or "") + FOUND)
        else:
            await _finish(tx.conn, attempt, AttemptOutcome.PUBLISHED)
        moved = await move(
            tx, post, expect=PostStatus.PUBLISHING, to=PostStatus.PUBLISHED, event="post.published",
            payload={"attempt": attempt.number, "reconciled": reconciled},
            external_id=result.external_id, external_url=result.url,
            part_ids=list(result.part_ids) or [result.external_id], published_at=_now(),
            error_code=None, error_message=None, retry_at=None, failures=0,
        )
    if not moved:
        log.error("post %s was published as %s but had left PUBLISHING meanwhile", post.id, result.external_id)
    else:
        log.info("post %s published%s: %s", post.id, " (found by reconcile)" if reconciled else "", result.url)


async def retry_later(rt: Runtime, post: Post, attempt: PublishAttempt | None, code: str, message: str,
                      at: datetime, *, failures: int, progress: Sequence[str] | None = None) -> None:
    """The post stays PUBLISHING with ``retry_at``; ``post.retrying`` says when and why."""
    async with rt.events.transaction() as tx:
        if attempt is not None:
            await _finish(tx.conn, attempt, AttemptOutcome.RETRY, code, message)
        await move(tx, post, expect=PostStatus.PUBLISHING, to=PostStatus.PUBLISHING, event="post.retrying",
                   payload={"retryAt": iso(at), "attempt": attempt.number if attempt else None},
                   retry_at=at, failures=failures, error_code=code, error_message=message, **_progress(progress))
    log.info("post %s: %s (%s); trying again at %s", post.id, code, message, at.isoformat())


async def unresolved(rt: Runtime, post: Post, attempt: PublishAttempt, code: str, message: str,
                     at: datetime, *, failures: int, progress: Sequence[str] | None = None) -> None:
    """The answer was lost: the attempt stays without an outcome (the next job reconciles it),
    after a short pause so the platform has shown what it stored."""
    async with rt.events.transaction() as tx:
        await _finish(tx.conn, attempt, None, code, message)
        await move(tx, post, expect=PostStatus.PUBLISHING, to=PostStatus.PUBLISHING, event="post.retrying",
                   payload={"retryAt": iso(at), "attempt": attempt.number, "checking": True},
                   retry_at=at, failures=failures, error_code=code, error_message=message, **_progress(progress))
    log.warning("post %s: the answer was lost (%s); checking the platform at %s", post.id, message, at.isoformat())


async def fail(rt: Runtime, post: Post, attempt: PublishAttempt | None, code: str, message: str,
               *, progress: Sequence[str] | None = None) -> None:
    async with rt.events.transaction() as tx:
        if attempt is not None:
            await _finish(tx.conn, attempt, AttemptOutcome.FAILED, code, message)
        await move(tx, post, expect=PostStatus.PUBLISHING, to=PostStatus.FAILED, event="post.failed",
                   payload={"attempt": attempt.number if attempt else None},
                   error_code=code, error_message=message, retry_at=None, failures=0, **_progress(progress))
    log.info("post %s failed: %s (%s)", post.id, code, message)


async def unknown(rt: Runtime, post: Post, attempt: PublishAttempt | None, message: str,
                  *, progress: Sequence[str] | None = None) -> None:
    """No way to tell whether the post went out: UNKNOWN, and the user is asked to look."""
    async with rt.events.transaction() as tx:
        if attempt is not None:
            await _finish(tx.conn, attempt, AttemptOutcome.UNKNOWN, "outcome_unknown", message)
        await move(tx, post, expect=PostStatus.PUBLISHING, to=PostStatus.UNKNOWN, event="post.unknown",
                   payload={"attempt": attempt.number if attempt else None},
                   error_code="outcome_unknown", error_message=message, retry_at=None, failures=0,
                   **_progress(progress))
    log.warning("post %s: outcome unknown: %s", post.id, message)


async def abandon(post: Post, attempt: PublishAttempt) -> bool:
    """Claim an attempt whose worker died mid-call; False if another job claimed it first.

    It counts as a failure of the post, so a post whose worker keeps dying
    (and that reconcile keeps not finding) is given up on in the end.
    """
    changes: dict[str, Any] = {"outcome": AttemptOutcome.ABANDONED, "finished_at": _now(),
                               "error_code": "worker_lost", "error_message": WORKER_LOST}
    async with in_transaction() as conn:
        claimed = await PublishAttempt.filter(
            id=attempt.id, outcome__isnull=True, finished_at__isnull=True).using_db(conn).update(**changes)
        if claimed:
            await Post.filter(id=post.id).using_db(conn).update(failures=post.failures + 1)
    if claimed:
        post.failures += 1
        for name, value in changes.items():
            setattr(attempt, name, value)
        log.warning("post %s: attempt %s was cut off mid-call; looking on the platform", post.id, attempt.number)
    return bool(claimed)


async def not_found(post: Post, attempt: PublishAttempt, progress: Sequence[str]) -> None:
    """Reconcile looked and the post is not (all) out: publish again, after what is."""
    async with in_transaction() as conn:
        # a lost answer (or a dead worker's call), now known to have changed nothing (or only earlier parts)
        await _finish(conn, attempt, AttemptOutcome.RETRY if attempt.outcome is None else attempt.outcome,
                      attempt.error_code, (attempt.error_message or "") + NOT_FOUND)
        if progress:
            await Post.filter(id=post.id, status=PostStatus.PUBLISHING).using_db(conn).update(
                part_ids=list(progress), updated_at=_now())
            post.part_ids = list(progress)


async def needs_reconnect(rt: Runtime, post: Post, integration: Integration, attempt: PublishAttempt | None,
                          reason: str, *, outcome_unknown: bool) -> None:
    """The credentials cannot be refreshed: the integration becomes ``refresh_needed`` and the
    post FAILED with that reason (UNKNOWN if it may be out: the check itself needed the account)."""
    who = f"{integration.platform} account @{integration.handle}"
    async with rt.events.transaction() as tx:
        now = _now()
        moved = await Integration.filter(id=integration.id, status=IntegrationStatus.ACTIVE).using_db(tx.conn).update(
            status=IntegrationStatus.REFRESH_NEEDED, status_reason=reason, updated_at=now)
        if moved:
            integration.status = IntegrationStatus.REFRESH_NEEDED
            integration.status_reason = reason
            integration.updated_at = now
            await tx.emit(integration.workspace_id, "integration.refresh_needed", integration_id=integration.id,
                          payload={"reason": reason, "integration": integration_json(integration)})
        if outcome_unknown:
            message = (f"Could not check whether the post went out: the {who} must be reconnected ({reason})."
                       " Check the account; if the post is not there, reconnect and retry it.")
            if attempt is not None:
                await _finish(tx.conn, attempt, AttemptOutcome.UNKNOWN, "refresh_needed", message)
            status, event = PostStatus.UNKNOWN, "post.unknown"
        else:
            message = f"Not published: the {who} must be reconnected ({reason})."
            if attempt is not None:
                await _finish(tx.conn, attempt, AttemptOutcome.FAILED, "refresh_needed", message)
            status, event = PostStatus.FAILED, "post.failed"
        await move(tx, post, expect=PostStatus.PUBLISHING, to=status, event=event,
                   error_code="refresh_needed", error_message=message, retry_at=None, failures=0)
