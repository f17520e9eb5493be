"""Rows to the JSON the API speaks: camelCase, times in ISO 8601 with their offset."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from gateway.models import Integration, Post, PublishAttempt


def iso(value: datetime | None, zone: str | None = None) -> str | None:
    if value is None:
        return None
    if zone:
        value = value.astimezone(ZoneInfo(zone))
    return value.isoformat()


def integration_json(row: Integration) -> dict[str, Any]:
    """An integration as callers see it: never a token."""
    return {
        "id": str(row.id),
        "platform": row.platform,
        "externalId": row.external_id,
        "handle": row.handle,
        "name": row.name,
        "url": row.url,
        "status": row.status.value,
        "statusReason": row.status_reason or None,
        "tokenExpiresAt": iso(row.token_expires_at),
        "refreshExpiresAt": iso(row.refresh_expires_at),
        "connectedAt": iso(row.connected_at),
        "updatedAt": iso(row.updated_at),
    }


def post_json(row: Post) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "groupId": str(row.group_id),
        "integrationId": str(row.integration_id),
        "text": row.text,
        "thread": list(row.thread or []),
        "options": dict(row.options or {}),
        "status": row.status.value,
        "scheduledFor": iso(row.scheduled_for, row.time_zone),
        "timeZone": row.time_zone,
        "externalId": row.external_id,
        "externalUrl": row.external_url,
        "error": {"code": row.error_code, "message": row.error_message} if row.error_code else None,
        "source": row.source.value,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        "publishedAt": iso(row.published_at),
    }


def attempt_json(row: PublishAttempt) -> dict[str, Any]:
    return {
        "number": row.number,
        "startedAt": iso(row.started_at),
        "finishedAt": iso(row.finished_at),
        "outcome": row.outcome.value if row.outcome else None,
        "error": {"code": row.error_code, "message": row.error_message} if row.error_code else None,
    }


def post_event_payload(row: Post) -> dict[str, Any]:
    """What a post event carries so a client can act without another request."""
    return {
        "status": row.status.value,
        "integrationId": str(row.integration_id),
        "groupId": str(row.group_id),
        "scheduledFor": iso(row.scheduled_for, row.time_zone),
        "externalId": row.external_id,
        "externalUrl": row.external_url,
        "error": {"code": row.error_code, "message": row.error_message} if row.error_code else None,
        "updatedAt": iso(row.updated_at),
    }
