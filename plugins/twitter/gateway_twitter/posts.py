"""Publishing, reconciling and deleting posts (and threads) on X.

A thread is published part by part, each part replying to the one before
(``{"reply": {"in_reply_to_tweet_id": ...}}``). X has no idempotency key, so the
ids already out travel with every error as ``progress``: a retry continues the
thread after them instead of starting again, and reconcile looks for the parts
after them.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.errors import AuthExpired, OutcomeUnknown, PermanentError, PlatformError
from gateway.types import Credentials, PlatformContext, PublishRequest, PublishResult, ReconcileResult
from gateway_twitter.client import XClient, error_payload_of
from gateway_twitter.text import replace_urls

#: how far before the attempt started to look: clocks differ between us and X
RECONCILE_SLACK = timedelta(minutes=2)
#: without a start time, how far back to look
RECONCILE_DEFAULT_WINDOW = timedelta(hours=24)
RECONCILE_MAX_PAGES = 5


def user_client(ctx: PlatformContext, credentials: Credentials) -> XClient:
    token = credentials.tokens.get("oauth_token")
    secret = credentials.tokens.get("oauth_token_secret")
    if not token or not secret:
        raise AuthExpired("The stored X credentials are incomplete; reconnect the account.")
    return XClient(ctx, token=token, token_secret=secret)


def post_url(handle: str, tweet_id: str) -> str:
    return f"https://x.com/{handle}/status/{tweet_id}" if handle else f"https://x.com/i/web/status/{tweet_id}"


def result_for(request: PublishRequest, ids: Sequence[str]) -> PublishResult:
    return PublishResult(external_id=ids[0], url=post_url(request.account.handle, ids[0]), part_ids=tuple(ids))


async def publish(ctx: PlatformContext, credentials: Credentials, request: PublishRequest) -> PublishResult:
    parts = [request.text, *request.thread]
    ids = list(request.progress[: len(parts)])
    client = user_client(ctx, credentials)
    while len(ids) < len(parts):
        body: dict[str, Any] = {"text": parts[len(ids)]}
        if ids:
            body["reply"] = {"in_reply_to_tweet_id": ids[-1]}
        try:
            try:
                answer = await client.call("POST", "/2/tweets", json_body=body, unsafe=True)
            except PermanentError as exc:
                found = await _adopt_duplicate(client, request, parts, ids, exc)
                ids.append(found)
                continue
            tweet_id = str((answer.get("data") or {}).get("id") or "")
            if not tweet_id:
                raise OutcomeUnknown("X accepted the post but did not say its id.", code="invalid_answer")
        except PlatformError as exc:
            exc.progress = list(ids)
            raise
        ids.append(tweet_id)
    return result_for(request, ids)


async def _adopt_duplicate(
    client: XClient, request: PublishRequest, parts: Sequence[str], ids: list[str], error: PermanentError
) -> str:
    """After an unfinished attempt, X's "duplicate content" may be our own earlier post.

    X's timeline can lag a few seconds behind a post, so reconcile may miss a
    post whose answer was lost and the retry then meets X's duplicate rule.
    When this publish follows an earlier attempt (``attempt_started_at``), look
    for the part (replying where it should) since then and take it as ours;
    otherwise, or when it is not there, the duplicate error stands.
    """
    if error.code != "duplicate" or request.attempt_started_at is None:
        raise error
    since = request.attempt_started_at - RECONCILE_SLACK
    try:
        tweets = await _recent_tweets(client, request.account.external_id, since)
    except PlatformError:
        raise error from None
    chain = find_chain(tweets, parts[: len(ids) + 1], ids)
    if len(chain) <= len(ids):
        raise error
    return chain[-1]


def comparable(text: str) -> str:
    """A text as X shows it back, reduced to what survives the round trip.

    X stores NFC text, answers with ``&amp; &lt; &gt;`` escaped and with every URL
    replaced by a t.co link, and drops surrounding whitespace.
    """
    text = unicodedata.normalize("NFC", html.unescape(text))
    return replace_urls(text, "\x00url").strip()


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _recent_tweets(client: XClient, user_id: str, since: datetime) -> list[dict[str, Any]]:
    tweets: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(RECONCILE_MAX_PAGES):
        params = [
            ("max_results", "100"),
            ("start_time", rfc3339(since)),
            ("tweet.fields", "created_at,referenced_tweets,text"),
        ]
        if token:
            params.append(("pagination_token", token))
        answer = await client.call("GET", f"/2/users/{user_id}/tweets", params=params)
        if "data" not in answer and answer.get("errors"):  # e.g. the user no longer exists
            message, _ = error_payload_of(answer)
            raise PermanentError(f"X could not list the account's posts: {message}")
        tweets.extend(t for t in answer.get("data") or () if isinstance(t, dict))
        token = (answer.get("meta") or {}).get("next_token")
        if not token:
            break
    return tweets


def _replied_to(tweet: dict[str, Any]) -> str | None:
    for ref in tweet.get("referenced_tweets") or ():
        if isinstance(ref, dict) and ref.get("type") == "replied_to":
            return str(ref.get("id"))
    return None


def find_chain(tweets: Iterable[dict[str, Any]], parts: Sequence[str], progress: Sequence[str]) -> list[str]:
    """The ids of ``parts`` found on X, head first, continuing after ``progress``.

    The head is a post (not a reply) with the head's text; each next part is a
    reply to the previous id with that part's text. Oldest first, so the
    original wins over anything that came later.
    """
    ordered = sorted(tweets, key=lambda t: (len(str(t.get("id", ""))), str(t.get("id", ""))))
    chain = list(progress[: len(parts)])
    while len(chain) < len(parts):
        want = comparable(parts[len(chain)])
        parent = chain[-1] if chain else None
        match = next(
            (
                str(t["id"])
                for t in ordered
                if "id" in t and _replied_to(t) == parent and comparable(str(t.get("text", ""))) == want
            ),
            None,
        )
        if match is None:
            break
        chain.append(match)
    return chain


async def reconcile(ctx: PlatformContext, credentials: Credentials, request: PublishRequest) -> ReconcileResult:
    parts = [request.text, *request.thread]
    progress = tuple(request.progress[: len(parts)])
    started = request.attempt_started_at or datetime.now(UTC) - RECONCILE_DEFAULT_WINDOW
    try:
        client = user_client(ctx, credentials)
        tweets = await _recent_tweets(client, request.account.external_id, started - RECONCILE_SLACK)
    except PlatformError:
        return ReconcileResult(found=None, progress=progress)
    chain = find_chain(tweets, parts, progress)
    if len(chain) == len(parts):
        return ReconcileResult(found=True, result=result_for(request, chain), progress=tuple(chain))
    return ReconcileResult(found=False, progress=tuple(chain))


async def delete_post(ctx: PlatformContext, credentials: Credentials, external_ids: list[str]) -> None:
    """Delete every part, last first (no moment shows replies without their head)."""
    client = user_client(ctx, credentials)
    for tweet_id in reversed(external_ids):
        try:
            await client.call("DELETE", f"/2/tweets/{tweet_id}")
        except PermanentError as exc:
            if exc.status_code != 404:  # already gone is what we wanted
                raise
