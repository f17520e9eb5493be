"""The fake's REST side: userinfo, UGC shares, comments, and pages a person can look at.

Every API call needs a live bearer token (401 with LinkedIn's service error
codes otherwise) carrying the scope the call needs (403 otherwise). Share
creation also needs the Rest.li 2.0 header, the exact UGC body shape, an
author that is the token's member, a commentary of 1 to 3000 characters that
is not a duplicate, and the member's quota.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import unquote

from quart import Quart, Response, jsonify, request

from gateway_linkedin.fake import Comment, FakeLinkedIn, Member, Share, Token, api_error

SHARE_CONTENT = "com.linkedin.ugc.ShareContent"
MEMBER_VISIBILITY = "com.linkedin.ugc.MemberNetworkVisibility"
MAX_COMMENTARY = 3000
MAX_COMMENT = 1250
TEXT_PATH = f"/specificContent/{SHARE_CONTENT}/shareCommentary/text"


def _authenticate(fake: FakeLinkedIn, scope: str, resource: str) -> tuple[Member, Token] | Response:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return api_error(401, "Empty oauth2 access token", 65604)
    token = fake.tokens.get(value.strip())
    if token is None or token.sub not in fake.members:
        return api_error(401, "Invalid access token", 65600)
    if token.revoked:
        return api_error(401, "The token used in the request has been revoked by the user", 65602)
    if fake.clock() >= token.expires_at:
        return api_error(401, "The token used in the request has expired", 65601)
    if scope not in token.scopes:
        return api_error(403, f"Not enough permissions to access: {resource}", 100)
    return fake.members[token.sub], token


def _restli_missing() -> Response | None:
    if request.headers.get("X-Restli-Protocol-Version") != "2.0.0":
        return api_error(400, "This endpoint needs the header X-Restli-Protocol-Version: 2.0.0")
    return None


async def _json_object() -> dict[str, Any] | Response:
    if request.mimetype != "application/json":
        return api_error(400, f"Content-Type must be application/json, got {request.mimetype or 'none'!r}")
    body = await request.get_json(silent=True)
    if not isinstance(body, dict):
        return api_error(400, "The request body is not a JSON object")
    return body


def _field_error(path: str, problem: str) -> str:
    return f"ERROR :: {path} :: {problem}"


def _exact_keys(value: Any, path: str, required: set[str], optional: frozenset[str] = frozenset()) -> str | None:
    if not isinstance(value, dict):
        return _field_error(path or "/", "expected a record")
    for key in sorted(set(value) - required - optional):
        return _field_error(f"{path}/{key}", "unrecognized field found but not allowed")
    for key in sorted(required - set(value)):
        return _field_error(f"{path}/{key}", "field is required but not found and has no default value")
    return None


def share_problem(body: dict[str, Any]) -> str | None:
    """What is wrong with a UGC share body, in LinkedIn's "ERROR :: /path :: why" form."""
    problem = _exact_keys(body, "", {"author", "lifecycleState", "specificContent", "visibility"})
    if problem:
        return problem
    if not isinstance(body["author"], str) or not body["author"].startswith("urn:li:"):
        return _field_error("/author", "expected a person or organization URN")
    if body["lifecycleState"] != "PUBLISHED":
        return _field_error("/lifecycleState", "only PUBLISHED can be created")
    problem = _exact_keys(body["specificContent"], "/specificContent", {SHARE_CONTENT})
    if problem:
        return problem
    content = body["specificContent"][SHARE_CONTENT]
    path = f"/specificContent/{SHARE_CONTENT}"
    problem = _exact_keys(content, path, {"shareCommentary", "shareMediaCategory"}, frozenset({"media"}))
    if problem:
        return problem
    if content["shareMediaCategory"] != "NONE":
        return _field_error(f"{path}/shareMediaCategory", "this fake only supports NONE (text shares)")
    if "media" in content:
        return _field_error(f"{path}/media", "not allowed when shareMediaCategory is NONE")
    problem = _exact_keys(content["shareCommentary"], f"{path}/shareCommentary", {"text"}, frozenset({"attributes"}))
    if problem:
        return problem
    if not isinstance(content["shareCommentary"]["text"], str):
        return _field_error(TEXT_PATH, "expected a string")
    problem = _exact_keys(body["visibility"], "/visibility", {MEMBER_VISIBILITY})
    if problem:
        return problem
    if body["visibility"][MEMBER_VISIBILITY] not in ("PUBLIC", "CONNECTIONS"):
        return _field_error(f"/visibility/{MEMBER_VISIBILITY}", "expected PUBLIC or CONNECTIONS")
    return None


def _text_problem(text: str, limit: int, path: str) -> str | None:
    if not text.strip():
        return _field_error(path, "must not be empty")
    if len(text) > limit:
        return _field_error(path, f"length of {len(text)} exceeds the maximum allowed length of {limit}")
    return None


