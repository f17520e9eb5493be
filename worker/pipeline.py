"""One run of PUBLISH_POST for one post: look first if needed, then publish, then record.

The steps (DESIGN.md, "Publishing exactly once"):

1. Nothing happens unless the post is PUBLISHING and its retry time has come.
2. An earlier attempt without an outcome means the platform may hold the
   post: a worker died mid-call (the attempt is claimed as ABANDONED) or an
   answer was lost (``OutcomeUnknown``). The plugin's reconcile hook looks:
   found -> PUBLISHED; not found -> publish again, after any thread parts
   that are out; cannot tell (or no reconcile hook) -> UNKNOWN, and the user
   is asked to check the account.
3. A PublishAttempt is committed, then the platform is called.
4. The answer is recorded with the attempt's outcome; a failure is
   classified (:mod:`worker.policy`) into a retry at the platform's reset time,
   a bounded backoff, one credentials refresh, FAILED with the platform's
   message, or a lost answer to reconcile on the next run.

:meth:`Publisher.run` returns when the post should be tried again (the job
re-enqueues it once it has finished), or None.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from gateway.errors import AuthExpired, GatewayError
from gateway.models import AttemptOutcome, Integration, IntegrationStatus, Post, PostStatus, PublishAttempt
from gateway.posting.checks import inactive_message
from gateway.runtime import Runtime
from gateway.types import Account, Credentials, PlatformContext, PublishRequest, PublishResult, ReconcileResult
from worker import records
from worker.credentials import RefreshDeferred, RefreshFailed, refresh
from worker.policy import MAX_TRANSIENT_FAILURES, Kind, backoff, classify, describe, retry_time

log = logging.getLogger(__name__)

#: refresh credentials this long before they expire rather than let a publish fail on them
REFRESH_MARGIN = timedelta(seconds=60)


class _Continue:
    """Reconcile found nothing: go on and publish."""


CONTINUE = _Continue()
Step = datetime | None | _Continue


def needs_reconcile(last: PublishAttempt | None) -> bool:
    return last is not None and (last.outcome is None or last.outcome == AttemptOutcome.ABANDONED)


async def run_publish(rt: Runtime, post_id: str, worker_id: str) -> datetime | None:
    """The PUBLISH_POST job's work for ``post_id``; returns when to run again, or None."""
    post = await Post.get_or_none(id=post_id)
    if post is None or post.status != PostStatus.PUBLISHING:
        log.info("post %s is %s: nothing to publish", post_id, post.status.value if post else "gone")
        return None
    if post.retry_at is not None and post.retry_at > datetime.now(UTC):
        return post.retry_at  # queued early (by the sweep, or twice): come back at the retry time
    integration = await Integration.get(id=post.integration_id)
    return await Publisher(rt, post, integration, worker_id).run()


