"""``/api/posts``: create (now or scheduled), validate, list, show, edit, cancel, retry, delete.

The handlers only translate HTTP to :mod:`gateway.posting` and back; the rules
live there so the MCP server shares them. Errors are :class:`GatewayError`
subclasses, answered as ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, g, jsonify, request

from gateway import posting
from gateway.api.auth import require_workspace
from gateway.api.common import json_body, runtime, scope
from gateway.errors import InvalidRequest
from gateway.models import Post, PublishAttempt, Source
from gateway.serializers import attempt_json, iso, post_json

blueprint = Blueprint("posts", __name__, url_prefix="/api/posts")
blueprint.before_request(require_workspace)


def post_view(post: Post) -> dict[str, Any]:
    """A post as the API shows it: the common JSON plus the publishing progress."""
    return {**post_json(post), "partIds": list(post.part_ids or []), "retryAt": iso(post.retry_at)}


def detail_view(post: Post, attempts: list[PublishAttempt]) -> dict[str, Any]:
    last_error = post_json(post)["error"]
    if last_error is None:
        failed = [a for a in attempts if a.error_code]
        last_error = attempt_json(failed[-1])["error"] if failed else None
    return {**post_view(post), "attempts": [attempt_json(a) for a in attempts], "lastError": last_error}


def _reply(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


@blueprint.post("")
async def create() -> Response:
    """Create one post per integration. 201 with the posts; a replayed Idempotency-Key
    answers 201 with the posts it created the first time and ``Idempotent-Replayed: true``."""
    body = await json_body()
    created = await posting.create_posts(
        runtime(), scope(), body, via=Source(g.via), idempotency_key=request.headers.get("Idempotency-Key")
    )
    posts = created.posts
    headers = {"Idempotent-Replayed": "true"} if created.replayed else {}
    return _reply({"groupId": str(posts[0].group_id), "posts": [post_view(p) for p in posts]}, 201, headers)


@blueprint.post("/validate")
async def validate() -> dict[str, Any]:
    """The checks of a create, storing nothing: 200 when valid, else 422 with every problem."""
    checked = await posting.check_request(runtime(), scope(), await json_body())
    when = checked.request.when
    return {
        "valid": True,
        "posts": [
            {
                "integrationId": str(row.id),
                "platform": row.platform,
                "status": checked.status.value,
                "scheduledFor": iso(when.at, when.time_zone),
                "timeZone": when.time_zone,
            }
            for row in checked.integrations
        ],
    }


@blueprint.get("")
async def list_posts() -> dict[str, Any]:
    page = await posting.list_posts(scope(), request.args.to_dict())
    return {"posts": [post_view(p) for p in page.posts], "nextCursor": page.next_cursor}


@blueprint.get("/<post_id>")
async def get_post(post_id: str) -> dict[str, Any]:
    post = await scope().get(Post, post_id)
    return detail_view(post, await posting.attempts_of(post))


@blueprint.patch("/<post_id>")
async def edit(post_id: str) -> dict[str, Any]:
    post = await posting.edit_post(runtime(), scope(), post_id, await json_body())
    return post_view(post)


@blueprint.post("/<post_id>/cancel")
async def cancel(post_id: str) -> dict[str, Any]:
    return post_view(await posting.cancel_post(runtime(), scope(), post_id))


@blueprint.post("/<post_id>/retry")
async def retry(post_id: str) -> Response:
    """A FAILED or UNKNOWN post back to PUBLISHING: 202, the worker takes it from there."""
    post = await posting.retry_post(runtime(), scope(), post_id)
    return _reply(post_view(post), 202)


@blueprint.delete("/<post_id>")
async def delete(post_id: str) -> Response:
    """204. ``?fromPlatform=true`` also removes a published post from the platform first."""
    flag = request.args.get("fromPlatform", "false").lower()
    if flag not in ("true", "false", "1", "0"):
        raise InvalidRequest("fromPlatform must be true or false.", code="invalid_query")
    await posting.delete_post(runtime(), scope(), post_id, from_platform=flag in ("true", "1"))
    return Response(status=204)
