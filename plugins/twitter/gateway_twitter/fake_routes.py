"""The fake X's endpoints (see :mod:`gateway_twitter.fake` for what it checks)."""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from quart import Response, request

from gateway_twitter import fake_pages as pages
from gateway_twitter.fake_state import (
    CREATE_FIELDS,
    TWEET_FIELDS,
    AccessToken,
    FakeTweet,
    FakeUser,
    FakeX,
    RequestToken,
    with_query,
)
from gateway_twitter.text import MAX_WEIGHTED_LENGTH, weighted_length

FORM = "text/html; charset=utf-8"  # X answers the OAuth endpoints form-encoded, labelled text/html
TOO_LONG = (
    "Your Tweet text is too long. For more information on how X determines text length"
    " see https://github.com/twitter/twitter-text."
)
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
REPLY_GONE = "You attempted to reply to a Tweet that is deleted or not visible to you."


def install(fake: FakeX) -> None:
    """Add X's endpoints to ``fake.app``."""

    # -- OAuth 1.0a -----------------------------------------------------------------

    @fake.route("/oauth/request_token", "POST /oauth/request_token", ["POST"])
    async def request_token() -> Response:
        oauth, _ = await fake.authenticate("none")
        callback = oauth.get("oauth_callback", "")
        if not callback:
            return pages.v1_error(400, 417, "Desktop applications only support the oauth_callback value 'oob'")
        if callback != "oob" and (
            not callback.startswith(("http://", "https://"))
            or (fake.allowed_callbacks is not None and callback not in fake.allowed_callbacks)
        ):
            return pages.v1_error(
                403,
                415,
                "Callback URL not approved for this client application. Approved callback URLs can be"
                " adjusted in your application settings",
            )
        token = _new_request_token(fake, callback)
        body = f"oauth_token={token.token}&oauth_token_secret={token.secret}&oauth_callback_confirmed=true"
        return Response(body, content_type=FORM)

    def pending(token_value: str | None) -> RequestToken | None:
        token = fake.request_tokens.get(token_value or "")
        if token is None or token.used or time.time() - token.issued > fake.request_token_ttl:
            return None
        return token

    @fake.route("/oauth/authorize", "GET /oauth/authorize", ["GET"])
    async def authorize_page() -> Response:
        token = pending(request.args.get("oauth_token"))
        if token is None or token.verifier is not None:
            return pages.html_page("Authorization failed", "<p>This page is no longer valid.</p>", 400)
        user = fake.find_user(request.args.get("user")) or fake.default_user
        users = [(u.id, u.username, u.name) for u in fake.users.values()]
        return pages.authorize_page(token.token, users, user.id)

    @fake.route("/oauth/authorize", "POST /oauth/authorize", ["POST"])
    async def authorize_decision() -> Response:
        form = await request.form
        token = pending(form.get("oauth_token"))
        if token is None or token.verifier is not None:
            return pages.html_page("Authorization failed", "<p>This page is no longer valid.</p>", 400)
        if form.get("action") == "cancel":
            token.used = True
            if token.callback == "oob":
                return pages.html_page("Cancelled", "<p>You did not authorize the application.</p>")
            return pages.redirect_to(with_query(token.callback, denied=token.token))
        user = fake.find_user(form.get("user") or request.args.get("user"))
        if user is None:
            return pages.html_page("Authorization failed", "<p>No such account.</p>", 400)
        token.user_id = user.id
        token.verifier = secrets.token_urlsafe(24)
        if token.callback == "oob":
            return pages.pin_page(token.verifier)
        return pages.redirect_to(with_query(token.callback, oauth_token=token.token, oauth_verifier=token.verifier))

    @fake.route("/oauth/access_token", "POST /oauth/access_token", ["POST"])
    async def access_token() -> Response:
        oauth, token = await fake.authenticate("request")
        assert isinstance(token, RequestToken)
        if token.used or time.time() - token.issued > fake.request_token_ttl:
            return pages.v1_error(401, 89, "Invalid or expired token.")
        token.used = True  # single use, whatever happens next
        verifier = oauth.get("oauth_verifier", "")
        if token.verifier is None or not secrets.compare_digest(verifier, token.verifier):
            fake.auth_failures["bad_verifier"] += 1
            return pages.v1_error(401, 89, "Invalid or expired token.")
        assert token.user_id is not None
        user = fake.users[token.user_id]
        access = fake.issue_access_token(user)
        body = (
            f"oauth_token={access.token}&oauth_token_secret={access.secret}"
            f"&user_id={user.id}&screen_name={user.username}"
        )
        return Response(body, content_type=FORM)

    # -- the v2 API -----------------------------------------------------------------

    async def api_user(route: str) -> tuple[FakeUser, dict[str, str]]:
        _, token = await fake.authenticate("access")
        assert isinstance(token, AccessToken)
        user = fake.users[token.user_id]
        return user, fake.rate_limit(route, user)

    @fake.route("/2/users/me", "GET /2/users/me", ["GET"])
    async def users_me() -> Response:
        user, headers = await api_user("GET /2/users/me")
        data = {"id": user.id, "name": user.name, "username": user.username}
        return pages.json_response({"data": data}, 200, headers)

    @fake.route("/2/tweets", "POST /2/tweets", ["POST"])
    async def create_tweet() -> Response:
        user, headers = await api_user("POST /2/tweets")
        raw = await request.get_data()
        content_type = request.headers.get("Content-Type", "")
        if not raw:
            return pages.invalid_request("Request body is required; send a JSON object.")
        if not content_type.startswith("application/json"):
            return pages.invalid_request("Requests with bodies must have content-type of application/json.")
        try:
            body = json.loads(raw)
        except ValueError:
            return pages.invalid_request("Request body is not valid JSON.")
        if not isinstance(body, dict):
            return pages.invalid_request("Request body must be a JSON object.")
        for key in body:
            if key not in CREATE_FIELDS:
                return pages.invalid_request(
                    f"$.{key}: is not defined in the schema and the schema does not allow additional properties"
                )
        text = body.get("text")
        if not isinstance(text, str):
            return pages.invalid_request("$.text: a string is required when no media is attached", {"text": [text]})
        reply_to: str | None = None
        if "reply" in body:
            reply = body["reply"]
            reply_to = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
            if not isinstance(reply_to, str) or not reply_to.isdigit():
                return pages.invalid_request("$.reply.in_reply_to_tweet_id: a numeric string is required")
        if not text.strip():
            return pages.invalid_request("$.text: must not be empty", {"text": [text]})
        if weighted_length(text) > MAX_WEIGHTED_LENGTH:
            return pages.problem(403, TOO_LONG, headers)
        if fake.is_duplicate(user, text):
            return pages.problem(403, DUPLICATE, headers)
        if reply_to is not None and fake.tweet(reply_to) is None:
            return pages.problem(403, REPLY_GONE, headers)
        tweet = fake.store_tweet(user, text, reply_to)
        data = {"id": tweet.id, "text": tweet.display_text, "edit_history_tweet_ids": [tweet.id]}
        return pages.json_response({"data": data}, 201, headers)

    @fake.route("/2/tweets/<tweet_id>", "DELETE /2/tweets/:id", ["DELETE"])
    async def delete_tweet(tweet_id: str) -> Response:
        user, headers = await api_user("DELETE /2/tweets/:id")
        tweet = fake.tweet(tweet_id)
        if tweet is None:
            return pages.not_found("tweet", tweet_id)
        if tweet.author_id != user.id:
            return pages.problem(403, "You are not allowed to delete a Tweet that is not yours.", headers)
        fake.tweets.remove(tweet)
        return pages.json_response({"data": {"deleted": True}}, 200, headers)

    @fake.route("/2/users/<user_id>/tweets", "GET /2/users/:id/tweets", ["GET"])
    async def timeline(user_id: str) -> Response:
        _, headers = await api_user("GET /2/users/:id/tweets")
        owner = fake.users.get(user_id)
        if owner is None:
            return pages.not_found("user", user_id)
        args = request.args
        try:
            max_results = int(args.get("max_results", "10"))
        except ValueError:
            max_results = 0
        if not 5 <= max_results <= 100:
            return pages.invalid_request("The `max_results` query parameter value is not between 5 and 100")
        bounds = {}
        for name in ("start_time", "end_time"):
            if name in args:
                moment = _parse_time(args[name])
                if moment is None:
                    return pages.invalid_request(f"Invalid {name}: expected RFC3339 like 2024-01-31T12:00:00Z")
                bounds[name] = moment
        fields = {f for f in args.get("tweet.fields", "").split(",") if f}
        unknown = fields - TWEET_FIELDS
        if unknown:
            return pages.invalid_request(
                f"The `tweet.fields` query parameter value [{sorted(unknown)[0]}] is not one of the allowed values"
            )
        found = [
            t
            for t in reversed(fake.tweets_by(owner))
            if t.created_at >= bounds.get("start_time", t.created_at)
            and t.created_at <= bounds.get("end_time", t.created_at)
        ]
        try:
            offset = int(args.get("pagination_token", "0"), 16)
        except ValueError:
            return pages.invalid_request("Invalid pagination_token")
        page = found[offset : offset + max_results]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0].id, oldest_id=page[-1].id)
        if offset + max_results < len(found):
            meta["next_token"] = format(offset + max_results, "x")
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = [_render(t, fields) for t in page]
        return pages.json_response(body, 200, headers)

    @fake.app.get("/")
    async def home() -> Response:
        rows = [(t.id, fake.users[t.author_id].username, t.text, t.in_reply_to) for t in reversed(fake.tweets)]
        return pages.timeline_page(rows)


def _new_request_token(fake: FakeX, callback: str) -> RequestToken:
    token = RequestToken(secrets.token_urlsafe(24), secrets.token_urlsafe(32), callback, time.time())
    fake.request_tokens[token.token] = token
    return token


def _parse_time(value: str) -> datetime | None:
    for pattern in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _render(tweet: FakeTweet, fields: set[str]) -> dict[str, Any]:
    data: dict[str, Any] = {"id": tweet.id, "text": tweet.display_text, "edit_history_tweet_ids": [tweet.id]}
    if "created_at" in fields:
        moment = tweet.created_at
        data["created_at"] = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if "author_id" in fields:
        data["author_id"] = tweet.author_id
    if "referenced_tweets" in fields and tweet.in_reply_to:
        data["referenced_tweets"] = [{"type": "replied_to", "id": tweet.in_reply_to}]
    return data
