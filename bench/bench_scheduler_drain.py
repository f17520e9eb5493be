"""How long schedulers take to hand over 100,000 posts due at the same instant.

    python bench/bench_scheduler_drain.py                      # 100,000 posts, one scheduler process
    python bench/bench_scheduler_drain.py --processes 2 --batch 1000
    python bench/bench_scheduler_drain.py --explain            # idle cost: plans over 1,000,000 rows

The schedulers start first; then the posts are inserted, all due at one
instant ``--lead`` seconds ahead, and the schedulers woken as the post service
wakes them. The drain is measured from that due time (the schedulers sleep
until then) to the moment the last PUBLISH_POST job is in the queue:
every post claimed (PUBLISHING, with its post.publishing event) and enqueued.
No worker runs. A private database and Redis namespace are created and removed.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta

import asyncpg
from _scheduler_common import INSERT_DUE, Process, add_account, add_service_arguments, bench_env
from redis.asyncio import Redis

from scheduler.claim import LOCK_DUE, NEXT_DUE

FILL = """
INSERT INTO post (id, group_id, text, thread, options, part_ids, status, source, scheduled_for,
                  created_at, updated_at, workspace_id, integration_id)
SELECT gen_random_uuid(), gen_random_uuid(), 'post ' || n, '[]', '{}', '[]',
       CASE WHEN n % 100 = 0 THEN 'SCHEDULED' WHEN n % 100 = 1 THEN 'FAILED' ELSE 'PUBLISHED' END, 'api',
       CASE WHEN n % 100 = 0 THEN now() + make_interval(secs => n) ELSE now() - make_interval(secs => n) END,
       now(), now(), $1, $2
FROM generate_series($3::int, $4::int) AS n
"""


async def drain(args: argparse.Namespace) -> None:
    async with bench_env(args.admin_url, args.redis_url) as env:
        env_vars = env.env(GATEWAY_SCHEDULER_BATCH=str(args.batch), GATEWAY_PLUGINS="twitter")
        processes = [await Process(["scheduler"], env_vars).start() for _ in range(args.processes)]
        redis = Redis.from_url(env.redis_url)
        try:
            await asyncio.sleep(args.warmup)  # started, and asleep: nothing is scheduled
            due = await _schedule_all(env.database_url, redis, env.namespace, args.count, args.lead)
            first, total = await _wait_queued(redis, f"saq:{env.namespace}:queued", args.count, due, args.timeout)
        finally:
            codes = [await p.stop() for p in processes]
            await redis.aclose()
        print(f"\n{args.count:,} posts due at one instant, {args.processes} scheduler process(es), batch {args.batch}")
        print(f"  first job queued  {first:8.3f} s after the due time")
        print(f"  last job queued   {total:8.3f} s after the due time")
        print(f"  throughput        {args.count / total:8.0f} posts/s (claimed + event + enqueued)")
        print(f"  exit codes        {codes} (SIGTERM)")


async def _schedule_all(database_url: str, redis: Redis, namespace: str, count: int, lead: float) -> datetime:
    """Schedule ``count`` posts for one instant ``lead`` seconds ahead, and wake the schedulers as the
    post service does."""
    conn = await asyncpg.connect(database_url)
    try:
        workspace, integration = await add_account(conn)
        due = datetime.now(UTC) + timedelta(seconds=lead)
        started = time.perf_counter()
        await conn.execute(INSERT_DUE, due, workspace, integration, count)
        await conn.execute("ANALYZE post")
        print(f"inserted {count:,} posts in {time.perf_counter() - started:.1f} s")
    finally:
        await conn.close()
    if datetime.now(UTC) >= due:
        print("warning: the insert took longer than --lead; the figures include the wait for it")
    await redis.publish(f"{namespace}:scheduler:wake", "wake")
    return due


async def _wait_queued(redis: Redis, queued: str, count: int, due: datetime, timeout: float) -> tuple[float, float]:
    """Poll the queue's length: (first job, last job) in seconds after ``due``."""
    first: float | None = None
    while True:
        length = await redis.llen(queued)
        late = (datetime.now(UTC) - due).total_seconds()
        if length and first is None:
            first = late
        if length >= count:
            assert first is not None
            return first, late
        if late > timeout:
            raise SystemExit(f"gave up after {timeout} s with {length:,} of {count:,} enqueued")
        await asyncio.sleep(0.01)


async def explain(args: argparse.Namespace) -> None:
    async with bench_env(args.admin_url, args.redis_url) as env:
        conn = await asyncpg.connect(env.database_url)
        try:
            workspace, integration = await add_account(conn)
            started = time.perf_counter()
            step = 200_000
            for low in range(1, args.rows + 1, step):
                await conn.execute(FILL, workspace, integration, low, min(low + step - 1, args.rows))
            await conn.execute("VACUUM ANALYZE post")
            counts = await conn.fetch("SELECT status, count(*) FROM post GROUP BY status ORDER BY status")
            print(f"{args.rows:,} posts in {time.perf_counter() - started:.0f} s: "
                  + ", ".join(f"{r['status']} {r['count']:,}" for r in counts) + "; nothing due\n")
            for title, sql, params in (("wake-up: the next due time", NEXT_DUE, ()),
                                       ("claim: due posts, none yet", LOCK_DUE, (500,))):
                print(f"-- {title}")
                print(sql.strip())
                async with conn.transaction():
                    await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                    rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}", *params)
                print("\n".join(row[0] for row in rows) + "\n")
            statement = await conn.prepare(NEXT_DUE)
            rounds = 2000
            started = time.perf_counter()
            for _ in range(rounds):
                await statement.fetch()
            print(f"wake-up query from Python (asyncpg, prepared): "
                  f"{(time.perf_counter() - started) / rounds * 1e6:.0f} µs per call over {rounds} calls")
        finally:
            await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_service_arguments(parser)
    parser.add_argument("--count", type=int, default=100_000, help="posts due at once (default %(default)s)")
    parser.add_argument("--batch", type=int, default=500, help="GATEWAY_SCHEDULER_BATCH (default %(default)s)")
    parser.add_argument("--processes", type=int, default=1, help="scheduler processes (default %(default)s)")
    parser.add_argument("--lead", type=float, default=20,
                        help="seconds from the start of the insert to the due time (default %(default)s)")
    parser.add_argument("--warmup", type=float, default=5, help="seconds for the schedulers to start")
    parser.add_argument("--timeout", type=float, default=300, help="give up after this many seconds")
    parser.add_argument("--explain", action="store_true", help="print the idle-cost plans instead of draining")
    parser.add_argument("--rows", type=int, default=1_000_000, help="table size for --explain (default %(default)s)")
    args = parser.parse_args()
    asyncio.run(explain(args) if args.explain else drain(args))


if __name__ == "__main__":
    main()