def ugc(share: Share) -> dict[str, Any]:
    """A share as ``GET /v2/ugcPosts`` returns it."""
    stamp = {"actor": share.author, "time": share.created_ms}
    return {
        "id": share.urn,
        "author": share.author,
        "lifecycleState": "PUBLISHED",
        "created": stamp,
        "lastModified": stamp,
        "firstPublishedAt": share.created_ms,
        "specificContent": {SHARE_CONTENT: {"shareCommentary": {"text": share.text}, "shareMediaCategory": "NONE"}},
        "visibility": {MEMBER_VISIBILITY: share.visibility},
    }


def comment_json(comment: Comment, share: Share) -> dict[str, Any]:
    stamp = {"actor": comment.actor, "time": comment.created_ms}
    return {
        "$URN": comment.urn,
        "id": comment.id,
        "actor": comment.actor,
        "object": share.activity,
        "message": {"text": comment.text},
        "created": stamp,
        "lastModified": stamp,
    }


def register_api(app: Quart, fake: FakeLinkedIn) -> None:
    @app.get("/v2/userinfo")
    @fake.faulty("GET /v2/userinfo")
    async def userinfo() -> Response:
        auth = _authenticate(fake, "openid", "userinfo.GET.NO_VERSION")
        if isinstance(auth, Response):
            return auth
        member, token = auth
        info: dict[str, Any] = {"sub": member.sub}
        if "profile" in token.scopes:
            info.update(
                name=member.name,
                given_name=member.given_name,
                family_name=member.family_name,
                picture=member.picture,
                locale={"country": "US", "language": "en"},
            )
        if "email" in token.scopes:
            info.update(email=member.email, email_verified=True)
        return jsonify(info)

    @app.post("/v2/ugcPosts")
    @fake.faulty("POST /v2/ugcPosts")
    async def create_share() -> Response:
        auth = _authenticate(fake, "w_member_social", "ugcPosts.CREATE.NO_VERSION")
        if isinstance(auth, Response):
            return auth
        member, _ = auth
        refused = _restli_missing()
        body = refused or await _json_object()
        if isinstance(body, Response):
            return body
        problem = share_problem(body)
        if problem:
            return api_error(422, problem)
        if body["author"] != member.urn:
            return api_error(403, f"Member {member.urn} may not post as {body['author']}", 100)
        text = body["specificContent"][SHARE_CONTENT]["shareCommentary"]["text"]
        problem = _text_problem(text, MAX_COMMENTARY, TEXT_PATH)
        if problem:
            return api_error(422, problem)
        now = fake.clock()
        recent = [t for t in fake.post_times.get(member.sub, []) if t > now - fake.post_limit_window]
        if fake.post_limit is not None and len(recent) >= fake.post_limit:
            return api_error(429, "Resource level throttle MEMBER DAY limit for calls to this resource is reached.")
        for share in fake.shares_by(member.sub):
            if share.text == text:
                return api_error(422, f"Content is a duplicate of {share.urn}")
        share = Share(
            urn=f"urn:li:share:{fake.next_id()}",
            author=member.urn,
            text=text,
            visibility=body["visibility"][MEMBER_VISIBILITY],
            created_at=fake.now(),
            activity=f"urn:li:activity:{fake.next_id()}",
        )
        fake.posts[share.urn] = share
        fake.post_times[member.sub] = [*recent, now]
        response = jsonify({"id": share.urn})
        response.status_code = 201
        response.headers["X-RestLi-Id"] = share.urn
        return response

    @app.get("/v2/ugcPosts")
    @fake.faulty("GET /v2/ugcPosts")
    async def list_shares() -> Response:
        auth = _authenticate(fake, "r_member_social", "ugcPosts.FINDER-authors.NO_VERSION")
        if isinstance(auth, Response):
            return auth
        member, _ = auth
        refused = _restli_missing()
        if refused:
            return refused
        if request.args.get("q") != "authors":
            return api_error(400, "Unsupported finder: this fake knows q=authors")
        # Rest.li 2.0 parses List(...) before decoding: a raw ':' inside breaks it
        raw = dict(p.split("=", 1) for p in request.query_string.decode().split("&") if "=" in p)
        authors = raw.get("authors", "")
        if not (authors.startswith("List(") and authors.endswith(")")) or ":" in authors[5:-1]:
            return api_error(400, "Invalid value for param authors: expected List(<url-encoded urn>)")
        if unquote(authors[5:-1]) != member.urn:
            return api_error(403, "Not enough permissions to access: ugcPosts.FINDER-authors.NO_VERSION", 100)
        sort = request.args.get("sortBy", "CREATED")
        if sort not in ("CREATED", "LAST_MODIFIED"):
            return api_error(400, f"Invalid value for param sortBy: {sort}")
        try:
            start, count = int(request.args.get("start", "0")), int(request.args.get("count", "10"))
        except ValueError:
            return api_error(400, "start and count must be integers")
        if not (0 <= start and 1 <= count <= 100):
            return api_error(400, "count must be between 1 and 100")
        shares = sorted(fake.shares_by(member.sub), key=lambda s: s.created_ms, reverse=True)
        page = [ugc(share) for share in shares[start : start + count]]
        return jsonify({"elements": page, "paging": {"start": start, "count": count, "links": []}})

    @app.delete("/v2/ugcPosts/<path:urn>")
    @fake.faulty("DELETE /v2/ugcPosts/{urn}")
    async def delete_share(urn: str) -> Response:
        auth = _authenticate(fake, "w_member_social", "ugcPosts.DELETE.NO_VERSION")
        if isinstance(auth, Response):
            return auth
        member, _ = auth
        share = fake.posts.get(urn)
        if share is None:
            return api_error(404, f"Not Found: {urn}")
        if share.author != member.urn:
            return api_error(403, "Not enough permissions to access: ugcPosts.DELETE.NO_VERSION", 100)
        del fake.posts[urn]
        fake.deleted.append(urn)
        for comment in fake.comments_on(urn):
            del fake.comments[comment.urn]
        return Response("", status=204)

    @app.post("/v2/socialActions/<path:urn>/comments")
    @fake.faulty("POST /v2/socialActions/{urn}/comments")
    async def create_comment(urn: str) -> Response:
        auth = _authenticate(fake, "w_member_social", "socialActions.comments.CREATE.NO_VERSION")
        if isinstance(auth, Response):
            return auth
        member, _ = auth
        share = fake.posts.get(urn)
        if share is None:
            return api_error(404, f"Not Found: {urn}")
        body = await _json_object()
        if isinstance(body, Response):
            return body
        problem = _exact_keys(body, "", {"actor", "message"}, frozenset({"object", "parentComment"}))
        problem = problem or _exact_keys(body["message"], "/message", {"text"}, frozenset({"attributes"}))
        if problem:
            return api_error(422, problem)
        if body["actor"] != member.urn:
            return api_error(403, f"Member {member.urn} may not comment as {body['actor']}", 100)
        text = body["message"]["text"]
        if not isinstance(text, str):
            return api_error(422, _field_error("/message/text", "expected a string"))
        problem = _text_problem(text, MAX_COMMENT, "/message/text")
        if problem:
            return api_error(422, problem)
        comment_id = str(fake.next_id())
        comment = Comment(
            urn=f"urn:li:comment:({share.activity},{comment_id})",
            id=comment_id,
            share=share.urn,
            actor=member.urn,
            text=text,
            created_at=fake.now(),
        )
        fake.comments[comment.urn] = comment
        response = jsonify(comment_json(comment, share))
        response.status_code = 201
        response.headers["X-RestLi-Id"] = comment_id
        return response

    @app.get("/v2/socialActions/<path:urn>/comments")
    @fake.faulty("GET /v2/socialActions/{urn}/comments")
    async def list_comments(urn: str) -> Response:
        auth = _authenticate(fake, "r_member_social", "socialActions.comments.GET_ALL.NO_VERSION")
        if isinstance(auth, Response):
            return auth
        share = fake.posts.get(urn)
        if share is None:
            return api_error(404, f"Not Found: {urn}")
        elements = [comment_json(c, share) for c in fake.comments_on(urn)]
        return jsonify({"elements": elements, "paging": {"start": 0, "count": len(elements), "links": []}})

    @app.get("/feed/update/<path:urn>/")
    async def feed_update(urn: str) -> Response:
        share = fake.posts.get(urn)
        if share is None:
            return Response("<h1>This post cannot be displayed</h1>", status=404, mimetype="text/html")
        return Response(_share_html(fake, share), mimetype="text/html")

    @app.get("/")
    async def index() -> Response:
        items = "".join(
            f"<li><a href='/feed/update/{escape(s.urn)}/'>{escape(s.urn)}</a>: {escape(s.text[:80])}</li>"
            for s in fake.posts.values()
        )
        members = ", ".join(f"{escape(m.name)} ({escape(m.sub)})" for m in fake.members.values())
        html = f"<h1>LinkedIn (sandbox)</h1><p>Members: {members}</p><ul>{items or '<li>No posts yet</li>'}</ul>"
        return Response(html, mimetype="text/html")


def _share_html(fake: FakeLinkedIn, share: Share) -> str:
    author = next((m.name for m in fake.members.values() if m.urn == share.author), share.author)
    comments = "".join(f"<li><b>{escape(author)}</b>: {escape(c.text)}</li>" for c in fake.comments_on(share.urn))
    return (
        "<!doctype html><meta charset='utf-8'><title>LinkedIn (sandbox)</title>"
        f"<article><h2>{escape(author)}</h2><p style='white-space:pre-wrap'>{escape(share.text)}</p>"
        f"<small>{escape(share.visibility)} · {share.created_at:%Y-%m-%d %H:%M:%S} UTC</small>"
        f"<ul>{comments}</ul></article>"
    )
