"""Reading posts: a filtered, cursor-paginated list, and one post with its attempts.

The list is ordered newest first on (created_at, id). The cursor is opaque to
clients: base64url of the last row's (created_at, id), so a page never skips
or repeats a row when posts are created meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q

from gateway.errors import InvalidRequest
from gateway.models import Post, PostStatus, PublishAttempt
from gateway.scoping import Scope

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
#: query parameter -> (column, lookup)
TIME_FILTERS = {
    "createdAfter": "created_at__gte",
    "createdBefore": "created_at__lt",
    "scheduledAfter": "scheduled_for__gte",
    "scheduledBefore": "scheduled_for__lt",
}
PARAMS = frozenset({"status", "integrationId", "groupId", "limit", "cursor", *TIME_FILTERS})


@dataclass(frozen=True)
class Page:
    posts: list[Post]
    next_cursor: str | None


def encode_cursor(post: Post) -> str:
    raw = json.dumps([post.created_at.isoformat(), str(post.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        created, key = json.loads(raw)
        moment = datetime.fromisoformat(created)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment, uuid.UUID(key)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidRequest("cursor is not one this API gave out; start again without it.",
                             code="invalid_cursor") from None


def _bad(param: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, code="invalid_query", details=[{"field": param, "message": message}])


def _uuids(param: str, value: str) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(item.strip()) for item in value.split(",") if item.strip()]
    except ValueError:
        raise _bad(param, f"{param} must be an id (or ids separated by commas).") from None


def _time(param: str, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _bad(param, f"{param} must be an ISO 8601 time with an offset, such as 2026-05-01T00:00:00Z.")
    return moment


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise _bad("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return limit


async def list_posts(scope: Scope, params: Mapping[str, str]) -> Page:
    """One page of the caller's posts. ``params`` are the query string's (first values)."""
    unknown = sorted(set(params) - PARAMS)
    if unknown:
        raise _bad(unknown[0], f"Unknown query parameter {unknown[0]!r}; expected some of {', '.join(sorted(PARAMS))}.")
    query = scope.query(Post)
    if params.get("status"):
        try:
            statuses = [PostStatus(item.strip().upper()) for item in params["status"].split(",") if item.strip()]
        except ValueError:
            raise _bad("status", f"status must be among {', '.join(s.value for s in PostStatus)}.") from None
        query = query.filter(status__in=statuses)
    if params.get("integrationId"):
        query = query.filter(integration_id__in=_uuids("integrationId", params["integrationId"]))
    if params.get("groupId"):
        query = query.filter(group_id__in=_uuids("groupId", params["groupId"]))
    for param, lookup in TIME_FILTERS.items():
        if params.get(param):
            query = query.filter(**{lookup: _time(param, params[param])})
    limit = _limit(params.get("limit"))
    if params.get("cursor"):
        created, key = decode_cursor(params["cursor"])
        query = query.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=key))
    rows = list(await query.order_by("-created_at", "-id").limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1]) if more and rows else None)


async def attempts_of(post: Post) -> list[PublishAttempt]:
    return list(await PublishAttempt.filter(post_id=post.id).order_by("number"))