class Publisher:
    def __init__(self, rt: Runtime, post: Post, integration: Integration, worker_id: str) -> None:
        self.rt = rt
        self.post = post
        self.integration = integration
        self.worker_id = worker_id
        self.ctx: PlatformContext | None = None
        self.refreshed = False
        self.checking: PublishAttempt | None = None  #: the attempt being reconciled

    async def run(self) -> datetime | None:
        last = await records.last_attempt(self.post)
        pending = self.checking = last if needs_reconcile(last) else None
        if self.integration.status != IntegrationStatus.ACTIVE or self.integration.credentials is None:
            reason = inactive_message(self.integration)
            if pending is not None:
                await records.unknown(self.rt, self.post, pending, self.cannot_tell(reason))
            else:
                await records.fail(self.rt, self.post, None, "integration_inactive", reason)
            return None
        try:
            self.ctx = self.rt.plugins.context(self.integration.platform, self.rt.http)
        except GatewayError as exc:  # the plugin is missing or not configured on this worker
            return await self.later(None, exc, Kind.TRANSIENT)
        try:
            if pending is not None:
                if pending.finished_at is None and not await records.abandon(self.post, pending):
                    return None  # another job claimed it
                step = await self.reconcile(pending)
                if not isinstance(step, _Continue):
                    return step
                self.checking = None
            return await self.publish()
        except RefreshDeferred as exc:
            return await self.later(None, exc.cause, classify(exc.cause))
        except RefreshFailed as exc:
            await records.needs_reconnect(self.rt, self.post, self.integration, self.checking, exc.reason,
                                          outcome_unknown=self.checking is not None)
            return None

    # -- the platform calls ------------------------------------------------------------

    def request(self, started: datetime | None = None) -> PublishRequest:
        post, account = self.post, self.integration
        return PublishRequest(
            post_id=str(post.id),
            account=Account(external_id=account.external_id, handle=account.handle, name=account.name,
                            url=account.url),
            text=post.text,
            thread=tuple(post.thread or ()),
            options=dict(post.options or {}),
            progress=tuple(str(part) for part in post.part_ids or ()),
            attempt_started_at=started,
        )

    async def credentials(self) -> Credentials:
        """The account's credentials, refreshed first if they expire within the margin."""
        expires = self.integration.token_expires_at
        if (not self.refreshed and expires is not None and expires <= datetime.now(UTC) + REFRESH_MARGIN
                and self.rt.plugins.implements("gateway_refresh_credentials", self.integration.platform)):
            return await self.refresh()
        return self.rt.vault.open_credentials(self.integration)

    async def refresh(self, rejected: AuthExpired | None = None) -> Credentials:
        """Refresh once per run; a second rejection means the account must be reconnected."""
        if self.refreshed:
            raise RefreshFailed(rejected.message if rejected else "the refreshed credentials were refused")
        self.refreshed = True
        assert self.ctx is not None
        return await refresh(self.rt, self.integration, self.ctx)

    async def publish(self) -> datetime | None:
        assert self.ctx is not None
        while True:
            credentials = await self.credentials()
            attempt = await records.start_attempt(self.post, self.worker_id)
            if attempt is None:
                return None
            try:
                result: PublishResult = await self.rt.plugins.call(
                    "gateway_publish", self.ctx, credentials=credentials, request=self.request())
            except AuthExpired as exc:  # refused before anything went out (except earlier thread parts)
                await records.retry_later(self.rt, self.post, attempt, exc.code, exc.message,
                                          datetime.now(UTC), failures=self.post.failures, progress=exc.progress)
                await self.refresh(exc)
                continue
            except NotImplementedError:
                await records.fail(self.rt, self.post, attempt, "unsupported_platform",
                                   f"No installed plugin can publish to {self.integration.platform}.")
                return None
            except Exception as exc:  # classified below: anything unexpected counts as "may be out"
                return await self.failed(attempt, exc)
            await records.published(self.rt, self.post, attempt, result)
            return None

    async def reconcile(self, pending: PublishAttempt) -> Step:
        assert self.ctx is not None
        request = self.request(started=pending.started_at)
        try:
            found = await self.look(request)
        except NotImplementedError:
            await records.unknown(self.rt, self.post, pending, self.cannot_tell(self.no_look))
            return None
        except (RefreshFailed, RefreshDeferred):
            raise
        except Exception as exc:
            kind = classify(exc)
            if kind in (Kind.RATE_LIMITED, Kind.TRANSIENT):
                return await self.later(None, exc, kind)
            log.warning("post %s: reconcile failed: %r", self.post.id, exc)
            await records.unknown(self.rt, self.post, pending, self.cannot_tell(describe(exc)[1]))
            return None
        if found.found is True and found.result is not None:
            await records.published(self.rt, self.post, pending, found.result, reconciled=True)
            return None
        if found.found is False:
            await records.not_found(self.post, pending, found.progress)
            if self.post.failures >= MAX_TRANSIENT_FAILURES:
                await records.fail(self.rt, self.post, None, "answer_never_arrived",
                                   f"Gave up after {self.post.failures} tries: the platform's answer kept getting"
                                   f" lost, and it did not publish ({pending.error_message or 'no answer'}).")
                return None
            return CONTINUE
        await records.unknown(self.rt, self.post, pending, self.cannot_tell("the platform could not be searched"),
                              progress=found.progress)
        return None

    async def look(self, request: PublishRequest) -> ReconcileResult:
        """The reconcile hook, with one refresh if the credentials are refused."""
        assert self.ctx is not None
        while True:
            credentials = await self.credentials()
            try:
                found: ReconcileResult = await self.rt.plugins.call(
                    "gateway_reconcile", self.ctx, credentials=credentials, request=request)
                return found
            except AuthExpired as exc:
                await self.refresh(exc)

    # -- outcomes ----------------------------------------------------------------------

    async def failed(self, attempt: PublishAttempt, exc: Exception) -> datetime | None:
        kind = classify(exc)
        code, message = describe(exc)
        progress = list(getattr(exc, "progress", None) or [])
        if kind == Kind.PERMANENT:
            await records.fail(self.rt, self.post, attempt, code, message, progress=progress)
            return None
        if kind == Kind.UNKNOWN:
            if not isinstance(exc, GatewayError):
                log.error("post %s: the %s plugin raised %r; treating the outcome as unknown",
                          self.post.id, self.integration.platform, exc, exc_info=exc)
            if not self.rt.plugins.implements("gateway_reconcile", self.integration.platform):
                await records.unknown(self.rt, self.post, attempt, self.cannot_tell(f"{message} {self.no_look}"),
                                      progress=progress)
                return None
            at = datetime.now(UTC) + backoff(self.rt.settings, 1)
            await records.unresolved(self.rt, self.post, attempt, code, message, at,
                                     failures=self.post.failures + 1, progress=progress)
            return at
        return await self.later(attempt, exc, kind, progress)

    async def later(self, attempt: PublishAttempt | None, exc: Exception, kind: Kind,
                    progress: list[str] | None = None) -> datetime | None:
        """Try again later, or give up after too many transient failures in a row."""
        code, message = describe(exc)
        failures = self.post.failures + 1
        if kind == Kind.TRANSIENT and failures >= MAX_TRANSIENT_FAILURES:
            if self.checking is not None:
                await records.unknown(self.rt, self.post, self.checking, self.cannot_tell(message))
            else:
                await records.fail(self.rt, self.post, attempt, code,
                                   f"{message} Gave up after {failures} tries.", progress=progress)
            return None
        at = retry_time(self.rt.settings, exc, failures)
        await records.retry_later(self.rt, self.post, attempt, code, message, at, failures=failures,
                                  progress=progress)
        return at

    @property
    def title(self) -> str:
        info = self.rt.plugins.platforms.get(self.integration.platform)
        return info.title if info else self.integration.platform

    @property
    def no_look(self) -> str:
        return f"{self.title} offers no way to look"

    def cannot_tell(self, why: str) -> str:
        platform = self.title
        return (f"We could not confirm whether this post was published on {platform} ({why}). Check the account"
                f" @{self.integration.handle}: if the post is not there, retry it; if it is, nothing more is needed.")
