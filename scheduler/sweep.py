"""The sweep: re-enqueue posts left in PUBLISHING with no job.

A post reaches PUBLISHING in a committed transaction, and its PUBLISH_POST job
is enqueued in Redis afterwards. If the process dies between the two (a
scheduler killed after its claim, a gateway after a publish-now commit), or
Redis refuses the enqueue, the post would wait forever. The sweep finds such
posts and enqueues them again, keyed by post id as always.

A post counts as stuck when it has been PUBLISHING, untouched, for
``stuck_after`` seconds and SAQ holds no live job for it (queued, active, or
scheduled for a delayed retry). The age threshold leaves alone the normal
window between a commit and its enqueue, and a worker that is between
finishing one job and enqueuing the delayed retry it just recorded. Even if the
check races with a worker, the outcome is safe: the enqueue is a no-op when a
job with the key is live, and the job does nothing unless the post is still
PUBLISHING. A post whose ``retry_at`` is still ahead is enqueued for that time,
not now.
"""

from __future__ import annotations

import logging
import math
import uuid
from datetime import UTC, datetime
from typing import Any

from saq.job import ACTIVE_STATUSES, Status

from gateway import db
from gateway.runtime import Runtime

log = logging.getLogger(__name__)

LIVE = ACTIVE_STATUSES | {Status.ABORTING}

STUCK = """
SELECT id, retry_at, updated_at, clock_timestamp() AS db_now
FROM post
WHERE status = 'PUBLISHING' AND updated_at < now() - make_interval(secs => $1::float8)
  AND (updated_at, id) > ($2::timestamptz, $3::uuid)
ORDER BY updated_at, id
LIMIT $4
"""

_START = (datetime(1970, 1, 1, tzinfo=UTC), uuid.UUID(int=0))


class Sweeper:
    def __init__(self, rt: Runtime, *, stuck_after: float = 30.0, page: int = 500) -> None:
        self.rt = rt
        self.stuck_after = stuck_after
        self.page = page

    @property
    def turn_key(self) -> str:
        return f"{self.rt.settings.namespace}:scheduler:sweep-turn"

    async def acquire_turn(self, interval: float) -> bool:
        """True for one scheduler per ``interval`` across the deployment: the others skip their sweep."""
        taken = await self.rt.redis.set(self.turn_key, "1", nx=True, px=max(int(interval * 1000), 1))
        return bool(taken)

    async def sweep(self) -> int:
        """Enqueue every stuck post; returns how many jobs were created."""
        conn = db.connection()
        after = _START
        created = 0
        while True:
            rows = await conn.execute_query_dict(STUCK, [self.stuck_after, *after, self.page])
            if not rows:
                return created
            created += await self._revive(rows)
            if len(rows) < self.page:
                return created
            after = (rows[-1]["updated_at"], rows[-1]["id"])

    async def _revive(self, rows: list[dict[str, Any]]) -> int:
        keys = [str(row["id"]) for row in rows]
        jobs = await self.rt.queue.jobs(keys)
        created = 0
        for row, key, job in zip(rows, keys, jobs, strict=True):
            if job is not None and job.status in LIVE:
                continue
            retry_at = row["retry_at"]
            delayed = retry_at is not None and retry_at > row["db_now"]
            # SAQ keeps whole seconds: round up, never run a retry before its time
            if await self.rt.enqueue_publish(key, scheduled=math.ceil(retry_at.timestamp()) if delayed else 0):
                created += 1
                log.warning("post %s was PUBLISHING since %s with no job in the queue; enqueued it again%s",
                            key, row["updated_at"], f" for its retry at {retry_at}" if delayed else "")
        return created
