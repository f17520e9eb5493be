"""Publishing, reconciling and deleting shares through LinkedIn's UGC Post API.

A post is one share (``POST /v2/ugcPosts``). LinkedIn has no threads; follow-up
parts go out as comments by the author on that share
(``POST /v2/socialActions/{share}/comments``), in order. ``progress`` is the
share URN followed by the comment URNs already out, so a retry continues where
the last attempt stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from gateway.errors import AuthExpired, OutcomeUnknown, PermanentError, PlatformError
from gateway.types import Credentials, PlatformContext, PublishRequest, PublishResult, ReconcileResult
from gateway_linkedin.client import api_url, bearer, encode_urn, error_for, json_body, person_urn, post_url, send
from gateway_linkedin.rules import visibility

SHARE_CONTENT = "com.linkedin.ugc.ShareContent"
MEMBER_VISIBILITY = "com.linkedin.ugc.MemberNetworkVisibility"

#: how far before the attempt's start a share may be dated and still be ours
#: (clocks of the gateway and of LinkedIn disagree a little)
RECONCILE_MARGIN = timedelta(minutes=5)
PAGE_SIZE = 50
MAX_PAGES = 4


def _access_token(credentials: Credentials) -> str:
    token = credentials.tokens.get("access_token")
    if not token:
        raise AuthExpired("This LinkedIn connection has no access token; reconnect the account.")
    return token


def share_body(author: str, text: str, options: Any) -> dict[str, Any]:
    """The documented UGC share shape for a text-only post."""
    return {
        "author": author,
        "lifecycleState": "PUBLISHED",
        "specificContent": {SHARE_CONTENT: {"shareCommentary": {"text": text}, "shareMediaCategory": "NONE"}},
        "visibility": {MEMBER_VISIBILITY: visibility(options)},
    }


async def publish(ctx: PlatformContext, credentials: Credentials, request: PublishRequest) -> PublishResult:
    token = _access_token(credentials)
    author = person_urn(request.account.external_id)
    progress = list(request.progress)
    if not progress:
        progress.append(await _create_share(ctx, token, author, request))
    head = progress[0]
    for text in request.thread[len(progress) - 1 :]:
        try:
            progress.append(await _comment(ctx, token, author, head, text))
        except PlatformError as exc:
            exc.progress = list(progress)
            raise
    return PublishResult(external_id=head, url=post_url(ctx, head), part_ids=tuple(progress))


async def _create_share(ctx: PlatformContext, token: str, author: str, request: PublishRequest) -> str:
    response = await send(
        ctx,
        "POST",
        f"{api_url(ctx)}/v2/ugcPosts",
        mutating=True,
        headers=bearer(token),
        json=share_body(author, request.text, request.options),
    )
    if response.status_code not in (200, 201):
        raise error_for(response, action="publish the post")
    urn = response.headers.get("x-restli-id") or json_body(response).get("id")
    if not isinstance(urn, str) or not urn:
        raise OutcomeUnknown("LinkedIn accepted the post but did not say which share it created.")
    return urn


async def _comment(ctx: PlatformContext, token: str, author: str, share: str, text: str) -> str:
    response = await send(
        ctx,
        "POST",
        f"{api_url(ctx)}/v2/socialActions/{encode_urn(share)}/comments",
        mutating=True,
        headers=bearer(token),
        json={"actor": author, "message": {"text": text}},
    )
    if response.status_code not in (200, 201):
        raise error_for(response, action="add the next part of the thread as a comment")
    urn = _comment_urn(json_body(response)) or response.headers.get("x-restli-id")
    if not urn:
        raise OutcomeUnknown("LinkedIn accepted a comment but did not say which one it created.")
    return urn


def _comment_urn(comment: dict[str, Any]) -> str | None:
    """A comment's URN: ``$URN`` when LinkedIn gives it, else its bare ``id``."""
    for key in ("$URN", "id"):
        value = comment.get(key)
        if isinstance(value, (str, int)) and str(value):
            return str(value)
    return None


class _LookupRefused(Exception):
    """LinkedIn answered a lookup with a 4xx (usually 403: no ``r_member_social``)."""


