"""Warn before a connection expires, and mark it when it has.

An integration's reconnect deadline is when its refresh token expires, or, when
it has none (LinkedIn grants refresh tokens to few apps), when its access token
does. Some days before it, ``integration.expiring`` is emitted once; at it, the
integration becomes ``refresh_needed`` and ``integration.refresh_needed`` tells
the user to reconnect. An access token that expires while a refresh token is
valid is not a deadline: the worker refreshes it when it needs it.

The scheduler runs :func:`check_expiry` periodically; it is idempotent and safe
with several schedulers (every change is a compare-and-set).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateway.models import Integration, IntegrationStatus
from gateway.runtime import Runtime
from gateway.serializers import iso


@dataclass(frozen=True)
class ExpiryReport:
    warned: int
    expired: int


def deadline(row: Integration) -> datetime | None:
    return row.refresh_expires_at or row.token_expires_at


async def check_expiry(rt: Runtime, *, now: datetime | None = None) -> ExpiryReport:
    now = now or datetime.now(UTC)
    horizon = now + timedelta(days=rt.settings.expiry_warning_days)
    active = Integration.filter(status=IntegrationStatus.ACTIVE, disconnected_at__isnull=True)
    candidates = [
        *await active.filter(token_expires_at__lte=horizon),
        *await active.filter(refresh_expires_at__lte=horizon),
    ]
    warned = expired = 0
    seen = set()
    for row in candidates:
        if row.id in seen:
            continue
        seen.add(row.id)
        when = deadline(row)
        if when is None or when > horizon:
            continue
        if when <= now:
            expired += await _expire(rt, row, when)
        elif row.expiry_warned_at is None:
            warned += await _warn(rt, row, when)
    return ExpiryReport(warned, expired)


async def _warn(rt: Runtime, row: Integration, when: datetime) -> int:
    async with rt.events.transaction() as tx:
        moved = await Integration.filter(id=row.id, status=IntegrationStatus.ACTIVE,
                                         expiry_warned_at__isnull=True).using_db(tx.conn).update(
            expiry_warned_at=datetime.now(UTC))
        if moved:
            await tx.emit(row.workspace_id, "integration.expiring", integration_id=row.id, payload={
                "platform": row.platform, "handle": row.handle, "expiresAt": iso(when),
                "message": f"The {row.platform} connection of @{row.handle} expires on {when:%Y-%m-%d %H:%M} UTC;"
                           " reconnect the account before then to keep publishing.",
            })
    return moved


async def _expire(rt: Runtime, row: Integration, when: datetime) -> int:
    reason = (f"The {row.platform} authorization of @{row.handle} expired at {when:%Y-%m-%d %H:%M} UTC"
              " and cannot be refreshed; reconnect the account.")
    async with rt.events.transaction() as tx:
        moved = await Integration.filter(id=row.id, status=IntegrationStatus.ACTIVE).using_db(tx.conn).update(
            status=IntegrationStatus.REFRESH_NEEDED, status_reason=reason, updated_at=datetime.now(UTC))
        if moved:
            await tx.emit(row.workspace_id, "integration.refresh_needed", integration_id=row.id, payload={
                "platform": row.platform, "handle": row.handle, "status": "refresh_needed",
                "expiresAt": iso(when), "message": reason,
            })
    return moved
