"""Idle cost: with many posts and nothing due, a wake-up is an index lookup, never a scan.

The table gets 100,000 posts, 1 % of them SCHEDULED in the future.

docs/scheduler.md shows the same plans with EXPLAIN ANALYZE over a million rows
(``bench/bench_scheduler_drain.py --explain``).
"""

from __future__ import annotations

import asyncpg
import pytest

from gateway.models import Integration
from scheduler.claim import LOCK_DUE, NEXT_DUE
from scheduler.loop import Scheduler

ROWS = 100_000

FILL = """
INSERT INTO post (id, group_id, text, thread, options, part_ids, status, source, scheduled_for,
                  created_at, updated_at, workspace_id, integration_id)
SELECT gen_random_uuid(), gen_random_uuid(), 'post ' || n, '[]', '{}', '[]',
       CASE WHEN n % 100 = 0 THEN 'SCHEDULED' WHEN n % 100 = 1 THEN 'CANCELLED' ELSE 'PUBLISHED' END,
       'api',
       CASE WHEN n % 100 = 0 THEN now() + make_interval(mins => n) ELSE now() - make_interval(mins => n) END,
       now(), now(), $1, $2
FROM generate_series(1, $3) AS n
"""


@pytest.fixture
async def big_table(account: Integration, database_url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(database_url)
    await conn.execute(FILL, account.workspace_id, account.id, ROWS)
    await conn.execute("ANALYZE post")
    yield conn
    await conn.close()


async def _plan(conn: asyncpg.Connection, sql: str, *args: object) -> str:
    rows = await conn.fetch(f"EXPLAIN {sql}", *args)
    return "\n".join(row[0] for row in rows)


async def test_with_nothing_due_a_wake_up_is_an_index_lookup(big_table: asyncpg.Connection, runtime):
    plan = await _plan(big_table, NEXT_DUE)
    assert "post_due_idx" in plan, plan
    assert "Seq Scan" not in plan, plan
    assert "Limit" in plan, plan  # min() became "the first entry of the index"

    async with big_table.transaction():
        # asyncpg prepares statements, and PostgreSQL may plan a prepared one without its values
        await big_table.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        plan = await _plan(big_table, LOCK_DUE, 500)
    assert "post_due_idx" in plan, plan
    assert "Seq Scan" not in plan, plan

    scheduler = Scheduler(runtime)
    assert len(await scheduler.claim(500)) == 0
    assert await scheduler.next_due_in() > 0