async def reconcile(ctx: PlatformContext, credentials: Credentials, request: PublishRequest) -> ReconcileResult:
    """Look for the share (and its comments) an unfinished attempt may have published.

    ``found=True`` only when every part is out. When the share is out but some
    comments are not, the answer is ``found=False`` with ``progress`` naming
    what is out, so the retry continues the thread. A lookup LinkedIn refuses
    (403: reading posts needs ``r_member_social``, which most apps do not have)
    gives ``found=None``; a 401, 429 or 5xx is raised as for a publish, so the
    worker refreshes or retries the lookup rather than giving up.
    """
    token = _access_token(credentials)
    author = person_urn(request.account.external_id)
    since = request.attempt_started_at - RECONCILE_MARGIN if request.attempt_started_at else None
    progress = list(request.progress)
    try:
        if not progress:
            head = await _find_share(ctx, token, author, request.text, since)
            if head is None:
                return ReconcileResult(found=False)
            progress.append(head)
        missing = request.thread[len(progress) - 1 :]
        if missing:
            progress.extend(await _find_comments(ctx, token, author, progress, missing))
    except _LookupRefused:
        return ReconcileResult(found=None, progress=tuple(progress))
    if len(progress) - 1 < len(request.thread):
        return ReconcileResult(found=False, progress=tuple(progress))
    head = progress[0]
    result = PublishResult(external_id=head, url=post_url(ctx, head), part_ids=tuple(progress))
    return ReconcileResult(found=True, result=result, progress=tuple(progress))


async def _get(ctx: PlatformContext, token: str, url: str, action: str) -> dict[str, Any]:
    response = await send(ctx, "GET", url, mutating=False, headers=bearer(token))
    if response.status_code == 200:
        return json_body(response)
    error = error_for(response, action=action)
    if isinstance(error, PermanentError):
        raise _LookupRefused(error.message) from error
    raise error


def _same_text(published: object, wanted: str) -> bool:
    if not isinstance(published, str):
        return False
    return published == wanted or _normal(published) == _normal(wanted)


def _normal(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def _millis(stamp: Any) -> int | None:
    value = stamp.get("time") if isinstance(stamp, dict) else None
    return value if isinstance(value, int) else None


async def _find_share(ctx: PlatformContext, token: str, author: str, text: str, since: datetime | None) -> str | None:
    """The URN of the member's share with exactly ``text``, created after ``since``."""
    since_ms = int(since.timestamp() * 1000) if since else None
    base = (
        f"{api_url(ctx)}/v2/ugcPosts?q=authors&authors=List({encode_urn(author)})"
        f"&sortBy=LAST_MODIFIED&count={PAGE_SIZE}"
    )
    for page in range(MAX_PAGES):
        url = base + (f"&start={page * PAGE_SIZE}" if page else "")
        elements = (await _get(ctx, token, url, "list the member's posts")).get("elements") or []
        for share in elements:
            if not isinstance(share, dict) or share.get("author") != author:
                continue
            if share.get("lifecycleState", "PUBLISHED") != "PUBLISHED":
                continue
            created = _millis(share.get("created"))
            if since_ms is not None and created is not None and created < since_ms:
                continue
            content = (share.get("specificContent") or {}).get(SHARE_CONTENT) or {}
            urn = share.get("id")
            if isinstance(urn, str) and _same_text((content.get("shareCommentary") or {}).get("text"), text):
                return urn
        oldest = _millis(elements[-1].get("lastModified")) if elements and isinstance(elements[-1], dict) else None
        # sorted by last modification, newest first: past ``since`` nothing older can be ours
        if len(elements) < PAGE_SIZE or (since_ms is not None and oldest is not None and oldest < since_ms):
            return None
    return None


async def _find_comments(
    ctx: PlatformContext, token: str, author: str, progress: Sequence[str], missing: Sequence[str]
) -> list[str]:
    """The URNs of the member's comments on the share that carry the ``missing`` parts, in order.

    Stops at the first part not found: the thread continues from there.
    """
    url = f"{api_url(ctx)}/v2/socialActions/{encode_urn(progress[0])}/comments?count=100"
    elements = (await _get(ctx, token, url, "list the post's comments")).get("elements") or []
    ours = [c for c in elements if isinstance(c, dict) and c.get("actor") == author and _comment_urn(c) not in progress]
    ours.sort(key=lambda c: _millis(c.get("created")) or 0)
    found: list[str] = []
    position = 0
    for text in missing:
        match = next(
            (i for i in range(position, len(ours)) if _same_text((ours[i].get("message") or {}).get("text"), text)),
            None,
        )
        if match is None:
            break
        urn = _comment_urn(ours[match])
        if urn is None:
            break
        found.append(urn)
        position = match + 1
    return found


async def delete(ctx: PlatformContext, credentials: Credentials, external_ids: list[str]) -> None:
    """Delete the share; its comments (the thread's other parts) go with it.

    A share that is already gone (404) counts as deleted. A lost answer is safe
    to retry, so it is a transient error, not an unknown outcome.
    """
    if not external_ids:
        return
    token = _access_token(credentials)
    response = await send(
        ctx,
        "DELETE",
        f"{api_url(ctx)}/v2/ugcPosts/{encode_urn(external_ids[0])}",
        mutating=False,
        headers=bearer(token),
    )
    if response.status_code in (200, 202, 204, 404):
        return
    raise error_for(response, action="delete the post")
