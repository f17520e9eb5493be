"""Claiming due posts: one transaction moves a batch out of SCHEDULED.

The transaction locks the oldest due posts with ``FOR UPDATE SKIP LOCKED`` (so
several schedulers take disjoint batches and never wait on each other), moves
them to PUBLISHING with one compare-and-set UPDATE for the whole batch, and
records one ``post.publishing`` event per post through the event bus, which
inserts the rows just before the commit. Posts later than the optional
maximum lateness go to FAILED instead, with a ``post.failed`` event.

Every query spells ``status = 'SCHEDULED'`` as a literal, never as a bind
parameter: the planner can only use the partial index ``post_due_idx`` (whose
predicate is that literal) when it can see the value, and asyncpg's prepared
statements switch to a generic plan after a few executions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from gateway.events import Tx
from gateway.models import Post
from gateway.serializers import post_event_payload

MISSED_SCHEDULE = "missed_schedule"

LOCK_DUE = """
SELECT id, EXTRACT(EPOCH FROM now() - scheduled_for)::float8 AS late
FROM post
WHERE status = 'SCHEDULED' AND scheduled_for <= now()
ORDER BY scheduled_for
LIMIT $1
FOR UPDATE SKIP LOCKED
"""

TO_PUBLISHING = """
UPDATE post
SET status = 'PUBLISHING', updated_at = now(), retry_at = NULL, error_code = NULL, error_message = NULL
WHERE id = ANY($1::uuid[]) AND status = 'SCHEDULED'
RETURNING *
"""

TO_FAILED = """
UPDATE post AS p
SET status = 'FAILED', updated_at = now(), retry_at = NULL, error_code = $3, error_message = m.message
FROM unnest($1::uuid[], $2::text[]) AS m(id, message)
WHERE p.id = m.id AND p.status = 'SCHEDULED'
RETURNING p.*
"""

NEXT_DUE = """
SELECT min(scheduled_for) AS next_due, clock_timestamp() AS db_now
FROM post
WHERE status = 'SCHEDULED'
"""


@dataclass
class Claim:
    """What one claim transaction did."""

    publishing: list[Post] = field(default_factory=list)  # oldest first
    failed: list[Post] = field(default_factory=list)  # missed their time by more than the limit

    def __len__(self) -> int:
        return len(self.publishing) + len(self.failed)


def describe_lateness(seconds: float) -> str:
    """``192`` -> ``"3 min 12 s"``: the two largest non-zero units."""
    rest = max(int(seconds), 0)
    parts: list[tuple[int, str]] = []
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
        amount, rest = divmod(rest, size)
        if amount or parts:
            parts.append((amount, unit))
    shown = [f"{amount} {unit}" for amount, unit in parts[:2] if amount]
    return " ".join(shown) or "less than a second"


def missed_message(late: float, limit: int) -> str:
    return f"missed its time by {describe_lateness(late)} (posts later than {describe_lateness(limit)} are not sent)"


async def claim_due(tx: Tx, batch: int, max_lateness: int | None) -> Claim:
    """Claim up to ``batch`` due posts inside the open transaction ``tx``."""
    conn = tx.conn
    locked = await conn.execute_query_dict(LOCK_DUE, [batch])
    if not locked:
        return Claim()
    claim = Claim()
    on_time = [row["id"] for row in locked if max_lateness is None or row["late"] <= max_lateness]
    late = [row for row in locked if max_lateness is not None and row["late"] > max_lateness]
    if on_time:
        rows = await conn.execute_query_dict(TO_PUBLISHING, [on_time])
        claim.publishing = _in_order(rows, on_time)
    if late and max_lateness is not None:
        ids = [row["id"] for row in late]
        messages = [missed_message(row["late"], max_lateness) for row in late]
        rows = await conn.execute_query_dict(TO_FAILED, [ids, messages, MISSED_SCHEDULE])
        claim.failed = _in_order(rows, ids)
    await _emit_events(tx, claim)
    return claim


def _in_order(rows: list[dict[str, Any]], ids: list[uuid.UUID]) -> list[Post]:
    """Model objects for the updated rows, in the order they were locked (oldest first)."""
    by_id = {row["id"]: row for row in rows}
    return [Post._init_from_db(**by_id[pid]) for pid in ids if pid in by_id]


async def _emit_events(tx: Tx, claim: Claim) -> None:
    """One event per moved post, recorded through the bus (which orders and inserts them at commit)."""
    for posts, kind in ((claim.publishing, "post.publishing"), (claim.failed, "post.failed")):
        for post in posts:
            await tx.emit(post.workspace_id, kind, post_id=post.id, integration_id=post.integration_id,
                          payload=post_event_payload(post))
